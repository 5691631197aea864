#include "kernels/backend.h"

const char *const backend_names[] = {"cpu", "cuda", NULL};

const char *backend_name(int b) { return b >= 0 && b <= 1 ? backend_names[b] : "?"; }

const backend *backend_get(int kind, int local_rank, ed_error *err) {
    (void)local_rank;
    if (kind == BACKEND_CPU) return &backend_cpu;
#ifdef ENCDEC_HAVE_CUDA
    if (kind == BACKEND_CUDA) return cuda_backend_init(local_rank, err) ? NULL : &backend_cuda;
#endif
    ed_fail(err, "config: key 'backend': '%s' is not available in this build", backend_name(kind));
    return NULL;
}
