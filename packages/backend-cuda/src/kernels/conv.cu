// conv2d (PyTorch Conv2d: cross-correlation, zero padding, stride, dilation, groups) and resize
// (F.interpolate nearest / bilinear / area) for float32. Self-contained for NVRTC.
typedef long long ll;

struct ConvP {
  int B, C, H, W, O, Cg, kh, kw, OH, OW, sh, sw, dh, dw, pt, pl, G, hasBias;
};
// hasBias: bit 0 the bias, bit 1 a ReLU of each output before its store (NaN passes, as the unary relu).
__device__ __forceinline__ float convAct(float v, const ConvP &p) { return (p.hasBias & 2) && v < 0.f ? 0.f : v; }

// One thread per output element [b, o, oh, ow]; weights [O, C/G, kh, kw].
extern "C" __global__ void conv2d_direct(const float *__restrict__ x, const float *__restrict__ w, const float *__restrict__ bias,
                                         float *__restrict__ y, ConvP p) {
  ll total = (ll)p.B * p.O * p.OH * p.OW;
  int Og = p.O / p.G;
  for (ll e = (ll)blockIdx.x * blockDim.x + threadIdx.x; e < total; e += (ll)gridDim.x * blockDim.x) {
    int ow = (int)(e % p.OW);
    ll r = e / p.OW;
    int oh = (int)(r % p.OH);
    r /= p.OH;
    int o = (int)(r % p.O);
    int b = (int)(r / p.O);
    int g = o / Og;
    float acc = 0.f;
    const float *wo = w + (ll)o * p.Cg * p.kh * p.kw;
    for (int c = 0; c < p.Cg; ++c) {
      const float *xc = x + ((ll)b * p.C + (ll)g * p.Cg + c) * p.H * p.W;
      for (int i = 0; i < p.kh; ++i) {
        int ih = oh * p.sh - p.pt + i * p.dh;
        if (ih < 0 || ih >= p.H) continue;
        for (int j = 0; j < p.kw; ++j) {
          int iw = ow * p.sw - p.pl + j * p.dw;
          if (iw < 0 || iw >= p.W) continue;
          acc += wo[(c * p.kh + i) * p.kw + j] * xc[(ll)ih * p.W + iw];
        }
      }
    }
    if (p.hasBias & 1) acc += bias[o];
    y[e] = convAct(acc, p);
  }
}

// groups == 1: each thread computes OB output channels (a multiple of 4) at PP consecutive positions of one output
// row; the block's weights sit in shared memory as [C·kh·kw][OB] (zero past O). Every output is
// accumulated over (c, i, j) in the same order as conv2d_direct, so the sums are the same, whatever
// OB. Dynamic shared memory: C·kh·kw·OB floats. grid (position groups, ceil(O/OB)).
// T: float, sea_bf16 or sea_f16 (x, w, bias, y); weights staged as float, float32 sums.
template <typename T, int OB, int PP, int KH, int KW>
__device__ __forceinline__ void convOblock(const T *__restrict__ x, const T *__restrict__ w,
                                           const T *__restrict__ bias, T *__restrict__ y, const ConvP &p) {
  extern __shared__ float4 ws4[];
  float *ws = (float *)ws4;
  const int kh = KH ? KH : p.kh, kw = KW ? KW : p.kw;  // compile-time kernel sizes where given
  const int taps = p.C * kh * kw;
  const int o0 = blockIdx.y * OB;
  for (int i = threadIdx.x; i < taps * OB; i += blockDim.x) {
    int tap = i / OB, u = i - tap * OB;
    int o = o0 + u;
    ws[i] = o < p.O ? tof(w[(ll)o * taps + tap]) : 0.f;
  }
  __syncthreads();
  const int OWG = (p.OW + PP - 1) / PP;
  const ll total = (ll)p.B * p.OH * OWG;
  const ll HW = (ll)p.H * p.W;
  for (ll e = (ll)blockIdx.x * blockDim.x + threadIdx.x; e < total; e += (ll)gridDim.x * blockDim.x) {
    int owg = (int)(e % OWG);
    ll r = e / OWG;
    int oh = (int)(r % p.OH);
    int b = (int)(r / p.OH);
    const int ow0 = owg * PP;
    float acc[PP][OB];
#pragma unroll
    for (int q = 0; q < PP; ++q)
#pragma unroll
      for (int u = 0; u < OB; ++u) acc[q][u] = 0.f;
    const T *xb = x + (ll)b * p.C * HW;
    for (int c = 0; c < p.C; ++c) {
      const T *xc = xb + c * HW;
#pragma unroll
      for (int i = 0; i < kh; ++i) {
        int ih = oh * p.sh - p.pt + i * p.dh;
        if (ih < 0 || ih >= p.H) continue;
        const T *xr = xc + (ll)ih * p.W;
        const float4 *wr = ws4 + (ll)(c * kh + i) * kw * (OB / 4);
#pragma unroll
        for (int j = 0; j < kw; ++j) {
          float4 wv[OB / 4];
#pragma unroll
          for (int u = 0; u < OB / 4; ++u) wv[u] = wr[j * (OB / 4) + u];
          const int iw0 = ow0 * p.sw - p.pl + j * p.dw;
#pragma unroll
          for (int q = 0; q < PP; ++q) {
            int iw = iw0 + q * p.sw;
            if (iw < 0 || iw >= p.W) continue;
            const float xv = tof(xr[iw]);
#pragma unroll
            for (int u = 0; u < OB / 4; ++u) {
              acc[q][4 * u] += wv[u].x * xv;
              acc[q][4 * u + 1] += wv[u].y * xv;
              acc[q][4 * u + 2] += wv[u].z * xv;
              acc[q][4 * u + 3] += wv[u].w * xv;
            }
          }
        }
      }
    }
#pragma unroll
    for (int u = 0; u < OB; ++u) {
      int o = o0 + u;
      if (o >= p.O) continue;
      float bv = (p.hasBias & 1) ? tof(bias[o]) : 0.f;
      T *yo = y + (((ll)b * p.O + o) * p.OH + oh) * p.OW;
#pragma unroll
      for (int q = 0; q < PP; ++q) {
        int ow = ow0 + q;
        if (ow < p.OW) yo[ow] = fromf<T>(convAct(acc[q][u] + bv, p));
      }
    }
  }
}

// The instances the op picks from (ops/conv.ts): OB output channels × PP positions per thread, kernel
// KH×KW fixed at compile time (0: any, from the parameters).
// Each in float32 (NAME), bfloat16 (NAME_bf16) and float16 (NAME_f16).
#define CONV_OBLOCK_T(NAME, T, OB, PP, KH, KW)                                                                 \
  extern "C" __global__ void __launch_bounds__(256)                                                           \
      NAME(const T *__restrict__ x, const T *__restrict__ w, const T *__restrict__ bias, T *__restrict__ y,   \
           ConvP p) {                                                                                          \
    convOblock<T, OB, PP, KH, KW>(x, w, bias, y, p);                                                          \
  }
#define CONV_OBLOCK(NAME, OB, PP, KH, KW)                 \
  CONV_OBLOCK_T(NAME, float, OB, PP, KH, KW)              \
  CONV_OBLOCK_T(NAME##_bf16, sea_bf16, OB, PP, KH, KW)    \
  CONV_OBLOCK_T(NAME##_f16, sea_f16, OB, PP, KH, KW)
CONV_OBLOCK(conv2d_oblock, 8, 4, 0, 0)
CONV_OBLOCK(conv2d_ob12p4, 12, 4, 0, 0)
CONV_OBLOCK(conv2d_ob24p2, 24, 2, 0, 0)
CONV_OBLOCK(conv2d_ob24p4, 24, 4, 0, 0)
CONV_OBLOCK(conv2d_ob12p4_k3, 12, 4, 3, 3)
CONV_OBLOCK(conv2d_ob24p2_k3, 24, 2, 3, 3)
CONV_OBLOCK(conv2d_ob12p8_k3, 12, 8, 3, 3)
CONV_OBLOCK(conv2d_ob12p4_k1, 12, 4, 1, 1)
CONV_OBLOCK(conv2d_ob12p8_k1, 12, 8, 1, 1)

// Taps of output position i on an axis of `in` → `out` (mode 0 nearest, 1 bilinear); returns the
// number of taps and fills idx/wt.
__device__ int taps(int mode, int align, int in, int out, int i, int *idx, double *wt) {
  if (mode == 0) {
    int s = (int)(((ll)i * in) / out);
    idx[0] = s < in - 1 ? s : in - 1;
    wt[0] = 1.0;
    return 1;
  }
  if (mode == 1) {
    double scale = align ? (out > 1 ? (double)(in - 1) / (double)(out - 1) : 0.0) : (double)in / (double)out;
    double src = align ? i * scale : fmax(scale * (i + 0.5) - 0.5, 0.0);
    int i0 = (int)floor(src);
    if (i0 > in - 1) i0 = in - 1;
    int i1 = i0 < in - 1 ? i0 + 1 : i0;
    double l1 = fmin(fmax(src - i0, 0.0), 1.0);
    idx[0] = i0;
    idx[1] = i1;
    wt[0] = 1.0 - l1;
    wt[1] = l1;
    return 2;
  }
  return 0;  // area is handled by the caller (variable tap count)
}

// ⌊a·b/c⌋ (ceil: ⌈a·b/c⌉) for non-negative ints, in 32 bits when a·b fits.
__device__ __forceinline__ int mulDiv(int a, int b, int c, int ceil) {
  ll n = (ll)a * b + (ceil ? c - 1 : 0);
  if (n <= 0x7fffffffLL) return (int)((unsigned)n / (unsigned)c);
  return (int)(n / c);
}

// Nearest resize by whole factors (OH = fh·H, OW = fw·W): src = ⌊dst/f⌋, so each thread copies one
// input element to its fw outputs of output row i (16-byte stores when fw = 4). total = BC·OH·W.
extern "C" __global__ void resize_nearest_int(const float *__restrict__ x, float *__restrict__ y, ll total, int H, int W,
                                              int OH, int fh, int fw) {
  for (ll e = (ll)blockIdx.x * blockDim.x + threadIdx.x; e < total; e += (ll)gridDim.x * blockDim.x) {
    int jin;
    ll r;
    if (total <= 0x7fffffffLL) {
      unsigned u = (unsigned)e, q = u / (unsigned)W;
      jin = (int)(u - q * (unsigned)W);
      r = q;
    } else {
      jin = (int)(e % W);
      r = e / W;
    }
    ll p;  // plane
    int i;
    if (total <= 0x7fffffffLL) {
      unsigned pu = (unsigned)r / (unsigned)OH;
      i = (int)((unsigned)r - pu * (unsigned)OH);
      p = pu;
    } else {
      p = r / OH;
      i = (int)(r - p * OH);
    }
    const float v = x[(p * H + i / fh) * W + jin];
    float *yo = y + r * ((ll)W * fw) + (ll)jin * fw;
    if (fw == 4) {
      *(float4 *)yo = make_float4(v, v, v, v);
    } else {
      for (int u = 0; u < fw; ++u) yo[u] = v;
    }
  }
}

// x [BC, H, W] → y [BC, OH, OW]; rows of taps are summed first, then columns, in double.
extern "C" __global__ void resize2d(const float *__restrict__ x, float *__restrict__ y, ll BC, int H, int W, int OH, int OW,
                                    int mode, int align) {
  ll total = BC * OH * OW;
  const bool small = total <= 0x7fffffffLL;
  for (ll e = (ll)blockIdx.x * blockDim.x + threadIdx.x; e < total; e += (ll)gridDim.x * blockDim.x) {
    int j, i;
    ll p;
    if (small) {  // 32-bit index arithmetic
      unsigned u = (unsigned)e, r = u / (unsigned)OW;
      j = (int)(u - r * (unsigned)OW);
      unsigned q = r / (unsigned)OH;
      i = (int)(r - q * (unsigned)OH);
      p = q;
    } else {
      j = (int)(e % OW);
      ll r = e / OW;
      i = (int)(r % OH);
      p = r / OH;
    }
    const float *xp = x + p * H * W;
    double acc = 0;
    if (mode == 0) {
      int si = (ll)i * H <= 0x7fffffffLL ? (int)((unsigned)(i * H) / (unsigned)OH) : (int)(((ll)i * H) / OH);
      int sj = (ll)j * W <= 0x7fffffffLL ? (int)((unsigned)(j * W) / (unsigned)OW) : (int)(((ll)j * W) / OW);
      y[e] = xp[(ll)(si < H - 1 ? si : H - 1) * W + (sj < W - 1 ? sj : W - 1)];
      continue;
    }
    if (mode == 2) {
      int hlo = mulDiv(i, H, OH, 0), hhi = mulDiv(i + 1, H, OH, 1);
      int wlo = mulDiv(j, W, OW, 0), whi = mulDiv(j + 1, W, OW, 1);
      double wh = 1.0 / (hhi - hlo), ww = 1.0 / (whi - wlo);
      for (int h = hlo; h < hhi; ++h) {
        double s = 0;
        for (int c = wlo; c < whi; ++c) s += ww * xp[(ll)h * W + c];
        acc += wh * s;
      }
    } else {
      int hi[2], wi[2];
      double hw[2], wwt[2];
      int nh = taps(mode, align, H, OH, i, hi, hw);
      int nw = taps(mode, align, W, OW, j, wi, wwt);
      for (int a = 0; a < nh; ++a) {
        double s = 0;
        for (int c = 0; c < nw; ++c) s += wwt[c] * xp[(ll)hi[a] * W + wi[c]];
        acc += hw[a] * s;
      }
    }
    y[e] = (float)acc;
  }
}

// Area resize along the width only (OH = H): output (r, j) averages inputs [⌊j·W/OW⌋, ⌈(j+1)·W/OW⌉)
// of row r, summed in double exactly as resize2d does (its single row window has weight 1).
// One thread per output column j (its window computed once) for ROWS_PER rows. grid (⌈OW/256⌉, ⌈rows/RP⌉).
#define AREA_RP 16
extern "C" __global__ void __launch_bounds__(256) resize_area_w(const float *__restrict__ x, float *__restrict__ y, ll rows,
                                                                int W, int OW) {
  const int j = blockIdx.x * blockDim.x + threadIdx.x;
  if (j >= OW) return;
  const int wlo = mulDiv(j, W, OW, 0), whi = mulDiv(j + 1, W, OW, 1);
  const double ww = 1.0 / (whi - wlo);
  const ll r0 = (ll)blockIdx.y * AREA_RP;
  const ll r1 = r0 + AREA_RP < rows ? r0 + AREA_RP : rows;
  for (ll r = r0; r < r1; ++r) {
    const float *xr = x + r * W;
    double s = 0;
    for (int c = wlo; c < whi; ++c) s += ww * xr[c];
    double acc = 0;
    acc += 1.0 * s;
    y[r * OW + j] = (float)acc;
  }
}

// 16-bit conv2d on the tensor cores (mma.sync m16n8k16, float32 accumulation) as an implicit GEMM:
// out[o, position] = Σ_tap W[o, tap] · X[tap, position] over taps (c, i, j), K = C·kh·kw padded to
// a multiple of 16. groups 1, stride 1. A block computes 8 output rows × 16·MT columns of one batch
// element for all O ≤ 8·NT channels: it stages the input window (C × (8 + (kh−1)·dh) rows ×
// (16·MT + (kw−1)·dw) columns, zero outside the image) and the weights as [8·NT][K] in shared
// memory; warp r takes output row r, MT tiles of 16 positions, each k-step reading its A fragment
// through a table of tap offsets. The bias is added in float32 before the one rounding. Dynamic
// shared memory: see conv2dMmaSmem in ops/conv.ts. grid (⌈OH/8⌉, ⌈OW/(16·MT)⌉, B), block 256.
__device__ __forceinline__ void mma16816(float *d, unsigned a0, unsigned a1, unsigned a2, unsigned a3, unsigned b0,
                                         unsigned b1, sea_bf16) {
  asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};"
               : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
               : "r"(a0), "r"(a1), "r"(a2), "r"(a3), "r"(b0), "r"(b1));
}
__device__ __forceinline__ void mma16816(float *d, unsigned a0, unsigned a1, unsigned a2, unsigned a3, unsigned b0,
                                         unsigned b1, sea_f16) {
  asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};"
               : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
               : "r"(a0), "r"(a1), "r"(a2), "r"(a3), "r"(b0), "r"(b1));
}
#define MMA_ROWS 8
// A window element, or 0 for a padded tap (offset −1)
__device__ __forceinline__ unsigned mmaX(const u16 *Xs, int base, int off) { return off >= 0 ? (unsigned)Xs[base + off] : 0u; }
template <typename T, int NT, int MT>
__device__ __forceinline__ void conv2dMma(const T *__restrict__ x, const T *__restrict__ w, const T *__restrict__ bias,
                                          T *__restrict__ y, const ConvP &p) {
  extern __shared__ float4 mmaSmem[];
  const int kh = p.kh, kw = p.kw, C = p.C, O = p.O;
  const int taps = C * kh * kw, Kp = (taps + 15) & ~15;
  const int TW = 16 * MT;
  const int IR = MMA_ROWS + (kh - 1) * p.dh, IW = TW + (kw - 1) * p.dw;
  const int xsN = C * IR * IW;
  u16 *Xs = (u16 *)mmaSmem;                      // [C][IR][IW]
  u16 *Ws = Xs + ((xsN + 1 + 7) & ~7);           // [8·NT][Kp]
  int *tapOff = (int *)(Ws + 8 * NT * Kp);       // [Kp]
  const int oh0 = blockIdx.x * MMA_ROWS, ow0 = blockIdx.y * TW, b = blockIdx.z;
  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  for (int i = tid; i < 8 * NT * Kp; i += blockDim.x) {
    const int n = i / Kp, k = i - n * Kp;
    Ws[i] = (n < O && k < taps) ? w[(ll)n * taps + k].b : (u16)0;
  }
  for (int k = tid; k < Kp; k += blockDim.x) {
    if (k < taps) {
      const int c = k / (kh * kw), rr = k - c * kh * kw, i = rr / kw, j = rr - i * kw;
      tapOff[k] = (c * IR + i * p.dh) * IW + j * p.dw;
    } else {
      tapOff[k] = -1;  // padding of K: reads as zero (its weight is zero too)
    }
  }
  // the input window, a warp per (channel, row), lanes along the row
  const T *xb = x + (ll)b * C * p.H * p.W;
  for (int cr = warp; cr < C * IR; cr += blockDim.x >> 5) {
    const int c = cr / IR, rr = cr - c * IR;
    const int ih = oh0 - p.pt + rr;
    const bool rowIn = ih >= 0 && ih < p.H;
    const T *xr = xb + ((ll)c * p.H + (rowIn ? ih : 0)) * p.W;
    u16 *xs = Xs + (ll)cr * IW;
    for (int cc = lane; cc < IW; cc += 32) {
      const int iw = ow0 - p.pl + cc;
      xs[cc] = (rowIn && iw >= 0 && iw < p.W) ? xr[iw].b : (u16)0;
    }
  }
  __syncthreads();
  const int oh = oh0 + warp;
  if (oh >= p.OH) return;
  const int g = lane >> 2, t4 = lane & 3;
  float acc[MT][NT][4];
#pragma unroll
  for (int mt = 0; mt < MT; ++mt)
#pragma unroll
    for (int nt = 0; nt < NT; ++nt)
#pragma unroll
      for (int e = 0; e < 4; ++e) acc[mt][nt][e] = 0.f;
  const int rowBase = warp * IW + g;
  for (int kb = 0; kb < Kp; kb += 16) {
    const int k0 = kb + 2 * t4;
    const int o00 = tapOff[k0], o01 = tapOff[k0 + 1], o10 = tapOff[k0 + 8], o11 = tapOff[k0 + 9];
    unsigned bf[NT][2];
#pragma unroll
    for (int nt = 0; nt < NT; ++nt) {
      const u16 *wr = Ws + (nt * 8 + g) * Kp + k0;
      bf[nt][0] = *(const unsigned *)wr;
      bf[nt][1] = *(const unsigned *)(wr + 8);
    }
#pragma unroll
    for (int mt = 0; mt < MT; ++mt) {
      const int base = rowBase + 16 * mt;
      const unsigned a0 = mmaX(Xs, base, o00) | (mmaX(Xs, base, o01) << 16);
      const unsigned a1 = mmaX(Xs, base + 8, o00) | (mmaX(Xs, base + 8, o01) << 16);
      const unsigned a2 = mmaX(Xs, base, o10) | (mmaX(Xs, base, o11) << 16);
      const unsigned a3 = mmaX(Xs, base + 8, o10) | (mmaX(Xs, base + 8, o11) << 16);
#pragma unroll
      for (int nt = 0; nt < NT; ++nt) mma16816(acc[mt][nt], a0, a1, a2, a3, bf[nt][0], bf[nt][1], T());
    }
  }
#pragma unroll
  for (int nt = 0; nt < NT; ++nt) {
#pragma unroll
    for (int e = 0; e < 2; ++e) {
      const int o = nt * 8 + 2 * t4 + e;
      if (o >= O) continue;
      const float bv = (p.hasBias & 1) ? tof(bias[o]) : 0.f;
      T *yo = y + (((ll)b * O + o) * p.OH + oh) * p.OW;
#pragma unroll
      for (int mt = 0; mt < MT; ++mt) {
        const int ow = ow0 + 16 * mt + g;
        if (ow < p.OW) yo[ow] = fromf<T>(convAct(acc[mt][nt][e] + bv, p));
        if (ow + 8 < p.OW) yo[ow + 8] = fromf<T>(convAct(acc[mt][nt][2 + e] + bv, p));
      }
    }
  }
}
#define CONV_MMA_T(NAME, T, NT, MT)                                                                            \
  extern "C" __global__ void __launch_bounds__(256)                                                           \
      NAME(const T *__restrict__ x, const T *__restrict__ w, const T *__restrict__ bias, T *__restrict__ y,   \
           ConvP p) {                                                                                          \
    conv2dMma<T, NT, MT>(x, w, bias, y, p);                                                                   \
  }
#define CONV_MMA(NAME, NT, MT)                        \
  CONV_MMA_T(NAME##_bf16, sea_bf16, NT, MT)           \
  CONV_MMA_T(NAME##_f16, sea_f16, NT, MT)
CONV_MMA(conv2d_mma_n2m4, 2, 4)
CONV_MMA(conv2d_mma_n2m2, 2, 2)
CONV_MMA(conv2d_mma_n3m4, 3, 4)
CONV_MMA(conv2d_mma_n3m2, 3, 2)
CONV_MMA(conv2d_mma_n4m4, 4, 4)
CONV_MMA(conv2d_mma_n4m2, 4, 2)
