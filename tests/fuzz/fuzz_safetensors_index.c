/* libFuzzer harness: the input is a model.safetensors.index.json, placed in a scratch folder that
 * also holds two small valid shards (a.safetensors: tensors x, y; b.safetensors: tensor z), and
 * opened with st_archive_open_dir. An accepted index must name only tensors the shards hold,
 * each found once. Shard names holding a '/' are skipped (the harness returns before opening):
 * the code under test would open whatever path they lead to, and in CI that runs as root
 * (opening some devices has side effects). */
#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "models/safetensors.h"
#include "tests/fuzz/fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Writes a shard whose header is `json` followed by `data_len` zero bytes. */
static void write_shard(const char *name, const char *json, size_t data_len) {
    char path[600];
    snprintf(path, sizeof path, "%s/%s", fuzz_dir, name);
    size_t hl = strlen(json), n = 8 + hl + data_len;
    uint8_t *buf = calloc(1, n);
    FUZZ_REQUIRE(buf != NULL);
    for (int i = 0; i < 8; i++) buf[i] = (uint8_t)((uint64_t)hl >> (8 * i));
    memcpy(buf + 8, json, hl);
    fuzz_write(path, buf, n);
    free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static int ready;
    if (!ready) {
        fuzz_make_dir();
        write_shard("a.safetensors",
                    "{\"x\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]},"
                    "\"y\":{\"dtype\":\"BF16\",\"shape\":[3],\"data_offsets\":[16,22]},"
                    "\"__metadata__\":{\"format\":\"pt\"}}",
                    22);
        write_shard("b.safetensors",
                    "{\"z\":{\"dtype\":\"F16\",\"shape\":[1,4],\"data_offsets\":[0,8]}}", 8);
        ready = 1;
    }
    /* The index as open_index reads it (text up to a NUL, cJSON_Parse): skip one naming a path. */
    char *text = malloc(size + 1);
    if (!text) return 0;
    memcpy(text, data, size);
    text[size] = 0;
    cJSON *idx = cJSON_Parse(text);
    free(text);
    int leaves = 0;
    const cJSON *map = cJSON_GetObjectItemCaseSensitive(idx, "weight_map");
    for (const cJSON *e = map ? map->child : NULL; e; e = e->next)
        leaves |= cJSON_IsString(e) && strchr(e->valuestring, '/');
    cJSON_Delete(idx);
    if (leaves) return 0;
    char path[600];
    snprintf(path, sizeof path, "%s/model.safetensors.index.json", fuzz_dir);
    fuzz_write(path, data, size);
    st_archive *a = NULL;
    ed_error err;
    memset(&err, 0, sizeof err);
    if (st_archive_open_dir(&a, fuzz_dir, &err) != ED_OK) {
        FUZZ_REQUIRE(a == NULL);
        FUZZ_REQUIRE_MSG(err);
        return 0;
    }
    int n = st_archive_count(a);
    for (int i = 0; i < n; i++) {
        const st_tensor *t = st_archive_get(a, i);
        FUZZ_REQUIRE(st_archive_find(a, t->name) == t);
        FUZZ_REQUIRE(st_archive_file_name(a, t->file) != NULL);
    }
    FUZZ_ACCEPTED("index");
    st_archive_close(a);
    return 0;
}
