// Fused exact attention, flash-attention style in fp32 (CUDA cores): out = softmax(scale·Q·Kᵀ + mask)·V
// with an online softmax over 64-key tiles, never writing the scores. One block of 256 threads per
// 64 query rows of one (batch, head); thread (ty, tx) of the 16×16 grid owns score rows ty·4..+3 ×
// key columns tx·4..+3 and output rows ty·4..+3 × dims tx·4..+3. Q is pre-scaled by scale·log2(e),
// so exp2 gives the softmax. Causal blocks stop at their diagonal tile (fully masked tiles are never
// loaded) and start heaviest first. Head size D ≤ 64, D % 4 == 0, V's head size equal to D.
// Layout [B,H,T,D] (bthd = 0) or [B,T,H,D] (bthd = 1: rows of one head are H·D apart), for q, k, v
// and out alike.
// Split over keys (gridDim.z = nsplit > 1, for few query blocks over many keys, as in decoding): block
// z reads keys [z·chunk, (z+1)·chunk) and writes its unnormalised output, row max and row sum (fp32,
// base-2 exponents) to `part`; attention_combine merges the splits into out.

#define BR 64
#define BC 64
#define DM 64
#define NT 256

__device__ __forceinline__ float neg_inf() { return __int_as_float(0xff800000); }

// T: float, sea_bf16 or sea_f16 (q, k, v, out); tiles in shared memory and all math in float32.
template <typename T>
__device__ __forceinline__ void attention_fwd_t(const T* __restrict__ q, const T* __restrict__ k, const T* __restrict__ v,
              const unsigned char* __restrict__ key_valid, T* __restrict__ out, float* __restrict__ part, int H,
              int Tq, int Tk, int D, float scale_log2, int causal, int has_valid, int bthd, int chunk)
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

  const int kv_beg = blockIdx.z * chunk;
  const int kv_end = min(causal ? min(Tk, q0 + BR) : Tk, kv_beg + chunk);
  for (int kv0 = kv_beg; kv0 < kv_end; kv0 += BC) {
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

    const bool need_mask = has_valid || kv0 + BC > kv_end || (causal && kv0 + BC - 1 > q0);
    if (need_mask) {
#pragma unroll
      for (int i = 0; i < 4; i++) {
        const int row = q0 + ty * 4 + i;
#pragma unroll
        for (int j = 0; j < 4; j++) {
          const int col = kv0 + tx * 4 + j;
          const bool vis = col < kv_end && (!causal || col <= row) && (!has_valid || valid[col] != 0);
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

  if (gridDim.z > 1) {
    // partials: O [z][bh][Tq][64], then m and l [z][bh][Tq] each
    const size_t rows = (size_t)gridDim.x * Tq;
    const size_t zr = (size_t)blockIdx.z * rows + (size_t)bh * Tq;
#pragma unroll
    for (int i = 0; i < 4; i++) {
      const int row = q0 + ty * 4 + i;
      if (row >= Tq) continue;
      *reinterpret_cast<float4*>(part + (zr + row) * DM + tx * 4) = make_float4(o[i][0], o[i][1], o[i][2], o[i][3]);
      if (tx == 0) {
        part[gridDim.z * rows * DM + zr + row] = m[i];
        part[gridDim.z * rows * (DM + 1) + zr + row] = l[i];
      }
    }
    return;
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
           const unsigned char* __restrict__ key_valid, T* __restrict__ out, float* __restrict__ part, int H,   \
           int Tq, int Tk, int D, float scale_log2, int causal, int has_valid, int bthd, int chunk) {          \
    attention_fwd_t(q, k, v, key_valid, out, part, H, Tq, Tk, D, scale_log2, causal, has_valid, bthd, chunk);  \
  }
ATTENTION_FWD(attention_fwd, float)
ATTENTION_FWD(attention_fwd_bf16, sea_bf16)
ATTENTION_FWD(attention_fwd_f16, sea_f16)

// ---- Tensor-core attention for 16-bit q, k, v: mma.sync m16n8k16, fp32 accumulation ----
// One block of 4 warps per 64 query rows of one (batch, head) and one key split; warp w owns rows
// w·16..+15, and every thread 2 rows (g and g+8 of the warp's 16, g = lane/4) × 2 adjacent columns of
// each 8-wide tile (the m16n8 accumulator layout). Key tiles of 64: K and V row-major [key][d] in shared
// memory, rows padded to 72 elements so that the fragment reads of 8 rows × 4 words hit 32 banks. Q
// stays in registers as A fragments; S = Q·Kᵀ with K's rows as the B operand; the online softmax runs
// in fp32 on the accumulators; P is repacked from the S accumulators into A fragments (same layout)
// and O += P·V takes V through ldmatrix.trans. Head size D ≤ 64 and even (zero-padded to 64).
#define MP 72

// MmaOp (mma.sync m16n8k16, fp32 accumulation) is in half.cuh, shared with the cell-mask attention.

template <typename T>
__device__ __forceinline__ void attention_mma_t(const T* __restrict__ q, const T* __restrict__ k, const T* __restrict__ v,
              const unsigned char* __restrict__ key_valid, T* __restrict__ out, float* __restrict__ part, int H,
              int Tq, int Tk, int D, float scale_log2, int causal, int has_valid, int bthd, int chunk)
{
  __shared__ __align__(16) u16 Ks[64 * MP];
  __shared__ __align__(16) u16 Vs[64 * MP];
  const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31;
  const int g = lane >> 2, t4 = lane & 3;
  const int q0 = (gridDim.y - 1 - blockIdx.y) * 64;
  const int bh = blockIdx.x;
  const int hb = bh / H, hh = bh - hb * H;
  const size_t qoff = bthd ? ((size_t)hb * Tq * H + hh) * D : (size_t)bh * Tq * D;
  const size_t koff = bthd ? ((size_t)hb * Tk * H + hh) * D : (size_t)bh * Tk * D;
  const size_t rs = bthd ? (size_t)H * D : (size_t)D;
  const u16* qp = reinterpret_cast<const u16*>(q) + qoff;
  const u16* kp = reinterpret_cast<const u16*>(k) + koff;
  const u16* vp = reinterpret_cast<const u16*>(v) + koff;
  const unsigned char* valid = has_valid ? key_valid + (size_t)hb * Tk : nullptr;
  const int r0 = q0 + warp * 16 + g, r1 = r0 + 8;

  // Q as A fragments: 4 steps of 16 dims; a0 (row g, dims 2·t4..+1), a1 (row g+8), a2/a3 (dims +8)
  unsigned qa[4][4];
#pragma unroll
  for (int ks = 0; ks < 4; ks++) {
    const int d = ks * 16 + t4 * 2;
    qa[ks][0] = (r0 < Tq && d < D) ? *reinterpret_cast<const unsigned*>(qp + (size_t)r0 * rs + d) : 0u;
    qa[ks][1] = (r1 < Tq && d < D) ? *reinterpret_cast<const unsigned*>(qp + (size_t)r1 * rs + d) : 0u;
    qa[ks][2] = (r0 < Tq && d + 8 < D) ? *reinterpret_cast<const unsigned*>(qp + (size_t)r0 * rs + d + 8) : 0u;
    qa[ks][3] = (r1 < Tq && d + 8 < D) ? *reinterpret_cast<const unsigned*>(qp + (size_t)r1 * rs + d + 8) : 0u;
  }

  float o[8][4];
#pragma unroll
  for (int i = 0; i < 8; i++)
#pragma unroll
    for (int e = 0; e < 4; e++) o[i][e] = 0.f;
  float m0 = neg_inf(), m1 = neg_inf(), l0 = 0.f, l1 = 0.f;

  const int kv_beg = blockIdx.z * chunk;
  const int kv_end = min(causal ? min(Tk, q0 + 64) : Tk, kv_beg + chunk);
  const unsigned* K32 = reinterpret_cast<const unsigned*>(Ks);
  for (int kv0 = kv_beg; kv0 < kv_end; kv0 += 64) {
    // 64 rows × 32 words of K and of V; consecutive threads read consecutive words of a row
    for (int i = tid; i < 64 * 32; i += 128) {
      const int c = i >> 5, w = i & 31, d = w * 2;
      const bool in = kv0 + c < Tk && d < D;
      const size_t at = (size_t)(kv0 + c) * rs + d;
      reinterpret_cast<unsigned*>(Ks)[c * (MP / 2) + w] = in ? *reinterpret_cast<const unsigned*>(kp + at) : 0u;
      reinterpret_cast<unsigned*>(Vs)[c * (MP / 2) + w] = in ? *reinterpret_cast<const unsigned*>(vp + at) : 0u;
    }
    __syncthreads();

    float s[8][4];
#pragma unroll
    for (int nt = 0; nt < 8; nt++) {
#pragma unroll
      for (int e = 0; e < 4; e++) s[nt][e] = 0.f;
#pragma unroll
      for (int ks = 0; ks < 4; ks++) {
        const unsigned* kr = K32 + (nt * 8 + g) * (MP / 2) + ks * 8 + t4;
        MmaOp<T>::run(s[nt], qa[ks], kr[0], kr[4]);
      }
    }

    // scale (to base 2), mask, online softmax over the tile's 64 keys for rows r0 and r1
    const bool need_mask = has_valid || kv0 + 64 > kv_end || (causal && kv0 + 63 > q0);
    float mx0 = neg_inf(), mx1 = neg_inf();
#pragma unroll
    for (int nt = 0; nt < 8; nt++) {
#pragma unroll
      for (int e = 0; e < 4; e++) {
        float x = s[nt][e] * scale_log2;
        if (need_mask) {
          const int col = kv0 + nt * 8 + t4 * 2 + (e & 1);
          const int row = e < 2 ? r0 : r1;
          if (!(col < kv_end && (!causal || col <= row) && (!has_valid || valid[col] != 0))) x = neg_inf();
        }
        s[nt][e] = x;
      }
      mx0 = fmaxf(mx0, fmaxf(s[nt][0], s[nt][1]));
      mx1 = fmaxf(mx1, fmaxf(s[nt][2], s[nt][3]));
    }
#pragma unroll
    for (int w = 1; w < 4; w <<= 1) {
      mx0 = fmaxf(mx0, __shfl_xor_sync(0xffffffffu, mx0, w));
      mx1 = fmaxf(mx1, __shfl_xor_sync(0xffffffffu, mx1, w));
    }
    const float n0 = fmaxf(m0, mx0), n1 = fmaxf(m1, mx1);
    const float u0 = n0 == neg_inf() ? 0.f : n0, u1 = n1 == neg_inf() ? 0.f : n1;
    const float al0 = exp2f(m0 - u0), al1 = exp2f(m1 - u1);
    float rs0 = 0.f, rs1 = 0.f;
#pragma unroll
    for (int nt = 0; nt < 8; nt++) {
      s[nt][0] = exp2f(s[nt][0] - u0);
      s[nt][1] = exp2f(s[nt][1] - u0);
      s[nt][2] = exp2f(s[nt][2] - u1);
      s[nt][3] = exp2f(s[nt][3] - u1);
      rs0 += s[nt][0] + s[nt][1];
      rs1 += s[nt][2] + s[nt][3];
    }
#pragma unroll
    for (int w = 1; w < 4; w <<= 1) {
      rs0 += __shfl_xor_sync(0xffffffffu, rs0, w);
      rs1 += __shfl_xor_sync(0xffffffffu, rs1, w);
    }
    l0 = l0 * al0 + rs0;
    l1 = l1 * al1 + rs1;
    m0 = n0;
    m1 = n1;
#pragma unroll
    for (int i = 0; i < 8; i++) {
      o[i][0] *= al0;
      o[i][1] *= al0;
      o[i][2] *= al1;
      o[i][3] *= al1;
    }

    // O += P·V: P's 16-key steps as A fragments; V's B fragments by ldmatrix.trans, two d-tiles at once
#pragma unroll
    for (int kk = 0; kk < 4; kk++) {
      unsigned pa[4];
      pa[0] = pack2<T>(s[2 * kk][0], s[2 * kk][1]);
      pa[1] = pack2<T>(s[2 * kk][2], s[2 * kk][3]);
      pa[2] = pack2<T>(s[2 * kk + 1][0], s[2 * kk + 1][1]);
      pa[3] = pack2<T>(s[2 * kk + 1][2], s[2 * kk + 1][3]);
#pragma unroll
      for (int dn = 0; dn < 64; dn += 16) {
        const int mi = lane >> 3, r = lane & 7;
        const u16* at = Vs + (kk * 16 + r + (mi & 1) * 8) * MP + dn + (mi >> 1) * 8;
        const unsigned addr = (unsigned)__cvta_generic_to_shared(at);
        unsigned b0, b1, b2, b3;
        asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
                     : "=r"(b0), "=r"(b1), "=r"(b2), "=r"(b3)
                     : "r"(addr));
        MmaOp<T>::run(o[dn / 8], pa, b0, b1);
        MmaOp<T>::run(o[dn / 8 + 1], pa, b2, b3);
      }
    }
    __syncthreads();  // before the next tile overwrites K and V
  }

  if (gridDim.z > 1) {
    const size_t rows = (size_t)gridDim.x * Tq;
    const size_t zr = (size_t)blockIdx.z * rows + (size_t)bh * Tq;
#pragma unroll
    for (int half = 0; half < 2; half++) {
      const int row = half ? r1 : r0;
      if (row >= Tq) continue;
      float* po = part + (zr + row) * DM;
#pragma unroll
      for (int i = 0; i < 8; i++)
        *reinterpret_cast<float2*>(po + i * 8 + t4 * 2) = make_float2(o[i][half * 2], o[i][half * 2 + 1]);
      if (t4 == 0) {
        part[gridDim.z * rows * DM + zr + row] = half ? m1 : m0;
        part[gridDim.z * rows * (DM + 1) + zr + row] = half ? l1 : l0;
      }
    }
    return;
  }
  const float i0 = l0 > 0.f ? 1.f / l0 : 0.f, i1 = l1 > 0.f ? 1.f / l1 : 0.f;
  u16* op = reinterpret_cast<u16*>(out) + qoff;
#pragma unroll
  for (int i = 0; i < 8; i++) {
    const int d = i * 8 + t4 * 2;
    if (d >= D) continue;
    if (r0 < Tq) *reinterpret_cast<unsigned*>(op + (size_t)r0 * rs + d) = pack2<T>(o[i][0] * i0, o[i][1] * i0);
    if (r1 < Tq) *reinterpret_cast<unsigned*>(op + (size_t)r1 * rs + d) = pack2<T>(o[i][2] * i1, o[i][3] * i1);
  }
}
#define ATTENTION_MMA(NAME, T)                                                                                 \
  extern "C" __global__ void __launch_bounds__(128)                                                            \
      NAME(const T* __restrict__ q, const T* __restrict__ k, const T* __restrict__ v,                          \
           const unsigned char* __restrict__ key_valid, T* __restrict__ out, float* __restrict__ part, int H,   \
           int Tq, int Tk, int D, float scale_log2, int causal, int has_valid, int bthd, int chunk) {          \
    attention_mma_t(q, k, v, key_valid, out, part, H, Tq, Tk, D, scale_log2, causal, has_valid, bthd, chunk);  \
  }
ATTENTION_MMA(attention_mma_bf16, sea_bf16)
ATTENTION_MMA(attention_mma_f16, sea_f16)

// Merges nsplit partials (O unnormalised, m and l in base 2) into out: one thread per (row, dim).
template <typename T>
__device__ __forceinline__ void attention_combine_t(const float* __restrict__ part, T* __restrict__ out, int BH,
              int H, int Tq, int D, int nsplit, int bthd)
{
  const size_t n = (size_t)BH * Tq * D;
  const size_t rows = (size_t)BH * Tq;
  const float* pm = part + (size_t)nsplit * rows * DM;
  const float* pl = pm + (size_t)nsplit * rows;
  for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
    const int d = (int)(i % D);
    const size_t br = i / D;  // bh·Tq + row
    const int row = (int)(br % Tq);
    const int bh = (int)(br / Tq);
    float M = neg_inf();
    for (int z = 0; z < nsplit; z++) M = fmaxf(M, pm[z * rows + br]);
    float acc = 0.f, L = 0.f;
    if (M != neg_inf()) {
      for (int z = 0; z < nsplit; z++) {
        const float mz = pm[z * rows + br];
        if (mz == neg_inf()) continue;
        const float w = exp2f(mz - M);
        L += w * pl[z * rows + br];
        acc += w * part[(z * rows + br) * DM + d];
      }
    }
    const int hb = bh / H, hh = bh - hb * H;
    const size_t at = bthd ? (((size_t)hb * Tq + row) * H + hh) * D + d : br * D + d;
    out[at] = fromf<T>(L > 0.f ? acc / L : 0.f);
  }
}
#define ATTENTION_COMBINE(NAME, T)                                                                             \
  extern "C" __global__ void NAME(const float* __restrict__ part, T* __restrict__ out, int BH, int H, int Tq,   \
                                  int D, int nsplit, int bthd) {                                               \
    attention_combine_t(part, out, BH, H, Tq, D, nsplit, bthd);                                                \
  }
ATTENTION_COMBINE(attention_combine, float)
ATTENTION_COMBINE(attention_combine_bf16, sea_bf16)
ATTENTION_COMBINE(attention_combine_f16, sea_f16)
