/* FNV-1a, 64-bit: the one hash of plan checksums and name tables. */
#ifndef ENCDEC_HASH_H
#define ENCDEC_HASH_H

#include <stddef.h>
#include <stdint.h>

#define HASH_FNV1A_SEED 1469598103934665603ull

/* h continued over data[n] (start with HASH_FNV1A_SEED). */
uint64_t hash_fnv1a(uint64_t h, const void *data, size_t n);
/* The hash of a NUL-terminated string. */
uint64_t hash_fnv1a_str(const char *s);

#endif
