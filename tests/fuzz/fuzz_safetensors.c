/* libFuzzer harness: the input is a whole .safetensors file (8-byte little-endian header length,
 * JSON header, data), written to a scratch file and opened with st_archive_open_file. Each tensor
 * of an accepted file must have a byte count that matches dtype x shape, lie inside the file,
 * overlap no other tensor, and convert to fp32 into a buffer of exactly numel floats (an
 * overrun there is an ASan report). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "models/safetensors.h"
#include "tests/fuzz/fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static char path[600];
    fuzz_make_dir();
    snprintf(path, sizeof path, "%s/model.safetensors", fuzz_dir);
    fuzz_write(path, data, size);
    st_archive *a = NULL;
    ed_error err;
    memset(&err, 0, sizeof err);
    if (st_archive_open_file(&a, path, &err) != ED_OK) {
        FUZZ_REQUIRE(a == NULL);
        FUZZ_REQUIRE_MSG(err);
        return 0;
    }
    int n = st_archive_count(a);
    size_t total = 0;
    for (int i = 0; i < n; i++) {
        const st_tensor *t = st_archive_get(a, i);
        FUZZ_REQUIRE(t->rank >= 0 && t->rank <= 8);
        FUZZ_REQUIRE(t->nbytes <= size);
        total += t->nbytes;
        FUZZ_REQUIRE(st_archive_find(a, t->name) == t); /* names are distinct */
        if (t->dtype == ST_OTHER) continue;
        size_t numel = st_tensor_numel(t);
        size_t esize = t->dtype == ST_F32 ? 4 : 2;
        FUZZ_REQUIRE(numel * esize == t->nbytes);
        float *dst = malloc(numel ? numel * sizeof *dst : 1);
        FUZZ_REQUIRE(dst != NULL);
        FUZZ_REQUIRE(st_tensor_to_f32(t, dst, &err) == ED_OK);
        free(dst);
    }
    FUZZ_REQUIRE(total <= size); /* no two tensors share bytes */
    FUZZ_ACCEPTED("safetensors file");
    st_archive_close(a);
    return 0;
}
