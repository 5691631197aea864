/* The CPU backend: fp32 buffers in host memory, OpenBLAS GEMMs. Ops run when called, so a fault
 * is recorded (kernels/fault.h) by the op that meets it and check() has nothing to wait for. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/cpu/cpu_ops.h"
#include "kernels/fault.h"

static void *cpu_alloc(size_t bytes) { return calloc(1, bytes ? bytes : 1); }

/* MemAvailable from /proc/meminfo (0 if unreadable). */
static size_t cpu_free_memory(void) {
    FILE *f = fopen("/proc/meminfo", "r");
    if (!f) return 0;
    char line[256];
    unsigned long long kb = 0;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "MemAvailable: %llu kB", &kb) == 1) break;
    fclose(f);
    return (size_t)kb * 1024;
}
static void cpu_free(void *p) { free(p); }
static void cpu_synchronize(void) {}
static ed_status cpu_check(ed_error *err) { return fault_record_take(err); }
static void cpu_copy(float *dst, const float *src, size_t n) { memmove(dst, src, n * sizeof(float)); }
static void cpu_upload(void *dst, const float *src, size_t n) { memcpy(dst, src, n * sizeof(float)); }
static void cpu_upload_raw(void *dst, const void *src, size_t bytes) { memcpy(dst, src, bytes); }
static void cpu_download(float *dst, const void *src, size_t n) { memcpy(dst, src, n * sizeof(float)); }
static void cpu_add(float *y, const float *x, size_t n) {
    if (fault_op_begin("add")) return;
    for (size_t i = 0; i < n; i++) y[i] += x[i];
}
static void cpu_upload_i32(int32_t *dst, const int32_t *src, size_t n) {
    memcpy(dst, src, n * sizeof(int32_t));
}
static void cpu_add_bias(float *y, const float *b, int rows, int n) {
    if (fault_op_begin("add_bias")) return;
    for (int r = 0; r < rows; r++)
        for (int i = 0; i < n; i++) y[(size_t)r * n + i] += b[i];
}
static void cpu_scale(float *y, float s, size_t n) {
    if (fault_op_begin("scale")) return;
    for (size_t i = 0; i < n; i++) y[i] *= s;
}

const backend backend_cpu = {
    .name = "cpu",
    .alloc = cpu_alloc,
    .free = cpu_free,
    .free_memory = cpu_free_memory,
    .synchronize = cpu_synchronize,
    .check = cpu_check,
    .upload = cpu_upload,
    .upload_raw = cpu_upload_raw,
    .download = cpu_download,
    .copy = cpu_copy,
    .matmul_wt = cpu_matmul_wt,
    .matmul_gated = cpu_matmul_gated,
    .rms_matmul = cpu_rms_matmul,
    .rms_matmul_gated = cpu_rms_matmul_gated,
    .matmul_wq = cpu_matmul_wq,
    .matmul_wq_gated = cpu_matmul_wq_gated,
    .embed = cpu_embed,
    .embed_q = cpu_embed_q,
    .rms_norm = cpu_rms_norm,
    .layer_norm = cpu_layer_norm,
    .add_bias = cpu_add_bias,
    .add = cpu_add,
    .scale = cpu_scale,
    .activation = cpu_activation,
    .gated_activation = cpu_gated_activation,
    .upload_i32 = cpu_upload_i32,
    .argmax_rows = cpu_argmax_rows,
    .topk_rows = cpu_topk_rows,
    .attention_prefill = cpu_attention_prefill,
    .attention_paged = cpu_attention_paged,
    .kv_scatter = cpu_kv_scatter,
};
