/* libFuzzer harness for the .h5 model loader's attribute and spec checks (models/h5_model.c,
 * models/spec.c). Fuzzing raw HDF5 bytes would mostly exercise libhdf5's own parser (not ours,
 * and with known crashes of its own), so the input is instead a small program of edits applied
 * with the HDF5 API to a valid model file (the spec of a tiny T5 and its tensor embed.tokens
 * [48, 16] fp32), which h5_model_open / h5_model_read_spec / h5_model_read_slice then read.
 *
 * Input: records until the bytes run out, each `op target payload...`:
 *   target (mod 35): 0 encdec_format_version, 1 family, 2 source_architecture, 3..33 the spec
 *     attributes in h5_model.c's order, 34 the attribute dtype of tensor embed.tokens;
 *   op (mod 8):
 *     0 delete the attribute;
 *     1 an integer: byte (bits 0-1: 1/2/4/8 bytes, bit 2: unsigned), 8 bytes int64 LE;
 *     2 a float: byte (bit 0: 8 bytes, else 4), 8 bytes of a double's bits LE;
 *     3 a fixed-length string: byte n (mod 64), byte (bits 0-1 pad: nullterm, nullpad,
 *       spacepad; bit 2 UTF-8), n bytes;
 *     4 a variable-length string: byte n (mod 64), n bytes (cut at a NUL);
 *     5 an integer array: byte c (mod 4; 0 = a null dataspace), c x 8 bytes int64 LE;
 *     6 another type class: byte (mod 4: bitfield, opaque, compound, enum);
 *     7 re-create embed.tokens (target ignored): byte type (mod 7: f32, u16, i16, f64, u8, and
 *       the quantized i8 "int8" and u8 "fp8_e4m3"), byte rank (1 + bit 0), 2 bytes dims (each
 *       mod 64), byte flags (bit 0: checksummed chunks; quantized: bit 1 no embed.tokens.scale,
 *       bit 2 a scale dataset one row too long, bit 3 a zero scale, bit 4 a NaN scale, bit 5
 *       the scales as float64), and a dtype attribute ("fp32", "bf16", "int8", "fp8_e4m3").
 * A refused file must carry a message; an accepted spec must give every tensor of the weight
 * table a positive shape whose byte size fits in size_t; when embed.tokens is small, reading it
 * whole must fill exactly the buffer its spec shape asks for. */
#include <hdf5.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/dtype.h"
#include "common/log.h"
#include "models/h5_model.h"
#include "models/weight_table.h"
#include "tests/fuzz/fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const targets[] = {
    "encdec_format_version", "family", "source_architecture", "vocab_size", "d_model", "d_kv",
    "num_heads", "d_ff", "enc_layers", "dec_layers", "rel_buckets", "rel_max_distance",
    "rel_bias_per_layer", "gated_ffn", "act", "norm", "norm_eps", "scale_decoder_outputs",
    "tied_head", "pad_id", "eos_id", "decoder_start_id", "pre_norm", "final_norm", "linear_bias",
    "learned_pos", "max_positions", "pos_offset", "embed_scale", "embed_norm", "attn_scale",
    "logits_bias", "forced_bos_id", "forced_eos_id", "dtype"};
#define N_TARGETS ((int)(sizeof targets / sizeof targets[0]))
#define V 48
#define D 16

static uint8_t *base;    /* the valid model file's bytes */
static size_t base_size;
static char base_path[600], work_path[600];

typedef struct reader {
    const uint8_t *p;
    size_t n;
} reader;

static int get(reader *r, uint8_t *b) {
    if (!r->n) return 0;
    *b = *r->p++;
    r->n--;
    return 1;
}

static int get64(reader *r, uint64_t *v) {
    if (r->n < 8) return 0;
    *v = 0;
    for (int i = 7; i >= 0; i--) *v = (*v << 8) | r->p[i];
    r->p += 8;
    r->n -= 8;
    return 1;
}

static void make_base(void) {
    fuzz_make_dir();
    snprintf(base_path, sizeof base_path, "%s/base.h5", fuzz_dir);
    snprintf(work_path, sizeof work_path, "%s/work.h5", fuzz_dir);
    model_spec s;
    spec_init_defaults(&s);
    snprintf(s.family, sizeof s.family, "t5");
    s.vocab_size = V;
    s.d_model = D;
    s.d_kv = 4;
    s.num_heads = 4;
    s.d_ff = 32;
    s.enc_layers = s.dec_layers = 1;
    s.rel_buckets = 32;
    s.rel_max_distance = 128;
    s.norm_eps = 1e-6f;
    s.eos_id = 1;
    static float values[V * D];
    for (int i = 0; i < V * D; i++) values[i] = (float)(i % 7) - 3;
    h5_model *f = NULL;
    ed_error err;
    int64_t shape[2] = {V, D};
    FUZZ_REQUIRE(h5_model_create(&f, base_path, &err) == ED_OK);
    FUZZ_REQUIRE(h5_model_write_spec(f, &s, "T5ForConditionalGeneration", &err) == ED_OK);
    FUZZ_REQUIRE(h5_model_write_tensor(f, "embed.tokens", 2, shape, values, DTYPE_FP32, &err) ==
                 ED_OK);
    FUZZ_REQUIRE(h5_model_close(f, &err) == ED_OK);
    FILE *in = fopen(base_path, "rb");
    FUZZ_REQUIRE(in != NULL);
    fseek(in, 0, SEEK_END);
    base_size = (size_t)ftell(in);
    fseek(in, 0, SEEK_SET);
    base = malloc(base_size);
    FUZZ_REQUIRE(base && fread(base, 1, base_size, in) == base_size);
    fclose(in);
}

static void put_attr(hid_t obj, const char *name, hid_t type, hid_t space, const void *buf) {
    if (H5Aexists(obj, name) > 0) H5Adelete(obj, name);
    hid_t a = H5Acreate2(obj, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
    if (a >= 0) {
        H5Awrite(a, type, buf);
        H5Aclose(a);
    }
}

/* Writes embed.tokens.scale: rows values of 0.5 (flags: one row more, a zero, a NaN, float64). */
static void recreate_scales(hid_t file, hsize_t rows, int flags) {
    const char *name = "embed.tokens.scale";
    if (H5Lexists(file, name, H5P_DEFAULT) > 0) H5Ldelete(file, name, H5P_DEFAULT);
    if (flags & 2) return;
    hsize_t n = rows + ((flags & 4) ? 1 : 0);
    double *vals = malloc((n ? n : 1) * sizeof *vals);
    if (!vals) return;
    for (hsize_t i = 0; i < n; i++) vals[i] = 0.5;
    if (n && (flags & 8)) vals[n - 1] = 0.0;
    if (n && (flags & 16)) vals[0] = NAN;
    hid_t sp = H5Screate_simple(1, &n, NULL);
    hid_t ds = H5Dcreate2(file, name, (flags & 32) ? H5T_IEEE_F64LE : H5T_IEEE_F32LE, sp,
                          H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (ds >= 0) {
        H5Dwrite(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, vals);
        hid_t t = H5Tcopy(H5T_C_S1);
        H5Tset_size(t, 5);
        hid_t scalar = H5Screate(H5S_SCALAR);
        put_attr(ds, "dtype", t, scalar, "fp32");
        H5Sclose(scalar);
        H5Tclose(t);
        H5Dclose(ds);
    }
    H5Sclose(sp);
    free(vals);
}

/* Re-creates embed.tokens with the given stored type, rank, dims and layout (and, quantized,
 * its scales). */
static void recreate_tensor(hid_t file, int type, int rank, const hsize_t dims[2], int flags) {
    /* HDF5's predefined type ids are function-like macros, not constants. */
    hid_t stored = type == 0   ? H5T_IEEE_F32LE
                   : type == 1 ? H5T_STD_U16LE
                   : type == 2 ? H5T_STD_I16LE
                   : type == 3 ? H5T_IEEE_F64LE
                   : type == 5 ? H5T_STD_I8LE
                               : H5T_STD_U8LE;
    static const char *const dtype_attr[] = {"fp32", "bf16", "bf16", "bf16", "bf16", "int8",
                                             "fp8_e4m3"};
    int chunked = flags & 1;
    if (H5Lexists(file, "embed.tokens", H5P_DEFAULT) > 0) H5Ldelete(file, "embed.tokens", H5P_DEFAULT);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    if (chunked && dims[0] && (rank == 1 || dims[1])) {
        H5Pset_chunk(dcpl, rank, dims);
        H5Pset_fletcher32(dcpl);
    }
    hid_t sp = H5Screate_simple(rank, dims, NULL);
    hid_t ds = H5Dcreate2(file, "embed.tokens", stored, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    if (ds >= 0) {
        size_t n = (size_t)dims[0] * (rank == 2 ? (size_t)dims[1] : 1);
        double *zeros = calloc(n ? n : 1, sizeof *zeros);
        if (zeros) H5Dwrite(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, zeros);
        free(zeros);
        hid_t t = H5Tcopy(H5T_C_S1);
        H5Tset_size(t, strlen(dtype_attr[type]) + 1);
        hid_t scalar = H5Screate(H5S_SCALAR);
        put_attr(ds, "dtype", t, scalar, dtype_attr[type]);
        H5Sclose(scalar);
        H5Tclose(t);
        H5Dclose(ds);
    }
    H5Sclose(sp);
    H5Pclose(dcpl);
    if (type >= 5) recreate_scales(file, dims[0], flags);
}

/* Applies the input's edits to the file at work_path. */
static void apply_edits(const uint8_t *data, size_t size) {
    hid_t file = H5Fopen(work_path, H5F_ACC_RDWR, H5P_DEFAULT);
    FUZZ_REQUIRE(file >= 0);
    reader r = {data, size};
    uint8_t op, tg, b, c;
    uint64_t v;
    while (get(&r, &op) && get(&r, &tg)) {
        const char *name = targets[tg % N_TARGETS];
        hid_t obj = file;
        if (tg % N_TARGETS == N_TARGETS - 1) {
            if (H5Lexists(file, "embed.tokens", H5P_DEFAULT) <= 0) continue;
            obj = H5Dopen2(file, "embed.tokens", H5P_DEFAULT);
            if (obj < 0) continue;
        }
        hid_t scalar = H5Screate(H5S_SCALAR);
        switch (op % 8) {
        case 0:
            if (H5Aexists(obj, name) > 0) H5Adelete(obj, name);
            break;
        case 1: {
            if (!get(&r, &b) || !get64(&r, &v)) break;
            hid_t t = H5Tcopy((b & 4) ? H5T_STD_U8LE : H5T_STD_I8LE);
            H5Tset_size(t, (size_t)1 << (b & 3)); /* 1, 2, 4 or 8 bytes, all of them used */
            H5Tset_precision(t, (size_t)8 << (b & 3));
            /* Stored bits exactly as given (no conversion clipping): the value's low bytes. */
            uint8_t bytes[8];
            for (int i = 0; i < 8; i++) bytes[i] = (uint8_t)(v >> (8 * i));
            if (H5Aexists(obj, name) > 0) H5Adelete(obj, name);
            hid_t a = H5Acreate2(obj, name, t, scalar, H5P_DEFAULT, H5P_DEFAULT);
            if (a >= 0) {
                H5Awrite(a, t, bytes);
                H5Aclose(a);
            }
            H5Tclose(t);
            break;
        }
        case 2: {
            if (!get(&r, &b) || !get64(&r, &v)) break;
            double d;
            memcpy(&d, &v, sizeof d);
            hid_t t = (b & 1) ? H5T_IEEE_F64LE : H5T_IEEE_F32LE;
            if (H5Aexists(obj, name) > 0) H5Adelete(obj, name);
            hid_t a = H5Acreate2(obj, name, t, scalar, H5P_DEFAULT, H5P_DEFAULT);
            if (a >= 0) {
                H5Awrite(a, H5T_NATIVE_DOUBLE, &d);
                H5Aclose(a);
            }
            break;
        }
        case 3: {
            if (!get(&r, &b) || !get(&r, &c)) break;
            size_t n = b % 64;
            if (n > r.n) n = r.n;
            char buf[64] = {0};
            memcpy(buf, r.p, n);
            r.p += n;
            r.n -= n;
            hid_t t = H5Tcopy(H5T_C_S1);
            H5Tset_size(t, n ? n : 1);
            static const H5T_str_t pads[] = {H5T_STR_NULLTERM, H5T_STR_NULLPAD, H5T_STR_SPACEPAD,
                                             H5T_STR_NULLTERM};
            H5Tset_strpad(t, pads[c & 3]);
            H5Tset_cset(t, (c & 4) ? H5T_CSET_UTF8 : H5T_CSET_ASCII);
            put_attr(obj, name, t, scalar, buf);
            H5Tclose(t);
            break;
        }
        case 4: {
            if (!get(&r, &b)) break;
            size_t n = b % 64;
            if (n > r.n) n = r.n;
            char buf[65] = {0};
            memcpy(buf, r.p, n);
            r.p += n;
            r.n -= n;
            const char *s = buf;
            hid_t t = H5Tcopy(H5T_C_S1);
            H5Tset_size(t, H5T_VARIABLE);
            H5Tset_cset(t, H5T_CSET_UTF8);
            put_attr(obj, name, t, scalar, &s);
            H5Tclose(t);
            break;
        }
        case 5: {
            if (!get(&r, &b)) break;
            hsize_t cnt = b % 4;
            int64_t vals[3] = {0, 0, 0};
            for (hsize_t i = 0; i < cnt; i++)
                if (get64(&r, &v)) vals[i] = (int64_t)v;
            hid_t sp = cnt ? H5Screate_simple(1, &cnt, NULL) : H5Screate(H5S_NULL);
            put_attr(obj, name, H5T_NATIVE_INT64, sp, vals);
            H5Sclose(sp);
            break;
        }
        case 6: {
            if (!get(&r, &b)) break;
            uint8_t zeros[16] = {0};
            hid_t t = -1;
            switch (b % 4) {
            case 0: t = H5Tcopy(H5T_STD_B8LE); break;
            case 1: t = H5Tcreate(H5T_OPAQUE, 4); H5Tset_tag(t, "fuzz"); break;
            case 2: t = H5Tcreate(H5T_COMPOUND, 4); H5Tinsert(t, "a", 0, H5T_NATIVE_INT); break;
            default: {
                int one = 1;
                t = H5Tenum_create(H5T_NATIVE_INT);
                H5Tenum_insert(t, "one", &one);
                memcpy(zeros, &one, sizeof one);
            }
            }
            put_attr(obj, name, t, scalar, zeros);
            H5Tclose(t);
            break;
        }
        default: {
            uint8_t ty, rk, d0, d1, fl;
            if (!get(&r, &ty) || !get(&r, &rk) || !get(&r, &d0) || !get(&r, &d1) || !get(&r, &fl))
                break;
            hsize_t dims[2] = {d0 % 64, d1 % 64};
            recreate_tensor(file, ty % 7, 1 + (rk & 1), dims, fl);
            break;
        }
        }
        H5Sclose(scalar);
        if (obj != file) H5Dclose(obj);
    }
    FUZZ_REQUIRE(H5Fclose(file) >= 0);
}

static int check_ref(void *ctx, const weight_ref *ref) {
    (void)ctx;
    FUZZ_REQUIRE(ref->rank == 1 || ref->rank == 2);
    FUZZ_REQUIRE(ref->shape[0] >= 1 && ref->shape[1] >= 1);
    int64_t n;
    FUZZ_REQUIRE(!__builtin_mul_overflow(ref->shape[0], ref->shape[1], &n));
    size_t bytes;
    FUZZ_REQUIRE(!__builtin_mul_overflow((size_t)n, sizeof(float), &bytes));
    int64_t start[2], count[2];
    FUZZ_REQUIRE(weight_local_slice(ref, 0, 1, 1, start, count) == 0);
    FUZZ_REQUIRE(start[0] == 0 && start[1] == 0 && count[0] == ref->shape[0] &&
                 count[1] == ref->shape[1]);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!base) {
        H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
        log_init(0); /* ENCDEC_LOG=error quiets the loader's warnings */
        make_base();
    }
    fuzz_write(work_path, base, base_size);
    apply_edits(data, size);
    h5_model *f = NULL;
    ed_error err;
    memset(&err, 0, sizeof err);
    if (h5_model_open(&f, work_path, &err) != ED_OK) {
        FUZZ_REQUIRE_MSG(err);
        return 0;
    }
    model_spec s;
    if (h5_model_read_spec(f, &s, &err) != ED_OK) {
        FUZZ_REQUIRE_MSG(err);
    } else {
        FUZZ_ACCEPTED("spec");
        FUZZ_REQUIRE(memchr(s.family, 0, sizeof s.family));
        FUZZ_REQUIRE(weight_table_foreach(&s, check_ref, NULL) == 0);
        int64_t shape[2] = {s.vocab_size, s.d_model}, start[2] = {0, 0};
        if ((int64_t)s.vocab_size * s.d_model <= (1 << 16)) {
            float *dst = malloc((size_t)s.vocab_size * (size_t)s.d_model * sizeof *dst);
            FUZZ_REQUIRE(dst != NULL);
            memset(&err, 0, sizeof err);
            if (h5_model_read_slice(f, "embed.tokens", 2, shape, start, shape, dst, &err))
                FUZZ_REQUIRE_MSG(err);
            else
                FUZZ_ACCEPTED("embed.tokens");
            /* stored quantized: its codes and scales read as such, or refused with a message */
            int quant = 0;
            memset(&err, 0, sizeof err);
            if (h5_model_tensor_quant(f, "embed.tokens", 2, shape, &quant, &err)) {
                FUZZ_REQUIRE_MSG(err);
            } else if (quant) {
                uint8_t *codes = malloc((size_t)s.vocab_size * (size_t)s.d_model);
                float *scales = malloc((size_t)s.vocab_size * sizeof *scales);
                FUZZ_REQUIRE(codes && scales);
                if (h5_model_read_quantized(f, "embed.tokens", shape, start, shape, quant, codes,
                                            scales, &err)) {
                    FUZZ_REQUIRE_MSG(err);
                } else {
                    FUZZ_ACCEPTED("quantized embed.tokens");
                    for (int i = 0; i < s.vocab_size; i++)
                        FUZZ_REQUIRE(isfinite(scales[i]) && scales[i] > 0);
                }
                free(codes);
                free(scales);
            }
            free(dst);
        }
    }
    h5_model_close(f, NULL);
    return 0;
}
