// Encoder (prefill) attention on tensor cores: TF32 mma.sync (m16n8k8, fp32 accumulation) for
// both products, online softmax in fp32 registers, the T5 bias added per distance from a
// shared-memory table. Used when attn_params.tf32 is set (16-bit weight dtypes, whose GEMM
// inputs are already rounded more coarsely than TF32's 10-bit mantissa) and attention is not
// causal; fp32 models keep the exact CUDA-core kernel of attention.cu.
//
// Block: 4 warps, 16 query rows each (MMA_QT = 64 queries of one (sequence, head)). Per key
// tile of KT rows, staged in shared memory as TF32 (row stride D + 4 floats: the fragment
// reads below hit 32 distinct banks):
//   S[16, KT] = Q[16, D] K^T          (Q fragments stay in registers for the whole block)
//   running max / sum per row, O rescaled, P = exp(S - max)
//   O[16, D] += P[16, KT] V[KT, D]
// P goes from accumulator to A-operand registers without a shuffle: within each 8-key step,
// the k index i of the mma stands for key 2i (i < 4) or key 2(i - 4) + 1, and V's rows are
// read in that same order (a sum over keys does not care about their order).
#include <cuda_runtime.h>
#include <stdint.h>

#include "kernels/cuda/cuda_ops.h"
#include "kernels/cuda/relbias.cuh"
#include "kernels/cuda/smem.cuh"

#define STREAM ((cudaStream_t)cuda_backend_stream())
#define MMA_QT 64
#define MMA_THREADS 128
#define MASKED (-1.0e30f) /* score of a key past the sequence: exp() of it is 0 */

__device__ __forceinline__ uint32_t to_tf32(float x) {
    uint32_t r;
#if __CUDA_ARCH__ >= 800
    asm("cvt.rna.tf32.f32 %0, %1;" : "=r"(r) : "f"(x));
#else
    r = __float_as_uint(x); /* never run: the launcher needs compute capability 8.0 */
#endif
    return r;
}

/* c[16x8] += a[16x8] b[8x8]: a row-major (a0 (g, t), a1 (g+8, t), a2 (g, t+4), a3 (g+8, t+4)),
 * b column-major (b0 (k t, n g), b1 (k t+4, n g)), c (c0 (g, 2t), c1 (g, 2t+1), c2 (g+8, 2t),
 * c3 (g+8, 2t+1)); g = lane / 4, t = lane % 4. */
__device__ __forceinline__ void mma_tf32(float c[4], const uint32_t a[4], uint32_t b0, uint32_t b1) {
#if __CUDA_ARCH__ >= 800
    asm volatile(
        "mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, "
        "{%8,%9}, {%0,%1,%2,%3};\n"
        : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
#else
    __trap();
#endif
}

/* D: head width rounded up to a multiple of 8 (columns past d_kv are zeros); KT: keys per tile.
 * Dynamic shared memory: K and V tiles [KT, D + 4] and the bias of distances -(L-1)..(L-1). */
template <int D, int KT>
__global__ void __launch_bounds__(MMA_THREADS)
prefill_mma_kernel(attn_params p, const float *q, const float *k, const float *v, float *out,
                   const int32_t *off, const int32_t *len) {
    constexpr int DP = D + 4;
    extern __shared__ float smem[];
    const int s = blockIdx.y, h = blockIdx.z, L = len[s], q0 = blockIdx.x * MMA_QT;
    if (q0 >= L) return;
    const int d_kv = p.d_kv;
    uint32_t *ks = (uint32_t *)smem, *vs = ks + KT * DP;
    float *bias = (float *)(vs + KT * DP);
    const size_t base = (size_t)off[s] * p.row + (size_t)h * d_kv;
    if (p.rel_bias)
        for (int r = threadIdx.x; r < 2 * L - 1; r += blockDim.x)
            bias[r] = p.rel_bias[(size_t)bucket_of(r - (L - 1), p.bidirectional, p.buckets,
                                                   p.max_distance) * p.rel_ld + h];
    const int lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;
    const int row0 = q0 + (threadIdx.x >> 5) * 16 + g, row1 = row0 + 8; /* this thread's rows */

    uint32_t qa[D / 8][4];
#pragma unroll
    for (int kk = 0; kk < D / 8; kk++) {
        const int c0 = kk * 8 + t, c1 = c0 + 4;
#define QAT(r, c) (r < L && c < d_kv ? q[base + (size_t)(r) * p.row + (c)] * p.scale : 0.0f)
        qa[kk][0] = to_tf32(QAT(row0, c0));
        qa[kk][1] = to_tf32(QAT(row1, c0));
        qa[kk][2] = to_tf32(QAT(row0, c1));
        qa[kk][3] = to_tf32(QAT(row1, c1));
#undef QAT
    }
    float o[D / 8][4];
#pragma unroll
    for (int dt = 0; dt < D / 8; dt++) o[dt][0] = o[dt][1] = o[dt][2] = o[dt][3] = 0.0f;
    float m0 = MASKED, m1 = MASKED, l0 = 0.0f, l1 = 0.0f;
    /* Bias index of key j for a row: j - row + L - 1; rows past L (not written) use row L - 1. */
    const int bias0 = L - 1 - min(row0, L - 1), bias1 = L - 1 - min(row1, L - 1);

    for (int j0 = 0; j0 < L; j0 += KT) {
        const int nt = min(KT, L - j0);
        __syncthreads(); /* the previous tile is consumed (and the bias table written) */
        for (int e = threadIdx.x; e < KT * D; e += MMA_THREADS) {
            const int jj = e / D, d = e % D;
            const bool ok = jj < nt && d < d_kv;
            const size_t at = base + (size_t)(j0 + jj) * p.row + d;
            ks[jj * DP + d] = to_tf32(ok ? k[at] : 0.0f);
            vs[jj * DP + d] = to_tf32(ok ? v[at] : 0.0f);
        }
        __syncthreads();

        float sc[KT / 8][4];
#pragma unroll
        for (int n = 0; n < KT / 8; n++) {
            sc[n][0] = sc[n][1] = sc[n][2] = sc[n][3] = 0.0f;
#pragma unroll
            for (int kk = 0; kk < D / 8; kk++)
                mma_tf32(sc[n], qa[kk], ks[(n * 8 + g) * DP + kk * 8 + t],
                         ks[(n * 8 + g) * DP + kk * 8 + t + 4]);
        }
        float mx0 = MASKED, mx1 = MASKED;
#pragma unroll
        for (int n = 0; n < KT / 8; n++)
#pragma unroll
            for (int r = 0; r < 4; r++) {
                const int j = j0 + n * 8 + 2 * t + (r & 1);
                float x = sc[n][r];
                if (j >= L) x = MASKED;
                else if (p.rel_bias) x += bias[j + (r < 2 ? bias0 : bias1)];
                sc[n][r] = x;
                if (r < 2) mx0 = fmaxf(mx0, x);
                else mx1 = fmaxf(mx1, x);
            }
#pragma unroll
        for (int o_ = 1; o_ <= 2; o_ <<= 1) { /* the 4 threads of a row group share its rows */
            mx0 = fmaxf(mx0, __shfl_xor_sync(0xffffffffu, mx0, o_));
            mx1 = fmaxf(mx1, __shfl_xor_sync(0xffffffffu, mx1, o_));
        }
        const float new0 = fmaxf(m0, mx0), new1 = fmaxf(m1, mx1);
        const float c0 = __expf(m0 - new0), c1 = __expf(m1 - new1);
        m0 = new0, m1 = new1, l0 *= c0, l1 *= c1;
#pragma unroll
        for (int dt = 0; dt < D / 8; dt++) o[dt][0] *= c0, o[dt][1] *= c0, o[dt][2] *= c1, o[dt][3] *= c1;
#pragma unroll
        for (int n = 0; n < KT / 8; n++) {
            const float p0 = __expf(sc[n][0] - m0), p1 = __expf(sc[n][1] - m0);
            const float p2 = __expf(sc[n][2] - m1), p3 = __expf(sc[n][3] - m1);
            l0 += p0 + p1, l1 += p2 + p3;
            /* k index t = key 2t, k index t + 4 = key 2t + 1 (see the file comment). */
            const uint32_t pa[4] = {to_tf32(p0), to_tf32(p2), to_tf32(p1), to_tf32(p3)};
#pragma unroll
            for (int dt = 0; dt < D / 8; dt++)
                mma_tf32(o[dt], pa, vs[(n * 8 + 2 * t) * DP + dt * 8 + g],
                         vs[(n * 8 + 2 * t + 1) * DP + dt * 8 + g]);
        }
    }
#pragma unroll
    for (int o_ = 1; o_ <= 2; o_ <<= 1) {
        l0 += __shfl_xor_sync(0xffffffffu, l0, o_);
        l1 += __shfl_xor_sync(0xffffffffu, l1, o_);
    }
    const float inv0 = 1.0f / l0, inv1 = 1.0f / l1;
#pragma unroll
    for (int dt = 0; dt < D / 8; dt++)
#pragma unroll
        for (int r = 0; r < 4; r++) {
            const int row = r < 2 ? row0 : row1, c = dt * 8 + 2 * t + (r & 1);
            if (row < L && c < d_kv)
                out[base + (size_t)row * p.row + c] = o[dt][r] * (r < 2 ? inv0 : inv1);
        }
}

template <int D, int KT>
static int launch_mma(const attn_params *p, const float *q, const float *k, const float *v,
                      float *out, int n_seqs, const int32_t *off, const int32_t *len) {
    size_t bytes = (2 * (size_t)KT * (D + 4) + 2 * (size_t)p->max_keys) * sizeof(float);
    if (bytes > 200 * 1024) return 0; /* the bias table of very long inputs does not fit */
    prepare_smem(prefill_mma_kernel<D, KT>, bytes);
    dim3 grid((p->max_keys + MMA_QT - 1) / MMA_QT, n_seqs, p->heads);
    prefill_mma_kernel<D, KT><<<grid, MMA_THREADS, bytes, STREAM>>>(*p, q, k, v, out, off, len);
    return 1;
}

extern "C" int cuda_attention_prefill_tf32(const attn_params *p, const float *q, const float *k,
                                           const float *v, float *out, int n_seqs,
                                           const int32_t *off, const int32_t *len) {
    static int major = -1; /* compute capability of the device (mma.sync TF32 needs 8.0) */
    if (major < 0) {
        int dev = 0;
        cudaGetDevice(&dev);
        if (cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, dev) != cudaSuccess)
            major = 0;
    }
    if (!p->tf32 || p->causal || major < 8) return 0;
    if (p->d_kv <= 16) return launch_mma<16, 64>(p, q, k, v, out, n_seqs, off, len);
    if (p->d_kv <= 32) return launch_mma<32, 64>(p, q, k, v, out, n_seqs, off, len);
    if (p->d_kv <= 64) return launch_mma<64, 64>(p, q, k, v, out, n_seqs, off, len);
    if (p->d_kv <= 128) return launch_mma<128, 32>(p, q, k, v, out, n_seqs, off, len);
    return 0;
}
