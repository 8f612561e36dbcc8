// Causal Performer attention by prefix sums (spec §3): for each (b,h) and t,
// out[t,e] = Σ_m qf[t,m]·S_t[m,e] / Σ_m qf[t,m]·(z_t[m] + eps), S_t = Σ_{j≤t} kf_j v_jᵀ, z_t = Σ_{j≤t} kf_j.
// Chunked (parallel) form, chunks of CH rows of T:
//   1. pps_chunk_sums: per chunk c, S^c = Σ_{j∈c} kf_j v_jᵀ [M,E] and z^c = Σ_{j∈c} kf_j [M] into `carry`;
//   2. pps_carry_scan: exclusive scan of the chunk sums over c, in place (carry[c] = Σ_{c'<c});
//   3. pps_chunk_out: per chunk, num = Q_c·S_prev + tril(Q_c K_cᵀ)·V_c and
//      den = Q_c·(z_prev + eps) + rowsum(tril(Q_c K_cᵀ)), out = num / den.
// carry layout per (bh, chunk): M·E floats of S, then M floats of z (L = M·E + M).
typedef long long ll;
#define CH 64  // chunk rows
#define ET 64  // output columns per block
#define MT 48  // feature tile (M ≤ 48, e.g. 33, in one pass)

// grid (nC, ceil(E/ET), BH), block 256: thread (tx = tid&15, ty = tid>>4) owns features
// m0 + 3ty + {0,1,2} and columns e0 + tx + 16j, j < 4.
template <typename TT>
__device__ __forceinline__ void pps_chunk_sums_t(const TT *__restrict__ kf, const TT *__restrict__ v,
                                                 float *__restrict__ carry, int T, int M, int E, int nC) {
  __shared__ float Vs[CH * ET];
  __shared__ float Ks[CH * (MT + 1)];
  const int tid = threadIdx.x, tx = tid & 15, ty = tid >> 4;
  const int c = blockIdx.x, e0 = blockIdx.y * ET;
  const ll bh = blockIdx.z;
  const int t0 = c * CH;
  const int rows = T - t0 < CH ? T - t0 : CH;
  const TT *kb = kf + (bh * T + t0) * M;
  const TT *vb = v + (bh * T + t0) * E;
  const ll L = (ll)M * E + M;
  float *out = carry + (bh * nC + c) * L;
  for (int i = tid; i < CH * ET; i += 256) {
    int r = i / ET, col = i - r * ET;
    Vs[i] = (r < rows && e0 + col < E) ? tof(vb[(ll)r * E + e0 + col]) : 0.f;
  }
  for (int m0 = 0; m0 < M; m0 += MT) {
    __syncthreads();
    for (int i = tid; i < CH * MT; i += 256) {
      int r = i / MT, mm = i - r * MT;
      Ks[r * (MT + 1) + mm] = (r < rows && m0 + mm < M) ? tof(kb[(ll)r * M + m0 + mm]) : 0.f;
    }
    __syncthreads();
    float acc[3][4];
#pragma unroll
    for (int i = 0; i < 3; ++i)
#pragma unroll
      for (int j = 0; j < 4; ++j) acc[i][j] = 0.f;
    if (m0 + 3 * ty < M) {
      for (int r = 0; r < rows; ++r) {
        float k0 = Ks[r * (MT + 1) + 3 * ty], k1 = Ks[r * (MT + 1) + 3 * ty + 1], k2 = Ks[r * (MT + 1) + 3 * ty + 2];
#pragma unroll
        for (int j = 0; j < 4; ++j) {
          float vv = Vs[r * ET + tx + 16 * j];
          acc[0][j] = fmaf(k0, vv, acc[0][j]);
          acc[1][j] = fmaf(k1, vv, acc[1][j]);
          acc[2][j] = fmaf(k2, vv, acc[2][j]);
        }
      }
    }
#pragma unroll
    for (int i = 0; i < 3; ++i) {
      int m = m0 + 3 * ty + i;
#pragma unroll
      for (int j = 0; j < 4; ++j) {
        int e = e0 + tx + 16 * j;
        if (m < M && e < E) out[(ll)m * E + e] = acc[i][j];
      }
    }
    if (blockIdx.y == 0 && tid < MT && m0 + tid < M) {
      float s = 0.f;
      for (int r = 0; r < rows; ++r) s += Ks[r * (MT + 1) + tid];
      out[(ll)M * E + m0 + tid] = s;
    }
  }
}

#define PPS_CHUNK_SUMS(NAME, TT)                                                                                     \
  extern "C" __global__ void __launch_bounds__(256)                                                                  \
      NAME(const TT *__restrict__ kf, const TT *__restrict__ v, float *__restrict__ carry, int T, int M, int E, int nC) { \
    pps_chunk_sums_t(kf, v, carry, T, M, E, nC);                                                                     \
  }
PPS_CHUNK_SUMS(pps_chunk_sums, float)
PPS_CHUNK_SUMS(pps_chunk_sums_bf16, sea_bf16)
PPS_CHUNK_SUMS(pps_chunk_sums_f16, sea_f16)

// Exclusive scan over the nC chunks of each of the L carry values of each (b,h); total = BH·L.
// SCAN_U chunks a step: their values are loaded together (all in flight) before any is written back.
#define SCAN_U 16
extern "C" __global__ void pps_carry_scan(float *__restrict__ carry, ll L, int nC, ll total) {
  for (ll i = (ll)blockIdx.x * blockDim.x + threadIdx.x; i < total; i += (ll)gridDim.x * blockDim.x) {
    ll bh = i / L, x = i - bh * L;
    float *p = carry + bh * nC * L + x;
    double run = 0.0;
    int c = 0;
    for (; c + SCAN_U <= nC; c += SCAN_U) {
      float a[SCAN_U];
#pragma unroll
      for (int u = 0; u < SCAN_U; ++u) a[u] = p[(ll)(c + u) * L];
#pragma unroll
      for (int u = 0; u < SCAN_U; ++u) {
        p[(ll)(c + u) * L] = (float)run;
        run += a[u];
      }
    }
    for (; c < nC; ++c) {
      float a = p[(ll)c * L];
      p[(ll)c * L] = (float)run;
      run += a;
    }
  }
}

// grid (nC, ceil(E/ET), BH), block 256: thread (tx, ty) owns rows 4ty + i (i < 4) and columns
// e0 + tx + 16j (j < 4); for the chunk's A = tril(Q Kᵀ) its columns are keys tx + 16j.
template <typename TT>
__device__ __forceinline__ void pps_chunk_out_t(const TT *__restrict__ qf, const TT *__restrict__ kf,
                                                const TT *__restrict__ v, const float *__restrict__ carry,
                                                TT *__restrict__ out, int T, int M, int E, int nC, float eps) {
  // feature loop: Q, K tiles [CH][MT+1], S tile [MT][ET], z [MT]; afterwards A [CH][CH+1], V [CH][ET]
  __shared__ float sm[2 * CH * (MT + 1) + MT * ET + MT > CH * (CH + 1) + CH * ET ? 2 * CH * (MT + 1) + MT * ET + MT
                                                                                 : CH * (CH + 1) + CH * ET];
  float *Qs = sm;                   // [CH][MT+1]
  float *Ks = Qs + CH * (MT + 1);   // [CH][MT+1]
  float *Ss = Ks + CH * (MT + 1);   // [MT][ET]
  float *zs = Ss + MT * ET;         // [MT]
  float *As = sm;                   // [CH][CH+1] (after the feature loop)
  float *Vs = sm + CH * (CH + 1);   // [CH][ET]
  const int tid = threadIdx.x, tx = tid & 15, ty = tid >> 4;
  const int c = blockIdx.x, e0 = blockIdx.y * ET;
  const ll bh = blockIdx.z;
  const int t0 = c * CH;
  const int rows = T - t0 < CH ? T - t0 : CH;
  const TT *qb = qf + (bh * T + t0) * M;
  const TT *kb = kf + (bh * T + t0) * M;
  const TT *vb = v + (bh * T + t0) * E;
  const ll L = (ll)M * E + M;
  const float *cb = carry + (bh * nC + c) * L;
  float accA[4][4], accN[4][4], accD[4];
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    accD[i] = 0.f;
#pragma unroll
    for (int j = 0; j < 4; ++j) { accA[i][j] = 0.f; accN[i][j] = 0.f; }
  }
  for (int m0 = 0; m0 < M; m0 += MT) {
    const int mlen = M - m0 < MT ? M - m0 : MT;
    __syncthreads();
    for (int i = tid; i < CH * MT; i += 256) {
      int r = i / MT, mm = i - r * MT;
      bool ok = r < rows && mm < mlen;
      Qs[r * (MT + 1) + mm] = ok ? tof(qb[(ll)r * M + m0 + mm]) : 0.f;
      Ks[r * (MT + 1) + mm] = ok ? tof(kb[(ll)r * M + m0 + mm]) : 0.f;
    }
    for (int i = tid; i < MT * ET; i += 256) {
      int mm = i / ET, col = i - mm * ET;
      Ss[i] = (mm < mlen && e0 + col < E) ? cb[(ll)(m0 + mm) * E + e0 + col] : 0.f;
    }
    if (tid < MT) zs[tid] = tid < mlen ? cb[(ll)M * E + m0 + tid] : 0.f;
    __syncthreads();
    for (int mm = 0; mm < mlen; ++mm) {
      float q[4], kk[4], s[4];
#pragma unroll
      for (int i = 0; i < 4; ++i) q[i] = Qs[(4 * ty + i) * (MT + 1) + mm];
#pragma unroll
      for (int j = 0; j < 4; ++j) {
        kk[j] = Ks[(tx + 16 * j) * (MT + 1) + mm];
        s[j] = Ss[mm * ET + tx + 16 * j];
      }
      const float zz = zs[mm] + eps;
#pragma unroll
      for (int i = 0; i < 4; ++i) {
        accD[i] = fmaf(q[i], zz, accD[i]);
#pragma unroll
        for (int j = 0; j < 4; ++j) {
          accA[i][j] = fmaf(q[i], kk[j], accA[i][j]);
          accN[i][j] = fmaf(q[i], s[j], accN[i][j]);
        }
      }
    }
  }
  __syncthreads();
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    int r = 4 * ty + i;
#pragma unroll
    for (int j = 0; j < 4; ++j) {
      int cc = tx + 16 * j;
      As[r * (CH + 1) + cc] = cc <= r ? accA[i][j] : 0.f;
    }
  }
  for (int i = tid; i < CH * ET; i += 256) {
    int r = i / ET, col = i - r * ET;
    Vs[i] = (r < rows && e0 + col < E) ? tof(vb[(ll)r * E + e0 + col]) : 0.f;
  }
  __syncthreads();
  float den[4];
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    float d = accD[i];
    for (int cc = 0; cc <= 4 * ty + i; ++cc) d += As[(4 * ty + i) * (CH + 1) + cc];
    den[i] = d;
  }
  const int last = 4 * ty + 3 < rows - 1 ? 4 * ty + 3 : rows - 1;
  for (int cc = 0; cc <= last; ++cc) {
    float a[4];
#pragma unroll
    for (int i = 0; i < 4; ++i) a[i] = As[(4 * ty + i) * (CH + 1) + cc];
#pragma unroll
    for (int j = 0; j < 4; ++j) {
      float vv = Vs[cc * ET + tx + 16 * j];
#pragma unroll
      for (int i = 0; i < 4; ++i) accN[i][j] = fmaf(a[i], vv, accN[i][j]);
    }
  }
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    int r = 4 * ty + i;
    if (r >= rows) continue;
#pragma unroll
    for (int j = 0; j < 4; ++j) {
      int e = e0 + tx + 16 * j;
      if (e < E) out[(bh * T + t0 + r) * E + e] = fromf<TT>(accN[i][j] / den[i]);
    }
  }
}
#define PPS_CHUNK_OUT(NAME, TT)                                                                                      \
  extern "C" __global__ void __launch_bounds__(256)                                                                  \
      NAME(const TT *__restrict__ qf, const TT *__restrict__ kf, const TT *__restrict__ v,                           \
           const float *__restrict__ carry, TT *__restrict__ out, int T, int M, int E, int nC, float eps) {         \
    pps_chunk_out_t(qf, kf, v, carry, out, T, M, E, nC, eps);                                                        \
  }
PPS_CHUNK_OUT(pps_chunk_out, float)
PPS_CHUNK_OUT(pps_chunk_out_bf16, sea_bf16)
PPS_CHUNK_OUT(pps_chunk_out_f16, sea_f16)

// pps_chunk_out for 64 < E ≤ 128 in one block per chunk (grid (nC, 1, BH)), so tril(Q_c K_cᵀ) is made
// once rather than once per 64 columns: thread (tx, ty) owns rows 4ty + i and columns tx + 16j (j < 8;
// A's columns, keys tx + 16j, j < 4); features MT2 at a time; the V tile in two halves of 64 columns.
// Every output sums the same terms in the same order as pps_chunk_out.
#define MT2 36
template <typename TT>
__device__ __forceinline__ void pps_chunk_out_e128_t(const TT *__restrict__ qf, const TT *__restrict__ kf,
                                                     const TT *__restrict__ v, const float *__restrict__ carry,
                                                     TT *__restrict__ out, int T, int M, int E, int nC, float eps) {
  // feature loop: Q, K tiles [CH][MT2+1], S tile [MT2][2·ET], z [MT2]; afterwards A [CH][CH+1], V [CH][ET]
  __shared__ float sm[2 * CH * (MT2 + 1) + MT2 * 2 * ET + MT2 > CH * (CH + 1) + CH * ET
                          ? 2 * CH * (MT2 + 1) + MT2 * 2 * ET + MT2
                          : CH * (CH + 1) + CH * ET];
  float *Qs = sm;                     // [CH][MT2+1]
  float *Ks = Qs + CH * (MT2 + 1);    // [CH][MT2+1]
  float *Ss = Ks + CH * (MT2 + 1);    // [MT2][2·ET]
  float *zs = Ss + MT2 * 2 * ET;      // [MT2]
  float *As = sm;                     // [CH][CH+1] (after the feature loop)
  float *Vs = sm + CH * (CH + 1);     // [CH][ET]: one half of the columns at a time
  const int tid = threadIdx.x, tx = tid & 15, ty = tid >> 4;
  const int c = blockIdx.x;
  const ll bh = blockIdx.z;
  const int t0 = c * CH;
  const int rows = T - t0 < CH ? T - t0 : CH;
  const TT *qb = qf + (bh * T + t0) * M;
  const TT *kb = kf + (bh * T + t0) * M;
  const TT *vb = v + (bh * T + t0) * E;
  const ll L = (ll)M * E + M;
  const float *cb = carry + (bh * nC + c) * L;
  float accA[4][4], accN[4][8], accD[4];
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    accD[i] = 0.f;
#pragma unroll
    for (int j = 0; j < 4; ++j) accA[i][j] = 0.f;
#pragma unroll
    for (int j = 0; j < 8; ++j) accN[i][j] = 0.f;
  }
  for (int m0 = 0; m0 < M; m0 += MT2) {
    const int mlen = M - m0 < MT2 ? M - m0 : MT2;
    __syncthreads();
    for (int i = tid; i < CH * MT2; i += 256) {
      int r = i / MT2, mm = i - r * MT2;
      bool ok = r < rows && mm < mlen;
      Qs[r * (MT2 + 1) + mm] = ok ? tof(qb[(ll)r * M + m0 + mm]) : 0.f;
      Ks[r * (MT2 + 1) + mm] = ok ? tof(kb[(ll)r * M + m0 + mm]) : 0.f;
    }
    for (int i = tid; i < MT2 * 2 * ET; i += 256) {
      int mm = i / (2 * ET), col = i - mm * (2 * ET);
      Ss[i] = (mm < mlen && col < E) ? cb[(ll)(m0 + mm) * E + col] : 0.f;
    }
    if (tid < MT2) zs[tid] = tid < mlen ? cb[(ll)M * E + m0 + tid] : 0.f;
    __syncthreads();
    for (int mm = 0; mm < mlen; ++mm) {
      float q[4], kk[4], sv[8];
#pragma unroll
      for (int i = 0; i < 4; ++i) q[i] = Qs[(4 * ty + i) * (MT2 + 1) + mm];
#pragma unroll
      for (int j = 0; j < 4; ++j) kk[j] = Ks[(tx + 16 * j) * (MT2 + 1) + mm];
#pragma unroll
      for (int j = 0; j < 8; ++j) sv[j] = Ss[mm * 2 * ET + tx + 16 * j];
      const float zz = zs[mm] + eps;
#pragma unroll
      for (int i = 0; i < 4; ++i) {
        accD[i] = fmaf(q[i], zz, accD[i]);
#pragma unroll
        for (int j = 0; j < 4; ++j) accA[i][j] = fmaf(q[i], kk[j], accA[i][j]);
#pragma unroll
        for (int j = 0; j < 8; ++j) accN[i][j] = fmaf(q[i], sv[j], accN[i][j]);
      }
    }
  }
  __syncthreads();
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    int r = 4 * ty + i;
#pragma unroll
    for (int j = 0; j < 4; ++j) {
      int cc = tx + 16 * j;
      As[r * (CH + 1) + cc] = cc <= r ? accA[i][j] : 0.f;
    }
  }
  __syncthreads();
  float den[4];
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    float d = accD[i];
    for (int cc = 0; cc <= 4 * ty + i; ++cc) d += As[(4 * ty + i) * (CH + 1) + cc];
    den[i] = d;
  }
  const int last = 4 * ty + 3 < rows - 1 ? 4 * ty + 3 : rows - 1;
#pragma unroll
  for (int hv = 0; hv < 2; ++hv) {
    if (hv) __syncthreads();  // every thread is done with the first half's V
    for (int i = tid; i < CH * ET; i += 256) {
      int r = i / ET, col = i - r * ET;
      Vs[i] = (r < rows && hv * ET + col < E) ? tof(vb[(ll)r * E + hv * ET + col]) : 0.f;
    }
    __syncthreads();
    for (int cc = 0; cc <= last; ++cc) {
      float a[4];
#pragma unroll
      for (int i = 0; i < 4; ++i) a[i] = As[(4 * ty + i) * (CH + 1) + cc];
#pragma unroll
      for (int j = 0; j < 4; ++j) {
        float vv = Vs[cc * ET + tx + 16 * j];
#pragma unroll
        for (int i = 0; i < 4; ++i) accN[i][4 * hv + j] = fmaf(a[i], vv, accN[i][4 * hv + j]);
      }
    }
  }
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    int r = 4 * ty + i;
    if (r >= rows) continue;
#pragma unroll
    for (int j = 0; j < 8; ++j) {
      int e = tx + 16 * j;
      if (e < E) out[(bh * T + t0 + r) * E + e] = fromf<TT>(accN[i][j] / den[i]);
    }
  }
}
#define PPS_CHUNK_OUT_E128(NAME, TT)                                                                                 \
  extern "C" __global__ void __launch_bounds__(256, 3)                                                                  \
      NAME(const TT *__restrict__ qf, const TT *__restrict__ kf, const TT *__restrict__ v,                           \
           const float *__restrict__ carry, TT *__restrict__ out, int T, int M, int E, int nC, float eps) {         \
    pps_chunk_out_e128_t(qf, kf, v, carry, out, T, M, E, nC, eps);                                                   \
  }
PPS_CHUNK_OUT_E128(pps_chunk_out_e128, float)
PPS_CHUNK_OUT_E128(pps_chunk_out_e128_bf16, sea_bf16)
PPS_CHUNK_OUT_E128(pps_chunk_out_e128_f16, sea_f16)

// The causal C_avg and the s_mix blend, heads merged (spec §7.5–§7.6):
// out[b, t, h·E + e] = s·local[b,h,t,e] + (1 − s)·(Σ_{j≤t} v[b,h,j,e])/(t + 1), s = sMix[b,h,t].
// One thread per (b·h, chunk of Lc rows, e), neighbouring threads on neighbouring e:
//   1. rmm_chunk_sums: sums[bh, c, e] = Σ of v over chunk c (float), when there is more than one chunk;
//   2. rmm_apply: the sums of the chunks before c, then the walk over chunk c's rows writing the blend.
template <typename T>
__device__ __forceinline__ void rmmChunkSums(const T *__restrict__ v, float *__restrict__ sums, int BH, int T_,
                                             int E, int Lc, int nC) {
  const ll i = (ll)blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= (ll)BH * nC * E) return;
  const int e = (int)(i % E);
  const ll r = i / E;
  const int c = (int)(r % nC), bh = (int)(r / nC);
  const int t0 = c * Lc, t1 = min(t0 + Lc, T_);
  const T *p = v + ((ll)bh * T_ + t0) * E + e;
  float acc = 0.f;
#pragma unroll 8
  for (int t = t0; t < t1; ++t, p += E) acc += tof(*p);
  sums[i] = acc;
}

template <typename T>
__device__ __forceinline__ void rmmApply(const T *__restrict__ local, const T *__restrict__ v,
                                         const T *__restrict__ sMix, const float *__restrict__ sums,
                                         T *__restrict__ out, int BH, int H, int T_, int E, int Lc, int nC) {
  const ll i = (ll)blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= (ll)BH * nC * E) return;
  const int e = (int)(i % E);
  const ll r = i / E;
  const int c = (int)(r % nC), bh = (int)(r / nC);
  const int b = bh / H, h = bh - b * H;
  float acc = 0.f;
  for (int p = 0; p < c; ++p) acc += sums[((ll)bh * nC + p) * E + e];
  const int t0 = c * Lc, t1 = min(t0 + Lc, T_);
  const ll HE = (ll)H * E;
#pragma unroll 4
  for (int t = t0; t < t1; ++t) {
    const ll at = ((ll)bh * T_ + t) * E + e;
    acc += tof(v[at]);
    const float s = tof(sMix[(ll)bh * T_ + t]);
    out[((ll)b * T_ + t) * HE + (ll)h * E + e] = fromf<T>(s * tof(local[at]) + (1.f - s) * (acc / (float)(t + 1)));
  }
}

#define RMM(SFX, TT)                                                                                                \
  extern "C" __global__ void __launch_bounds__(256) rmm_chunk_sums##SFX(const TT *__restrict__ v,                  \
                                                                          float *__restrict__ sums, int BH, int T_, \
                                                                          int E, int Lc, int nC) {                  \
    rmmChunkSums<TT>(v, sums, BH, T_, E, Lc, nC);                                                                   \
  }                                                                                                                 \
  extern "C" __global__ void __launch_bounds__(256)                                                                 \
      rmm_apply##SFX(const TT *__restrict__ local, const TT *__restrict__ v, const TT *__restrict__ sMix,          \
                     const float *__restrict__ sums, TT *__restrict__ out, int BH, int H, int T_, int E, int Lc,   \
                     int nC) {                                                                                      \
    rmmApply<TT>(local, v, sMix, sums, out, BH, H, T_, E, Lc, nC);                                                  \
  }
RMM(, float)
RMM(_bf16, sea_bf16)
RMM(_f16, sea_f16)
