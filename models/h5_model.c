#include "models/h5_model.h"

#include <hdf5.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "common/dtype.h"
#include "common/dtype.h"

struct h5_model {
    hid_t file;
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
};
#define N_SPEC_ATTRS (sizeof spec_attrs / sizeof spec_attrs[0])

static void quiet_hdf5(void) { H5Eset_auto2(H5E_DEFAULT, NULL, NULL); }

ed_status h5_model_create(h5_model **out, const char *path, ed_error *err) {
    quiet_hdf5();
    h5_model *f = calloc(1, sizeof *f);
    if (!f) return ed_fail(err, "%s: out of memory", path);
    snprintf(f->path, sizeof f->path, "%s", path);
    f->file = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
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

static ed_status read_str_attr(hid_t obj, const char *name, char *buf, size_t cap) {
    if (H5Aexists(obj, name) <= 0) return ED_ERR;
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
    hid_t t = H5Aget_type(a);
    size_t n = H5Tget_size(t);
    ed_status st = ED_ERR;
    if (H5Tget_class(t) == H5T_STRING && n < cap) {
        hid_t mt = H5Tcopy(H5T_C_S1);
        H5Tset_size(mt, n);
        memset(buf, 0, cap);
        if (H5Aread(a, mt, buf) >= 0) st = ED_OK;
        H5Tclose(mt);
    }
    H5Tclose(t);
    H5Aclose(a);
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

ed_status h5_model_write_tensor(h5_model *f, const char *name, int rank, const int64_t shape[2],
                                const float *data, int dtype, ed_error *err) {
    hsize_t dims[2] = {(hsize_t)shape[0], (hsize_t)shape[1]};
    size_t n = (size_t)shape[0] * (size_t)shape[1];
    hid_t file_type = dtype == DTYPE_FP32 ? H5T_IEEE_F32LE : H5T_STD_U16LE;
    hid_t mem_type = dtype == DTYPE_FP32 ? H5T_NATIVE_FLOAT : H5T_NATIVE_UINT16;
    const void *buf = data;
    uint16_t *half = NULL;
    if (dtype != DTYPE_FP32) {
        half = malloc(n * sizeof *half);
        if (!half) return ed_fail(err, "tensor %s: out of memory", name);
        dtype_f32_to_16bit(data, n, dtype == DTYPE_BF16, half);
        buf = half;
    }
    ed_status st = ED_ERR;
    hid_t sp = H5Screate_simple(rank, dims, NULL);
    hid_t ds = H5Dcreate2(f->file, name, file_type, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (ds >= 0 && H5Dwrite(ds, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) >= 0 &&
        write_str_attr(ds, "dtype", dtype_name(dtype)) == ED_OK)
        st = ED_OK;
    if (ds >= 0) H5Dclose(ds);
    H5Sclose(sp);
    free(half);
    if (st) return ed_fail(err, "%s: cannot write tensor %s (disk full?)", f->path, name);
    return ED_OK;
}

ed_status h5_model_open(h5_model **out, const char *path, ed_error *err) {
    quiet_hdf5();
    h5_model *f = calloc(1, sizeof *f);
    if (!f) return ed_fail(err, "%s: out of memory", path);
    snprintf(f->path, sizeof f->path, "%s", path);
    f->file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f->file < 0) {
        free(f);
        return ed_fail(err, "%s: cannot open as an HDF5 model (convert one with encdec_convert)",
                       path);
    }
    *out = f;
    return ED_OK;
}

static ed_status read_num_attr(hid_t obj, const char *name, hid_t mem_type, void *v) {
    if (H5Aexists(obj, name) <= 0) return ED_ERR;
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
    herr_t rc = H5Aread(a, mem_type, v);
    H5Aclose(a);
    return rc < 0 ? ED_ERR : ED_OK;
}

ed_status h5_model_read_spec(h5_model *f, model_spec *s, ed_error *err) {
    long long version = 0;
    memset(s, 0, sizeof *s);
    if (read_num_attr(f->file, "encdec_format_version", H5T_NATIVE_LLONG, &version))
        return ed_fail(err, "%s: attribute encdec_format_version is missing: not a model written "
                            "by encdec_convert", f->path);
    if (version != ENCDEC_FORMAT_VERSION)
        return ed_fail(err, "%s: format version %lld, this build reads version %d", f->path,
                       version, ENCDEC_FORMAT_VERSION);
    if (read_str_attr(f->file, "family", s->family, sizeof s->family))
        return ed_fail(err, "%s: attribute family is missing", f->path);
    for (size_t i = 0; i < N_SPEC_ATTRS; i++) {
        char *p = (char *)s + spec_attrs[i].offset;
        ed_status st;
        if (spec_attrs[i].is_float) {
            double v;
            st = read_num_attr(f->file, spec_attrs[i].name, H5T_NATIVE_DOUBLE, &v);
            *(float *)p = (float)v;
        } else {
            long long v;
            st = read_num_attr(f->file, spec_attrs[i].name, H5T_NATIVE_LLONG, &v);
            *(int *)p = (int)v;
        }
        if (st) return ed_fail(err, "%s: attribute %s is missing", f->path, spec_attrs[i].name);
    }
    if (spec_validate(s, err)) return ed_wrap(err, "%s: ", f->path);
    return ED_OK;
}

ed_status h5_model_read_slice(h5_model *f, const char *name, int rank, const int64_t shape[2],
                              const int64_t start[2], const int64_t count[2], float *dst,
                              ed_error *err) {
    if (H5Lexists(f->file, name, H5P_DEFAULT) <= 0)
        return ed_fail(err, "%s: tensor %s is missing", f->path, name);
    hid_t ds = H5Dopen2(f->file, name, H5P_DEFAULT);
    if (ds < 0) return ed_fail(err, "%s: cannot open tensor %s", f->path, name);
    hid_t sp = H5Dget_space(ds);
    hsize_t dims[2] = {1, 1};
    int nd = H5Sget_simple_extent_ndims(sp);
    ed_status st = ED_ERR;
    uint16_t *half = NULL;
    hid_t mem_sp = -1;
    if (nd != rank || nd < 1 || nd > 2) {
        ed_fail(err, "%s: tensor %s has rank %d, expected %d", f->path, name, nd, rank);
        goto done;
    }
    H5Sget_simple_extent_dims(sp, dims, NULL);
    if ((int64_t)dims[0] != shape[0] || (rank == 2 && (int64_t)dims[1] != shape[1])) {
        ed_fail(err, "%s: tensor %s has shape [%llu, %llu], the spec needs [%lld, %lld]", f->path,
                name, (unsigned long long)dims[0], (unsigned long long)(rank == 2 ? dims[1] : 1),
                (long long)shape[0], (long long)shape[1]);
        goto done;
    }
    char dt[16] = "fp32";
    if (read_str_attr(ds, "dtype", dt, sizeof dt)) {
        ed_fail(err, "%s: tensor %s has no dtype attribute", f->path, name);
        goto done;
    }
    hsize_t hs_start[2] = {(hsize_t)start[0], (hsize_t)start[1]};
    hsize_t hs_count[2] = {(hsize_t)count[0], (hsize_t)count[1]};
    H5Sselect_hyperslab(sp, H5S_SELECT_SET, hs_start, NULL, hs_count, NULL);
    mem_sp = H5Screate_simple(rank, hs_count, NULL);
    size_t n = (size_t)count[0] * (size_t)count[1];
    if (!strcmp(dt, "fp32")) {
        if (H5Dread(ds, H5T_NATIVE_FLOAT, mem_sp, sp, H5P_DEFAULT, dst) < 0) {
            ed_fail(err, "%s: cannot read tensor %s", f->path, name);
            goto done;
        }
    } else if (!strcmp(dt, "fp16") || !strcmp(dt, "bf16")) {
        half = malloc(n * sizeof *half);
        if (!half || H5Dread(ds, H5T_NATIVE_UINT16, mem_sp, sp, H5P_DEFAULT, half) < 0) {
            ed_fail(err, "%s: cannot read tensor %s", f->path, name);
            goto done;
        }
        int is_bf16 = dt[0] == 'b';
        for (size_t i = 0; i < n; i++)
            dst[i] = is_bf16 ? dtype_bf16_to_f32(half[i]) : dtype_fp16_to_f32(half[i]);
    } else {
        ed_fail(err, "%s: tensor %s has unknown dtype '%s'", f->path, name, dt);
        goto done;
    }
    st = ED_OK;
done:
    free(half);
    if (mem_sp >= 0) H5Sclose(mem_sp);
    H5Sclose(sp);
    H5Dclose(ds);
    return st;
}

ed_status h5_model_close(h5_model *f, ed_error *err) {
    if (!f) return ED_OK;
    herr_t rc = H5Fclose(f->file);
    free(f);
    return rc < 0 ? ed_fail(err, "cannot close HDF5 file (disk full?)") : ED_OK;
}
