#include "kernels/backend.h"

#include <stdlib.h>

#include "kernels/fault.h"

const char *const backend_names[] = {"cpu", "cuda", NULL};

const char *backend_name(int b) { return b >= 0 && b <= 1 ? backend_names[b] : "?"; }

const backend *backend_get(int kind, int local_rank, ed_error *err) {
    static int inject_read = 0; /* ENCDEC_INJECT_FAULT is read by the first call only */
    (void)local_rank;
    if (!inject_read) {
        if (fault_inject_configure(getenv("ENCDEC_INJECT_FAULT"), err)) return NULL;
        inject_read = 1;
    }
    if (kind == BACKEND_CPU) return &backend_cpu;
#ifdef ENCDEC_HAVE_CUDA
    if (kind == BACKEND_CUDA) return cuda_backend_init(local_rank, err) ? NULL : &backend_cuda;
#endif
    ed_fail(err, "config: key 'backend': '%s' is not available in this build", backend_name(kind));
    return NULL;
}

void backend_matmul_wq_gated_parts(const backend *be, int act, const void *x, int xtype,
                                   const uint8_t *q_gate, const float *s_gate,
                                   const uint8_t *q_lin, const float *s_lin, int quant,
                                   float *prod, void *y, int ytype, int m, int f, int k,
                                   int flags) {
    flags &= MATMUL_SAME_INPUT | MATMUL_X_IN_WTYPE;
    float *lin = prod + (size_t)m * f;
    be->matmul_wq(x, xtype, q_gate, quant, s_gate, prod, m, f, k, flags);
    be->matmul_wq(x, xtype, q_lin, quant, s_lin, lin, m, f, k, flags | MATMUL_SAME_INPUT);
    be->gated_activation(act, prod, lin, (size_t)f, y, ytype, (size_t)m, (size_t)f);
}
