// Reductions and row kernels of the sea CUDA backend: reduce (sum, mean, max, min, prod, argmax,
// argmin), softmax, log-softmax, layer norm, cumsum. Self-contained for NVRTC.
// dtype codes: 0 float32, 1 int32, 2 bool (uint8), 3 float16, 4 bfloat16 (half.cuh).
typedef long long ll;

__device__ __forceinline__ bool nanq(double x) { return x != x; }
__device__ __forceinline__ double ld(const void *p, int dt, ll i) {
  if (dt == 0) return (double)((const float *)p)[i];
  if (dt == 1) return (double)((const int *)p)[i];
  if (dt == 3) return (double)h2f(((const u16 *)p)[i]);
  if (dt == 4) return (double)bf2f(((const u16 *)p)[i]);
  return (double)((const unsigned char *)p)[i];
}
__device__ __forceinline__ int toInt32(double x) {
  if (!(fabs(x) <= 1.7976931348623157e308)) return 0;
  double m = fmod(trunc(x), 4294967296.0);
  if (m < 0) m += 4294967296.0;
  return (int)(unsigned int)m;
}
__device__ __forceinline__ void st(void *p, int dt, ll i, double v) {
  if (dt == 0) ((float *)p)[i] = (float)v;
  else if (dt == 1) ((int *)p)[i] = toInt32(v);
  // double -> float -> 16 bits rounds as double -> 16 bits directly would (24 >= 2*11 + 2)
  else if (dt == 3) ((u16 *)p)[i] = f2h((float)v);
  else if (dt == 4) ((u16 *)p)[i] = f2bf((float)v);
  else ((unsigned char *)p)[i] = (unsigned char)(toInt32(v) & 255);
}

// op codes: 0 sum, 1 mean, 2 max, 3 min, 4 prod, 5 argmax, 6 argmin.
// Is candidate (v, i) better than (a, j) for max-like (want>0) or min-like ops? NaN is the extreme;
// ties keep the lower index.
__device__ __forceinline__ bool better(bool wantMax, double v, ll i, double a, ll j) {
  bool nv = nanq(v), na = nanq(a);
  if (nv || na) return (nv && na) ? i < j : nv;
  if (v != a) return wantMax ? v > a : v < a;
  return i < j;
}

__device__ __forceinline__ void combine(int op, double &acc, ll &arg, double v, ll i) {
  if (op == 0 || op == 1) acc += v;
  else if (op == 4) acc *= v;
  else {
    bool wantMax = (op == 2 || op == 5);
    if (better(wantMax, v, i, acc, arg)) { acc = v; arg = i; }
  }
}

__device__ __forceinline__ void finish(int op, int odt, void *out, ll oi, double acc, ll arg, ll len) {
  if (op == 5 || op == 6) ((int *)out)[oi] = (int)arg;
  else if (op == 1) st(out, odt, oi, acc / (double)len);
  else st(out, odt, oi, acc);
}

// x viewed as [outer, len, inner]; one thread per (o, i) output.
extern "C" __global__ void reduce_inner(int op, int dt, int odt, const void *x, void *out, ll outer, ll len, ll inner) {
  ll total = outer * inner;
  for (ll e = (ll)blockIdx.x * blockDim.x + threadIdx.x; e < total; e += (ll)gridDim.x * blockDim.x) {
    ll o = e / inner, i = e - o * inner;
    ll base = o * len * inner + i;
    double acc = (op == 4) ? 1.0 : (op == 0 || op == 1) ? 0.0 : ld(x, dt, base);
    ll arg = 0;
    for (ll r = (op == 0 || op == 1 || op == 4) ? 0 : 1; r < len; ++r) combine(op, acc, arg, ld(x, dt, base + r * inner), r);
    finish(op, odt, out, e, acc, arg, len);
  }
}

// x viewed as [rows, len] (inner 1); one warp per row.
extern "C" __global__ void reduce_rows(int op, int dt, int odt, const void *x, void *out, ll rows, ll len) {
  int lane = threadIdx.x & 31;
  ll row = ((ll)blockIdx.x * blockDim.x + threadIdx.x) >> 5;
  if (row >= rows) return;
  ll base = row * len;
  bool additive = (op == 0 || op == 1), mult = (op == 4);
  double acc = additive ? 0.0 : mult ? 1.0 : 0.0;
  ll arg = -1;
  for (ll r = lane; r < len; r += 32) {
    double v = ld(x, dt, base + r);
    if (additive || mult || arg >= 0) combine(op, acc, arg, v, r);
    else { acc = v; arg = r; }
  }
  for (int off = 16; off > 0; off >>= 1) {
    double v = __shfl_xor_sync(0xffffffffu, acc, off);
    ll i = __shfl_xor_sync(0xffffffffu, arg, off);
    if (additive) acc += v;
    else if (mult) acc *= v;
    else if (i >= 0 && (arg < 0 || better(op == 2 || op == 5, v, i, acc, arg))) { acc = v; arg = i; }
  }
  if (lane == 0) finish(op, odt, out, row, acc, arg, len);
}

__device__ __forceinline__ float warpMax(float v) {
  for (int off = 16; off > 0; off >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, off));
  return v;
}
__device__ __forceinline__ double warpSum(double v) {
  for (int off = 16; off > 0; off >>= 1) v += __shfl_xor_sync(0xffffffffu, v, off);
  return v;
}

// Softmax (logMode 0) or log-softmax (logMode 1) over rows of n (T: float, sea_bf16 or sea_f16, math
// in float/double); one warp per row. Softmax of a row whose entries are all -inf gives zeros.
template <typename T>
__device__ __forceinline__ void softmax_rows_t(const T *x, T *y, ll rows, int n, int logMode) {
  int lane = threadIdx.x & 31;
  ll row = ((ll)blockIdx.x * blockDim.x + threadIdx.x) >> 5;
  if (row >= rows) return;
  const T *xr = x + row * n;
  T *yr = y + row * n;
  float mx = __int_as_float(0xff800000);
  for (int i = lane; i < n; i += 32) mx = fmaxf(mx, tof(xr[i]));
  mx = warpMax(mx);
  if (!logMode && mx == __int_as_float(0xff800000)) {
    for (int i = lane; i < n; i += 32) yr[i] = fromf<T>(0.f);
    return;
  }
  double s = 0;
  for (int i = lane; i < n; i += 32) s += (double)expf(tof(xr[i]) - mx);
  s = warpSum(s);
  if (logMode) {
    double shift = (double)mx + log(s);
    for (int i = lane; i < n; i += 32) yr[i] = fromf<T>((float)((double)tof(xr[i]) - shift));
  } else {
    float inv = (float)(1.0 / s);
    for (int i = lane; i < n; i += 32) yr[i] = fromf<T>(expf(tof(xr[i]) - mx) * inv);
  }
}
extern "C" __global__ void softmax_rows(const float *x, float *y, ll rows, int n, int logMode) {
  softmax_rows_t(x, y, rows, n, logMode);
}
extern "C" __global__ void softmax_rows_bf16(const sea_bf16 *x, sea_bf16 *y, ll rows, int n, int logMode) {
  softmax_rows_t(x, y, rows, n, logMode);
}
extern "C" __global__ void softmax_rows_f16(const sea_f16 *x, sea_f16 *y, ll rows, int n, int logMode) {
  softmax_rows_t(x, y, rows, n, logMode);
}

// GELU x·Φ(x) = ½x·erfc(−x/√2) (the unary kernel's float form), applied by a LayerNorm when act = 1.
__device__ __forceinline__ float lnAct(float x, int act) { return act ? 0.5f * x * erfcf(-x * 0.70710678118654752440f) : x; }

// LayerNorm over rows of n: (x - mean) / sqrt(var + eps) * g + b, biased variance; one warp per row;
// act = 1: GELU of each output before its store.
template <typename T>
__device__ __forceinline__ void layernorm_rows_t(const T *x, const T *g, const T *b, T *y, ll rows, int n, float eps,
                                                 int act) {
  int lane = threadIdx.x & 31;
  ll row = ((ll)blockIdx.x * blockDim.x + threadIdx.x) >> 5;
  if (row >= rows) return;
  const T *xr = x + row * n;
  T *yr = y + row * n;
  double s = 0;
  for (int i = lane; i < n; i += 32) s += tof(xr[i]);
  double mean = warpSum(s) / n;
  double v = 0;
  for (int i = lane; i < n; i += 32) {
    double d = tof(xr[i]) - mean;
    v += d * d;
  }
  double rstd = 1.0 / sqrt(warpSum(v) / n + (double)eps);
  for (int i = lane; i < n; i += 32)
    yr[i] = fromf<T>(lnAct((float)(((double)tof(xr[i]) - mean) * rstd * tof(g[i]) + tof(b[i])), act));
}
extern "C" __global__ void layernorm_rows(const float *x, const float *g, const float *b, float *y, ll rows, int n, float eps,
                                          int act) {
  layernorm_rows_t(x, g, b, y, rows, n, eps, act);
}
extern "C" __global__ void layernorm_rows_bf16(const sea_bf16 *x, const sea_bf16 *g, const sea_bf16 *b, sea_bf16 *y, ll rows,
                                               int n, float eps, int act) {
  layernorm_rows_t(x, g, b, y, rows, n, eps, act);
}
extern "C" __global__ void layernorm_rows_f16(const sea_f16 *x, const sea_f16 *g, const sea_f16 *b, sea_f16 *y, ll rows,
                                              int n, float eps, int act) {
  layernorm_rows_t(x, g, b, y, rows, n, eps, act);
}

// The same LayerNorm with the row read once into registers (PER values a lane, element lane + 32·p in
// slot p, n ≤ 32·PER): the same double sums in the same order, so the same results, without the
// second and third reads of the row.
template <typename T, int PER>
__device__ __forceinline__ void layernorm_rows_reg_t(const T *x, const T *g, const T *b, T *y, ll rows, int n,
                                                     float eps, int act) {
  int lane = threadIdx.x & 31;
  ll row = ((ll)blockIdx.x * blockDim.x + threadIdx.x) >> 5;
  if (row >= rows) return;
  const T *xr = x + row * n;
  T *yr = y + row * n;
  float xv[PER];
#pragma unroll
  for (int p = 0; p < PER; ++p) xv[p] = lane + 32 * p < n ? tof(xr[lane + 32 * p]) : 0.f;
  double s = 0;
#pragma unroll
  for (int p = 0; p < PER; ++p)
    if (lane + 32 * p < n) s += xv[p];
  double mean = warpSum(s) / n;
  double v = 0;
#pragma unroll
  for (int p = 0; p < PER; ++p) {
    if (lane + 32 * p < n) {
      double d = xv[p] - mean;
      v += d * d;
    }
  }
  double rstd = 1.0 / sqrt(warpSum(v) / n + (double)eps);
#pragma unroll
  for (int p = 0; p < PER; ++p) {
    const int i = lane + 32 * p;
    if (i < n) yr[i] = fromf<T>(lnAct((float)(((double)xv[p] - mean) * rstd * tof(g[i]) + tof(b[i])), act));
  }
}
#define LAYERNORM_REG(NAME, T, PER)                                                                               \
  extern "C" __global__ void NAME(const T *x, const T *g, const T *b, T *y, ll rows, int n, float eps, int act) { \
    layernorm_rows_reg_t<T, PER>(x, g, b, y, rows, n, eps, act);                                                  \
  }
#define LAYERNORM_REGS(PER)                                         \
  LAYERNORM_REG(layernorm_rows_r##PER, float, PER)                  \
  LAYERNORM_REG(layernorm_rows_r##PER##_bf16, sea_bf16, PER)        \
  LAYERNORM_REG(layernorm_rows_r##PER##_f16, sea_f16, PER)
LAYERNORM_REGS(2)
LAYERNORM_REGS(4)
LAYERNORM_REGS(8)
LAYERNORM_REGS(24)

// Prefix sums along the middle axis of [outer, len, inner], in double; one thread per line.
extern "C" __global__ void cumsum_lines(int dt, const void *x, void *y, ll outer, ll len, ll inner, int exclusive, int reverse) {
  ll total = outer * inner;
  for (ll e = (ll)blockIdx.x * blockDim.x + threadIdx.x; e < total; e += (ll)gridDim.x * blockDim.x) {
    ll o = e / inner, i = e - o * inner;
    ll base = o * len * inner + i;
    double acc = 0;
    for (ll s = 0; s < len; ++s) {
      ll r = reverse ? len - 1 - s : s;
      ll p = base + r * inner;
      double v = ld(x, dt, p);
      if (exclusive) { st(y, dt, p, acc); acc += v; }
      else { acc += v; st(y, dt, p, acc); }
    }
  }
}

// Chunked cumsum for long lines: chunks of Lc steps (in scan order, i.e. from the end when reverse).
// 1. cumsum_chunk_sums: sums[o, c, i] = Σ of chunk c of line (o, i), in double;
// 2. cumsum_chunk_scan: exclusive scan of sums over c per line;
// 3. cumsum_chunk_apply: each (o, c, i) re-walks its chunk from its carry and writes.
extern "C" __global__ void cumsum_chunk_sums(int dt, const void *__restrict__ x, double *__restrict__ sums, ll outer, ll len,
                                             ll inner, int Lc, int nC, int reverse) {
  ll total = outer * nC * inner;
  for (ll e = (ll)blockIdx.x * blockDim.x + threadIdx.x; e < total; e += (ll)gridDim.x * blockDim.x) {
    ll i = e % inner, r = e / inner;
    ll c = r % nC, o = r / nC;
    ll s0 = c * Lc, s1 = s0 + Lc < len ? s0 + Lc : len;
    double acc = 0;
#pragma unroll 8
    for (ll s = s0; s < s1; ++s) {
      ll rr = reverse ? len - 1 - s : s;
      acc += ld(x, dt, (o * len + rr) * inner + i);
    }
    sums[e] = acc;
  }
}

extern "C" __global__ void cumsum_chunk_scan(double *sums, ll outer, ll inner, int nC) {
  ll total = outer * inner;
  for (ll e = (ll)blockIdx.x * blockDim.x + threadIdx.x; e < total; e += (ll)gridDim.x * blockDim.x) {
    ll i = e % inner, o = e / inner;
    double *p = sums + o * nC * inner + i;
    double run = 0;
    for (int c = 0; c < nC; ++c) {
      double a = p[(ll)c * inner];
      p[(ll)c * inner] = run;
      run += a;
    }
  }
}

// x and y never overlap (a kernel output is a fresh buffer), so the loads run ahead of the stores.
extern "C" __global__ void cumsum_chunk_apply(int dt, const void *__restrict__ x, void *__restrict__ y,
                                              const double *__restrict__ sums, ll outer, ll len, ll inner, int Lc, int nC,
                                              int exclusive, int reverse) {
  ll total = outer * nC * inner;
  for (ll e = (ll)blockIdx.x * blockDim.x + threadIdx.x; e < total; e += (ll)gridDim.x * blockDim.x) {
    ll i = e % inner, r = e / inner;
    ll c = r % nC, o = r / nC;
    ll s0 = c * Lc, s1 = s0 + Lc < len ? s0 + Lc : len;
    double acc = sums[e];
#pragma unroll 8
    for (ll s = s0; s < s1; ++s) {
      ll rr = reverse ? len - 1 - s : s;
      ll p = (o * len + rr) * inner + i;
      double v = ld(x, dt, p);
      if (exclusive) { st(y, dt, p, acc); acc += v; }
      else { acc += v; st(y, dt, p, acc); }
    }
  }
}

// Softmax / log-softmax of long rows, one block of SMB threads per row: the row (plus the broadcast
// additive mask, added in float32 like the binary 'add') is read once into shared memory, then max,
// Σ exp in double and the write. Same formulas as softmax_rows. Dynamic shared memory: n floats.
// The mask row of row r starts at offset(ix, r) (leading axes, broadcast strides in ix.s[0]) and
// steps by maskLast (1, or 0 for a broadcast last axis).
#define MAXR 8
struct Idx {
  int rank;
  int shape[MAXR];
  ll s[3][MAXR];
};
#define SMB 256
__device__ __forceinline__ ll rowOffset(const Idx &ix, ll e) {
  ll o = 0;
  if (e <= 0x7fffffffLL) {
    unsigned u = (unsigned)e;
    for (int d = ix.rank - 1; d >= 0; --d) {
      unsigned n = (unsigned)ix.shape[d], q = u / n;
      o += (ll)(u - q * n) * ix.s[0][d];
      u = q;
    }
    return o;
  }
  for (int d = ix.rank - 1; d >= 0; --d) {
    ll n = ix.shape[d];
    o += (e % n) * ix.s[0][d];
    e /= n;
  }
  return o;
}

template <typename T>
__device__ __forceinline__ void softmax_block_t(const T *__restrict__ x, const T *__restrict__ mask, T *__restrict__ y,
                                                ll rows, int n, int logMode, int hasMask, ll maskLast, Idx ix) {
  extern __shared__ float rowv[];
  __shared__ float redf[SMB / 32];
  __shared__ double redd[SMB / 32];
  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  const float NEG_INF = __int_as_float(0xff800000);
  for (ll row = blockIdx.x; row < rows; row += gridDim.x) {
    const T *xr = x + row * n;
    T *yr = y + row * n;
    const T *mr = hasMask ? mask + rowOffset(ix, row) : nullptr;
    float mx = NEG_INF;
#pragma unroll 4
    for (int i = tid; i < n; i += SMB) {
      float v = tof(xr[i]);
      if (hasMask) v = v + tof(mr[(ll)i * maskLast]);
      rowv[i] = v;
      mx = fmaxf(mx, v);
    }
    mx = warpMax(mx);
    if (lane == 0) redf[warp] = mx;
    __syncthreads();
    mx = redf[0];
    for (int w = 1; w < SMB / 32; ++w) mx = fmaxf(mx, redf[w]);
    __syncthreads();
    if (!logMode && mx == NEG_INF) {
      for (int i = tid; i < n; i += SMB) yr[i] = fromf<T>(0.f);
      continue;
    }
    double s = 0;
    for (int i = tid; i < n; i += SMB) s += (double)expf(rowv[i] - mx);
    s = warpSum(s);
    if (lane == 0) redd[warp] = s;
    __syncthreads();
    s = redd[0];
    for (int w = 1; w < SMB / 32; ++w) s += redd[w];
    if (logMode) {
      double shift = (double)mx + log(s);
      for (int i = tid; i < n; i += SMB) yr[i] = fromf<T>((float)((double)rowv[i] - shift));
    } else {
      float inv = (float)(1.0 / s);
      for (int i = tid; i < n; i += SMB) yr[i] = fromf<T>(expf(rowv[i] - mx) * inv);
    }
    __syncthreads();
  }
}
#define SOFTMAX_BLOCK(NAME, T)                                                                                         \
  extern "C" __global__ void __launch_bounds__(SMB)                                                                    \
      NAME(const T *__restrict__ x, const T *__restrict__ mask, T *__restrict__ y, ll rows, int n, int logMode,        \
           int hasMask, ll maskLast, Idx ix) {                                                                         \
    softmax_block_t(x, mask, y, rows, n, logMode, hasMask, maskLast, ix);                                              \
  }
SOFTMAX_BLOCK(softmax_block, float)
SOFTMAX_BLOCK(softmax_block_bf16, sea_bf16)
SOFTMAX_BLOCK(softmax_block_f16, sea_f16)
