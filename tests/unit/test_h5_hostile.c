/* Crafted .h5 model files: every malformed attribute, a dtype that contradicts the stored type and
 * corrupted tensor data are refused with a message naming the attribute or tensor; NULL-padded
 * and variable-length strings (as h5py writes them) read correctly; a file without checksums
 * still loads; and no single flipped byte anywhere in a file is served as a different model. */
#include <hdf5.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/dtype.h"
#include "models/h5_model.h"
#include "tests/unit/check.h"

#define V 48
#define D 16

static char dir[256];

static void small_spec(model_spec *s) {
    spec_init_defaults(s);
    snprintf(s->family, sizeof s->family, "t5");
    s->vocab_size = V;
    s->d_model = D;
    s->d_kv = 4;
    s->num_heads = 4;
    s->d_ff = 32;
    s->enc_layers = s->dec_layers = 1;
    s->rel_buckets = 32;
    s->rel_max_distance = 128;
    s->norm_eps = 1e-6f;
    s->eos_id = 1;
}

static float values[V * D];

/* Writes a valid model: the spec and two tensors, "embed.tokens" [V, D] in `dtype` and
 * "final_norm" [D] in fp32. */
static const char *write_model(const char *name, int dtype) {
    static char path[512];
    snprintf(path, sizeof path, "%s/%s.h5", dir, name);
    model_spec s;
    small_spec(&s);
    h5_model *f = NULL;
    ed_error err;
    int64_t shape[2] = {V, D}, shape1[2] = {D, 1};
    int ok = h5_model_create(&f, path, &err) == ED_OK &&
             h5_model_write_spec(f, &s, "test", &err) == ED_OK &&
             h5_model_write_tensor(f, "embed.tokens", 2, shape, values, dtype, &err) == ED_OK &&
             h5_model_write_tensor(f, "final_norm", 1, shape1, values, DTYPE_FP32, &err) == ED_OK;
    if (!ok) fprintf(stderr, "write_model: %s\n", err.msg);
    CHECK(ok);
    CHECK(h5_model_close(f, &err) == ED_OK);
    return path;
}

/* Opens path, reads the spec and both tensors. ED_OK only if everything loaded; the spec and
 * the tensors' values land in *spec / out (V*D + D floats). */
static ed_status load(const char *path, model_spec *spec, float *out, ed_error *err) {
    h5_model *f = NULL;
    int64_t shape[2] = {V, D}, start[2] = {0, 0}, shape1[2] = {D, 1};
    if (h5_model_open(&f, path, err)) return ED_ERR;
    ed_status st = h5_model_read_spec(f, spec, err);
    if (!st) st = h5_model_read_slice(f, "embed.tokens", 2, shape, start, shape, out, err);
    if (!st) st = h5_model_read_slice(f, "final_norm", 1, shape1, start, shape1, out + V * D, err);
    h5_model_close(f, NULL);
    return st;
}

/* Replaces root attribute `name` of the file at path with one of file type `type`, dataspace
 * `space` and memory buffer `buf` of type `mem`. */
static void set_attr(const char *path, const char *obj, const char *name, hid_t type, hid_t space,
                     hid_t mem, const void *buf) {
    hid_t file = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    hid_t o = obj ? H5Dopen2(file, obj, H5P_DEFAULT) : file;
    if (H5Aexists(o, name) > 0) H5Adelete(o, name);
    hid_t a = H5Acreate2(o, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
    CHECK(a >= 0 && H5Awrite(a, mem, buf) >= 0);
    H5Aclose(a);
    if (obj) H5Dclose(o);
    H5Fclose(file);
}

static void set_int_attr(const char *path, const char *name, long long v) {
    hid_t sp = H5Screate(H5S_SCALAR);
    set_attr(path, NULL, name, H5T_STD_I64LE, sp, H5T_NATIVE_LLONG, &v);
    H5Sclose(sp);
}

/* Sets a fixed-length string attribute of exactly strlen(v) bytes with padding `pad`. */
static void set_str_attr(const char *path, const char *obj, const char *name, const char *v,
                         H5T_str_t pad, H5T_cset_t cset) {
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, strlen(v));
    H5Tset_strpad(t, pad);
    H5Tset_cset(t, cset);
    hid_t sp = H5Screate(H5S_SCALAR);
    set_attr(path, obj, name, t, sp, t, v);
    H5Sclose(sp);
    H5Tclose(t);
}

static void expect_refused(const char *what, const char *path, const char *needle1,
                           const char *needle2) {
    model_spec s;
    static float out[V * D + D];
    ed_error err = {0};
    ed_status st = load(path, &s, out, &err);
    if (st == ED_OK) fprintf(stderr, "%s: was accepted\n", what);
    CHECK(st == ED_ERR);
    CHECK_MSG(err, needle1);
    if (needle2) CHECK_MSG(err, needle2);
}

static long file_size(const char *path) {
    FILE *f = fopen(path, "rb");
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fclose(f);
    return n;
}

static void xor_byte(const char *path, long at, unsigned char mask) {
    FILE *f = fopen(path, "r+b");
    fseek(f, at, SEEK_SET);
    int c = fgetc(f);
    fseek(f, at, SEEK_SET);
    fputc(c ^ mask, f);
    fclose(f);
}

/* The file offset of the first chunk of dataset `name`. */
static long chunk_address(const char *path, const char *name) {
    hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    hid_t ds = H5Dopen2(file, name, H5P_DEFAULT);
    hsize_t offset[2];
    unsigned mask;
    haddr_t addr = HADDR_UNDEF;
    hsize_t size = 0;
    hid_t sp = H5Dget_space(ds);
    H5Dget_chunk_info(ds, sp, 0, offset, &mask, &addr, &size);
    H5Sclose(sp);
    H5Dclose(ds);
    H5Fclose(file);
    return addr == HADDR_UNDEF ? -1 : (long)addr;
}

/* H5Aiterate2 callback: copies attribute `name` of loc onto the object *(hid_t *)dst. */
static herr_t copy_attr(hid_t loc, const char *name, const H5A_info_t *info, void *dst) {
    (void)info;
    hid_t a = H5Aopen(loc, name, H5P_DEFAULT);
    hid_t t = H5Aget_type(a), asp = H5Aget_space(a);
    char buf[64];
    H5Aread(a, t, buf);
    hid_t b = H5Acreate2(*(hid_t *)dst, name, t, asp, H5P_DEFAULT, H5P_DEFAULT);
    H5Awrite(b, t, buf);
    H5Aclose(b);
    H5Sclose(asp);
    H5Tclose(t);
    H5Aclose(a);
    return 0;
}

static void copy_file(const char *from, const char *to) {
    FILE *a = fopen(from, "rb"), *b = fopen(to, "wb");
    char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, a)) > 0) fwrite(buf, 1, n, b);
    fclose(a);
    fclose(b);
}

int main(void) {
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    if (check_tmpdir(dir, sizeof dir, "h5_hostile")) return 1;
    char cmd[600];
    for (int i = 0; i < V * D; i++) values[i] = (float)((i * 37) % 101) / 50.0f - 1.0f;
    model_spec s, ref_spec;
    static float out[V * D + D], ref[V * D + D];
    ed_error err = {0};

    /* A valid file loads; its values round-trip. */
    char ok[512];
    snprintf(ok, sizeof ok, "%s", write_model("ok", DTYPE_FP32));
    CHECK(load(ok, &ref_spec, ref, &err) == ED_OK);
    CHECK(ref_spec.d_model == D && ref[5] == values[5] && ref[V * D + 3] == values[3]);

    /* An array-valued integer attribute (used to overflow a stack buffer). */
    const char *p = write_model("array_attr", DTYPE_FP32);
    long long arr[64];
    for (int i = 0; i < 64; i++) arr[i] = D;
    hsize_t n64 = 64;
    hid_t sp = H5Screate_simple(1, &n64, NULL);
    set_attr(p, NULL, "d_model", H5T_STD_I64LE, sp, H5T_NATIVE_LLONG, arr);
    H5Sclose(sp);
    expect_refused("array attribute", p, "attribute d_model", "exactly one value");

    /* A string where an integer belongs. */
    p = write_model("str_for_int", DTYPE_FP32);
    set_str_attr(p, NULL, "num_heads", "4", H5T_STR_NULLTERM, H5T_CSET_ASCII);
    expect_refused("string for an integer", p, "attribute num_heads", "wrong type");

    /* norm other than 0 / 1 (used to dereference NULL later). */
    p = write_model("norm7", DTYPE_FP32);
    set_int_attr(p, "norm", 7);
    expect_refused("norm=7", p, "norm = 7", "norm7.h5");

    /* A negative pos_offset (used to read out of bounds). */
    p = write_model("pos_offset", DTYPE_FP32);
    set_int_attr(p, "pos_offset", -1);
    expect_refused("pos_offset=-1", p, "pos_offset = -1", NULL);

    /* An int64 value past 32 bits (2^32 + 3 used to read as 3). */
    p = write_model("int64", DTYPE_FP32);
    set_int_attr(p, "d_model", (1LL << 32) + 3);
    expect_refused("d_model=2^32+3", p, "attribute d_model = 4294967299", "32-bit");

    /* An unsigned 64-bit value past INT64_MAX. */
    p = write_model("uint64", DTYPE_FP32);
    unsigned long long huge = ~0ull;
    sp = H5Screate(H5S_SCALAR);
    set_attr(p, NULL, "vocab_size", H5T_STD_U64LE, sp, H5T_NATIVE_ULLONG, &huge);
    H5Sclose(sp);
    expect_refused("vocab_size=2^64-1", p, "attribute vocab_size", NULL);

    /* Relative attention HF cannot compute (max_distance at the exact buckets). */
    p = write_model("rel", DTYPE_FP32);
    set_int_attr(p, "rel_max_distance", 16);
    expect_refused("rel_max_distance=16", p, "rel_max_distance", "rel.h5");

    /* A NaN scale. */
    p = write_model("nan", DTYPE_FP32);
    double nan = 0.0 / 0.0;
    sp = H5Screate(H5S_SCALAR);
    set_attr(p, NULL, "attn_scale", H5T_IEEE_F64LE, sp, H5T_NATIVE_DOUBLE, &nan);
    H5Sclose(sp);
    expect_refused("attn_scale=NaN", p, "attn_scale", NULL);

    /* NULL-padded strings as h5py's np.bytes_ writes them (dtype "fp32" used to read "fp3"),
     * space-padded, and UTF-8 variable-length strings (h5py's str) all read as written. */
    p = write_model("nullpad", DTYPE_FP32);
    set_str_attr(p, "embed.tokens", "dtype", "fp32", H5T_STR_NULLPAD, H5T_CSET_ASCII);
    set_str_attr(p, NULL, "family", "t5", H5T_STR_NULLPAD, H5T_CSET_UTF8);
    err.msg[0] = 0;
    CHECK(load(p, &s, out, &err) == ED_OK);
    if (err.msg[0]) fprintf(stderr, "nullpad: %s\n", err.msg);
    CHECK(!strcmp(s.family, "t5") && !memcmp(out, ref, sizeof out));
    p = write_model("vlen", DTYPE_BF16);
    {
        hid_t t = H5Tcopy(H5T_C_S1);
        H5Tset_size(t, H5T_VARIABLE);
        H5Tset_cset(t, H5T_CSET_UTF8);
        const char *v = "bf16";
        sp = H5Screate(H5S_SCALAR);
        set_attr(p, "embed.tokens", "dtype", t, sp, t, &v);
        H5Sclose(sp);
        H5Tclose(t);
    }
    err.msg[0] = 0;
    CHECK(load(p, &s, out, &err) == ED_OK);
    if (err.msg[0]) fprintf(stderr, "vlen: %s\n", err.msg);
    CHECK(out[7] == dtype_bf16_to_f32(dtype_f32_to_bf16(values[7])));
    /* A string attribute too long for its field. */
    p = write_model("long_family", DTYPE_FP32);
    set_str_attr(p, NULL, "family", "t5-with-a-family-name-longer-than-32-bytes",
                 H5T_STR_NULLPAD, H5T_CSET_ASCII);
    expect_refused("long family", p, "attribute family", NULL);

    /* The dataset's type contradicts its dtype attribute: fp32 data labelled bf16, and bf16 bit
     * patterns labelled fp32. */
    p = write_model("dtype_mismatch", DTYPE_FP32);
    set_str_attr(p, "embed.tokens", "dtype", "bf16", H5T_STR_NULLTERM, H5T_CSET_ASCII);
    expect_refused("fp32 labelled bf16", p, "tensor embed.tokens", "dtype attribute says bf16");
    p = write_model("dtype_mismatch2", DTYPE_BF16);
    set_str_attr(p, "embed.tokens", "dtype", "fp32", H5T_STR_NULLTERM, H5T_CSET_ASCII);
    expect_refused("bf16 labelled fp32", p, "tensor embed.tokens", "dtype attribute says fp32");

    /* A flipped byte inside a tensor's data: HDF5's Fletcher-32 check refuses the read. */
    p = write_model("flip", DTYPE_FP32);
    long at = chunk_address(p, "embed.tokens");
    CHECK(at > 0);
    if (at > 0) xor_byte(p, at + 100, 0x10);
    expect_refused("flipped data byte", p, "tensor embed.tokens", "corrupt");

    /* A file written without checksums (an older conversion: contiguous datasets) still loads
     * (with a warning on stderr). */
    {
        char old[512];
        snprintf(old, sizeof old, "%s/old.h5", dir);
        hid_t file = H5Fcreate(old, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
        hid_t src = H5Fopen(ok, H5F_ACC_RDONLY, H5P_DEFAULT);
        H5Aiterate2(src, H5_INDEX_NAME, H5_ITER_INC, NULL, copy_attr, &file);
        H5Fclose(src);

        const char *names[2] = {"embed.tokens", "final_norm"};
        hsize_t dims[2][2] = {{V, D}, {D, 0}};
        for (int k = 0; k < 2; k++) {
            hid_t dsp = H5Screate_simple(2 - k, dims[k], NULL);
            hid_t ds = H5Dcreate2(file, names[k], H5T_IEEE_F32LE, dsp, H5P_DEFAULT, H5P_DEFAULT,
                                  H5P_DEFAULT);
            H5Dwrite(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, values);
            hid_t t = H5Tcopy(H5T_C_S1);
            H5Tset_size(t, 5);
            hid_t asp = H5Screate(H5S_SCALAR);
            hid_t a = H5Acreate2(ds, "dtype", t, asp, H5P_DEFAULT, H5P_DEFAULT);
            H5Awrite(a, t, "fp32");
            H5Aclose(a);
            H5Sclose(asp);
            H5Tclose(t);
            H5Dclose(ds);
            H5Sclose(dsp);
        }
        H5Fclose(file);
        err.msg[0] = 0;
        CHECK(load(old, &s, out, &err) == ED_OK);
        if (err.msg[0]) fprintf(stderr, "old: %s\n", err.msg);
        CHECK(!memcmp(out, ref, sizeof out));
    }

    /* Every single flipped byte of a whole model file (metadata, attributes and data): the file
     * is refused or reads exactly as the original, never as a different model. */
    long size = file_size(ok);
    int refused = 0, same = 0, served_wrong = 0;
    char flip[512];
    snprintf(flip, sizeof flip, "%s/flip_any.h5", dir);
    copy_file(ok, flip);
    CHECK(load(flip, &s, out, &err) == ED_OK); /* the copy itself loads */
    for (long at2 = 0; at2 < size; at2++) {
        xor_byte(flip, at2, 0x04);
        ed_status st = load(flip, &s, out, &err);
        xor_byte(flip, at2, 0x04);
        if (st) refused++;
        else if (!memcmp(&s, &ref_spec, sizeof s) && !memcmp(out, ref, sizeof out)) same++;
        else {
            if (served_wrong < 5) fprintf(stderr, "byte %ld flipped: served a different model\n", at2);
            served_wrong++;
        }
    }
    printf("bit flips over %ld bytes: %d refused, %d unchanged, %d served wrong\n", size, refused,
           same, served_wrong);
    CHECK(served_wrong == 0);

    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd)) fprintf(stderr, "cannot remove %s\n", dir);
    TEST_MAIN_END("test_h5_hostile");
}
