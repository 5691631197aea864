/* A string -> int map (open addressing, FNV-1a) for tokenizer vocabularies and merge ranks. Keys
 * are byte strings (any bytes, length given), copied into the map. Read-only lookups may run
 * concurrently once filling is done. */
#ifndef ENCDEC_TOK_MAP_H
#define ENCDEC_TOK_MAP_H

#include <stddef.h>

typedef struct tok_map tok_map;

tok_map *tok_map_create(size_t expected);          /* NULL: out of memory */
void tok_map_destroy(tok_map *m);                  /* NULL: no-op */
/* Sets key -> value (replacing an existing value). Returns 0, or -1 when out of memory. */
int tok_map_put(tok_map *m, const char *key, size_t len, int value);
/* The value of key, or -1 when absent. */
int tok_map_get(const tok_map *m, const char *key, size_t len);
size_t tok_map_count(const tok_map *m);

#endif
