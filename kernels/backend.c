#include "kernels/backend.h"

#include "runtime/config.h"

const backend *backend_get(int kind, ed_error *err) {
    if (kind == BACKEND_CPU) return &backend_cpu;
    ed_fail(err, "config: key 'backend': '%s' is not available in this build", backend_name(kind));
    return NULL;
}
