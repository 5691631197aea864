/* Writes small safetensors files by hand and checks reading and every structural error. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "models/safetensors.h"
#include "tests/unit/check.h"

static const char *write_file(const char *name, const char *header, const void *data, size_t n,
                              size_t truncate_to) {
    static char path[256];
    snprintf(path, sizeof path, "%s/encdec_st_%d_%s", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp",
             (int)getpid(), name);
    FILE *f = fopen(path, "wb");
    uint64_t hl = strlen(header);
    unsigned char len[8];
    for (int i = 0; i < 8; i++) len[i] = (unsigned char)(hl >> (8 * i));
    char *buf = malloc(8 + hl + n);
    memcpy(buf, len, 8);
    memcpy(buf + 8, header, hl);
    memcpy(buf + 8 + hl, data, n);
    size_t total = 8 + hl + n;
    fwrite(buf, 1, truncate_to && truncate_to < total ? truncate_to : total, f);
    fclose(f);
    free(buf);
    return path;
}

/* A folder under TMPDIR for one checkpoint; its path in `dir`. */
static void make_dir(char *dir, size_t n, const char *name) {
    snprintf(dir, n, "%s/encdec_st_%d_%s", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp",
             (int)getpid(), name);
    mkdir(dir, 0700);
}

/* A FIFO as the checkpoint (it must be refused, not opened for a read that never ends), shard
 * names that leave the checkpoint folder, and 80,000 tensors in one header (names indexed: the
 * duplicate check and lookups are not a scan per tensor). */
static void test_hostile_checkpoints(const char *data) {
    ed_error err;
    st_archive *a = NULL;
    char dir[256], path[512];
    make_dir(dir, sizeof dir, "fifo");
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    CHECK(mkfifo(path, 0600) == 0);
    CHECK(st_archive_open_dir(&a, dir, &err) == ED_ERR);
    CHECK_MSG(err, "not a regular file");
    remove(path);

    snprintf(path, sizeof path, "%s/model.safetensors.index.json", dir);
    FILE *f = fopen(path, "w");
    fputs("{\"weight_map\": {\"a\": \"../outside.safetensors\"}}", f);
    fclose(f);
    CHECK(st_archive_open_dir(&a, dir, &err) == ED_ERR);
    CHECK_MSG(err, "weight_map[a] names '../outside.safetensors': a shard must be a file name");
    remove(path);
    rmdir(dir);

    enum { N = 80000 };
    size_t cap = (size_t)N * 80 + 16, len = 0;
    char *hdr = malloc(cap);
    len += (size_t)snprintf(hdr + len, cap - len, "{");
    for (int i = 0; i < N; i++)
        len += (size_t)snprintf(hdr + len, cap - len,
                                "%s\"t%d\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0]}",
                                i ? "," : "", i);
    snprintf(hdr + len, cap - len, "}");
    const char *p = write_file("many", hdr, data, 0, 0);
    CHECK(st_archive_open_file(&a, p, &err) == ED_OK);
    CHECK(a && st_archive_count(a) == N && st_archive_find(a, "t79999") == st_archive_get(a, N - 1));
    CHECK(a && !st_archive_find(a, "t80000"));
    st_archive_close(a);
    remove(p);
    free(hdr);
}

int main(void) {
    float vals[6] = {1, 2, 3, 4, 5, 6};
    uint16_t bf[2] = {0x3f80, 0xc000}; /* 1.0, -2.0 */
    char data[32];
    memcpy(data, vals, 24);
    memcpy(data + 24, bf, 4);
    const char *hdr = "{\"__metadata__\":{\"format\":\"pt\"},"
                      "\"a.weight\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]},"
                      "\"b\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[24,28]}}";
    st_archive *a = NULL;
    ed_error err;
    const char *p = write_file("ok.safetensors", hdr, data, 28, 0);
    CHECK(st_archive_open_file(&a, p, &err) == ED_OK);
    if (a) {
        CHECK(st_archive_count(a) == 2);
        st_tensor *t = st_archive_find(a, "a.weight");
        float out[6];
        CHECK(t && t->rank == 2 && t->shape[0] == 2 && t->shape[1] == 3);
        CHECK(t && st_tensor_to_f32(t, out, &err) == ED_OK && out[5] == 6.0f);
        t = st_archive_find(a, "b");
        CHECK(t && st_tensor_to_f32(t, out, &err) == ED_OK && out[0] == 1.0f && out[1] == -2.0f);
        st_archive_close(a);
    }
    remove(p);

    p = write_file("trunc.safetensors", hdr, data, 28, 40);
    CHECK(st_archive_open_file(&a, p, &err) == ED_ERR);
    CHECK_MSG(err, "does not fit");
    remove(p);

    p = write_file("trunc_data.safetensors", hdr, data, 20, 0);
    CHECK(st_archive_open_file(&a, p, &err) == ED_ERR);
    CHECK_MSG(err, "a.weight");
    CHECK_MSG(err, "truncated");
    remove(p);

    p = write_file("badjson.safetensors", "{\"a\": [1,", data, 4, 0);
    CHECK(st_archive_open_file(&a, p, &err) == ED_ERR);
    CHECK_MSG(err, "not valid JSON");
    remove(p);

    p = write_file("badsize.safetensors",
                   "{\"w\":{\"dtype\":\"F32\",\"shape\":[3,3],\"data_offsets\":[0,24]}}", data, 28, 0);
    CHECK(st_archive_open_file(&a, p, &err) == ED_ERR);
    CHECK_MSG(err, "tensor w");
    CHECK_MSG(err, "contradict");
    remove(p);

    p = write_file("tiny", "", data, 0, 5);
    CHECK(st_archive_open_file(&a, p, &err) == ED_ERR);
    CHECK_MSG(err, "truncated");
    remove(p);

    /* Hostile headers: each refused, naming the tensor. */
    struct {
        const char *name, *header, *needle1, *needle2;
    } bad[] = {
        /* two tensors sharing bytes (one aliases the other's data) */
        {"overlap", "{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},"
                    "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}}",
         "tensors a and b overlap", NULL},
        /* a tensor inside a larger one that is not its neighbour in offset order */
        {"overlap_inside",
         "{\"big\":{\"dtype\":\"F32\",\"shape\":[6],\"data_offsets\":[0,24]},"
         "\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]},"
         "\"y\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[16,20]}}",
         "overlap", "big"},
        /* fractional offsets and shapes */
        {"frac_offset", "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0.5,8.5]}}",
         "tensor w", "data_offsets"},
        {"frac_shape", "{\"w\":{\"dtype\":\"F32\",\"shape\":[1.5,4],\"data_offsets\":[0,24]}}",
         "tensor w", "shape[0]"},
        /* a shape of 1e30 (its cast to an integer was undefined behaviour) */
        {"huge_shape", "{\"w\":{\"dtype\":\"F32\",\"shape\":[1e30],\"data_offsets\":[0,4]}}",
         "tensor w", "shape[0]"},
        /* shapes whose product overflows */
        {"huge_product",
         "{\"w\":{\"dtype\":\"I8\",\"shape\":[4294967296,4294967296],"
         "\"data_offsets\":[0,4]}}", "tensor w", "2^48"},
        {"huge_offset", "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[1e30,1e30]}}",
         "tensor w", "data_offsets"},
        {"string_offset",
         "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[\"0\",4]}}", "tensor w",
         "data_offsets"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        p = write_file(bad[i].name, bad[i].header, data, 32, 0);
        err.msg[0] = 0;
        a = NULL;
        int refused = st_archive_open_file(&a, p, &err) == ED_ERR;
        if (!refused) {
            fprintf(stderr, "%s: accepted\n", bad[i].name);
            st_archive_close(a);
        }
        CHECK(refused);
        CHECK_MSG(err, bad[i].needle1);
        if (bad[i].needle2) CHECK_MSG(err, bad[i].needle2);
        remove(p);
    }
    /* Adjacent and empty tensors are not overlaps. */
    p = write_file("adjacent",
                   "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                   "\"e\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[4,4]},"
                   "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}}",
                   data, 32, 0);
    a = NULL;
    CHECK(st_archive_open_file(&a, p, &err) == ED_OK);
    st_archive_close(a);
    remove(p);

    CHECK(st_archive_open_dir(&a, "/nonexistent-dir", &err) == ED_ERR);
    CHECK_MSG(err, "model.safetensors");
    test_hostile_checkpoints(data);
    TEST_MAIN_END("test_safetensors");
}
