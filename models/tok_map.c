#include "models/tok_map.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/hash.h"

typedef struct slot {
    char *key; /* NULL: empty */
    size_t len;
    uint64_t hash;
    int value;
} slot;

struct tok_map {
    slot *slots;
    size_t cap, count; /* cap a power of two, count < cap / 2 */
};

tok_map *tok_map_create(size_t expected) {
    tok_map *m = calloc(1, sizeof *m);
    if (!m) return NULL;
    m->cap = 16;
    while (m->cap < 2 * expected + 2) m->cap *= 2;
    if (!(m->slots = calloc(m->cap, sizeof *m->slots))) {
        free(m);
        return NULL;
    }
    return m;
}

void tok_map_destroy(tok_map *m) {
    if (!m) return;
    for (size_t i = 0; i < m->cap; i++) free(m->slots[i].key);
    free(m->slots);
    free(m);
}

static slot *find(const tok_map *m, const char *key, size_t len, uint64_t h) {
    for (size_t i = h & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        slot *s = &m->slots[i];
        if (!s->key || (s->hash == h && s->len == len && !memcmp(s->key, key, len))) return s;
    }
}

static int grow(tok_map *m) {
    size_t old_cap = m->cap;
    slot *old = m->slots;
    slot *fresh = calloc(old_cap * 2, sizeof *fresh);
    if (!fresh) return -1;
    m->slots = fresh;
    m->cap = old_cap * 2;
    for (size_t i = 0; i < old_cap; i++)
        if (old[i].key) *find(m, old[i].key, old[i].len, old[i].hash) = old[i];
    free(old);
    return 0;
}

int tok_map_put(tok_map *m, const char *key, size_t len, int value) {
    if (2 * (m->count + 1) >= m->cap && grow(m)) return -1;
    uint64_t h = hash_fnv1a(HASH_FNV1A_SEED, key, len);
    slot *s = find(m, key, len, h);
    if (!s->key) {
        if (!(s->key = malloc(len + 1))) return -1;
        memcpy(s->key, key, len);
        s->key[len] = 0;
        s->len = len;
        s->hash = h;
        m->count++;
    }
    s->value = value;
    return 0;
}

int tok_map_get(const tok_map *m, const char *key, size_t len) {
    const slot *s = find(m, key, len, hash_fnv1a(HASH_FNV1A_SEED, key, len));
    return s->key ? s->value : -1;
}

size_t tok_map_count(const tok_map *m) { return m->count; }
