// Encoder (prefill) attention on tensor cores: TF32 mma.sync (m16n8k8, fp32 accumulation) for
// both products, online softmax in fp32 registers, the T5 bias added per distance from a
// shared-memory table. Used when attn_params.tf32 is set (16-bit weight dtypes, whose GEMM
// inputs are already rounded more coarsely than TF32's 10-bit mantissa) and attention is not
// causal; fp32 models keep the exact CUDA-core kernel of attention.cu.
//
// Block: 4 warps, 16 query rows each (MMA_QT = 64 queries of one (sequence, head)). Per key
// tile of KT rows, double-buffered in shared memory (cp.async: the next tile streams in while
// this one is multiplied):
//   S[16, KT] = Q[16, D] K^T          (Q fragments stay in registers for the whole block)
//   running max / sum per row, O rescaled, P = exp(S - max)
//   O[16, D] += P[16, KT] V[KT, D]
// P goes from accumulator to A-operand registers without a shuffle: within each 8-key step,
// the k index i of the mma stands for key 2i (i < 4) or key 2(i - 4) + 1, and V's rows are
// read in that same order (a sum over keys does not care about their order).
#include <cuda_runtime.h>
#include <stdint.h>

#include "kernels/cuda/cuda_ops.h"
#include "kernels/cuda/half_types.cuh"
#include "kernels/cuda/attn_bias.cuh"
#include "kernels/cuda/smem.cuh"

#define STREAM ((cudaStream_t)cuda_backend_stream())
#define MMA_QT 64
#define MMA_THREADS 128
#define MASKED (-1.0e30f) /* score of a key past the sequence: exp() of it is 0 */

/* Device code exists for compute capability 8.0 and up (mma.sync TF32, cp.async): builds for
 * older architectures get an empty kernel, which cuda_attention_prefill_tf32 never launches
 * there (it checks the device and leaves older ones to attention.cu's CUDA-core kernel). */
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
#define MMA_DEVICE_CODE 1
#endif

#ifdef MMA_DEVICE_CODE
__device__ __forceinline__ uint32_t to_tf32(float x) {
    uint32_t r;
    asm("cvt.rna.tf32.f32 %0, %1;" : "=r"(r) : "f"(x));
    return r;
}

/* c[16x8] += a[16x8] b[8x8]: a row-major (a0 (g, t), a1 (g+8, t), a2 (g, t+4), a3 (g+8, t+4)),
 * b column-major (b0 (k t, n g), b1 (k t+4, n g)), c (c0 (g, 2t), c1 (g, 2t+1), c2 (g+8, 2t),
 * c3 (g+8, 2t+1)); g = lane / 4, t = lane % 4. */
__device__ __forceinline__ void mma_tf32(float c[4], const uint32_t a[4], uint32_t b0, uint32_t b1) {
    asm volatile(
        "mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, "
        "{%8,%9}, {%0,%1,%2,%3};\n"
        : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

/* 16 bytes global -> shared without passing through registers; bytes = 0 writes zeros. */
__device__ __forceinline__ void cp_async16(void *dst, const void *src, int bytes) {
    unsigned d = (unsigned)__cvta_generic_to_shared(dst);
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(d), "l"(src), "r"(bytes));
}
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::); }
template <int N> __device__ __forceinline__ void cp_async_wait() {
    asm volatile("cp.async.wait_group %0;\n" ::"n"(N));
}
#endif

/* Row strides (floats) of the shared K and V tiles: K's fragment pairs are read as 64-bit words
 * (rows g at stride D + 8: a half-warp covers 32 banks once), V's as 32-bit words from rows 2t
 * and 2t + 1 (stride D + 4: 32 distinct banks). */
template <int D> struct tile_stride { static constexpr int K = D + 8, V = D + 4; };

#ifdef MMA_DEVICE_CODE
/* Keys [j0, j0 + KT) of K and V into one shared buffer pair, as fp32; keys past L and columns
 * past d_kv are zeros. vec: every row start is 16-byte aligned and d_kv % 4 == 0, so whole
 * 16-byte chunks go asynchronously (cp.async); otherwise plain loads. The fragments are rounded
 * to TF32 (to nearest) as they are read: truncation, what the mma does to raw fp32 bits, would
 * bias every product toward zero. */
template <int D, int KT>
__device__ __forceinline__ void load_tile(float *kt, float *vt, const float *k, const float *v,
                                          size_t base, int row, int j0, int L, int d_kv, bool vec) {
    constexpr int KP = tile_stride<D>::K, VP = tile_stride<D>::V;
    if (vec) {
        for (int c = threadIdx.x; c < KT * D / 4; c += MMA_THREADS) {
            const int jj = c / (D / 4), d = (c % (D / 4)) * 4;
            const bool ok = j0 + jj < L && d < d_kv;
            const size_t at = ok ? base + (size_t)(j0 + jj) * row + d : 0;
            cp_async16(kt + jj * KP + d, k + at, ok ? 16 : 0);
            cp_async16(vt + jj * VP + d, v + at, ok ? 16 : 0);
        }
    } else {
        for (int e = threadIdx.x; e < KT * D; e += MMA_THREADS) {
            const int jj = e / D, d = e % D;
            const bool ok = j0 + jj < L && d < d_kv;
            const size_t at = base + (size_t)(j0 + jj) * row + d;
            kt[jj * KP + d] = ok ? k[at] : 0.0f;
            vt[jj * VP + d] = ok ? v[at] : 0.0f;
        }
    }
    cp_async_commit(); /* an empty group on the plain path: the waits below stay uniform */
}

#endif

/* D: head width rounded up to a multiple of 8 (columns past d_kv are zeros); KT: keys per tile.
 * Dynamic shared memory: two K and V tile buffers (the next tile loads while this one is
 * multiplied) and the bias of distances -(L-1)..(L-1).
 * Within each 8-wide slice of d the mma's k index i stands for d = 2i (i < 4) or 2(i - 4) + 1,
 * for Q and K alike, so that a thread's two K values are adjacent (one 64-bit read). */
template <int D, int KT>
__global__ void __launch_bounds__(MMA_THREADS)
prefill_mma_kernel(attn_params p, const float *q, const float *k, const float *v, void *out,
                   const int32_t *off, const int32_t *len, bool vec) {
#ifdef MMA_DEVICE_CODE
    constexpr int KP = tile_stride<D>::K, VP = tile_stride<D>::V;
    extern __shared__ __align__(16) float smem[];
    const int s = blockIdx.y, h = blockIdx.z, L = len[s], q0 = blockIdx.x * MMA_QT;
    if (q0 >= L) return;
    const int d_kv = p.d_kv;
    /* buffer b: K tile at smem + b * KT * KP, V tile at vbase + b * KT * VP */
    float *vbase = smem + 2 * KT * KP, *bias = smem + 2 * KT * (KP + VP);
    const size_t base = (size_t)off[s] * p.row + (size_t)h * d_kv;
    load_tile<D, KT>(smem, vbase, k, v, base, p.row, 0, L, d_kv, vec);
    if (p.rel_bias) fill_distance_bias(bias, p, L, h);
    const int lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;
    const int row0 = q0 + (threadIdx.x >> 5) * 16 + g, row1 = row0 + 8; /* this thread's rows */

    uint32_t qa[D / 8][4];
#pragma unroll
    for (int kk = 0; kk < D / 8; kk++) {
        const int c0 = kk * 8 + 2 * t, c1 = c0 + 1; /* k index t and t + 4 (see above) */
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

    for (int j0 = 0, buf = 0; j0 < L; j0 += KT, buf ^= 1) {
        if (j0 + KT < L) { /* the next tile streams in while this one is used */
            load_tile<D, KT>(smem + (buf ^ 1) * KT * KP, vbase + (buf ^ 1) * KT * VP, k, v, base,
                             p.row, j0 + KT, L, d_kv, vec);
            cp_async_wait<1>();
        } else {
            cp_async_wait<0>();
        }
        __syncthreads(); /* this tile (and the bias table) visible to every warp */
        const float *ks = smem + buf * KT * KP, *vs = vbase + buf * KT * VP;

        float sc[KT / 8][4];
#pragma unroll
        for (int n = 0; n < KT / 8; n++) {
            sc[n][0] = sc[n][1] = sc[n][2] = sc[n][3] = 0.0f;
#pragma unroll
            for (int kk = 0; kk < D / 8; kk++) {
                const float2 b = *(const float2 *)(ks + (n * 8 + g) * KP + kk * 8 + 2 * t);
                mma_tf32(sc[n], qa[kk], to_tf32(b.x), to_tf32(b.y));
            }
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
                mma_tf32(o[dt], pa, to_tf32(vs[(n * 8 + 2 * t) * VP + dt * 8 + g]),
                         to_tf32(vs[(n * 8 + 2 * t + 1) * VP + dt * 8 + g]));
        }
        __syncthreads(); /* every warp is done with this buffer before it is refilled */
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
                store_as(out, p.out_type, base + (size_t)row * p.row + c,
                         o[dt][r] * (r < 2 ? inv0 : inv1));
        }
#endif
}

template <int D, int KT>
static int launch_mma(const attn_params *p, const float *q, const float *k, const float *v,
                      void *out, int n_seqs, const int32_t *off, const int32_t *len) {
    size_t tiles = 2 * (size_t)KT * (tile_stride<D>::K + tile_stride<D>::V);
    size_t bytes = (tiles + 2 * (size_t)p->max_keys) * sizeof(float);
    if (bytes > 200 * 1024) return 0; /* the bias table of very long inputs does not fit */
    prepare_smem(prefill_mma_kernel<D, KT>, bytes);
    const bool vec = p->d_kv % 4 == 0 && p->row % 4 == 0 && ((uintptr_t)k | (uintptr_t)v) % 16 == 0;
    dim3 grid((p->max_keys + MMA_QT - 1) / MMA_QT, n_seqs, p->heads);
    prefill_mma_kernel<D, KT><<<grid, MMA_THREADS, bytes, STREAM>>>(*p, q, k, v, out, off, len, vec);
    CUDA_LAUNCH_CHECK("attention_prefill");
    return 1;
}

extern "C" int cuda_attention_prefill_tf32(const attn_params *p, const float *q, const float *k,
                                           const float *v, void *out, int n_seqs,
                                           const int32_t *off, const int32_t *len) {
    static int major = -1; /* compute capability of the device (mma.sync TF32 needs 8.0) */
    if (major < 0) {
        int dev = 0;
        cudaGetDevice(&dev);
        if (cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, dev) != cudaSuccess) {
            cudaGetLastError(); /* not a fault: the plain prefill runs */
            major = 0;
        }
    }
    if (!p->tf32 || p->causal || major < 8) return 0;
    if (p->d_kv <= 16) return launch_mma<16, 64>(p, q, k, v, out, n_seqs, off, len);
    if (p->d_kv <= 32) return launch_mma<32, 64>(p, q, k, v, out, n_seqs, off, len);
    if (p->d_kv <= 64) return launch_mma<64, 64>(p, q, k, v, out, n_seqs, off, len);
    if (p->d_kv <= 128) return launch_mma<128, 16>(p, q, k, v, out, n_seqs, off, len);
    return 0;
}
