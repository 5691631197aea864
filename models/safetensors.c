#include "models/safetensors.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/dtype.h"
#include "common/hash.h"

#define ST_MAX_FILES 512
#define ST_MAX_HEADER (100u << 20)

typedef struct st_file {
    char path[1024];
    uint8_t *map;
    size_t size;
} st_file;

struct st_archive {
    st_file files[ST_MAX_FILES];
    int n_files;
    st_tensor *tensors;
    int n_tensors, cap_tensors;
    int *by_name;    /* [n_slots] open-addressed hash of names: tensor index + 1, 0 = empty;
                        kept under half full (finding a name is O(1), not a scan) */
    size_t n_slots;
};

/* The slot holding `name`, or the empty slot where it would go. */
static size_t name_slot(const st_archive *a, const char *name) {
    size_t i = (size_t)hash_fnv1a_str(name) & (a->n_slots - 1);
    while (a->by_name[i] && strcmp(a->tensors[a->by_name[i] - 1].name, name))
        i = (i + 1) & (a->n_slots - 1);
    return i;
}

/* Indexes tensor i by its name (distinct: the caller checked); 0 when out of memory. */
static int index_name(st_archive *a, int i) {
    if (2 * ((size_t)a->n_tensors + 1) > a->n_slots) { /* grow and rehash */
        size_t n = a->n_slots ? 2 * a->n_slots : 1024;
        int *slots = calloc(n, sizeof *slots), *old = a->by_name;
        if (!slots) return 0;
        a->by_name = slots;
        a->n_slots = n;
        for (int k = 0; k < i; k++) a->by_name[name_slot(a, a->tensors[k].name)] = k + 1;
        free(old);
    }
    a->by_name[name_slot(a, a->tensors[i].name)] = i + 1;
    return 1;
}

/* Largest shape entry, element count or byte offset accepted (2^48: exact in a double, no
 * overflow in size_t products with an element size). */
#define ST_MAX_COUNT ((double)((int64_t)1 << 48))

/* 1 when j is a JSON number that is a whole number in [0, max]. */
static int whole_number(const cJSON *j, double max) {
    return cJSON_IsNumber(j) && j->valuedouble >= 0 && j->valuedouble <= max &&
           j->valuedouble == floor(j->valuedouble);
}

static size_t dtype_size(st_dtype d) { return d == ST_F32 ? 4 : d == ST_OTHER ? 0 : 2; }

size_t st_tensor_numel(const st_tensor *t) {
    size_t n = 1;
    for (int i = 0; i < t->rank; i++) n *= (size_t)t->shape[i];
    return n;
}

static ed_status parse_entry(st_archive *a, int fi, const cJSON *e, size_t data_len,
                             const uint8_t *data, ed_error *err) {
    const char *path = a->files[fi].path;
    const char *name = e->string;
    if (strlen(name) >= sizeof a->tensors[0].name)
        return ed_fail(err, "%s: tensor name '%.60s...' is too long", path, name);
    const cJSON *dt = cJSON_GetObjectItemCaseSensitive(e, "dtype");
    const cJSON *sh = cJSON_GetObjectItemCaseSensitive(e, "shape");
    const cJSON *off = cJSON_GetObjectItemCaseSensitive(e, "data_offsets");
    if (!cJSON_IsString(dt) || !cJSON_IsArray(sh) || !cJSON_IsArray(off) ||
        cJSON_GetArraySize(off) != 2)
        return ed_fail(err, "%s: tensor %s: header entry needs dtype, shape and data_offsets", path,
                       name);
    if (a->n_tensors == a->cap_tensors) {
        int cap = a->cap_tensors ? 2 * a->cap_tensors : 256;
        st_tensor *t = realloc(a->tensors, (size_t)cap * sizeof *t);
        if (!t) return ed_fail(err, "out of memory");
        a->tensors = t;
        a->cap_tensors = cap;
    }
    st_tensor *t = &a->tensors[a->n_tensors];
    memset(t, 0, sizeof *t);
    snprintf(t->name, sizeof t->name, "%s", name);
    snprintf(t->dtype_name, sizeof t->dtype_name, "%s", dt->valuestring);
    t->dtype = !strcmp(dt->valuestring, "F32")    ? ST_F32
               : !strcmp(dt->valuestring, "F16")  ? ST_F16
               : !strcmp(dt->valuestring, "BF16") ? ST_BF16
                                                  : ST_OTHER;
    t->rank = cJSON_GetArraySize(sh);
    if (t->rank > 8) return ed_fail(err, "%s: tensor %s: rank %d > 8", path, name, t->rank);
    /* Every number is checked to be a whole number in range before it is cast: a shape of 1e30
     * or an offset of 2.5 is refused, never converted. */
    double numel = 1;
    for (int i = 0; i < t->rank; i++) {
        const cJSON *d = cJSON_GetArrayItem(sh, i);
        if (!whole_number(d, ST_MAX_COUNT))
            return ed_fail(err, "%s: tensor %s: shape[%d] is not a whole number in [0, 2^48]",
                           path, name, i);
        t->shape[i] = (int64_t)d->valuedouble;
        numel *= d->valuedouble;
    }
    if (numel > (double)ST_MAX_COUNT)
        return ed_fail(err, "%s: tensor %s: its shape has more than 2^48 elements", path, name);
    const cJSON *ob = cJSON_GetArrayItem(off, 0), *oe = cJSON_GetArrayItem(off, 1);
    if (!whole_number(ob, ST_MAX_COUNT) || !whole_number(oe, ST_MAX_COUNT))
        return ed_fail(err, "%s: tensor %s: data_offsets must be two whole numbers of bytes", path,
                       name);
    double b = ob->valuedouble, en = oe->valuedouble;
    if (en < b || en > (double)data_len)
        return ed_fail(err, "%s: tensor %s: data_offsets [%.0f, %.0f] lie outside the %zu data "
                            "bytes (truncated file?)", path, name, b, en, data_len);
    t->data = data + (size_t)b;
    t->nbytes = (size_t)(en - b);
    if (t->dtype != ST_OTHER && t->nbytes != st_tensor_numel(t) * dtype_size(t->dtype))
        return ed_fail(err, "%s: tensor %s: %zu bytes contradict dtype %s and its shape", path,
                       name, t->nbytes, t->dtype_name);
    t->file = fi;
    if (!index_name(a, a->n_tensors)) return ed_fail(err, "out of memory");
    a->n_tensors++;
    return ED_OK;
}

static int by_start(const void *x, const void *y) {
    const st_tensor *const *p = x, *const *q = y;
    return (*p)->data < (*q)->data ? -1 : (*p)->data > (*q)->data;
}

/* Refuses a file whose tensors a->tensors[first..) share bytes (each would silently alias the
 * other's data). Empty tensors overlap nothing. */
static ed_status check_overlap(st_archive *a, int first, const char *path, ed_error *err) {
    int n = a->n_tensors - first;
    if (n < 2) return ED_OK;
    const st_tensor **order = malloc((size_t)n * sizeof *order);
    if (!order) return ed_fail(err, "out of memory");
    for (int i = 0; i < n; i++) order[i] = &a->tensors[first + i];
    qsort(order, (size_t)n, sizeof *order, by_start);
    ed_status st = ED_OK;
    const st_tensor *reach = NULL; /* the tensor ending furthest so far */
    for (int i = 0; i < n && st == ED_OK; i++) {
        const st_tensor *t = order[i];
        if (!t->nbytes) continue;
        if (reach && t->data < reach->data + reach->nbytes)
            st = ed_fail(err, "%s: tensors %s and %s overlap (their data_offsets share bytes)",
                         path, reach->name, t->name);
        if (!reach || t->data + t->nbytes > reach->data + reach->nbytes) reach = t;
    }
    free(order);
    return st;
}

/* Maps one file and appends its tensors. If only != NULL, the file is a shard: fine. */
static ed_status add_file(st_archive *a, const char *path, ed_error *err) {
    if (a->n_files == ST_MAX_FILES) return ed_fail(err, "%s: too many shards", path);
    int fi = a->n_files;
    st_file *f = &a->files[fi];
    snprintf(f->path, sizeof f->path, "%s", path);
    int fd = open(path, O_RDONLY | O_NONBLOCK); /* a FIFO must not block the open */
    if (fd < 0) return ed_fail(err, "%s: cannot open: %s", path, strerror(errno));
    struct stat stbuf;
    if (fstat(fd, &stbuf) == 0 && !S_ISREG(stbuf.st_mode)) {
        close(fd);
        return ed_fail(err, "%s: not a regular file (a checkpoint shard must be one)", path);
    }
    if (fstat(fd, &stbuf) || stbuf.st_size < 8) {
        close(fd);
        return ed_fail(err, "%s: file is truncated (shorter than the 8-byte header length)", path);
    }
    f->size = (size_t)stbuf.st_size;
    f->map = mmap(NULL, f->size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (f->map == MAP_FAILED) {
        f->map = NULL;
        return ed_fail(err, "%s: cannot map: %s", path, strerror(errno));
    }
    a->n_files++;
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--) hlen = (hlen << 8) | f->map[i];
    if (hlen > ST_MAX_HEADER || 8 + hlen > f->size)
        return ed_fail(err, "%s: header length %llu does not fit in the %zu-byte file (truncated "
                            "or not a safetensors file)", path, (unsigned long long)hlen, f->size);
    cJSON *h = cJSON_ParseWithLength((const char *)f->map + 8, (size_t)hlen);
    if (!h || !cJSON_IsObject(h)) {
        cJSON_Delete(h);
        return ed_fail(err, "%s: header is not valid JSON", path);
    }
    ed_status st = ED_OK;
    const uint8_t *data = f->map + 8 + hlen;
    size_t data_len = f->size - 8 - hlen;
    int first = a->n_tensors;
    for (const cJSON *e = h->child; e && st == ED_OK; e = e->next) {
        if (!strcmp(e->string, "__metadata__")) continue;
        if (st_archive_find(a, e->string)) {
            st = ed_fail(err, "%s: tensor %s appears twice in the checkpoint", path, e->string);
            break;
        }
        st = parse_entry(a, fi, e, data_len, data, err);
    }
    cJSON_Delete(h);
    if (st == ED_OK) st = check_overlap(a, first, path, err);
    return st;
}

ed_status st_archive_open_file(st_archive **out, const char *path, ed_error *err) {
    st_archive *a = calloc(1, sizeof *a);
    if (!a) return ed_fail(err, "out of memory");
    if (add_file(a, path, err)) {
        st_archive_close(a);
        return ED_ERR;
    }
    *out = a;
    return ED_OK;
}

static char *read_text(const char *path, ed_error *err) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        ed_fail(err, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        fclose(f);
        ed_fail(err, "%s: cannot read", path);
        return NULL;
    }
    buf[n] = 0;
    fclose(f);
    return buf;
}

static ed_status open_index(st_archive *a, const char *dir, const char *index_path, ed_error *err) {
    char *text = read_text(index_path, err);
    if (!text) return ED_ERR;
    cJSON *idx = cJSON_Parse(text);
    free(text);
    const cJSON *map = cJSON_GetObjectItemCaseSensitive(idx, "weight_map");
    ed_status st = ED_OK;
    if (!cJSON_IsObject(map)) {
        st = ed_fail(err, "%s: key weight_map is missing or not an object", index_path);
        goto done;
    }
    for (const cJSON *e = map->child; e && st == ED_OK; e = e->next) {
        if (!cJSON_IsString(e)) {
            st = ed_fail(err, "%s: weight_map[%s] is not a file name", index_path, e->string);
            break;
        }
        const char *shard = e->valuestring;
        if (!shard[0] || strchr(shard, '/') || !strcmp(shard, ".") || !strcmp(shard, "..")) {
            st = ed_fail(err, "%s: weight_map[%s] names '%.200s': a shard must be a file name in "
                              "the checkpoint folder", index_path, e->string, shard);
            break;
        }
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, shard);
        int known = 0;
        for (int i = 0; i < a->n_files; i++) known |= !strcmp(a->files[i].path, path);
        if (!known) st = add_file(a, path, err);
    }
    for (const cJSON *e = map->child; e && st == ED_OK; e = e->next) {
        const st_tensor *t = st_archive_find(a, e->string);
        if (!t) st = ed_fail(err, "%s: tensor %s is listed in weight_map but missing from %s",
                             index_path, e->string, e->valuestring);
    }
done:
    cJSON_Delete(idx);
    return st;
}

ed_status st_archive_open_dir(st_archive **out, const char *dir, ed_error *err) {
    st_archive *a = calloc(1, sizeof *a);
    if (!a) return ed_fail(err, "out of memory");
    char path[1024];
    snprintf(path, sizeof path, "%s/model.safetensors.index.json", dir);
    ed_status st;
    if (access(path, F_OK) == 0) {
        st = open_index(a, dir, path, err);
    } else {
        snprintf(path, sizeof path, "%s/model.safetensors", dir);
        if (access(path, F_OK) != 0)
            st = ed_fail(err, "%s: neither model.safetensors nor model.safetensors.index.json "
                              "exists (only safetensors checkpoints are read)", dir);
        else
            st = add_file(a, path, err);
    }
    if (st) {
        st_archive_close(a);
        return ED_ERR;
    }
    *out = a;
    return ED_OK;
}

void st_archive_close(st_archive *a) {
    if (!a) return;
    for (int i = 0; i < a->n_files; i++)
        if (a->files[i].map) munmap(a->files[i].map, a->files[i].size);
    free(a->tensors);
    free(a->by_name);
    free(a);
}

st_tensor *st_archive_find(st_archive *a, const char *name) {
    if (!a->n_slots) return NULL;
    int i = a->by_name[name_slot(a, name)];
    return i ? &a->tensors[i - 1] : NULL;
}

int st_archive_count(const st_archive *a) { return a->n_tensors; }
st_tensor *st_archive_get(st_archive *a, int i) { return &a->tensors[i]; }
const char *st_archive_file_name(const st_archive *a, int file) { return a->files[file].path; }

ed_status st_tensor_to_f32(const st_tensor *t, float *dst, ed_error *err) {
    size_t n = st_tensor_numel(t);
    const uint8_t *p = t->data;
    switch (t->dtype) {
    case ST_F32:
        memcpy(dst, p, n * 4);
        return ED_OK;
    case ST_F16:
    case ST_BF16:
        for (size_t i = 0; i < n; i++) {
            uint16_t h = (uint16_t)(p[2 * i] | (p[2 * i + 1] << 8));
            dst[i] = t->dtype == ST_F16 ? dtype_fp16_to_f32(h) : dtype_bf16_to_f32(h);
        }
        return ED_OK;
    case ST_OTHER: break;
    }
    return ed_fail(err, "tensor %s: dtype %s is not supported (F32, F16, BF16 are)", t->name,
                   t->dtype_name);
}
