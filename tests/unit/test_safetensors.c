/* Writes small safetensors files by hand and checks reading and every structural error. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
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

    CHECK(st_archive_open_dir(&a, "/nonexistent-dir", &err) == ED_ERR);
    CHECK_MSG(err, "model.safetensors");
    TEST_MAIN_END("test_safetensors");
}
