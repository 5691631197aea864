// pdl_chain_probe: what one dependent link of a decode step costs on this GPU, apart from its
// work. A decode step at batch 1 is a chain of ~100-140 small kernels, each waiting for the one
// before it; this probe times chains of N kernels that do (almost) nothing, captured in one CUDA
// graph and replayed, in the shapes a step could take:
//   launch    plain kernels, stream order (the next starts after the previous has finished)
//   pdl       the same with programmatic dependent launch (pdl.cuh's wait / release;
//             compute capability 9.0 and later, else the same as launch)
//   pdl_rw    pdl, each kernel reading the previous one's 3 KB output after its wait and writing
//             its own (the smallest real dependency: a decode row of t5-base)
//   grid_sync one cooperative kernel of N phases separated by cooperative_groups grid syncs
//             (the persistent whole-step kernel's cost per phase), reading and writing as pdl_rw
// Grids of 1, 32 and the GPU's SM count blocks (one per SM, as the decode GEMV runs), 128
// threads each.
// Prints one line per shape: us per link = replay time / N, the mean of 20 replays after 3.
// Usage: pdl_chain_probe [N=128]
#include <cooperative_groups.h>
#include <cuda_runtime.h>
#include <stdio.h>
#include <stdlib.h>

#include "kernels/cuda/pdl.cuh" /* pdl_wait, pdl_release (no-ops below sm_90) */

namespace cg = cooperative_groups;

#define CHECK(call)                                                                   \
    do {                                                                              \
        cudaError_t e_ = (call);                                                      \
        if (e_ != cudaSuccess) {                                                      \
            fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__, cudaGetErrorString(e_)); \
            exit(1);                                                                  \
        }                                                                             \
    } while (0)

enum { ROW = 768 }; /* floats a link reads and writes: one t5-base row */

/* Does nothing but the PDL handshake (a no-op when launched without the attribute). */
__global__ void empty_link() {
    pdl_wait();
    pdl_release();
}

/* One link's work: out[i] = in[i] + 1 for this block's share of a row; every block reads the
 * whole row (as a GEMV reads x) and sums it, so each depends on all of the previous writes. */
__device__ void rw_row(const float *in, float *out) {
    float s = 0.f;
    for (int i = threadIdx.x; i < ROW; i += blockDim.x) s += in[i];
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < ROW; i += gridDim.x * blockDim.x)
        out[i] = in[i] + (s != s ? 1.f : 0.f) + 1.f;
}

__global__ void rw_link(const float *in, float *out) {
    pdl_wait();
    pdl_release();
    rw_row(in, out);
}

/* N phases of rw_row in one kernel, a grid sync between them; buffers alternate. */
__global__ void grid_sync_chain(float *a, float *b, int n) {
    cg::grid_group grid = cg::this_grid();
    for (int p = 0; p < n; p++) {
        rw_row(p % 2 ? b : a, p % 2 ? a : b);
        grid.sync();
    }
}

static cudaLaunchConfig_t config(cudaStream_t st, int blocks, cudaLaunchAttribute *attr, int pdl,
                                 int coop) {
    cudaLaunchConfig_t c = {};
    c.gridDim = dim3(blocks);
    c.blockDim = dim3(128);
    c.stream = st;
    c.attrs = attr;
    c.numAttrs = 0;
    if (pdl) {
        attr[c.numAttrs].id = cudaLaunchAttributeProgrammaticStreamSerialization;
        attr[c.numAttrs++].val.programmaticStreamSerializationAllowed = 1;
    }
    if (coop) {
        attr[c.numAttrs].id = cudaLaunchAttributeCooperative;
        attr[c.numAttrs++].val.cooperative = 1;
    }
    return c;
}

enum shape { LAUNCH, PDL, PDL_RW, GRID_SYNC };
static const char *shape_name[] = {"launch", "pdl", "pdl_rw", "grid_sync"};

/* Records one replayable graph of the shape's chain of n links. */
static cudaGraphExec_t record(cudaStream_t st, enum shape s, int n, int blocks, float *a, float *b) {
    cudaGraph_t g;
    cudaGraphExec_t ge;
    cudaLaunchAttribute attr[2];
    CHECK(cudaStreamBeginCapture(st, cudaStreamCaptureModeGlobal));
    if (s == GRID_SYNC) {
        cudaLaunchConfig_t c = config(st, blocks, attr, 0, 1);
        CHECK(cudaLaunchKernelEx(&c, grid_sync_chain, a, b, n));
    } else {
        for (int i = 0; i < n; i++) {
            cudaLaunchConfig_t c = config(st, blocks, attr, s != LAUNCH, 0);
            if (s == PDL_RW)
                CHECK(cudaLaunchKernelEx(&c, rw_link, (const float *)(i % 2 ? b : a),
                                         i % 2 ? a : b));
            else
                CHECK(cudaLaunchKernelEx(&c, empty_link));
        }
    }
    CHECK(cudaStreamEndCapture(st, &g));
    CHECK(cudaGraphInstantiate(&ge, g, 0));
    CHECK(cudaGraphDestroy(g));
    return ge;
}

int main(int argc, char **argv) {
    int n = argc > 1 ? atoi(argv[1]) : 128;
    cudaDeviceProp prop;
    CHECK(cudaGetDeviceProperties(&prop, 0));
    cudaStream_t st;
    CHECK(cudaStreamCreateWithFlags(&st, cudaStreamNonBlocking));
    float *a, *b;
    CHECK(cudaMalloc(&a, ROW * sizeof(float)));
    CHECK(cudaMalloc(&b, ROW * sizeof(float)));
    CHECK(cudaMemset(a, 0, ROW * sizeof(float)));
    cudaEvent_t t0, t1;
    CHECK(cudaEventCreate(&t0));
    CHECK(cudaEventCreate(&t1));
    printf("device %s, %d SMs, chain of %d links\n", prop.name, prop.multiProcessorCount, n);
    int grids[] = {1, 32, prop.multiProcessorCount};
    for (int s = LAUNCH; s <= GRID_SYNC; s++) {
        for (int gi = 0; gi < 3; gi++) {
            cudaGraphExec_t ge = record(st, (enum shape)s, n, grids[gi], a, b);
            for (int r = 0; r < 3; r++) CHECK(cudaGraphLaunch(ge, st));
            CHECK(cudaEventRecord(t0, st));
            for (int r = 0; r < 20; r++) CHECK(cudaGraphLaunch(ge, st));
            CHECK(cudaEventRecord(t1, st));
            CHECK(cudaEventSynchronize(t1));
            float ms;
            CHECK(cudaEventElapsedTime(&ms, t0, t1));
            printf("%-10s blocks %4d: %.3f us per link\n", shape_name[s], grids[gi],
                   ms * 1e3f / 20.f / n);
            CHECK(cudaGraphExecDestroy(ge));
        }
    }
    return 0;
}
