#include "models/h5_model.h"

#include <float.h>
#include <hdf5.h>
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/dtype.h"
#include "common/log.h"
#include "common/quant.h"

struct h5_model {
    hid_t file;
    int warned_unchecked; /* 1 once the "no checksums" warning was logged for this file */
    char path[1024];
};

typedef struct spec_attr {
    const char *name;
    size_t offset;
    int is_float;
} spec_attr;

#define SA(f) {#f, offsetof(model_spec, f), 0}
static const spec_attr spec_attrs[] = {
    SA(vocab_size), SA(d_model), SA(d_kv), SA(num_heads), SA(d_ff), SA(enc_layers),
    SA(dec_layers), SA(rel_buckets), SA(rel_max_distance), SA(rel_bias_per_layer), SA(gated_ffn),
    SA(act), SA(norm), {"norm_eps", offsetof(model_spec, norm_eps), 1},
    SA(scale_decoder_outputs), SA(tied_head), SA(pad_id), SA(eos_id), SA(decoder_start_id),
    SA(pre_norm), SA(final_norm), SA(linear_bias), SA(learned_pos), SA(max_positions),
    SA(pos_offset), {"embed_scale", offsetof(model_spec, embed_scale), 1}, SA(embed_norm),
    {"attn_scale", offsetof(model_spec, attn_scale), 1}, SA(logits_bias), SA(forced_bos_id),
    SA(forced_eos_id),
    /* Optional from here: absent in files written before they existed, read as 0. */
    SA(pos_table), SA(pos_skip_pad),
};
#define N_SPEC_ATTRS (sizeof spec_attrs / sizeof spec_attrs[0])
#define N_REQUIRED_SPEC_ATTRS (N_SPEC_ATTRS - 2)

/* Chunks of whole rows, at most this many bytes (the whole tensor when smaller): each chunk
 * carries its Fletcher-32 checksum; a rank reading its row slice reads (and checks) only the
 * chunks it overlaps, and HDF5's temporary buffer per read stays this small. */
#define H5_MODEL_CHUNK_BYTES ((size_t)4 << 20)

static void quiet_hdf5(void) { H5Eset_auto2(H5E_DEFAULT, NULL, NULL); }

/* HDF5's innermost error description (what failed deep down: "data error detected by Fletcher32
 * checksum", ...), or "" when the stack is empty. */
static herr_t first_error(unsigned n, const H5E_error2_t *e, void *buf) {
    if (n == 0 && e->desc) snprintf(buf, 160, "%s", e->desc);
    return 0;
}
static const char *hdf5_reason(char buf[160]) {
    buf[0] = 0;
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, first_error, buf);
    return buf;
}

ed_status h5_model_create(h5_model **out, const char *path, ed_error *err) {
    quiet_hdf5();
    h5_model *f = calloc(1, sizeof *f);
    if (!f) return ed_fail(err, "%s: out of memory", path);
    snprintf(f->path, sizeof f->path, "%s", path);
    /* The 1.10 file format: superblock, object headers (and so every attribute), link storage
     * and chunk indexes all carry checksums that HDF5 verifies when it reads them. */
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    if (fapl >= 0) H5Pset_libver_bounds(fapl, H5F_LIBVER_V110, H5F_LIBVER_V110);
    f->file = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, fapl >= 0 ? fapl : H5P_DEFAULT);
    if (fapl >= 0) H5Pclose(fapl);
    if (f->file < 0) {
        free(f);
        return ed_fail(err, "%s: cannot create HDF5 file", path);
    }
    *out = f;
    return ED_OK;
}

static ed_status write_int_attr(hid_t obj, const char *name, long long v) {
    hid_t sp = H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate2(obj, name, H5T_STD_I64LE, sp, H5P_DEFAULT, H5P_DEFAULT);
    herr_t rc = a < 0 ? -1 : H5Awrite(a, H5T_NATIVE_LLONG, &v);
    if (a >= 0) H5Aclose(a);
    H5Sclose(sp);
    return rc < 0 ? ED_ERR : ED_OK;
}

static ed_status write_str_attr(hid_t obj, const char *name, const char *v) {
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, strlen(v) + 1);
    hid_t sp = H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate2(obj, name, t, sp, H5P_DEFAULT, H5P_DEFAULT);
    herr_t rc = a < 0 ? -1 : H5Awrite(a, t, v);
    if (a >= 0) H5Aclose(a);
    H5Sclose(sp);
    H5Tclose(t);
    return rc < 0 ? ED_ERR : ED_OK;
}

/* Opens attribute `name` of obj (`what` names obj in messages: "" for the root, "tensor X: ")
 * and checks it holds exactly one value of type class `cls`. On success *a and *t are open. */
static ed_status open_attr(const h5_model *f, hid_t obj, const char *what, const char *name,
                           H5T_class_t cls, hid_t *a, hid_t *t, ed_error *err) {
    static const char *const class_names[] = {"an integer", "a float", "", "a string"};
    *a = *t = -1;
    htri_t exists = H5Aexists(obj, name);
    if (exists < 0)
        return ed_fail(err, "%s: %sattribute %s cannot be looked up: the file's metadata are "
                            "corrupt", f->path, what, name);
    if (!exists) return ed_fail(err, "%s: %sattribute %s is missing", f->path, what, name);
    *a = H5Aopen(obj, name, H5P_DEFAULT);
    if (*a < 0) return ed_fail(err, "%s: %sattribute %s cannot be opened", f->path, what, name);
    hid_t sp = H5Aget_space(*a);
    hssize_t npoints = sp >= 0 ? H5Sget_simple_extent_npoints(sp) : -1;
    if (sp >= 0) H5Sclose(sp);
    *t = H5Aget_type(*a);
    const char *fail = NULL;
    if (npoints != 1) fail = "must hold exactly one value (it is an array or empty)";
    else if (*t < 0 || H5Tget_class(*t) != cls) fail = "has the wrong type";
    if (!fail) return ED_OK;
    ed_fail(err, "%s: %sattribute %s %s: it must be %s", f->path, what, name, fail,
            class_names[cls]);
    if (*t >= 0) H5Tclose(*t);
    H5Aclose(*a);
    *a = *t = -1;
    return ED_ERR;
}

/* A scalar integer attribute (any width and sign; HDF5 converts to int64). */
static ed_status read_int_attr(const h5_model *f, hid_t obj, const char *name, long long *v,
                               ed_error *err) {
    hid_t a, t;
    if (open_attr(f, obj, "", name, H5T_INTEGER, &a, &t, err)) return ED_ERR;
    /* An unsigned 64-bit value above INT64_MAX would be clipped: refuse it here. */
    int too_big = H5Tget_sign(t) == H5T_SGN_NONE && H5Tget_size(t) >= 8;
    unsigned long long u = 0;
    herr_t rc = too_big ? H5Aread(a, H5T_NATIVE_ULLONG, &u) : H5Aread(a, H5T_NATIVE_LLONG, v);
    if (too_big && rc >= 0) {
        too_big = u > (unsigned long long)LLONG_MAX;
        *v = (long long)u;
    }
    H5Tclose(t);
    H5Aclose(a);
    if (rc < 0 || too_big) return ed_fail(err, "%s: attribute %s cannot be read as an integer",
                                          f->path, name);
    return ED_OK;
}

static ed_status read_float_attr(const h5_model *f, hid_t obj, const char *name, double *v,
                                 ed_error *err) {
    hid_t a, t;
    if (open_attr(f, obj, "", name, H5T_FLOAT, &a, &t, err)) return ED_ERR;
    herr_t rc = H5Aread(a, H5T_NATIVE_DOUBLE, v);
    H5Tclose(t);
    H5Aclose(a);
    if (rc < 0) return ed_fail(err, "%s: attribute %s cannot be read", f->path, name);
    return ED_OK;
}

/* A scalar string attribute, fixed-length (NULL-terminated, NULL- or space-padded, as h5py's
 * np.bytes_ writes) or variable-length (h5py's str), ASCII or UTF-8, into buf (cap bytes with
 * its terminator). */
static ed_status read_str_attr(const h5_model *f, hid_t obj, const char *what, const char *name,
                               char *buf, size_t cap, ed_error *err) {
    hid_t a, t;
    if (open_attr(f, obj, what, name, H5T_STRING, &a, &t, err)) return ED_ERR;
    ed_status st = ED_ERR;
    memset(buf, 0, cap);
    hid_t mt = H5Tcopy(H5T_C_S1);
    H5Tset_cset(mt, H5Tget_cset(t));
    if (H5Tis_variable_str(t) > 0) {
        char *s = NULL;
        H5Tset_size(mt, H5T_VARIABLE);
        if (H5Aread(a, mt, &s) >= 0 && s) {
            if (strlen(s) < cap) {
                memcpy(buf, s, strlen(s));
                st = ED_OK;
            }
            H5free_memory(s);
        }
    } else {
        size_t n = H5Tget_size(t);
        /* One byte more than stored, NULL-terminated: HDF5 converts any padding and always
         * writes the terminator (a NULL-padded "fp32" of 4 bytes reads as "fp32"). */
        if (n + 1 <= cap && H5Tset_size(mt, n + 1) >= 0 &&
            H5Tset_strpad(mt, H5T_STR_NULLTERM) >= 0 && H5Aread(a, mt, buf) >= 0)
            st = ED_OK;
        buf[cap - 1] = 0;
    }
    H5Tclose(mt);
    H5Tclose(t);
    H5Aclose(a);
    if (st) ed_fail(err, "%s: %sattribute %s cannot be read as a string of at most %zu bytes",
                    f->path, what, name, cap - 1);
    return st;
}

ed_status h5_model_write_spec(h5_model *f, const model_spec *s, const char *arch, ed_error *err) {
    hid_t root = f->file;
    if (write_int_attr(root, "encdec_format_version", ENCDEC_FORMAT_VERSION) ||
        write_str_attr(root, "family", s->family) ||
        write_str_attr(root, "source_architecture", arch))
        return ed_fail(err, "%s: cannot write root attributes", f->path);
    for (size_t i = 0; i < N_SPEC_ATTRS; i++) {
        const char *p = (const char *)s + spec_attrs[i].offset;
        ed_status st;
        if (spec_attrs[i].is_float) {
            double v = *(const float *)p;
            hid_t sp = H5Screate(H5S_SCALAR);
            hid_t a = H5Acreate2(root, spec_attrs[i].name, H5T_IEEE_F64LE, sp, H5P_DEFAULT,
                                 H5P_DEFAULT);
            st = (a >= 0 && H5Awrite(a, H5T_NATIVE_DOUBLE, &v) >= 0) ? ED_OK : ED_ERR;
            if (a >= 0) H5Aclose(a);
            H5Sclose(sp);
        } else {
            st = write_int_attr(root, spec_attrs[i].name, *(const int *)p);
        }
        if (st) return ed_fail(err, "%s: cannot write attribute %s", f->path, spec_attrs[i].name);
    }
    return ED_OK;
}

/* Writes dataset `name` ([dims] of file_type, from buf in mem_type, esize bytes per element) with
 * the attribute dtype = dtype_attr. Chunked (whole rows, at most H5_MODEL_CHUNK_BYTES) with
 * HDF5's Fletcher-32 filter: every chunk's checksum is verified by HDF5 when a reader reads it.
 * Empty tensors stay contiguous (HDF5 refuses 0-sized chunks). */
static ed_status write_dataset(h5_model *f, const char *name, int rank, const hsize_t dims[2],
                               hid_t file_type, hid_t mem_type, size_t esize, const void *buf,
                               const char *dtype_attr, ed_error *err) {
    size_t n = (size_t)dims[0] * (rank == 2 ? (size_t)dims[1] : 1);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    size_t row_bytes = (rank == 2 ? (size_t)dims[1] : 1) * esize;
    if (n > 0 && dcpl >= 0) {
        hsize_t chunk[2] = {dims[0], rank == 2 ? dims[1] : 1};
        size_t rows = row_bytes ? H5_MODEL_CHUNK_BYTES / row_bytes : 0;
        if (rows < 1) rows = 1;
        if (chunk[0] > rows) chunk[0] = rows;
        if (H5Pset_chunk(dcpl, rank, chunk) < 0 || H5Pset_fletcher32(dcpl) < 0) {
            H5Pclose(dcpl);
            return ed_fail(err, "%s: tensor %s: cannot set up checksummed chunks", f->path, name);
        }
    }
    ed_status st = ED_ERR;
    hid_t sp = H5Screate_simple(rank, dims, NULL);
    hid_t ds = H5Dcreate2(f->file, name, file_type, sp, H5P_DEFAULT,
                          dcpl >= 0 ? dcpl : H5P_DEFAULT, H5P_DEFAULT);
    if (ds >= 0 && H5Dwrite(ds, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) >= 0 &&
        write_str_attr(ds, "dtype", dtype_attr) == ED_OK)
        st = ED_OK;
    if (ds >= 0) H5Dclose(ds);
    H5Sclose(sp);
    if (dcpl >= 0) H5Pclose(dcpl);
    if (st) return ed_fail(err, "%s: cannot write tensor %s (disk full?)", f->path, name);
    return ED_OK;
}

ed_status h5_model_write_tensor(h5_model *f, const char *name, int rank, const int64_t shape[2],
                                const float *data, int dtype, ed_error *err) {
    hsize_t dims[2] = {(hsize_t)shape[0], (hsize_t)shape[1]};
    size_t n = (size_t)shape[0] * (size_t)shape[1];
    if (dtype == DTYPE_FP32)
        return write_dataset(f, name, rank, dims, H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 4, data,
                             "fp32", err);
    uint16_t *half = malloc(n * sizeof *half);
    if (!half) return ed_fail(err, "tensor %s: out of memory", name);
    dtype_f32_to_16bit(data, n, dtype == DTYPE_BF16, half);
    ed_status st = write_dataset(f, name, rank, dims, H5T_STD_U16LE, H5T_NATIVE_UINT16, 2, half,
                                 dtype_name(dtype), err);
    free(half);
    return st;
}

ed_status h5_model_write_quantized(h5_model *f, const char *name, const int64_t shape[2],
                                   const float *data, int quant, ed_error *err) {
    size_t rows = (size_t)shape[0], cols = (size_t)shape[1];
    uint8_t *codes = malloc(rows * cols + 1);
    float *scales = malloc(rows * sizeof(float) + 1);
    ed_status st = ED_ERR;
    if (!codes || !scales) {
        ed_fail(err, "tensor %s: out of memory", name);
        goto done;
    }
    long bad = quant_rows(quant, data, rows, cols, 0, cols, scales, codes);
    if (bad >= 0) {
        ed_fail(err, "tensor %s: row %ld holds a NaN or an infinity: it cannot be quantized", name,
                bad);
        goto done;
    }
    hsize_t dims[2] = {(hsize_t)rows, (hsize_t)cols};
    char scale_name[160];
    snprintf(scale_name, sizeof scale_name, "%s.scale", name);
    st = write_dataset(f, name, 2, dims,
                       quant == QUANT_INT8 ? H5T_STD_I8LE : H5T_STD_U8LE,
                       quant == QUANT_INT8 ? H5T_NATIVE_INT8 : H5T_NATIVE_UINT8, 1, codes,
                       quant_dtype_attr(quant), err) ||
                 write_dataset(f, scale_name, 1, dims, H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 4,
                               scales, "fp32", err)
             ? ED_ERR : ED_OK;
done:
    free(codes);
    free(scales);
    return st;
}

ed_status h5_model_open(h5_model **out, const char *path, ed_error *err) {
    quiet_hdf5();
    h5_model *f = calloc(1, sizeof *f);
    if (!f) return ed_fail(err, "%s: out of memory", path);
    snprintf(f->path, sizeof f->path, "%s", path);
    f->file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f->file < 0) {
        char why[160];
        hdf5_reason(why);
        free(f);
        return ed_fail(err, "%s: cannot open as an HDF5 model (not HDF5, or its metadata are "
                            "corrupt: %s; convert one with encdec_convert)", path,
                       why[0] ? why : "no detail");
    }
    *out = f;
    return ED_OK;
}

ed_status h5_model_read_spec(h5_model *f, model_spec *s, ed_error *err) {
    long long version = 0;
    memset(s, 0, sizeof *s);
    if (H5Aexists(f->file, "encdec_format_version") == 0)
        return ed_fail(err, "%s: attribute encdec_format_version is missing: not a model written "
                            "by encdec_convert", f->path);
    if (read_int_attr(f, f->file, "encdec_format_version", &version, err)) return ED_ERR;
    if (version != ENCDEC_FORMAT_VERSION)
        return ed_fail(err, "%s: format version %lld, this build reads version %d", f->path,
                       version, ENCDEC_FORMAT_VERSION);
    if (read_str_attr(f, f->file, "", "family", s->family, sizeof s->family, err))
        return ED_ERR;
    for (size_t i = 0; i < N_SPEC_ATTRS; i++) {
        char *p = (char *)s + spec_attrs[i].offset;
        const char *name = spec_attrs[i].name;
        if (i >= N_REQUIRED_SPEC_ATTRS && H5Aexists(f->file, name) == 0) continue; /* 0 */
        if (spec_attrs[i].is_float) {
            double v;
            if (read_float_attr(f, f->file, name, &v, err)) return ED_ERR;
            if (!isfinite(v) || fabs(v) > FLT_MAX)
                return ed_fail(err, "%s: attribute %s = %g is not a finite float", f->path, name,
                               v);
            *(float *)p = (float)v;
        } else {
            long long v;
            if (read_int_attr(f, f->file, name, &v, err)) return ED_ERR;
            if (v < INT_MIN || v > INT_MAX)
                return ed_fail(err, "%s: attribute %s = %lld does not fit a 32-bit integer",
                               f->path, name, v);
            *(int *)p = (int)v;
        }
    }
    return model_spec_validate(s, f->path, err);
}

/* 1 when dataset ds has HDF5's Fletcher-32 filter in its pipeline. */
static int has_fletcher32(hid_t ds) {
    hid_t dcpl = H5Dget_create_plist(ds);
    if (dcpl < 0) return 0;
    int found = 0, n = H5Pget_nfilters(dcpl);
    for (int i = 0; i < n && !found; i++) {
        unsigned flags, config;
        size_t nelem = 0;
        char fname[64];
        found = H5Pget_filter2(dcpl, (unsigned)i, &flags, &nelem, NULL, sizeof fname, fname,
                               &config) == H5Z_FILTER_FLETCHER32;
    }
    H5Pclose(dcpl);
    return found;
}

/* Checks that the dataset's stored type is what its dtype attribute says: fp32 = a 4-byte float,
 * fp16 / bf16 = 2-byte unsigned integers (bit patterns), int8 = 1-byte signed integers,
 * fp8_e4m3 = 1-byte unsigned integers (bit patterns). */
static ed_status check_stored_type(const h5_model *f, hid_t ds, const char *name, const char *dt,
                                   ed_error *err) {
    static const struct {
        const char *dt;
        H5T_class_t cls;
        size_t size;
        H5T_sign_t sign;
        const char *what;
    } kinds[] = {{"fp32", H5T_FLOAT, 4, H5T_SGN_ERROR, "4-byte floats"},
                 {"fp16", H5T_INTEGER, 2, H5T_SGN_NONE, "2-byte unsigned integers"},
                 {"bf16", H5T_INTEGER, 2, H5T_SGN_NONE, "2-byte unsigned integers"},
                 {"int8", H5T_INTEGER, 1, H5T_SGN_2, "1-byte signed integers"},
                 {"fp8_e4m3", H5T_INTEGER, 1, H5T_SGN_NONE, "1-byte unsigned integers"}};
    size_t k = 0;
    while (strcmp(kinds[k].dt, dt)) k++; /* dt is one of them (checked by the caller) */
    hid_t t = H5Dget_type(ds);
    H5T_class_t cls = t >= 0 ? H5Tget_class(t) : H5T_NO_CLASS;
    size_t size = t >= 0 ? H5Tget_size(t) : 0;
    int ok = cls == kinds[k].cls && size == kinds[k].size &&
             (cls != H5T_INTEGER || H5Tget_sign(t) == kinds[k].sign);
    if (t >= 0) H5Tclose(t);
    if (ok) return ED_OK;
    return ed_fail(err, "%s: tensor %s: its dtype attribute says %s but the data are stored as "
                        "%zu-byte %s values (expected %s)", f->path, name, dt, size,
                   cls == H5T_FLOAT ? "float" : cls == H5T_INTEGER ? "integer" : "non-numeric",
                   kinds[k].what);
}

/* An open tensor dataset whose rank, shape, dtype attribute and stored type were checked. */
typedef struct tensor_ds {
    hid_t ds, sp;
    char dt[16]; /* its dtype attribute: fp32, fp16, bf16, int8 or fp8_e4m3 */
} tensor_ds;

static void tensor_close(tensor_ds *t) {
    if (t->sp >= 0) H5Sclose(t->sp);
    if (t->ds >= 0) H5Dclose(t->ds);
    t->ds = t->sp = -1;
}

static ed_status tensor_open(h5_model *f, const char *name, int rank, const int64_t shape[2],
                             tensor_ds *t, ed_error *err) {
    t->ds = t->sp = -1;
    if (H5Lexists(f->file, name, H5P_DEFAULT) <= 0)
        return ed_fail(err, "%s: tensor %s is missing", f->path, name);
    t->ds = H5Dopen2(f->file, name, H5P_DEFAULT);
    if (t->ds < 0) return ed_fail(err, "%s: cannot open tensor %s (corrupt file?)", f->path, name);
    t->sp = H5Dget_space(t->ds);
    hsize_t dims[2] = {1, 1};
    int nd = t->sp >= 0 ? H5Sget_simple_extent_ndims(t->sp) : -1;
    if (nd != rank || nd < 1 || nd > 2) {
        ed_fail(err, "%s: tensor %s has rank %d, expected %d", f->path, name, nd, rank);
        goto bad;
    }
    H5Sget_simple_extent_dims(t->sp, dims, NULL);
    if ((int64_t)dims[0] != shape[0] || (rank == 2 && (int64_t)dims[1] != shape[1])) {
        ed_fail(err, "%s: tensor %s has shape [%llu, %llu], the spec needs [%lld, %lld]", f->path,
                name, (unsigned long long)dims[0], (unsigned long long)(rank == 2 ? dims[1] : 1),
                (long long)shape[0], (long long)shape[1]);
        goto bad;
    }
    char what[200];
    snprintf(what, sizeof what, "tensor %s: ", name);
    if (H5Aexists(t->ds, "dtype") == 0) {
        ed_fail(err, "%s: tensor %s has no dtype attribute", f->path, name);
        goto bad;
    }
    if (read_str_attr(f, t->ds, what, "dtype", t->dt, sizeof t->dt, err)) goto bad;
    if (strcmp(t->dt, "fp32") && strcmp(t->dt, "fp16") && strcmp(t->dt, "bf16") &&
        !quant_from_dtype_attr(t->dt)) {
        ed_fail(err, "%s: tensor %s has unknown dtype '%s'", f->path, name, t->dt);
        goto bad;
    }
    if (quant_from_dtype_attr(t->dt) && rank != 2) {
        ed_fail(err, "%s: tensor %s: dtype %s is for matrices, it has rank 1", f->path, name,
                t->dt);
        goto bad;
    }
    if (check_stored_type(f, t->ds, name, t->dt, err)) goto bad;
    if (!has_fletcher32(t->ds) && !f->warned_unchecked) {
        f->warned_unchecked = 1;
        log_warn("%s: tensor %s (and maybe others) has no Fletcher-32 checksums (converted by an "
                 "older encdec_convert): corruption of its data cannot be detected; convert the "
                 "model again to protect it", f->path, name);
    }
    return ED_OK;
bad:
    tensor_close(t);
    return ED_ERR;
}

/* Reads the hyperslab [start, start + count) of an open tensor as mem_type into dst. */
static ed_status tensor_read(h5_model *f, const char *name, tensor_ds *t, int rank,
                             const int64_t start[2], const int64_t count[2], hid_t mem_type,
                             void *dst, ed_error *err) {
    hsize_t hs_start[2] = {(hsize_t)start[0], (hsize_t)start[1]};
    hsize_t hs_count[2] = {(hsize_t)count[0], (hsize_t)count[1]};
    hid_t mem_sp = -1;
    ed_status st = ED_ERR;
    if (H5Sselect_hyperslab(t->sp, H5S_SELECT_SET, hs_start, NULL, hs_count, NULL) < 0 ||
        (mem_sp = H5Screate_simple(rank, hs_count, NULL)) < 0) {
        ed_fail(err, "%s: tensor %s: cannot select its slice", f->path, name);
    } else if (H5Dread(t->ds, mem_type, mem_sp, t->sp, H5P_DEFAULT, dst) < 0) {
        char why[160];
        ed_fail(err, "%s: tensor %s cannot be read: the file is corrupt (HDF5: %s)", f->path,
                name, hdf5_reason(why)[0] ? why : "read error");
    } else {
        st = ED_OK;
    }
    if (mem_sp >= 0) H5Sclose(mem_sp);
    return st;
}

ed_status h5_model_tensor_quant(h5_model *f, const char *name, int rank, const int64_t shape[2],
                                int *quant, ed_error *err) {
    tensor_ds t;
    if (tensor_open(f, name, rank, shape, &t, err)) return ED_ERR;
    *quant = quant_from_dtype_attr(t.dt);
    tensor_close(&t);
    return ED_OK;
}

/* The codes and row scales of the hyperslab of an open quantized tensor t stored as `quant`
 * (h5_model_read_quantized's contract). */
static ed_status read_codes(h5_model *f, const char *name, tensor_ds *t, const int64_t shape[2],
                            const int64_t start[2], const int64_t count[2], int quant,
                            uint8_t *codes, float *scales, ed_error *err) {
    if (tensor_read(f, name, t, 2, start, count,
                    quant == QUANT_INT8 ? H5T_NATIVE_INT8 : H5T_NATIVE_UINT8, codes, err))
        return ED_ERR;
    char scale_name[160];
    snprintf(scale_name, sizeof scale_name, "%s.scale", name);
    int64_t sshape[2] = {shape[0], 1}, sstart[2] = {start[0], 0}, scount[2] = {count[0], 1};
    if (h5_model_read_slice(f, scale_name, 1, sshape, sstart, scount, scales, err)) return ED_ERR;
    for (int64_t r = 0; r < count[0]; r++)
        if (!isfinite(scales[r]) || scales[r] <= 0.0f)
            return ed_fail(err, "%s: tensor %s: the scale of row %lld is %g (a quantized "
                                "matrix's scales are finite and positive)", f->path, scale_name,
                           (long long)(start[0] + r), scales[r]);
    return ED_OK;
}

ed_status h5_model_read_quantized(h5_model *f, const char *name, const int64_t shape[2],
                                  const int64_t start[2], const int64_t count[2], int quant,
                                  uint8_t *codes, float *scales, ed_error *err) {
    tensor_ds t;
    if (tensor_open(f, name, 2, shape, &t, err)) return ED_ERR;
    ed_status st = quant_from_dtype_attr(t.dt) != quant
                       ? ed_fail(err, "%s: tensor %s is stored as %s, not %s", f->path, name,
                                 t.dt, quant_dtype_attr(quant))
                       : read_codes(f, name, &t, shape, start, count, quant, codes, scales, err);
    tensor_close(&t);
    return st;
}

ed_status h5_model_read_slice(h5_model *f, const char *name, int rank, const int64_t shape[2],
                              const int64_t start[2], const int64_t count[2], float *dst,
                              ed_error *err) {
    tensor_ds t;
    if (tensor_open(f, name, rank, shape, &t, err)) return ED_ERR;
    size_t n = (size_t)count[0] * (size_t)count[1];
    int quant = quant_from_dtype_attr(t.dt);
    ed_status st;
    if (quant) { /* a quantized matrix, dequantized: code * its row's scale */
        uint8_t *codes = malloc(n + 1);
        float *scales = malloc((size_t)count[0] * sizeof(float) + 1);
        st = codes && scales ? read_codes(f, name, &t, shape, start, count, quant, codes, scales,
                                          err)
                             : ed_fail(err, "%s: tensor %s: out of memory", f->path, name);
        for (size_t i = 0; !st && i < n; i++)
            dst[i] = quant_code_value(quant, codes[i]) * scales[i / (size_t)count[1]];
        free(codes);
        free(scales);
    } else if (!strcmp(t.dt, "fp32")) {
        st = tensor_read(f, name, &t, rank, start, count, H5T_NATIVE_FLOAT, dst, err);
    } else {
        uint16_t *half = malloc(n * sizeof *half + 1);
        st = half ? tensor_read(f, name, &t, rank, start, count, H5T_NATIVE_UINT16, half, err)
                  : ed_fail(err, "%s: tensor %s: out of memory", f->path, name);
        int is_bf16 = t.dt[0] == 'b';
        for (size_t i = 0; !st && i < n; i++)
            dst[i] = is_bf16 ? dtype_bf16_to_f32(half[i]) : dtype_fp16_to_f32(half[i]);
        free(half);
    }
    tensor_close(&t);
    return st;
}

ed_status h5_model_close(h5_model *f, ed_error *err) {
    if (!f) return ED_OK;
    herr_t rc = H5Fclose(f->file);
    free(f);
    return rc < 0 ? ed_fail(err, "cannot close HDF5 file (disk full?)") : ED_OK;
}

#define H5_TOKENIZER_GROUP "tokenizer"

ed_status h5_model_write_file(h5_model *f, const char *name, const void *data, size_t len,
                              ed_error *err) {
    if (H5Lexists(f->file, H5_TOKENIZER_GROUP, H5P_DEFAULT) <= 0) {
        hid_t g = H5Gcreate2(f->file, H5_TOKENIZER_GROUP, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
        if (g < 0) return ed_fail(err, "%s: cannot create group /%s", f->path, H5_TOKENIZER_GROUP);
        H5Gclose(g);
    }
    char path[300];
    snprintf(path, sizeof path, "%s/%s", H5_TOKENIZER_GROUP, name);
    hsize_t dims[1] = {(hsize_t)len};
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    if (len > 0 && dcpl >= 0) {
        hsize_t chunk[1] = {len < H5_MODEL_CHUNK_BYTES ? (hsize_t)len : H5_MODEL_CHUNK_BYTES};
        if (H5Pset_chunk(dcpl, 1, chunk) < 0 || H5Pset_fletcher32(dcpl) < 0) {
            H5Pclose(dcpl);
            return ed_fail(err, "%s: tokenizer file %s: cannot set up checksummed chunks",
                           f->path, name);
        }
    }
    hid_t sp = H5Screate_simple(1, dims, NULL);
    hid_t ds = H5Dcreate2(f->file, path, H5T_STD_U8LE, sp, H5P_DEFAULT,
                          dcpl >= 0 ? dcpl : H5P_DEFAULT, H5P_DEFAULT);
    herr_t rc = ds < 0 ? -1 : len ? H5Dwrite(ds, H5T_NATIVE_UCHAR, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) : 0;
    if (ds >= 0) H5Dclose(ds);
    H5Sclose(sp);
    if (dcpl >= 0) H5Pclose(dcpl);
    if (rc < 0) return ed_fail(err, "%s: cannot write tokenizer file %s (disk full?)", f->path, name);
    return ED_OK;
}

int h5_model_has_files(h5_model *f) {
    return H5Lexists(f->file, H5_TOKENIZER_GROUP, H5P_DEFAULT) > 0;
}

typedef struct file_walk {
    h5_model *f;
    int (*fn)(void *, const char *, const void *, size_t);
    void *ctx;
    ed_error *err;
    int failed; /* 1: our own error is in err; -1: fn stopped */
} file_walk;

static herr_t read_one_file(hid_t g, const char *name, const H5L_info_t *info, void *vw) {
    (void)info;
    file_walk *w = vw;
    hid_t ds = H5Dopen2(g, name, H5P_DEFAULT);
    if (ds < 0) {
        ed_fail(w->err, "%s: /%s/%s is not a dataset (corrupt file?)", w->f->path,
                H5_TOKENIZER_GROUP, name);
        w->failed = 1;
        return -1;
    }
    hid_t sp = H5Dget_space(ds), t = H5Dget_type(ds);
    hsize_t dims[1] = {0};
    int ok = sp >= 0 && H5Sget_simple_extent_ndims(sp) == 1 && t >= 0 &&
             H5Tget_class(t) == H5T_INTEGER && H5Tget_size(t) == 1;
    if (ok) H5Sget_simple_extent_dims(sp, dims, NULL);
    unsigned char *buf = ok ? malloc(dims[0] + 1) : NULL;
    herr_t rc = -1;
    if (!ok) {
        ed_fail(w->err, "%s: tokenizer file %s is not a 1-D byte dataset", w->f->path, name);
    } else if (!buf) {
        ed_fail(w->err, "%s: tokenizer file %s: out of memory", w->f->path, name);
    } else if (dims[0] && H5Dread(ds, H5T_NATIVE_UCHAR, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0) {
        char why[160];
        ed_fail(w->err, "%s: tokenizer file %s cannot be read: the file is corrupt (HDF5: %s)",
                w->f->path, name, hdf5_reason(why)[0] ? why : "read error");
    } else {
        buf[dims[0]] = 0;
        rc = 0;
    }
    if (t >= 0) H5Tclose(t);
    if (sp >= 0) H5Sclose(sp);
    H5Dclose(ds);
    if (rc < 0) {
        w->failed = 1;
    } else if (w->fn(w->ctx, name, buf, (size_t)dims[0])) {
        w->failed = -1;
        rc = -1;
    }
    free(buf);
    return rc;
}

ed_status h5_model_read_files(h5_model *f,
                              int (*fn)(void *ctx, const char *name, const void *data, size_t len),
                              void *ctx, ed_error *err) {
    if (!h5_model_has_files(f)) return ED_OK;
    hid_t g = H5Gopen2(f->file, H5_TOKENIZER_GROUP, H5P_DEFAULT);
    if (g < 0) return ed_fail(err, "%s: group /%s cannot be opened (corrupt file?)", f->path,
                              H5_TOKENIZER_GROUP);
    file_walk w = {f, fn, ctx, err, 0};
    hsize_t idx = 0;
    herr_t rc = H5Literate(g, H5_INDEX_NAME, H5_ITER_INC, &idx, read_one_file, &w);
    H5Gclose(g);
    if (rc < 0 && !w.failed) return ed_fail(err, "%s: group /%s cannot be listed (corrupt file?)",
                                            f->path, H5_TOKENIZER_GROUP);
    return rc < 0 ? ED_ERR : ED_OK;
}
