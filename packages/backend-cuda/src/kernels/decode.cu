// SEA decoding steps (spec §8, incremental decoding): one new row per sequence from the running state.
//   performer_step: the causal Performer's row from its running sums [S | z + eps] (spec §3 causal);
//   causal_cnn_step: the causal estimator CNN's row from its rolling windows (spec §4a).
// float32 math; T (float, sea_bf16, sea_f16) is the storage type of the inputs and outputs, the running
// sums are float32. rd<T>(x) rounds x to T where the contract rounds an intermediate.
typedef long long ll;

template <typename T> __device__ __forceinline__ float rd(float x) { return tof(fromf<T>(x)); }

#define PS_MAXM 1024
#define PS_MAXE1 1040

// grid (B·H), block 256. Features φ(x)_m = rd(max(x·w_m, 0) + keps) in shared memory; then thread e
// owns column e of [S | z + eps]: s' = s + φk_m·[prefix, v, 1]_e written to `next`, num_e = Σ_m φq_m·s'
// (prefix a table [N, P] whose row rows[b] (or row1 when rows is null) leads sequence b's value row in
// every head; P = 0 without one).
// out_e = num_e / num_E. Needs M ≤ PS_MAXM, E + 1 ≤ PS_MAXE1.
template <typename T>
__device__ __forceinline__ void performer_step_t(const float *__restrict__ sums, const T *__restrict__ q,
                                                 const T *__restrict__ k, const T *__restrict__ prefix,
                                                 const int *__restrict__ rows, int row1, const T *__restrict__ v,
                                                 const T *__restrict__ w, T *__restrict__ out,
                                                 float *__restrict__ next, int H, int M, int P, int E, int D,
                                                 float keps) {
  __shared__ float fq[PS_MAXM];
  __shared__ float fk[PS_MAXM];
  __shared__ float num[PS_MAXE1];
  const ll bh = blockIdx.x;
  const int E1 = E + 1;
  const T *qr = q + bh * D;
  const T *kr = k + bh * D;
  // one warp per feature: lanes split the dot product over D
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nw = blockDim.x >> 5;
  for (int m = warp; m < M; m += nw) {
    float a = 0.f, c = 0.f;
#pragma unroll 4
    for (int d = lane; d < D; d += 32) {
      const float wv = tof(w[(ll)m * D + d]);
      a = fmaf(tof(qr[d]), wv, a);
      c = fmaf(tof(kr[d]), wv, c);
    }
    for (int off = 16; off > 0; off >>= 1) {
      a += __shfl_xor_sync(0xffffffffu, a, off);
      c += __shfl_xor_sync(0xffffffffu, c, off);
    }
    if (lane == 0) {
      fq[m] = rd<T>(fmaxf(a, 0.f) + keps);
      fk[m] = rd<T>(fmaxf(c, 0.f) + keps);
    }
  }
  __syncthreads();
  const int prow = rows ? rows[bh / H] : row1;
  const float *sb = sums + bh * M * E1;
  float *nb = next + bh * M * E1;
  for (int e = threadIdx.x; e < E1; e += blockDim.x) {
    const float ve = e >= E ? 1.f : (e < P ? tof(prefix[(ll)prow * P + e]) : tof(v[bh * (E - P) + e - P]));
    float acc = 0.f;
#pragma unroll 8
    for (int m = 0; m < M; ++m) {
      const float s = fmaf(fk[m], ve, sb[(ll)m * E1 + e]);
      nb[(ll)m * E1 + e] = s;
      acc = fmaf(fq[m], s, acc);
    }
    num[e] = acc;
  }
  __syncthreads();
  for (int e = threadIdx.x; e < E; e += blockDim.x) out[bh * E + e] = fromf<T>(num[e] / num[E]);
}
#define PERFORMER_STEP(NAME, T)                                                                                    \
  extern "C" __global__ void __launch_bounds__(256)                                                                \
      NAME(const float *__restrict__ sums, const T *__restrict__ q, const T *__restrict__ k,                          \
           const T *__restrict__ prefix, const int *__restrict__ rows, int row1, const T *__restrict__ v,            \
           const T *__restrict__ w, T *__restrict__ out, float *__restrict__ next, int H, int M, int P, int E, int D, \
           float keps) {                                                                                             \
    performer_step_t<T>(sums, q, k, prefix, rows, row1, v, w, out, next, H, M, P, E, D, keps);                     \
  }
PERFORMER_STEP(performer_step, float)
PERFORMER_STEP(performer_step_bf16, sea_bf16)
PERFORMER_STEP(performer_step_f16, sea_f16)

// Biased-variance LayerNorm of one row of n floats by one warp (two passes), × γ + β → dst (T).
template <typename T, typename G>
__device__ __forceinline__ void warpLayerNorm(const float *__restrict__ src, int n, const G *__restrict__ g,
                                              const G *__restrict__ be, float eps, T *__restrict__ dst,
                                              float *__restrict__ dstF, int lane) {
  float s = 0.f;
  for (int i = lane; i < n; i += 32) s += src[i];
  for (int off = 16; off > 0; off >>= 1) s += __shfl_xor_sync(0xffffffffu, s, off);
  const float mean = s / n;
  float v = 0.f;
  for (int i = lane; i < n; i += 32) {
    const float d = src[i] - mean;
    v = fmaf(d, d, v);
  }
  for (int off = 16; off > 0; off >>= 1) v += __shfl_xor_sync(0xffffffffu, v, off);
  const float r = rsqrtf(v / n + eps);
  for (int i = lane; i < n; i += 32) {
    const float y = fmaf((src[i] - mean) * r, tof(g[i]), tof(be[i]));
    const T yt = fromf<T>(y);
    dst[i] = yt;
    if (dstF) dstF[i] = tof(yt);
  }
}

// One dilated conv row (taps [C, C, 3, 3], dilation 2, width padding 2): output (o, p) over rows t−4,
// t−2 (window rows 0, 2) and t (the float row `cur` [C, W]), ReLU, rounded to T.
template <typename T>
__device__ __forceinline__ float convRow(const T *__restrict__ win, const float *__restrict__ cur,
                                         const T *__restrict__ taps, const T *__restrict__ bias, int C, int W,
                                         int o, int p) {
  float a = tof(bias[o]);
#pragma unroll 4
  for (int i = 0; i < C; ++i) {
    const T *wr = win + (ll)i * 4 * W;
    const T *tp = taps + ((ll)o * C + i) * 9;
#pragma unroll
    for (int c = 0; c < 3; ++c) {
      const int col = p + 2 * c - 2;
      if (col < 0 || col >= W) continue;
      a = fmaf(tof(tp[c]), tof(wr[col]), a);
      a = fmaf(tof(tp[3 + c]), tof(wr[2 * W + col]), a);
      a = fmaf(tof(tp[6 + c]), cur[i * W + col], a);
    }
  }
  return rd<T>(fmaxf(a, 0.f));
}

// grid (B), block 1024: one block per sequence, the stages separated by __syncthreads, the rows
// (3·C·W + H·(W+2) + H·K floats) in dynamic shared memory when they fit, else in a float32 global
// scratch [B, that] (`scratch` non-null).
//   1. x0 = LN(x) over W per channel (a warp per channel) → scratch, win0' row 3; windows move up;
//   2. x1 = ReLU(conv1([win0; x0])) → scratch, win1' row 3;   3. x2 = ReLU(conv2([win1; x1]));
//   4. z = convOut·x2 + bias as [bias, z, bias] (W+2);   5. o = map·z [K];   6. logits = LN(o) (a warp per head).
template <typename T>
__device__ __forceinline__ void causal_cnn_step_t(
    const T *__restrict__ x, const T *__restrict__ win0, const T *__restrict__ win1, const T *__restrict__ gi,
    const T *__restrict__ bi, const T *__restrict__ c1, const T *__restrict__ b1, const T *__restrict__ c2,
    const T *__restrict__ b2, const T *__restrict__ co, const T *__restrict__ cob, const T *__restrict__ map,
    const T *__restrict__ go, const T *__restrict__ bo, T *__restrict__ logits, T *__restrict__ n0,
    T *__restrict__ n1, float *__restrict__ scratch, int C, int H, int W, int K, float eps) {
  extern __shared__ float cnnSm[];
  const ll b = blockIdx.x;
  const int CW = C * W, W2 = W + 2;
  const ll per = 3LL * CW + (ll)H * W2 + (ll)H * K;
  // the rows in shared memory when they fit (scratch null), else in the global scratch
  float *x0 = scratch ? scratch + b * per : cnnSm;
  float *x1 = x0 + CW, *x2 = x1 + CW, *zp = x2 + CW, *o = zp + H * W2;
  const T *w0 = win0 + b * 4 * CW, *w1 = win1 + b * 4 * CW;
  T *m0 = n0 + b * 4 * CW, *m1 = n1 + b * 4 * CW;
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nw = blockDim.x >> 5;
  for (int ch = warp; ch < C; ch += nw) {
    // LN over the W floats of the row, read from x
    const T *xr = x + (b * C + ch) * W;
    float s = 0.f;
    for (int i = lane; i < W; i += 32) s += tof(xr[i]);
    for (int off = 16; off > 0; off >>= 1) s += __shfl_xor_sync(0xffffffffu, s, off);
    const float mean = s / W;
    float v = 0.f;
    for (int i = lane; i < W; i += 32) {
      const float d = tof(xr[i]) - mean;
      v = fmaf(d, d, v);
    }
    for (int off = 16; off > 0; off >>= 1) v += __shfl_xor_sync(0xffffffffu, v, off);
    const float r = rsqrtf(v / W + eps);
    for (int i = lane; i < W; i += 32) {
      const T y = fromf<T>(fmaf((tof(xr[i]) - mean) * r, tof(gi[i]), tof(bi[i])));
      x0[ch * W + i] = tof(y);
      m0[((ll)ch * 4 + 3) * W + i] = y;
    }
  }
  for (int i = threadIdx.x; i < 3 * CW; i += blockDim.x) {
    const int ch = i / (3 * W), rest = i - ch * 3 * W;
    const ll src = (ll)ch * 4 * W + W + rest, dst = (ll)ch * 4 * W + rest;
    m0[dst] = w0[src];
    m1[dst] = w1[src];
  }
  __syncthreads();
  for (int i = threadIdx.x; i < CW; i += blockDim.x) {
    const int oc = i / W, p = i - oc * W;
    const float y = convRow<T>(w0, x0, c1, b1, C, W, oc, p);
    x1[i] = y;
    m1[((ll)oc * 4 + 3) * W + p] = fromf<T>(y);
  }
  __syncthreads();
  for (int i = threadIdx.x; i < CW; i += blockDim.x) {
    const int oc = i / W, p = i - oc * W;
    x2[i] = convRow<T>(w1, x1, c2, b2, C, W, oc, p);
  }
  __syncthreads();
  for (int i = threadIdx.x; i < H * W2; i += blockDim.x) {
    const int h = i / W2, p = i - h * W2;
    float a = tof(cob[h]);
    if (p >= 1 && p <= W) {
#pragma unroll 8
      for (int c = 0; c < C; ++c) a = fmaf(tof(co[h * C + c]), x2[c * W + p - 1], a);
    }
    zp[i] = a;
  }
  __syncthreads();
  for (int i = threadIdx.x; i < H * K; i += blockDim.x) {
    const int h = i / K, j = i - h * K;
    const T *mr = map + (ll)j * W2;
    const float *zr = zp + h * W2;
    float a = 0.f, b2 = 0.f;
    int c = 0;
    for (; c + 2 <= W2; c += 2) {
      a = fmaf(tof(mr[c]), zr[c], a);
      b2 = fmaf(tof(mr[c + 1]), zr[c + 1], b2);
    }
    if (c < W2) a = fmaf(tof(mr[c]), zr[c], a);
    o[i] = a + b2;
  }
  __syncthreads();
  for (int h = warp; h < H; h += nw)
    warpLayerNorm<T, T>(o + (ll)h * K, K, go, bo, eps, logits + (b * H + h) * K, nullptr, lane);
}
#define CAUSAL_CNN_STEP(NAME, T)                                                                                    \
  extern "C" __global__ void __launch_bounds__(1024)                                                                \
      NAME(const T *__restrict__ x, const T *__restrict__ win0, const T *__restrict__ win1, const T *__restrict__ gi, \
           const T *__restrict__ bi, const T *__restrict__ c1, const T *__restrict__ b1, const T *__restrict__ c2,    \
           const T *__restrict__ b2, const T *__restrict__ co, const T *__restrict__ cob, const T *__restrict__ map,  \
           const T *__restrict__ go, const T *__restrict__ bo, T *__restrict__ logits, T *__restrict__ n0,           \
           T *__restrict__ n1, float *__restrict__ scratch, int C, int H, int W, int K, float eps) {                  \
    causal_cnn_step_t<T>(x, win0, win1, gi, bi, c1, b1, c2, b2, co, cob, map, go, bo, logits, n0, n1, scratch, C, H, \
                         W, K, eps);                                                                                 \
  }
CAUSAL_CNN_STEP(causal_cnn_step, float)
CAUSAL_CNN_STEP(causal_cnn_step_bf16, sea_bf16)
CAUSAL_CNN_STEP(causal_cnn_step_f16, sea_f16)

// Sum over the block (blockDim.x a multiple of 32, at most 1024), the result in every thread.
__device__ __forceinline__ float decBlockSum(float v, float *red) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nw = blockDim.x >> 5;
  for (int off = 16; off > 0; off >>= 1) v += __shfl_xor_sync(0xffffffffu, v, off);
  __syncthreads();
  if (lane == 0) red[warp] = v;
  __syncthreads();
  float t = 0.f;
  for (int w = 0; w < nw; ++w) t += red[w];
  return t;
}

// The estimator's encoder on one row (spec §4), grid (B·H), block 512: the row [c ; v] in shared
// memory; enc = W_enc·row + b (a warp per output, lanes along the row), LayerNorm over N by block sums,
// z = rd(GELU(·)) (erf form); then the scaler's rows and ν's rows (a warp per output) → scales, x.
// Shared memory (dynamic): the row [Ec + Ev] and z [N] floats.
template <typename T>
__device__ __forceinline__ void sea_encoder_step_t(const T *__restrict__ c, const T *__restrict__ v,
                                                   const T *__restrict__ We, const T *__restrict__ be,
                                                   const T *__restrict__ g, const T *__restrict__ bt,
                                                   const T *__restrict__ Ws, const T *__restrict__ bs,
                                                   const T *__restrict__ Wn, const T *__restrict__ bn,
                                                   T *__restrict__ scales, T *__restrict__ xs, int Ec, int Ev, int N,
                                                   int S, int X, float eps) {
  extern __shared__ float esm[];
  __shared__ float red[32];
  const int In = Ec + Ev;
  float *row = esm, *z = esm + In;
  const ll bh = blockIdx.x;
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nw = blockDim.x >> 5;
  for (int i = threadIdx.x; i < Ec; i += blockDim.x) row[i] = tof(c[bh * Ec + i]);
  for (int i = threadIdx.x; i < Ev; i += blockDim.x) row[Ec + i] = tof(v[bh * Ev + i]);
  __syncthreads();
  for (int j = warp; j < N; j += nw) {
    const T *wr = We + (ll)j * In;
    float a = 0.f;
#pragma unroll 8
    for (int i = lane; i < In; i += 32) a = fmaf(tof(wr[i]), row[i], a);
    for (int off = 16; off > 0; off >>= 1) a += __shfl_xor_sync(0xffffffffu, a, off);
    if (lane == 0) z[j] = a + tof(be[j]);
  }
  __syncthreads();
  float s = 0.f;
  for (int j = threadIdx.x; j < N; j += blockDim.x) s += z[j];
  const float mean = decBlockSum(s, red) / N;
  float s2 = 0.f;
  for (int j = threadIdx.x; j < N; j += blockDim.x) {
    const float d = z[j] - mean;
    s2 = fmaf(d, d, s2);
  }
  const float r = rsqrtf(decBlockSum(s2, red) / N + eps);
  for (int j = threadIdx.x; j < N; j += blockDim.x) {
    const float y = fmaf((z[j] - mean) * r, tof(g[j]), tof(bt[j]));
    z[j] = rd<T>(0.5f * y * erfcf(-y * 0.70710678118654752440f));
  }
  __syncthreads();
  for (int o = warp; o < S + X; o += nw) {
    const bool isScale = o < S;
    const T *wr = isScale ? Ws + (ll)o * N : Wn + (ll)(o - S) * N;
    float a = 0.f;
#pragma unroll 8
    for (int j = lane; j < N; j += 32) a = fmaf(tof(wr[j]), z[j], a);
    for (int off = 16; off > 0; off >>= 1) a += __shfl_xor_sync(0xffffffffu, a, off);
    if (lane == 0) {
      if (isScale) scales[bh * S + o] = fromf<T>(a + tof(bs[o]));
      else xs[bh * X + o - S] = fromf<T>(a + tof(bn[o - S]));
    }
  }
}
#define SEA_ENCODER_STEP(NAME, T)                                                                                    \
  extern "C" __global__ void __launch_bounds__(512)                                                                  \
      NAME(const T *__restrict__ c, const T *__restrict__ v, const T *__restrict__ We, const T *__restrict__ be,      \
           const T *__restrict__ g, const T *__restrict__ bt, const T *__restrict__ Ws, const T *__restrict__ bs,     \
           const T *__restrict__ Wn, const T *__restrict__ bn, T *__restrict__ scales, T *__restrict__ xs, int Ec,   \
           int Ev, int N, int S, int X, float eps) {                                                                 \
    sea_encoder_step_t<T>(c, v, We, be, g, bt, Ws, bs, Wn, bn, scales, xs, Ec, Ev, N, S, X, eps);                   \
  }
SEA_ENCODER_STEP(sea_encoder_step, float)
SEA_ENCODER_STEP(sea_encoder_step_bf16, sea_bf16)
SEA_ENCODER_STEP(sea_encoder_step_f16, sea_f16)

// Order-preserving 32-bit key of a float (NaN ranks as −∞, −0 as +0), as the grouped top-k compares.
__device__ __forceinline__ unsigned decKey(float f) {
  unsigned u = __float_as_uint(f);
  if (f != f) u = 0xff800000u;
  if (u == 0x80000000u) u = 0u;
  return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}

// Cell boundary ⌊c·L/K + ½⌋ in exact integer arithmetic.
__device__ __forceinline__ int decBound(int c, int L, int K) { return (int)((2LL * c * L + K) / (2LL * K)); }

#define SDA_THREADS 256

// The sparse attention of one decoded row (spec §5–§7), grid (H, B), block 256; each block redoes the
// row's selection over all heads (H·K scores) and attends its own head:
//   1. Â = softmax(logits) per head (a warp per head), rounded to T, in shared memory;
//   2. n = min(max(round½even(H·kcap·K / L), 1), H·K); a 4-pass radix select (8 bits a pass) finds the
//      n-th largest key, entries above it are taken and, among those equal to it, the lowest indices;
//   3. warp 0: the head's selected cells in order, their key ranges, entries Σ min(width, kcap);
//   4. every warp: the attention over its chunks of 32 of those keys (one entry per lane, the score
//      with its loads unrolled, online softmax per warp; the lane owns output columns e ≡ lane mod 32,
//      accumulated in shared memory), the warps merged at the end;
//   5. s_prob, s_mix = rd(σ(scales)); local = rd(s_prob·acc/l); vSum' = vSum + v_{L−1};
//      out = rd(s_mix·local + (1 − s_mix)·vSum'/L).
// Shared memory (dynamic): Â [H·K] floats, three int arrays [K], q [D] and one accumulator [E] per warp.
// rowLens: per-sequence L (device), or null with every L = L1.
template <typename T>
__device__ __forceinline__ void sea_decode_attention_t(const T *__restrict__ logits, const T *__restrict__ q,
                                                       const T *__restrict__ kk, const T *__restrict__ v,
                                                       const T *__restrict__ scales, const float *__restrict__ vSum,
                                                       const int *__restrict__ rowLens, int L1, T *__restrict__ out,
                                                       float *__restrict__ vSumOut, int H, int K, int Tk, int D, int E,
                                                       int kcap, float scale) {
  extern __shared__ float smem[];
  __shared__ unsigned hist[256];
  __shared__ unsigned sPrefix, sMask;
  __shared__ int sRemain;
  __shared__ int warpCnt[SDA_THREADS / 32];
  const unsigned full = 0xffffffffu;
  const int HK = H * K;
  float *P = smem;
  int *selEnd = (int *)(P + HK);
  int *selW = selEnd + K;
  int *selStart = selW + K;
  float *qs = (float *)(selStart + K);
  float *acc = qs + D;
  const int h = blockIdx.x, b = blockIdx.y;
  const ll bh = (ll)b * H + h;
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nw = blockDim.x >> 5;
  int L = rowLens ? rowLens[b] : L1;
  L = L < 1 ? 1 : (L > Tk ? Tk : L);
  // 1. Â per head
  // the logits into shared memory first (loads independent of each other, all in flight)
  for (int i = threadIdx.x; i < HK; i += blockDim.x) P[i] = tof(logits[(ll)b * HK + i]);
  __syncthreads();
  for (int hh = warp; hh < H; hh += nw) {
    float *pr = P + hh * K;
    float m = __int_as_float(0xff800000);
    for (int c = lane; c < K; c += 32) m = fmaxf(m, pr[c]);
    for (int off = 16; off > 0; off >>= 1) m = fmaxf(m, __shfl_xor_sync(full, m, off));
    float s = 0.f;
    for (int c = lane; c < K; c += 32) s += expf(pr[c] - m);
    for (int off = 16; off > 0; off >>= 1) s += __shfl_xor_sync(full, s, off);
    for (int c = lane; c < K; c += 32) pr[c] = rd<T>(expf(pr[c] - m) / s);
  }
  for (int d = threadIdx.x; d < D; d += blockDim.x) qs[d] = tof(q[bh * D + d]) * scale;
  for (int e = threadIdx.x; e < nw * E; e += blockDim.x) acc[e] = 0.f;
  // 2. the budget and the n-th largest key
  const ll num = (ll)H * kcap * K;
  ll nq = num / L;
  const ll r2 = 2 * (num - nq * L);
  if (r2 > L || (r2 == L && (nq & 1))) ++nq;
  const int n = (int)(nq < 1 ? 1 : (nq > HK ? HK : nq));
  if (threadIdx.x == 0) {
    sPrefix = 0;
    sMask = 0;
    sRemain = n;
  }
  __syncthreads();
  const bool all = n >= HK;
  if (!all) {
    for (int shift = 24; shift >= 0; shift -= 8) {
      for (int i = threadIdx.x; i < 256; i += blockDim.x) hist[i] = 0;
      __syncthreads();
      const unsigned prefix = sPrefix, mask = sMask;
      // one atomic per distinct bin per warp (the scores bunch into few bins on the first passes)
      for (int c0 = 0; c0 < HK; c0 += blockDim.x) {
        const int i = c0 + threadIdx.x;
        const unsigned kk2 = i < HK ? decKey(P[i]) : 0u;
        const bool act = i < HK && (kk2 & mask) == prefix;
        const unsigned bin = act ? (kk2 >> shift) & 255u : 256u;
        const unsigned peers = __match_any_sync(full, bin);
        if (act && __ffs(peers) - 1 == lane) atomicAdd(&hist[bin], (unsigned)__popc(peers));
      }
      __syncthreads();
      if (warp == 0) {
        // the highest bin whose count with the bins above reaches the remaining rank, by a warp
        // suffix scan (lane L holds bins 8L … 8L+7)
        const int rem = sRemain;
        int h8[8];
        int own = 0;
#pragma unroll
        for (int u = 0; u < 8; ++u) {
          h8[u] = (int)hist[8 * lane + u];
          own += h8[u];
        }
        int suf = own;  // Σ over lanes ≥ lane
        for (int off = 1; off < 32; off <<= 1) {
          const int y = __shfl_down_sync(full, suf, off);
          if (lane + off < 32) suf += y;
        }
        int best = -1, bestAbove = 0, run2 = suf - own;
#pragma unroll
        for (int u = 7; u >= 0; --u) {
          if (best < 0 && run2 + h8[u] >= rem) {
            best = 8 * lane + u;
            bestAbove = run2;
          }
          run2 += h8[u];
        }
        const unsigned found = __ballot_sync(full, best >= 0);
        const int src = found ? 31 - __clz(found) : 0;
        const int d = found ? __shfl_sync(full, best, src) : 0;
        const int above = found ? __shfl_sync(full, bestAbove, src) : 0;
        if (lane == 0) {
          sPrefix = prefix | ((unsigned)d << shift);
          sMask = mask | (255u << shift);
          sRemain = rem - above;
        }
      }
      __syncthreads();
    }
  }
  const unsigned thr = sPrefix;
  const int need = sRemain;  // entries equal to thr taken, lowest indices first
  // equal keys before this head's first cell
  int eqBefore = 0;
  if (!all) {
    int cnt = 0;
    for (int i = threadIdx.x; i < h * K; i += blockDim.x) cnt += decKey(P[i]) == thr;
    for (int off = 16; off > 0; off >>= 1) cnt += __shfl_xor_sync(full, cnt, off);
    if (lane == 0) warpCnt[warp] = cnt;
    __syncthreads();
    for (int w = 0; w < nw; ++w) eqBefore += warpCnt[w];
  }
  __shared__ int sNsel, sZe;
  __shared__ float wM[SDA_THREADS / 32], wL[SDA_THREADS / 32];
  if (warp == 0) {
  // 3. this head's selected cells, in order (warp 0)
  int nsel = 0, run = eqBefore;
  for (int c0 = 0; c0 < K; c0 += 32) {
    const int c = c0 + lane;
    const unsigned key = c < K ? decKey(P[h * K + c]) : 0u;
    const bool eq = !all && c < K && key == thr;
    const unsigned be = __ballot_sync(full, eq);
    const int rank = run + __popc(be & ((1u << lane) - 1u));
    run += __popc(be);
    const bool sel = c < K && (all || key > thr || (eq && rank < need));
    int a = 0, e = 0;
    if (sel) {
      a = decBound(c, L, K);
      e = decBound(c + 1, L, K);
    }
    const bool keep = e > a;
    const unsigned bk = __ballot_sync(full, keep);
    if (keep) {
      const int at = nsel + __popc(bk & ((1u << lane) - 1u));
      selEnd[at] = e;
      selW[at] = e - a;
    }
    nsel += __popc(bk);
  }
  __syncwarp();
  int ze = 0;
  for (int i0 = 0; i0 < nsel; i0 += 32) {
    const int i = i0 + lane;
    const int cnt = i < nsel ? min(selW[i], kcap) : 0;
    int x = cnt;
    for (int off = 1; off < 32; off <<= 1) {
      const int y = __shfl_up_sync(full, x, off);
      if (lane >= off) x += y;
    }
    if (i < nsel) selStart[i] = ze + x - cnt;
    ze += __shfl_sync(full, x, 31);
  }
  __syncwarp();
  if (lane == 0) {
    sNsel = nsel;
    sZe = ze;
  }
  }
  __syncthreads();
  const int nsel = sNsel, ze = sZe;
  // 4. the attention over the entries: warp w takes the chunks of 32 entries w, w + nw, …, each
  // with its own online softmax (max m, sum l, accumulator in shared memory), merged at the end
  const T *kb = kk + bh * Tk * D;
  const T *vb = v + bh * Tk * E;
  float *accW = acc + warp * E;
  float m = __int_as_float(0xff800000), l = 0.f;
  for (int c0 = warp * 32; c0 < ze; c0 += nw * 32) {
    const int z = c0 + lane;
    const bool live = z < ze;
    const int cnt = ze - c0 < 32 ? ze - c0 : 32;
    int j = 0;
    float s = __int_as_float(0xff800000);
    if (live) {
      int lo = 0, hi = nsel - 1;
      while (lo < hi) {
        const int mid = (lo + hi + 1) >> 1;
        if (selStart[mid] <= z) lo = mid;
        else hi = mid - 1;
      }
      const int i = z - selStart[lo], en = selEnd[lo], w = selW[lo];
      j = w <= kcap ? en - 1 - i : en - 1 - (int)(((ll)i * w) / kcap);
      const T *kr = kb + (ll)j * D;
      // four partial sums, loads unrolled so that many are in flight at once
      float a0 = 0.f, a1 = 0.f, a2 = 0.f, a3 = 0.f;
      int d = 0;
      if ((D & 3) == 0) {
#pragma unroll 4
        for (; d < D; d += 4) {
          const float4 x = ld4(kr + d);
          a0 = fmaf(qs[d], x.x, a0);
          a1 = fmaf(qs[d + 1], x.y, a1);
          a2 = fmaf(qs[d + 2], x.z, a2);
          a3 = fmaf(qs[d + 3], x.w, a3);
        }
      }
      for (; d < D; ++d) a0 = fmaf(qs[d], tof(kr[d]), a0);
      s = (a0 + a1) + (a2 + a3);
    }
    float cm = s;
    for (int off = 16; off > 0; off >>= 1) cm = fmaxf(cm, __shfl_xor_sync(full, cm, off));
    const float mn = fmaxf(m, cm);
    const float f = expf(m - mn);  // 0 on the warp's first chunk (m = −∞)
    m = mn;
    const float p = live ? expf(s - mn) : 0.f;
    l = l * f + p;
    for (int e = lane; e < E; e += 32) accW[e] *= f;
    // the weighted rows of V, four entries a round with their loads issued together
    int i = 0;
    for (; i + 4 <= cnt; i += 4) {
      const int j0 = __shfl_sync(full, j, i), j1 = __shfl_sync(full, j, i + 1);
      const int j2 = __shfl_sync(full, j, i + 2), j3 = __shfl_sync(full, j, i + 3);
      const float p0 = __shfl_sync(full, p, i), p1 = __shfl_sync(full, p, i + 1);
      const float p2 = __shfl_sync(full, p, i + 2), p3 = __shfl_sync(full, p, i + 3);
      const T *v0 = vb + (ll)j0 * E, *v1 = vb + (ll)j1 * E, *v2 = vb + (ll)j2 * E, *v3 = vb + (ll)j3 * E;
      for (int e = lane; e < E; e += 32) {
        const float x0 = tof(v0[e]), x1 = tof(v1[e]), x2 = tof(v2[e]), x3 = tof(v3[e]);
        accW[e] = fmaf(p3, x3, fmaf(p2, x2, fmaf(p1, x1, fmaf(p0, x0, accW[e]))));
      }
    }
    for (; i < cnt; ++i) {
      const int ji = __shfl_sync(full, j, i);
      const float pi = __shfl_sync(full, p, i);
      const T *vr = vb + (ll)ji * E;
      for (int e = lane; e < E; e += 32) accW[e] = fmaf(pi, tof(vr[e]), accW[e]);
    }
  }
  for (int off = 16; off > 0; off >>= 1) l += __shfl_xor_sync(full, l, off);
  if (lane == 0) {
    wM[warp] = m;
    wL[warp] = l;
  }
  __syncthreads();
  // merge the warps: each one's sums rescaled to the largest max
  float M = __int_as_float(0xff800000);
  for (int w = 0; w < nw; ++w) M = fmaxf(M, wM[w]);
  float Lsum = 0.f;
  for (int w = 0; w < nw; ++w) Lsum += wL[w] > 0.f ? wL[w] * expf(wM[w] - M) : 0.f;
  // 5. the scalers, C_avg and the mix
  const float sp = rd<T>(1.f / (1.f + expf(-tof(scales[bh * 2]))));
  const float sm = rd<T>(1.f / (1.f + expf(-tof(scales[bh * 2 + 1]))));
  const float g = Lsum > 0.f ? sp / Lsum : 0.f;
  for (int e = threadIdx.x; e < E; e += blockDim.x) {
    float a = 0.f;
    for (int w = 0; w < nw; ++w)
      if (wL[w] > 0.f) a = fmaf(acc[w * E + e], expf(wM[w] - M), a);
    const float local = rd<T>(a * g);
    const float vs = vSum[bh * E + e] + tof(vb[(ll)(L - 1) * E + e]);
    vSumOut[bh * E + e] = vs;
    out[bh * E + e] = fromf<T>(sm * local + (1.f - sm) * (vs / L));
  }
}
#define SEA_DECODE_ATTENTION(NAME, T)                                                                                \
  extern "C" __global__ void __launch_bounds__(SDA_THREADS)                                                          \
      NAME(const T *__restrict__ logits, const T *__restrict__ q, const T *__restrict__ kk, const T *__restrict__ v,  \
           const T *__restrict__ scales, const float *__restrict__ vSum, const int *__restrict__ rowLens, int L1,     \
           T *__restrict__ out, float *__restrict__ vSumOut, int H, int K, int Tk, int D, int E, int kcap,            \
           float scale) {                                                                                            \
    sea_decode_attention_t<T>(logits, q, kk, v, scales, vSum, rowLens, L1, out, vSumOut, H, K, Tk, D, E, kcap,       \
                              scale);                                                                                \
  }
SEA_DECODE_ATTENTION(sea_decode_attention, float)
SEA_DECODE_ATTENTION(sea_decode_attention_bf16, sea_bf16)
SEA_DECODE_ATTENTION(sea_decode_attention_f16, sea_f16)
