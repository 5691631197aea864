// Scratch of decode attention's split-key launches (attention_decode.cu): per (item, range) the
// range's max, sum and unnormalized output, and per item a count of its ranges done.
#ifndef ENCDEC_DECODE_SPLIT_SCRATCH_CUH
#define ENCDEC_DECODE_SPLIT_SCRATCH_CUH

#define SPLIT_KEYS 128 /* keys per range of a split item: one per thread of a 128-thread block */
#define MIN_RANGES 3   /* fewer ranges than this (bounds up to 256 keys): not split */
#define MAX_RANGES 64  /* more ranges than this (over 8,192 keys): not split */

/* Split-key scratch of one launch: per (item, range) [max, sum, unnormalized output (d_kv)],
 * and per item the count of its ranges done (zero between launches: the merging block resets
 * it). ranges = 0: not split. */
struct split_scratch {
    float *part;
    int *done;
    int ranges;
};

/* Scratch for `items` items of `ranges` ranges of d_kv-wide outputs, in *out (ranges left 0 for
 * the caller to set); 0 when it cannot be had (then the launch is not split). */
int decode_split_scratch(int items, int ranges, int d_kv, split_scratch *out);

#endif
