// Grouped top-k (spec §5): scores [G, N] float32, budgets int32 [G] → bool [G, N] with exactly
// min(max(budget, 0), N) entries per group: the largest scores, ties to the lower index, NaN below −∞.
// One block per group: a 4-pass radix select (8 bits a pass; warp-aggregated histogram, bins picked by
// a warp suffix scan) over order-preserving 32-bit keys finds the kth key; entries above it are taken, and among entries equal to it the first ones by index
// (a block-wide running count in index order).
#define TPB 256

__device__ __forceinline__ unsigned keyOf(float f) {
  unsigned u = __float_as_uint(f);
  if (f != f) u = 0xff800000u;  // NaN ranks as −∞ (then below it by index like the CPU oracle)
  if (u == 0x80000000u) u = 0u;  // −0 == +0
  return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}

// T: float, sea_bf16 or sea_f16 scores (compared as float32 keys).
template <typename T>
__device__ __forceinline__ void grouped_topk_t(const T *__restrict__ scores, const int *__restrict__ budgets,
                                               unsigned char *__restrict__ out, int N) {
  __shared__ unsigned hist[256];
  __shared__ unsigned sPrefix, sMask;
  __shared__ int sRemain;
  __shared__ int warpCnt[TPB / 32];
  const long long gidx = blockIdx.x;
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const T *s = scores + gidx * N;
  unsigned char *o = out + gidx * N;
  int kb = budgets[gidx];
  kb = kb < 0 ? 0 : (kb > N ? N : kb);
  if (kb == 0 || kb == N) {
    for (int i = threadIdx.x; i < N; i += TPB) o[i] = kb ? 1 : 0;
    return;
  }
  if (threadIdx.x == 0) { sPrefix = 0; sMask = 0; sRemain = kb; }
  for (int shift = 24; shift >= 0; shift -= 8) {
    for (int i = threadIdx.x; i < 256; i += TPB) hist[i] = 0;
    __syncthreads();
    unsigned prefix = sPrefix, mask = sMask;
    // histogram, one atomic per distinct bin per warp (scores bunch into few bins on the first passes)
    for (int c0 = 0; c0 < N; c0 += TPB) {
      int i = c0 + threadIdx.x;
      unsigned kk = i < N ? keyOf(tof(s[i])) : 0u;
      bool act = i < N && (kk & mask) == prefix;
      unsigned bin = act ? (kk >> shift) & 255u : 256u;
      unsigned peers = __match_any_sync(0xffffffffu, bin);
      if (act && __ffs(peers) - 1 == lane) atomicAdd(&hist[bin], (unsigned)__popc(peers));
    }
    __syncthreads();
    if (warp == 0) {
      // the highest bin d whose count with the bins above reaches rem (d = 0 when none does), by a
      // suffix scan: lane L holds bins 8L … 8L+7
      const int rem = sRemain;
      unsigned h[8];
      int own = 0;
#pragma unroll
      for (int u = 0; u < 8; ++u) {
        h[u] = hist[8 * lane + u];
        own += (int)h[u];
      }
      int suf = own;  // Σ over lanes ≥ lane
      for (int off = 1; off < 32; off <<= 1) {
        int y = __shfl_down_sync(0xffffffffu, suf, off);
        if (lane + off < 32) suf += y;
      }
      int above = suf - own;  // Σ over lanes > lane
      int best = -1, bestAbove = 0;
      int run = above;
#pragma unroll
      for (int u = 7; u >= 0; --u) {
        if (best < 0 && run + (int)h[u] >= rem) {
          best = 8 * lane + u;
          bestAbove = run;
        }
        run += (int)h[u];
      }
      unsigned found = __ballot_sync(0xffffffffu, best >= 0);
      int src = found ? 31 - __clz(found) : 0;
      int d = __shfl_sync(0xffffffffu, best, src);
      int dAbove = __shfl_sync(0xffffffffu, bestAbove, src);
      if (!found) {
        d = 0;
        dAbove = __shfl_sync(0xffffffffu, suf, 0) - (int)__shfl_sync(0xffffffffu, h[0], 0);
      }
      if (lane == 0) {
        sPrefix = prefix | ((unsigned)d << shift);
        sMask = mask | (255u << shift);
        sRemain = rem - dAbove;
      }
    }
    __syncthreads();
  }
  const unsigned thr = sPrefix;
  const int need = sRemain;  // how many entries equal to thr are taken, lowest indices first
  int base = 0;
  for (int c0 = 0; c0 < N; c0 += TPB) {
    int i = c0 + threadIdx.x;
    unsigned kk = i < N ? keyOf(tof(s[i])) : 0u;
    bool eq = i < N && kk == thr;
    unsigned ballot = __ballot_sync(0xffffffffu, eq);
    if (lane == 0) warpCnt[warp] = __popc(ballot);
    __syncthreads();
    int before = base;
    for (int w = 0; w < warp; ++w) before += warpCnt[w];
    before += __popc(ballot & ((1u << lane) - 1u));
    if (i < N) o[i] = (kk > thr || (eq && before < need)) ? 1 : 0;
    int chunk = 0;
    for (int w = 0; w < TPB / 32; ++w) chunk += warpCnt[w];
    __syncthreads();
    base += chunk;
  }
}
#define GROUPED_TOPK(NAME, T)                                                                                        \
  extern "C" __global__ void __launch_bounds__(TPB)                                                                  \
      NAME(const T *__restrict__ scores, const int *__restrict__ budgets, unsigned char *__restrict__ out, int N) {   \
    grouped_topk_t(scores, budgets, out, N);                                                                         \
  }
GROUPED_TOPK(grouped_topk, float)
GROUPED_TOPK(grouped_topk_bf16, sea_bf16)
GROUPED_TOPK(grouped_topk_f16, sea_f16)

// The same selection with the group's keys held in registers (PER per thread, element c·TPB + tid
// in slot c, N ≤ PER·TPB): the scores are read once, every load in flight together, instead of once per
// radix pass; the passes and the tie-break are those above (16-bit scores: two passes over 16-bit keys
// of the same order), the final count in one block-wide step (per-chunk warp counts in shared memory).
// Order-preserving keys of the register kernels: 32 bits for float32 (keyOf); for bfloat16 and float16 the
// same map on their 16 bits (NaN as −∞, −0 as +0): the same order and the same ties as keyOf of the
// widened value, in two radix passes instead of four.
__device__ __forceinline__ unsigned key16(unsigned u, unsigned expMask, unsigned negInf) {
  if ((u & expMask) == expMask && (u & 0x7fffu & ~expMask)) u = negInf;
  if (u == 0x8000u) u = 0u;
  return (u & 0x8000u) ? (~u & 0xffffu) : (u | 0x8000u);
}
__device__ __forceinline__ unsigned topkKey(float x) { return keyOf(x); }
__device__ __forceinline__ unsigned topkKey(sea_bf16 x) { return key16(x.b, 0x7f80u, 0xff80u); }
__device__ __forceinline__ unsigned topkKey(sea_f16 x) { return key16(x.b, 0x7c00u, 0xfc00u); }
template <typename T> struct TopkKeyBits { static const int top = 24; };
template <> struct TopkKeyBits<sea_bf16> { static const int top = 8; };
template <> struct TopkKeyBits<sea_f16> { static const int top = 8; };

template <typename T, int PER>
__device__ __forceinline__ void grouped_topk_reg_t(const T *__restrict__ scores, const int *__restrict__ budgets,
                                                   unsigned char *__restrict__ out, int N) {
  __shared__ unsigned hist[256];
  __shared__ unsigned sPrefix, sMask;
  __shared__ int sRemain;
  __shared__ int chunkCnt[PER][TPB / 32];
  const long long gidx = blockIdx.x;
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const T *s = scores + gidx * N;
  unsigned char *o = out + gidx * N;
  int kb = budgets[gidx];
  kb = kb < 0 ? 0 : (kb > N ? N : kb);
  if (kb == 0 || kb == N) {
    for (int i = threadIdx.x; i < N; i += TPB) o[i] = kb ? 1 : 0;
    return;
  }
  unsigned keys[PER];
#pragma unroll
  for (int c = 0; c < PER; ++c) {
    int i = c * TPB + threadIdx.x;
    keys[c] = i < N ? topkKey(s[i]) : 0u;
  }
  if (threadIdx.x == 0) { sPrefix = 0; sMask = 0; sRemain = kb; }
  for (int shift = TopkKeyBits<T>::top; shift >= 0; shift -= 8) {
    for (int i = threadIdx.x; i < 256; i += TPB) hist[i] = 0;
    __syncthreads();
    unsigned prefix = sPrefix, mask = sMask;
#pragma unroll
    for (int c = 0; c < PER; ++c) {
      int i = c * TPB + threadIdx.x;
      unsigned kk = keys[c];
      bool act = i < N && (kk & mask) == prefix;
      unsigned bin = act ? (kk >> shift) & 255u : 256u;
      unsigned peers = __match_any_sync(0xffffffffu, bin);
      if (act && __ffs(peers) - 1 == lane) atomicAdd(&hist[bin], (unsigned)__popc(peers));
    }
    __syncthreads();
    if (warp == 0) {
      const int rem = sRemain;
      unsigned h[8];
      int own = 0;
#pragma unroll
      for (int u = 0; u < 8; ++u) {
        h[u] = hist[8 * lane + u];
        own += (int)h[u];
      }
      int suf = own;
      for (int off = 1; off < 32; off <<= 1) {
        int y = __shfl_down_sync(0xffffffffu, suf, off);
        if (lane + off < 32) suf += y;
      }
      int above = suf - own;
      int best = -1, bestAbove = 0;
      int run = above;
#pragma unroll
      for (int u = 7; u >= 0; --u) {
        if (best < 0 && run + (int)h[u] >= rem) {
          best = 8 * lane + u;
          bestAbove = run;
        }
        run += (int)h[u];
      }
      unsigned found = __ballot_sync(0xffffffffu, best >= 0);
      int src = found ? 31 - __clz(found) : 0;
      int d = __shfl_sync(0xffffffffu, best, src);
      int dAbove = __shfl_sync(0xffffffffu, bestAbove, src);
      if (!found) {
        d = 0;
        dAbove = __shfl_sync(0xffffffffu, suf, 0) - (int)__shfl_sync(0xffffffffu, h[0], 0);
      }
      if (lane == 0) {
        sPrefix = prefix | ((unsigned)d << shift);
        sMask = mask | (255u << shift);
        sRemain = rem - dAbove;
      }
    }
    __syncthreads();
  }
  const unsigned thr = sPrefix;
  const int need = sRemain;
  unsigned ballots[PER];
#pragma unroll
  for (int c = 0; c < PER; ++c) {
    int i = c * TPB + threadIdx.x;
    ballots[c] = __ballot_sync(0xffffffffu, i < N && keys[c] == thr);
    if (lane == 0) chunkCnt[c][warp] = __popc(ballots[c]);
  }
  __syncthreads();
  int before = 0;  // entries equal to thr at lower indices than this thread's slot c
#pragma unroll
  for (int c = 0; c < PER; ++c) {
    int i = c * TPB + threadIdx.x;
    int inChunk = 0;
    for (int w = 0; w < warp; ++w) inChunk += chunkCnt[c][w];
    const bool eq = i < N && keys[c] == thr;
    const int at = before + inChunk + __popc(ballots[c] & ((1u << lane) - 1u));
    if (i < N) o[i] = (keys[c] > thr || (eq && at < need)) ? 1 : 0;
    for (int w = 0; w < TPB / 32; ++w) before += chunkCnt[c][w];
  }
}
#define GROUPED_TOPK_REG(NAME, T, PER)                                                                               \
  extern "C" __global__ void __launch_bounds__(TPB)                                                                  \
      NAME(const T *__restrict__ scores, const int *__restrict__ budgets, unsigned char *__restrict__ out, int N) {   \
    grouped_topk_reg_t<T, PER>(scores, budgets, out, N);                                                             \
  }
GROUPED_TOPK_REG(grouped_topk_r4, float, 4)
GROUPED_TOPK_REG(grouped_topk_r8, float, 8)
GROUPED_TOPK_REG(grouped_topk_r12, float, 12)
GROUPED_TOPK_REG(grouped_topk_r16, float, 16)
GROUPED_TOPK_REG(grouped_topk_r4_bf16, sea_bf16, 4)
GROUPED_TOPK_REG(grouped_topk_r8_bf16, sea_bf16, 8)
GROUPED_TOPK_REG(grouped_topk_r12_bf16, sea_bf16, 12)
GROUPED_TOPK_REG(grouped_topk_r16_bf16, sea_bf16, 16)
GROUPED_TOPK_REG(grouped_topk_r4_f16, sea_f16, 4)
GROUPED_TOPK_REG(grouped_topk_r8_f16, sea_f16, 8)
GROUPED_TOPK_REG(grouped_topk_r12_f16, sea_f16, 12)
GROUPED_TOPK_REG(grouped_topk_r16_f16, sea_f16, 16)
