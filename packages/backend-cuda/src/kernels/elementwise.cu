// Elementwise, layout and gather kernels of the sea CUDA backend (unary, binary, where, cast,
// strided copy for transpose/slice/pad/concat, gather, takeAlong).
// Self-contained (no #include) so NVRTC and nvcc compile the same text.
// dtype codes: 0 float32, 1 int32, 2 bool (uint8), 3 float16, 4 bfloat16 (half.cuh). Math runs in double and rounds once, like the
// CPU oracle; int32 results wrap like a JavaScript Int32Array store (ToInt32).
typedef long long ll;
#define MAXR 8
struct Idx {
  int rank;
  int shape[MAXR];
  ll s[3][MAXR];
};

__device__ __forceinline__ bool nanq(double x) { return x != x; }
__device__ __forceinline__ bool finiteq(double x) { return fabs(x) <= 1.7976931348623157e308; }

__device__ __forceinline__ double ld(const void *p, int dt, ll i) {
  if (dt == 0) return (double)((const float *)p)[i];
  if (dt == 1) return (double)((const int *)p)[i];
  if (dt == 3) return (double)h2f(((const u16 *)p)[i]);
  if (dt == 4) return (double)bf2f(((const u16 *)p)[i]);
  return (double)((const unsigned char *)p)[i];
}
__device__ __forceinline__ int toInt32(double x) {
  if (!finiteq(x)) return 0;
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
__device__ __forceinline__ void offsets(const Idx &ix, ll e, ll *o, int nops) {
  if (ix.rank == 1) {
    for (int k = 0; k < nops; ++k) o[k] = e * ix.s[k][0];
    return;
  }
  for (int k = 0; k < nops; ++k) o[k] = 0;
  if (e <= 0x7fffffffLL) {  // 32-bit index arithmetic (far cheaper than 64-bit division)
    unsigned u = (unsigned)e;
    for (int d = ix.rank - 1; d >= 0; --d) {
      unsigned n = (unsigned)ix.shape[d];
      unsigned q = u / n;
      ll c = (ll)(u - q * n);
      u = q;
      for (int k = 0; k < nops; ++k) o[k] += c * ix.s[k][d];
    }
    return;
  }
  for (int d = ix.rank - 1; d >= 0; --d) {
    ll n = ix.shape[d];
    ll c = e % n;
    e /= n;
    for (int k = 0; k < nops; ++k) o[k] += c * ix.s[k][d];
  }
}

__device__ double unary_f(int op, double x) {
  switch (op) {
    case 0: return -x;
    case 1: return fabs(x);
    case 2: return exp(x);
    case 3: return log(x);
    case 4: return sqrt(x);
    case 5: return 1.0 / sqrt(x);
    case 6: return x * x;
    case 7: return 1.0 / x;
    case 8: return sin(x);
    case 9: return cos(x);
    case 10: return tanh(x);
    case 11: {
      if (x >= 0) return 1.0 / (1.0 + exp(-x));
      double e = exp(x);
      return e / (1.0 + e);
    }
    case 12: return (x > 0 || nanq(x)) ? x : 0.0;
    case 13: return 0.5 * x * erfc(-x * 0.70710678118654752440);
    case 14: return 0.5 * x * (1.0 + tanh(0.79788456080286535588 * (x + 0.044715 * x * x * x)));
    case 15: return erf(x);
    case 16: return floor(x);
    case 17: return ceil(x);
    case 18: return rint(x);
    case 19: return x > 0 ? 1.0 : (x < 0 ? -1.0 : x);
    case 20: return (x != 0 && !nanq(x)) ? 0.0 : 1.0;
  }
  return x;
}

// y[i] = op(x[i]); y has x's dtype except 'not' (bool in, bool out).
extern "C" __global__ void ew_unary(int op, int dt, const void *x, void *y, ll n) {
  for (ll i = (ll)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (ll)gridDim.x * blockDim.x) {
    if (dt == 1 && op == 6) {
      unsigned v = (unsigned)((const int *)x)[i];
      ((int *)y)[i] = (int)(v * v);
    } else {
      st(y, dt, i, unary_f(op, ld(x, dt, i)));
    }
  }
}

// float math for 16-bit elements (the result keeps 8 or 11 bits, so float32's own error is far below it)
__device__ float unary_ff(int op, float x) {
  switch (op) {
    case 0: return -x;
    case 1: return fabsf(x);
    case 2: return expf(x);
    case 3: return logf(x);
    case 4: return sqrtf(x);
    case 5: return 1.f / sqrtf(x);
    case 6: return x * x;
    case 7: return 1.f / x;
    case 8: return sinf(x);
    case 9: return cosf(x);
    case 10: return tanhf(x);
    case 11: {
      if (x >= 0) return 1.f / (1.f + expf(-x));
      float e = expf(x);
      return e / (1.f + e);
    }
    case 12: return (x > 0 || x != x) ? x : 0.f;
    case 13: return 0.5f * x * erfcf(-x * 0.70710678118654752440f);
    case 14: return 0.5f * x * (1.f + tanhf(0.79788456080286535588f * (x + 0.044715f * x * x * x)));
    case 15: return erff(x);
    case 16: return floorf(x);
    case 17: return ceilf(x);
    case 18: return rintf(x);
    case 19: return x > 0 ? 1.f : (x < 0 ? -1.f : x);
  }
  return x;
}

// ew_unary for float16 (dt 3) / bfloat16 (dt 4), two elements per thread (n even), float math.
extern "C" __global__ void ew_unary_h2(int op, int dt, const unsigned *x, unsigned *y, ll n2) {
  for (ll i = (ll)blockIdx.x * blockDim.x + threadIdx.x; i < n2; i += (ll)gridDim.x * blockDim.x) {
    unsigned w = x[i];
    u16 lo = (u16)(w & 0xffffu), hi = (u16)(w >> 16);
    float a = dt == 4 ? bf2f(lo) : h2f(lo), c = dt == 4 ? bf2f(hi) : h2f(hi);
    a = unary_ff(op, a);
    c = unary_ff(op, c);
    u16 ra = dt == 4 ? f2bf(a) : f2h(a), rc = dt == 4 ? f2bf(c) : f2h(c);
    y[i] = (unsigned)ra | ((unsigned)rc << 16);
  }
}

__device__ __forceinline__ bool truthy(double x) { return x != 0 && !nanq(x); }

__device__ double binary_f(int op, double a, double b) {
  switch (op) {
    case 0: return a + b;
    case 1: return a - b;
    case 2: return a * b;
    case 3: return a / b;
    case 4: return (a > b || nanq(a)) ? a : b;
    case 5: return (a < b || nanq(a)) ? a : b;
    case 6:
      if (nanq(b)) return b;
      if (fabs(a) == 1.0 && !finiteq(b)) return b - b;  // JS: (±1) ** ±Infinity is NaN
      return pow(a, b);
    case 7: return a == b ? 1.0 : 0.0;
    case 8: return a != b ? 1.0 : 0.0;
    case 9: return a < b ? 1.0 : 0.0;
    case 10: return a <= b ? 1.0 : 0.0;
    case 11: return a > b ? 1.0 : 0.0;
    case 12: return a >= b ? 1.0 : 0.0;
    case 13: return (truthy(a) && truthy(b)) ? 1.0 : 0.0;
    case 14: return (truthy(a) || truthy(b)) ? 1.0 : 0.0;
  }
  return a;
}

// out[i] = a[...] op b[...] with broadcast strides ix.s[0] (a) and ix.s[1] (b); out contiguous.
extern "C" __global__ void ew_binary(int op, int dt, int odt, const void *a, const void *b, void *out, ll n, Idx ix) {
  for (ll i = (ll)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (ll)gridDim.x * blockDim.x) {
    ll o[2];
    offsets(ix, i, o, 2);
    if (dt == 1 && op == 2) {
      unsigned u = (unsigned)((const int *)a)[o[0]] * (unsigned)((const int *)b)[o[1]];
      ((int *)out)[i] = (int)u;
    } else {
      st(out, odt, i, binary_f(op, ld(a, dt, o[0]), ld(b, dt, o[1])));
    }
  }
}

// float32 forms of ew_unary / ew_binary, 4 elements per thread with 16-byte loads and stores; each
// element is computed by the same double-precision unary_f / binary_f, so the numbers are the same.
extern "C" __global__ void ew_unary_f4(int op, const float4 *x, float4 *y, ll n4) {
  for (ll i = (ll)blockIdx.x * blockDim.x + threadIdx.x; i < n4; i += (ll)gridDim.x * blockDim.x) {
    float4 v = x[i];
    y[i] = make_float4((float)unary_f(op, v.x), (float)unary_f(op, v.y), (float)unary_f(op, v.z),
                       (float)unary_f(op, v.w));
  }
}

// Binary ops with a float32 result over an index space whose innermost axis is a multiple of 4:
// operand k is read as a float4 when its innermost stride is 1 (aVec/bVec), else (stride 0) as one
// value repeated.
extern "C" __global__ void ew_binary_f4(int op, const float *a, const float *b, float4 *out, ll n4, Idx ix, int aVec,
                                        int bVec) {
  for (ll i = (ll)blockIdx.x * blockDim.x + threadIdx.x; i < n4; i += (ll)gridDim.x * blockDim.x) {
    ll o[2];
    offsets(ix, 4 * i, o, 2);
    float4 av, bv;
    if (aVec) av = *(const float4 *)(a + o[0]);
    else { float t = a[o[0]]; av = make_float4(t, t, t, t); }
    if (bVec) bv = *(const float4 *)(b + o[1]);
    else { float t = b[o[1]]; bv = make_float4(t, t, t, t); }
    out[i] = make_float4((float)binary_f(op, av.x, bv.x), (float)binary_f(op, av.y, bv.y), (float)binary_f(op, av.z, bv.z),
                         (float)binary_f(op, av.w, bv.w));
  }
}

// ew_binary for float16 (dt 3) / bfloat16 (dt 4) results over an index space whose innermost axis is a
// multiple of 4: 4 outputs per thread, 8-byte loads where an operand runs along the innermost axis.
template <typename T>
__device__ __forceinline__ void binary_h4(int op, const T *a, const T *b, T *out, ll n4, const Idx &ix, int aVec, int bVec) {
  for (ll i = (ll)blockIdx.x * blockDim.x + threadIdx.x; i < n4; i += (ll)gridDim.x * blockDim.x) {
    ll o[2];
    offsets(ix, 4 * i, o, 2);
    float4 av, bv;
    if (aVec) av = ld4(a + o[0]);
    else { float t = tof(a[o[0]]); av = make_float4(t, t, t, t); }
    if (bVec) bv = ld4(b + o[1]);
    else { float t = tof(b[o[1]]); bv = make_float4(t, t, t, t); }
    st4(out + 4 * i, make_float4((float)binary_f(op, av.x, bv.x), (float)binary_f(op, av.y, bv.y),
                                 (float)binary_f(op, av.z, bv.z), (float)binary_f(op, av.w, bv.w)));
  }
}
extern "C" __global__ void ew_binary_h4(int op, int dt, const void *a, const void *b, void *out, ll n4, Idx ix, int aVec,
                                        int bVec) {
  if (dt == 4) binary_h4(op, (const sea_bf16 *)a, (const sea_bf16 *)b, (sea_bf16 *)out, n4, ix, aVec, bVec);
  else binary_h4(op, (const sea_f16 *)a, (const sea_f16 *)b, (sea_f16 *)out, n4, ix, aVec, bVec);
}

// out[i] = cond ? a : b, element size es (4 or 1), strides ix.s[0..2] for cond, a, b.
extern "C" __global__ void ew_where(int es, const unsigned char *c, const void *a, const void *b, void *out, ll n, Idx ix) {
  for (ll i = (ll)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (ll)gridDim.x * blockDim.x) {
    ll o[3];
    offsets(ix, i, o, 3);
    bool t = c[o[0]] != 0;
    if (es == 4) ((unsigned *)out)[i] = t ? ((const unsigned *)a)[o[1]] : ((const unsigned *)b)[o[2]];
    else if (es == 2) ((u16 *)out)[i] = t ? ((const u16 *)a)[o[1]] : ((const u16 *)b)[o[2]];
    else ((unsigned char *)out)[i] = t ? ((const unsigned char *)a)[o[1]] : ((const unsigned char *)b)[o[2]];
  }
}

// float -> int32 truncates toward zero (NaN -> 0, out of range wraps); anything -> bool is x != 0.
extern "C" __global__ void ew_cast(int idt, int odt, const void *x, void *y, ll n) {
  for (ll i = (ll)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (ll)gridDim.x * blockDim.x) {
    double v = ld(x, idt, i);
    if (odt == 2) ((unsigned char *)y)[i] = v != 0 ? 1 : 0;
    else st(y, odt, i, v);
  }
}

// y[i] = start + i·step in double, stored once in the output dtype (int32: exact while it fits).
extern "C" __global__ void ew_range(int dt, void *y, ll n, double start, double step) {
  for (ll i = (ll)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (ll)gridDim.x * blockDim.x)
    st(y, dt, i, start + (double)i * step);
}

// dst[dstOff + idx·s1] = src[srcOff + idx·s0] over the index space ix.shape (transpose, slice, pad, concat).
extern "C" __global__ void copy_strided(int es, const void *src, void *dst, ll n, ll srcOff, ll dstOff, Idx ix) {
  for (ll i = (ll)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (ll)gridDim.x * blockDim.x) {
    ll o[2];
    offsets(ix, i, o, 2);
    if (es == 4) ((unsigned *)dst)[dstOff + o[1]] = ((const unsigned *)src)[srcOff + o[0]];
    else if (es == 2) ((u16 *)dst)[dstOff + o[1]] = ((const u16 *)src)[srcOff + o[0]];
    else ((unsigned char *)dst)[dstOff + o[1]] = ((const unsigned char *)src)[srcOff + o[0]];
  }
}

// copy_strided in 16-byte units: the op uses it when the innermost axis is contiguous on both sides
// with a length, strides, offsets and addresses that are multiples of 4 floats.
extern "C" __global__ void copy_strided16(const uint4 *src, uint4 *dst, ll n, ll srcOff, ll dstOff, Idx ix) {
  for (ll i = (ll)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (ll)gridDim.x * blockDim.x) {
    ll o[2];
    offsets(ix, i, o, 2);
    dst[dstOff + o[1]] = src[srcOff + o[0]];
  }
}

// Concatenation of up to 4 contiguous inputs along one axis in one launch, in units U (1 to 16 bytes):
// input i is [outer, w_i] units, out [outer, W = Σ w_i]; out[o, c] = input_i[o, c − (w_0 + … + w_{i−1})]
// for the input whose columns hold c. One unit a thread, grid-stride; 32-bit index math below 2³².
template <typename U>
__device__ __forceinline__ void concatCols(const U *p0, const U *p1, const U *p2, const U *p3, ll w0, ll w1, ll w2,
                                           ll W, ll total, U *out) {
  const ll a1 = w0, a2 = w0 + w1, a3 = w0 + w1 + w2;
  const ll w3 = W - a3;
  const bool small = total < 4294967296LL;
  for (ll i = (ll)blockIdx.x * blockDim.x + threadIdx.x; i < total; i += (ll)gridDim.x * blockDim.x) {
    ll o, c;
    if (small) {
      const unsigned uo = (unsigned)i / (unsigned)W;
      o = uo;
      c = (ll)((unsigned)i - uo * (unsigned)W);
    } else {
      o = i / W;
      c = i - o * W;
    }
    U v;
    if (c < a1) v = p0[o * w0 + c];
    else if (c < a2) v = p1[o * w1 + (c - a1)];
    else if (c < a3) v = p2[o * w2 + (c - a2)];
    else v = p3[o * w3 + (c - a3)];
    out[i] = v;
  }
}
#define CONCAT_COLS(NAME, U)                                                                                     \
  extern "C" __global__ void NAME(const U *p0, const U *p1, const U *p2, const U *p3, ll w0, ll w1, ll w2, ll W,  \
                                  ll total, U *out) {                                                            \
    concatCols<U>(p0, p1, p2, p3, w0, w1, w2, W, total, out);                                                    \
  }
CONCAT_COLS(concat_cols16, uint4)
CONCAT_COLS(concat_cols8, uint2)
CONCAT_COLS(concat_cols4, unsigned)
CONCAT_COLS(concat_cols2, u16)
CONCAT_COLS(concat_cols1, unsigned char)

// out[i, c] = table[idx[i], c] for rows of w elements.
extern "C" __global__ void gather_rows(int es, const void *table, const int *idx, void *out, ll total, ll w) {
  for (ll e = (ll)blockIdx.x * blockDim.x + threadIdx.x; e < total; e += (ll)gridDim.x * blockDim.x) {
    ll i = e / w, c = e - i * w;
    ll s = (ll)idx[i] * w + c;
    if (es == 4) ((unsigned *)out)[e] = ((const unsigned *)table)[s];
    else if (es == 2) ((u16 *)out)[e] = ((const u16 *)table)[s];
    else ((unsigned char *)out)[e] = ((const unsigned char *)table)[s];
  }
}

// out[r, j] = x[r, idx[r, j]] (negative indices count from the end); x rows of n, idx rows of m.
extern "C" __global__ void take_along(int es, const void *x, const int *idx, void *out, ll total, int n, int m) {
  for (ll e = (ll)blockIdx.x * blockDim.x + threadIdx.x; e < total; e += (ll)gridDim.x * blockDim.x) {
    ll r = e / m;
    int k = idx[e];
    if (k < 0) k += n;
    ll s = r * n + k;
    if (es == 4) ((unsigned *)out)[e] = ((const unsigned *)x)[s];
    else if (es == 2) ((u16 *)out)[e] = ((const u16 *)x)[s];
    else ((unsigned char *)out)[e] = ((const unsigned char *)x)[s];
  }
}
