/* Tensor-parallel chunking: how n items (vocabulary rows) are split over tp ranks. */
#ifndef ENCDEC_TP_CHUNK_H
#define ENCDEC_TP_CHUNK_H

/* The slice of n items that `rank` of `tp` holds when split in chunks of ceil(n / tp): the last
 * ranks may hold fewer, or none (vocabularies rarely divide by tp; BART's 50265 is odd). */
void tp_chunk(int n, int rank, int tp, int *start, int *count);

#endif
