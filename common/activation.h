/* The activation functions of FFN layers, named by the model spec and computed by the kernels. */
#ifndef ENCDEC_ACTIVATION_H
#define ENCDEC_ACTIVATION_H

/* ACT_GELU_NEW: HF's NewGELUActivation (tanh approximation); ACT_GELU: exact erf GELU. */
typedef enum { ACT_RELU = 0, ACT_GELU_NEW = 1, ACT_GELU = 2, ACT_SILU = 3 } act_kind;

#endif
