#include "runtime/id_set.h"

#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/hash.h"

typedef struct id_node {
    char *key; /* the id's compact JSON text */
    struct id_node *next;
} id_node;

struct id_set {
    id_node **buckets; /* [n_buckets] chains */
    size_t n_buckets;
    int count;
};

id_set *id_set_create(void) {
    id_set *s = calloc(1, sizeof *s);
    if (s && !(s->buckets = calloc(s->n_buckets = 1024, sizeof *s->buckets))) {
        free(s);
        return NULL;
    }
    return s;
}

void id_set_destroy(id_set *s) {
    if (!s) return;
    for (size_t b = 0; b < s->n_buckets; b++)
        for (id_node *n = s->buckets[b], *next; n; n = next) {
            next = n->next;
            free(n->key);
            free(n);
        }
    free(s->buckets);
    free(s);
}

/* The chain link that holds key, or the chain's terminating NULL link. */
static id_node **find(const id_set *s, const char *key) {
    id_node **at = &s->buckets[hash_fnv1a_str(key) % s->n_buckets];
    while (*at && strcmp((*at)->key, key)) at = &(*at)->next;
    return at;
}

ed_status id_set_add(id_set *s, const cJSON *id, ed_error *err) {
    if (!id) return ED_OK; /* no id: nothing to match */
    char *key = cJSON_PrintUnformatted(id);
    if (!key) return ed_fail(err, "out of memory");
    id_node **at = find(s, key);
    if (*at) {
        ed_status st = ed_fail(err, "field id: %.200s is the id of a request still in flight "
                                    "(ids must be unique among the requests being served)", key);
        free(key);
        return st;
    }
    id_node *n = malloc(sizeof *n);
    if (!n) {
        free(key);
        return ed_fail(err, "out of memory");
    }
    *n = (id_node){key, NULL};
    *at = n;
    s->count++;
    return ED_OK;
}

void id_set_remove(id_set *s, const cJSON *id) {
    if (!id) return;
    char *key = cJSON_PrintUnformatted(id);
    if (!key) return;
    id_node **at = find(s, key);
    if (*at) {
        id_node *n = *at;
        *at = n->next;
        free(n->key);
        free(n);
        s->count--;
    }
    free(key);
}

int id_set_count(const id_set *s) { return s->count; }
