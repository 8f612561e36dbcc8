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
// owns column e of [S | z + eps]: s' = s + φk_m·[v, 1]_e written to `next`, num_e = Σ_m φq_m·s'.
// out_e = num_e / num_E. Needs M ≤ PS_MAXM, E + 1 ≤ PS_MAXE1.
template <typename T>
__device__ __forceinline__ void performer_step_t(const float *__restrict__ sums, const T *__restrict__ q,
                                                 const T *__restrict__ k, const T *__restrict__ v,
                                                 const T *__restrict__ w, T *__restrict__ out,
                                                 float *__restrict__ next, int M, int E, int D, float keps) {
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
  const float *sb = sums + bh * M * E1;
  float *nb = next + bh * M * E1;
  for (int e = threadIdx.x; e < E1; e += blockDim.x) {
    const float ve = e < E ? tof(v[bh * E + e]) : 1.f;
    float acc = 0.f;
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
      NAME(const float *__restrict__ sums, const T *__restrict__ q, const T *__restrict__ k, const T *__restrict__ v, \
           const T *__restrict__ w, T *__restrict__ out, float *__restrict__ next, int M, int E, int D, float keps) { \
    performer_step_t<T>(sums, q, k, v, w, out, next, M, E, D, keps);                                               \
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

// grid (B), block 512: one block per sequence, the stages separated by __syncthreads, the rows in a
// float32 scratch [B, 3·C·W + H·(W+2) + H·K] (global memory: any size fits).
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
  const ll b = blockIdx.x;
  const int CW = C * W, W2 = W + 2;
  const ll per = 3LL * CW + (ll)H * W2 + (ll)H * K;
  float *x0 = scratch + b * per, *x1 = x0 + CW, *x2 = x1 + CW, *zp = x2 + CW, *o = zp + H * W2;
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
    if (p >= 1 && p <= W)
      for (int c = 0; c < C; ++c) a = fmaf(tof(co[h * C + c]), x2[c * W + p - 1], a);
    zp[i] = a;
  }
  __syncthreads();
  for (int i = threadIdx.x; i < H * K; i += blockDim.x) {
    const int h = i / K, j = i - h * K;
    const T *mr = map + (ll)j * W2;
    const float *zr = zp + h * W2;
    float a = 0.f;
    for (int c = 0; c < W2; ++c) a = fmaf(tof(mr[c]), zr[c], a);
    o[i] = a;
  }
  __syncthreads();
  for (int h = warp; h < H; h += nw)
    warpLayerNorm<T, T>(o + (ll)h * K, K, go, bo, eps, logits + (b * H + h) * K, nullptr, lane);
}
#define CAUSAL_CNN_STEP(NAME, T)                                                                                    \
  extern "C" __global__ void __launch_bounds__(512)                                                                 \
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
