/* Read-only access to a Hugging Face safetensors checkpoint: one model.safetensors, or the shards
 * named by model.safetensors.index.json. Files are memory-mapped; the JSON header is parsed with
 * cJSON. Every structural problem (truncated file, bad header, offsets outside the file, a shape
 * entry or offset that is not a whole number in [0, 2^48], more than 2^48 elements, two tensors
 * whose byte ranges overlap, a byte count that contradicts dtype x shape, an index naming a
 * missing tensor) is an error naming the file and tensor. */
#ifndef ENCDEC_SAFETENSORS_H
#define ENCDEC_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "common/status.h"

typedef enum { ST_F32, ST_F16, ST_BF16, ST_OTHER } st_dtype;

typedef struct st_tensor {
    char name[160];
    char dtype_name[8];  /* as in the header: "F32", "BF16", ... */
    st_dtype dtype;
    int rank;
    int64_t shape[8];
    const uint8_t *data; /* into the mapping */
    size_t nbytes;
    int file;            /* index into the archive's files */
    int used;            /* set by the converter */
} st_tensor;

typedef struct st_archive st_archive;

ed_status st_archive_open_dir(st_archive **out, const char *dir, ed_error *err);
/* Opens one .safetensors file (tests). */
ed_status st_archive_open_file(st_archive **out, const char *path, ed_error *err);
void st_archive_close(st_archive *a);

st_tensor *st_archive_find(st_archive *a, const char *name);
int st_archive_count(const st_archive *a);
st_tensor *st_archive_get(st_archive *a, int i);
const char *st_archive_file_name(const st_archive *a, int file);

/* Converts t's values to fp32 into dst (numel floats). ST_OTHER is an error naming the tensor. */
ed_status st_tensor_to_f32(const st_tensor *t, float *dst, ed_error *err);
size_t st_tensor_numel(const st_tensor *t);

#endif
