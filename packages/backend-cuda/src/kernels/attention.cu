// Fused exact attention, flash-attention style in fp32 (CUDA cores): out = softmax(scale·Q·Kᵀ + mask)·V
// with an online softmax over 64-key tiles, never writing the scores. One block of 256 threads per
// 64 query rows of one (batch, head); thread (ty, tx) of the 16×16 grid owns score rows ty·4..+3 ×
// key columns tx·4..+3 and output rows ty·4..+3 × dims tx·4..+3. Q is pre-scaled by scale·log2(e),
// so exp2 gives the softmax. Causal blocks stop at their diagonal tile (fully masked tiles are never
// loaded) and start heaviest first. Head size D ≤ 64, D % 4 == 0, V's head size equal to D.
// Layout [B,H,T,D] (bthd = 0) or [B,T,H,D] (bthd = 1: rows of one head are H·D apart), for q, k, v
// and out alike.

#define BR 64
#define BC 64
#define DM 64
#define NT 256

__device__ __forceinline__ float neg_inf() { return __int_as_float(0xff800000); }

// T: float, sea_bf16 or sea_f16 (q, k, v, out); tiles in shared memory and all math in float32.
template <typename T>
__device__ __forceinline__ void attention_fwd_t(const T* __restrict__ q, const T* __restrict__ k, const T* __restrict__ v,
              const unsigned char* __restrict__ key_valid, T* __restrict__ out, int H, int Tq, int Tk,
              int D, float scale_log2, int causal, int has_valid, int bthd)
{
  // Q tile [d][r]; K tile [d][c], reused for P [c][r] once the scores are in registers; V tile [c][d]
  __shared__ __align__(16) float Qs[DM * BR];
  __shared__ __align__(16) float KPs[DM * BC];
  __shared__ __align__(16) float Vs[BC * DM];
  const int tid = threadIdx.x;
  const int tx = tid & 15, ty = tid >> 4;
  // heads in x, query blocks in y from the last: blocks start in order of decreasing causal work over
  // all heads at once (longest first), so the light blocks fill in behind the heavy ones on every SM
  const int q0 = (gridDim.y - 1 - blockIdx.y) * BR;
  const int bh = blockIdx.x;
  const int hb = bh / H, hh = bh - hb * H;
  const size_t qoff = bthd ? ((size_t)hb * Tq * H + hh) * D : (size_t)bh * Tq * D;
  const size_t koff = bthd ? ((size_t)hb * Tk * H + hh) * D : (size_t)bh * Tk * D;
  const size_t rs = bthd ? (size_t)H * D : (size_t)D;  // elements between consecutive rows of a head
  const T* qp = q + qoff;
  const T* kp = k + koff;
  const T* vp = v + koff;
  const unsigned char* valid = has_valid ? key_valid + (size_t)hb * Tk : nullptr;
  const int D4 = D >> 2;

  // rows in the fastest index: transposed stores hit 32 different banks
  for (int i = tid; i < BR * (DM / 4); i += NT) {
    const int r = i & (BR - 1), c4 = i >> 6;
    float4 x = make_float4(0.f, 0.f, 0.f, 0.f);
    if (q0 + r < Tq && c4 < D4) x = ld4(qp + (size_t)(q0 + r) * rs + c4 * 4);
    Qs[(c4 * 4 + 0) * BR + r] = x.x * scale_log2;
    Qs[(c4 * 4 + 1) * BR + r] = x.y * scale_log2;
    Qs[(c4 * 4 + 2) * BR + r] = x.z * scale_log2;
    Qs[(c4 * 4 + 3) * BR + r] = x.w * scale_log2;
  }

  float o[4][4];
  float m[4], l[4];
#pragma unroll
  for (int i = 0; i < 4; i++) {
    m[i] = neg_inf();
    l[i] = 0.f;
#pragma unroll
    for (int e = 0; e < 4; e++) o[i][e] = 0.f;
  }

  const int kv_end = causal ? min(Tk, q0 + BR) : Tk;
  for (int kv0 = 0; kv0 < kv_end; kv0 += BC) {
    for (int i = tid; i < BC * (DM / 4); i += NT) {
      // K: keys fastest (transposed store); V: dims fastest (row-major store)
      const int c = i & (BC - 1), c4 = i >> 6;
      float4 x = make_float4(0.f, 0.f, 0.f, 0.f);
      if (kv0 + c < Tk && c4 < D4) x = ld4(kp + (size_t)(kv0 + c) * rs + c4 * 4);
      KPs[(c4 * 4 + 0) * BC + c] = x.x;
      KPs[(c4 * 4 + 1) * BC + c] = x.y;
      KPs[(c4 * 4 + 2) * BC + c] = x.z;
      KPs[(c4 * 4 + 3) * BC + c] = x.w;
      const int vc = i >> 4, vd4 = i & 15;
      float4 y = make_float4(0.f, 0.f, 0.f, 0.f);
      if (kv0 + vc < Tk && vd4 < D4) y = ld4(vp + (size_t)(kv0 + vc) * rs + vd4 * 4);
      *reinterpret_cast<float4*>(&Vs[vc * DM + vd4 * 4]) = y;
    }
    __syncthreads();

    float s[4][4];
#pragma unroll
    for (int i = 0; i < 4; i++)
#pragma unroll
      for (int j = 0; j < 4; j++) s[i][j] = 0.f;
#pragma unroll 16
    for (int d = 0; d < DM; d++) {
      const float4 a = *reinterpret_cast<const float4*>(&Qs[d * BR + ty * 4]);
      const float4 b = *reinterpret_cast<const float4*>(&KPs[d * BC + tx * 4]);
      const float av[4] = {a.x, a.y, a.z, a.w};
      const float bv[4] = {b.x, b.y, b.z, b.w};
#pragma unroll
      for (int i = 0; i < 4; i++)
#pragma unroll
        for (int j = 0; j < 4; j++) s[i][j] = fmaf(av[i], bv[j], s[i][j]);
    }

    const bool need_mask = has_valid || kv0 + BC > Tk || (causal && kv0 + BC - 1 > q0);
    if (need_mask) {
#pragma unroll
      for (int i = 0; i < 4; i++) {
        const int row = q0 + ty * 4 + i;
#pragma unroll
        for (int j = 0; j < 4; j++) {
          const int col = kv0 + tx * 4 + j;
          const bool vis = col < Tk && (!causal || col <= row) && (!has_valid || valid[col] != 0);
          if (!vis) s[i][j] = neg_inf();
        }
      }
    }

    // online softmax: the 16 threads of a row are lanes of one half-warp
#pragma unroll
    for (int i = 0; i < 4; i++) {
      float mx = fmaxf(fmaxf(s[i][0], s[i][1]), fmaxf(s[i][2], s[i][3]));
#pragma unroll
      for (int w = 1; w < 16; w <<= 1) mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, w));
      const float m_new = fmaxf(m[i], mx);
      const float m_use = m_new == neg_inf() ? 0.f : m_new;
      const float alpha = exp2f(m[i] - m_use);
      float rs = 0.f;
#pragma unroll
      for (int j = 0; j < 4; j++) {
        s[i][j] = exp2f(s[i][j] - m_use);
        rs += s[i][j];
      }
#pragma unroll
      for (int w = 1; w < 16; w <<= 1) rs += __shfl_xor_sync(0xffffffffu, rs, w);
      l[i] = l[i] * alpha + rs;
      m[i] = m_new;
#pragma unroll
      for (int e = 0; e < 4; e++) o[i][e] *= alpha;
    }

    __syncthreads();  // every thread is done reading the K tile
#pragma unroll
    for (int j = 0; j < 4; j++)
      *reinterpret_cast<float4*>(&KPs[(tx * 4 + j) * BR + ty * 4]) = make_float4(s[0][j], s[1][j], s[2][j], s[3][j]);
    __syncthreads();

#pragma unroll 16
    for (int c = 0; c < BC; c++) {
      const float4 p = *reinterpret_cast<const float4*>(&KPs[c * BR + ty * 4]);
      const float4 w = *reinterpret_cast<const float4*>(&Vs[c * DM + tx * 4]);
      const float pv[4] = {p.x, p.y, p.z, p.w};
      const float wv[4] = {w.x, w.y, w.z, w.w};
#pragma unroll
      for (int i = 0; i < 4; i++)
#pragma unroll
        for (int e = 0; e < 4; e++) o[i][e] = fmaf(pv[i], wv[e], o[i][e]);
    }
    __syncthreads();  // before the next tile overwrites K/P and V
  }

  if (tx * 4 < D) {
#pragma unroll
    for (int i = 0; i < 4; i++) {
      const int row = q0 + ty * 4 + i;
      if (row >= Tq) continue;
      const float inv = l[i] > 0.f ? 1.f / l[i] : 0.f;
      st4(out + qoff + (size_t)row * rs + tx * 4, make_float4(o[i][0] * inv, o[i][1] * inv, o[i][2] * inv, o[i][3] * inv));
    }
  }
}
#define ATTENTION_FWD(NAME, T)                                                                                 \
  extern "C" __global__ void __launch_bounds__(NT, 3)                                                          \
      NAME(const T* __restrict__ q, const T* __restrict__ k, const T* __restrict__ v,                          \
           const unsigned char* __restrict__ key_valid, T* __restrict__ out, int H, int Tq, int Tk, int D,     \
           float scale_log2, int causal, int has_valid, int bthd) {                                            \
    attention_fwd_t(q, k, v, key_valid, out, H, Tq, Tk, D, scale_log2, causal, has_valid, bthd);               \
  }
ATTENTION_FWD(attention_fwd, float)
ATTENTION_FWD(attention_fwd_bf16, sea_bf16)
ATTENTION_FWD(attention_fwd_f16, sea_f16)
