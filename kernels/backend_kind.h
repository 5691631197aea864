/* The backends a run can select (run config key `backend`). */
#ifndef ENCDEC_BACKEND_KIND_H
#define ENCDEC_BACKEND_KIND_H

typedef enum { BACKEND_CPU = 0, BACKEND_CUDA = 1 } backend_kind;

/* "cpu", "cuda", NULL: indexed by backend_kind (the config schema's enum list). */
extern const char *const backend_names[];
/* backend_names[backend], or "?" */
const char *backend_name(int backend);

#endif
