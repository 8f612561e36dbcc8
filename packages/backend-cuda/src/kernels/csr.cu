// FlatCSR routines (spec §6, §7): stretch a compressed mask to CSR (count → scan → fill), SDDMM,
// per-row per-head softmax, SpMM. One warp per query row throughout. Self-contained for NVRTC.
typedef long long ll;

// Cell boundary a_c = ⌊c·L/Kc + ½⌋ in exact integer arithmetic.
__device__ __forceinline__ int bound(int c, int L, int Kc) { return (int)((2LL * c * L + Kc) / (2LL * Kc)); }

__device__ __forceinline__ int cellCount(const unsigned char *mrow, int cell, int L, int Kc, int k) {
  if (!mrow[cell]) return 0;
  int c = cell % Kc;
  int w = bound(c + 1, L, Kc) - bound(c, L, Kc);
  return w < k ? w : k;
}

// Writes the n = min(w, k) column indices of a selected cell ending at key e (exclusive) of head base
// cb, the first `lim` of them (a caller's capacity): uncapped, e−1, e−2, …; capped (w > k),
// e − 1 − ⌊i·w/k⌋ for i < k, stepped without a division per entry (⌊i·w/k⌋ = i·⌊w/k⌋ + ⌊i·(w mod k)/k⌋,
// the second term advanced by carries).
__device__ __forceinline__ void writeCell(int *__restrict__ out, int cb, int e, int w, int k, ll lim) {
  if (w <= k) {
    for (int i = 0; i < w && i < lim; ++i) out[i] = cb + e - 1 - i;
    return;
  }
  const int qd = w / k, r = w - qd * k;
  int j = 0, rem = 0;
  for (int i = 0; i < k && i < lim; ++i) {
    out[i] = cb + e - 1 - j;
    j += qd;
    rem += r;
    if (rem >= k) {
      rem -= k;
      ++j;
    }
  }
}

// counts[b, t] = entries of row t: Σ over selected cells of min(width, k).
extern "C" __global__ void stretch_count(const unsigned char *__restrict__ mask, const int *__restrict__ rowLen,
                                         int *__restrict__ counts, ll rows, int H, int Kc, int k, int keys) {
  int lane = threadIdx.x & 31;
  ll row = ((ll)blockIdx.x * blockDim.x + threadIdx.x) >> 5;
  if (row >= rows) return;
  int L = rowLen[row];
  L = L < keys ? L : keys;
  int total = 0;
  if (L > 0) {
    const unsigned char *m = mask + row * H * Kc;
    for (int cell = lane; cell < H * Kc; cell += 32) total += cellCount(m, cell, L, Kc, k);
    for (int off = 16; off > 0; off >>= 1) total += __shfl_xor_sync(0xffffffffu, total, off);
  }
  if (lane == 0) counts[row] = total;
}

// crow[b, 0] = 0, crow[b, t+1] = crow[b, t] + counts[b, t]; totals[b] = crow[b, T]. One block (1024) per b,
// SCAN_IT consecutive rows a thread (a pass covers 1024·SCAN_IT rows with one block-wide scan).
#define SCAN_IT 8
extern "C" __global__ void __launch_bounds__(1024) stretch_scan(const int *__restrict__ counts, int *__restrict__ crow,
                                                                int *__restrict__ totals, int T) {
  __shared__ int warpSums[32];
  __shared__ int carry;
  const int b = blockIdx.x, lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const int *c = counts + (ll)b * T;
  int *cr = crow + (ll)b * (T + 1);
  if (threadIdx.x == 0) { carry = 0; cr[0] = 0; }
  __syncthreads();
  for (int t0 = 0; t0 < T; t0 += 1024 * SCAN_IT) {
    const int tb = t0 + threadIdx.x * SCAN_IT;
    int v[SCAN_IT];
    int own = 0;
#pragma unroll
    for (int j = 0; j < SCAN_IT; ++j) {
      v[j] = tb + j < T ? c[tb + j] : 0;
      own += v[j];
    }
    int x = own;
    for (int off = 1; off < 32; off <<= 1) {
      int y = __shfl_up_sync(0xffffffffu, x, off);
      if (lane >= off) x += y;
    }
    if (lane == 31) warpSums[warp] = x;
    __syncthreads();
    if (warp == 0) {
      int w = warpSums[lane];
      for (int off = 1; off < 32; off <<= 1) {
        int y = __shfl_up_sync(0xffffffffu, w, off);
        if (lane >= off) w += y;
      }
      warpSums[lane] = w;  // inclusive over warps
    }
    __syncthreads();
    int run = carry + x - own + (warp > 0 ? warpSums[warp - 1] : 0);
#pragma unroll
    for (int j = 0; j < SCAN_IT; ++j) {
      run += v[j];
      if (tb + j < T) cr[tb + j + 1] = run;
    }
    __syncthreads();
    if (threadIdx.x == 1023) carry = run;
    __syncthreads();
  }
  if (threadIdx.x == 0) totals[b] = carry;
}

// Writes the column indices of row t at col[b, crow[b,t] ...]: heads ascending, cells ascending,
// keys descending; a capped cell of width w takes n = k keys j_i = end − 1 − ⌊i·w/n⌋.
extern "C" __global__ void stretch_fill(const unsigned char *__restrict__ mask, const int *__restrict__ rowLen,
                                        const int *__restrict__ crow, int *__restrict__ col, int B, int T, int H, int Kc,
                                        int k, int keys, ll Z) {
  int lane = threadIdx.x & 31;
  ll row = ((ll)blockIdx.x * blockDim.x + threadIdx.x) >> 5;
  if (row >= (ll)B * T) return;
  int b = (int)(row / T), t = (int)(row - (ll)b * T);
  int L = rowLen[row];
  L = L < keys ? L : keys;
  if (L <= 0) return;
  const unsigned char *m = mask + row * H * Kc;
  const int start = crow[(ll)b * (T + 1) + t];
  int *out = col + (ll)b * Z + start;
  const ll room = Z - start;  // a caller's capacity: no entry is written past it
  int base = 0;
  for (int c0 = 0; c0 < H * Kc; c0 += 32) {
    int cell = c0 + lane;
    int n = cell < H * Kc ? cellCount(m, cell, L, Kc, k) : 0;
    int x = n;
    for (int off = 1; off < 32; off <<= 1) {
      int y = __shfl_up_sync(0xffffffffu, x, off);
      if (lane >= off) x += y;
    }
    int excl = base + x - n;
    if (n > 0) {
      int h = cell / Kc, c = cell - h * Kc;
      int a = bound(c, L, Kc), e = bound(c + 1, L, Kc);
      int w = e - a;
      writeCell(out + excl, h * keys, e, w, k, room - excl);
    }
    base += __shfl_sync(0xffffffffu, x, 31);
  }
}

// The same two passes reading the mask 16 cells (one uint4) per lane, for H·Kc % 16 == 0: a row of
// 3072 cells is 6 loads per lane instead of 96 byte loads per warp. Same counts, same columns.
__device__ __forceinline__ int cells16Count(uint4 w, int cell0, int L, int Kc, int k) {
  int n = 0;
  const unsigned ws[4] = {w.x, w.y, w.z, w.w};
#pragma unroll
  for (int a = 0; a < 4; ++a) {
    if (!ws[a]) continue;
#pragma unroll
    for (int bb = 0; bb < 4; ++bb) {
      if ((ws[a] >> (8 * bb)) & 0xffu) {
        int c = (cell0 + 4 * a + bb) % Kc;
        int wd = bound(c + 1, L, Kc) - bound(c, L, Kc);
        n += wd < k ? wd : k;
      }
    }
  }
  return n;
}

extern "C" __global__ void stretch_count16(const unsigned char *__restrict__ mask, const int *__restrict__ rowLen,
                                           int *__restrict__ counts, ll rows, int H, int Kc, int k, int keys) {
  int lane = threadIdx.x & 31;
  ll row = ((ll)blockIdx.x * blockDim.x + threadIdx.x) >> 5;
  if (row >= rows) return;
  int L = rowLen[row];
  L = L < keys ? L : keys;
  int total = 0;
  if (L > 0) {
    const uint4 *m = (const uint4 *)(mask + row * H * Kc);
    const int n16 = (H * Kc) >> 4;
    for (int i = lane; i < n16; i += 32) {
      uint4 w = m[i];
      if (w.x | w.y | w.z | w.w) total += cells16Count(w, 16 * i, L, Kc, k);
    }
    for (int off = 16; off > 0; off >>= 1) total += __shfl_xor_sync(0xffffffffu, total, off);
  }
  if (lane == 0) counts[row] = total;
}

extern "C" __global__ void stretch_fill16(const unsigned char *__restrict__ mask, const int *__restrict__ rowLen,
                                          const int *__restrict__ crow, int *__restrict__ col, int B, int T, int H, int Kc,
                                          int k, int keys, ll Z) {
  int lane = threadIdx.x & 31;
  ll row = ((ll)blockIdx.x * blockDim.x + threadIdx.x) >> 5;
  if (row >= (ll)B * T) return;
  int b = (int)(row / T), t = (int)(row - (ll)b * T);
  int L = rowLen[row];
  L = L < keys ? L : keys;
  if (L <= 0) return;
  const uint4 *m = (const uint4 *)(mask + row * H * Kc);
  const int start = crow[(ll)b * (T + 1) + t];
  int *out = col + (ll)b * Z + start;
  const ll room = Z - start;  // a caller's capacity: no entry is written past it
  const int n16 = (H * Kc) >> 4;
  int base = 0;
  for (int i0 = 0; i0 < n16; i0 += 32) {
    const int i = i0 + lane;
    uint4 w = i < n16 ? m[i] : make_uint4(0u, 0u, 0u, 0u);
    const bool any = (w.x | w.y | w.z | w.w) != 0;
    if (!__any_sync(0xffffffffu, any)) continue;
    int n = any ? cells16Count(w, 16 * i, L, Kc, k) : 0;
    int x = n;
    for (int off = 1; off < 32; off <<= 1) {
      int y = __shfl_up_sync(0xffffffffu, x, off);
      if (lane >= off) x += y;
    }
    int at = base + x - n;
    if (n > 0) {
      for (int a = 0; a < 16; ++a) {
        const unsigned word = a < 4 ? w.x : a < 8 ? w.y : a < 12 ? w.z : w.w;
        if (!((word >> (8 * (a & 3))) & 0xffu)) continue;
        int cell = 16 * i + a;
        int h = cell / Kc, c = cell - h * Kc;
        int s0 = bound(c, L, Kc), e = bound(c + 1, L, Kc);
        int wd = e - s0;
        int cnt = wd < k ? wd : k;
        writeCell(out + at, h * keys, e, wd, k, room - at);
        at += cnt;
      }
    }
    base += __shfl_sync(0xffffffffu, x, 31);
  }
}

// val[b, z] = scale · q[b,h,t]·k[b,h,j] for entry z of row t, column c = h·Tk + j. Tails stay as they are (0).
extern "C" __global__ void csr_sddmm(const int *__restrict__ crow, const int *__restrict__ col, const float *__restrict__ q,
                                     const float *__restrict__ kk, float *__restrict__ val, int B, int H, int Tq, int Tk, int D,
                                     ll Z, float scale) {
  int lane = threadIdx.x & 31;
  ll row = ((ll)blockIdx.x * blockDim.x + threadIdx.x) >> 5;
  if (row >= (ll)B * Tq) return;
  int b = (int)(row / Tq), t = (int)(row - (ll)b * Tq);
  const int *cr = crow + (ll)b * (Tq + 1);
  int z0 = cr[t], z1 = cr[t + 1];
  const int *cl = col + (ll)b * Z;
  float *vo = val + (ll)b * Z;
  bool vec = (D & 3) == 0;
  for (int z = z0 + lane; z < z1; z += 32) {
    int c = cl[z];
    int h = c / Tk, j = c - h * Tk;
    const float *qr = q + (((ll)b * H + h) * Tq + t) * D;
    const float *kr = kk + (((ll)b * H + h) * Tk + j) * D;
    float acc = 0.f;
    if (vec) {
      const float4 *q4 = (const float4 *)qr, *k4 = (const float4 *)kr;
      for (int d = 0; d < (D >> 2); ++d) {
        float4 a = q4[d], bb = k4[d];
        acc = fmaf(a.x, bb.x, acc);
        acc = fmaf(a.y, bb.y, acc);
        acc = fmaf(a.z, bb.z, acc);
        acc = fmaf(a.w, bb.w, acc);
      }
    } else {
      for (int d = 0; d < D; ++d) acc = fmaf(qr[d], kr[d], acc);
    }
    vo[z] = acc * scale;
  }
}

__device__ __forceinline__ void atomicMaxF(float *a, float v) {
  if (v == 0.f) v = 0.f;  // −0 → +0 so the integer orderings below hold
  if (v >= 0.f) atomicMax((int *)a, __float_as_int(v));
  else atomicMin((unsigned *)a, __float_as_uint(v));
}

// Per-row, per-head softmax of val [B, Z], times rowScale [B, H, Tq] when given (hasScale).
// Dynamic shared memory: 2·H floats per warp.
extern "C" __global__ void csr_softmax(const int *__restrict__ crow, const int *__restrict__ col, const float *__restrict__ val,
                                       const float *__restrict__ rowScale, float *__restrict__ out, int B, int H, int Tq, int Tk,
                                       ll Z, int hasScale) {
  extern __shared__ float sh[];
  int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  ll row = ((ll)blockIdx.x * blockDim.x + threadIdx.x) >> 5;
  float *mx = sh + warp * 2 * H, *sm = mx + H;
  for (int h = lane; h < H; h += 32) { mx[h] = __int_as_float(0xff800000); sm[h] = 0.f; }
  __syncwarp();
  if (row >= (ll)B * Tq) return;
  int b = (int)(row / Tq), t = (int)(row - (ll)b * Tq);
  const int *cr = crow + (ll)b * (Tq + 1);
  int z0 = cr[t], z1 = cr[t + 1];
  const int *cl = col + (ll)b * Z;
  const float *vi = val + (ll)b * Z;
  float *vo = out + (ll)b * Z;
  for (int z = z0 + lane; z < z1; z += 32) atomicMaxF(&mx[cl[z] / Tk], vi[z]);
  __syncwarp();
  for (int z = z0 + lane; z < z1; z += 32) {
    int h = cl[z] / Tk;
    atomicAdd(&sm[h], expf(vi[z] - mx[h]));
  }
  __syncwarp();
  for (int h = lane; h < H; h += 32) {
    float s = hasScale ? rowScale[((ll)b * H + h) * Tq + t] : 1.f;
    sm[h] = sm[h] > 0.f ? s / sm[h] : 0.f;
  }
  __syncwarp();
  for (int z = z0 + lane; z < z1; z += 32) {
    int h = cl[z] / Tk;
    vo[z] = expf(vi[z] - mx[h]) * sm[h];
  }
}

#define DMAX_LANE 8
// out[b,h,t,:] = Σ_{entries z of row t in head h} val[b,z]·v[b,h,j,:]; out zeroed beforehand. D ≤ 256.
extern "C" __global__ void csr_spmm(const int *__restrict__ crow, const int *__restrict__ col, const float *__restrict__ val,
                                    const float *__restrict__ v, float *__restrict__ out, int B, int H, int Tq, int Tk, int D,
                                    ll Z) {
  int lane = threadIdx.x & 31;
  ll row = ((ll)blockIdx.x * blockDim.x + threadIdx.x) >> 5;
  if (row >= (ll)B * Tq) return;
  int b = (int)(row / Tq), t = (int)(row - (ll)b * Tq);
  const int *cr = crow + (ll)b * (Tq + 1);
  int z0 = cr[t], z1 = cr[t + 1];
  const int *cl = col + (ll)b * Z;
  const float *pv = val + (ll)b * Z;
  float acc[DMAX_LANE];
#pragma unroll
  for (int r = 0; r < DMAX_LANE; ++r) acc[r] = 0.f;
  int curH = -1;
  for (int c0 = z0; c0 < z1; c0 += 32) {
    int z = c0 + lane;
    int myC = z < z1 ? cl[z] : 0;
    float myP = z < z1 ? pv[z] : 0.f;
    int cnt = z1 - c0 < 32 ? z1 - c0 : 32;
    for (int i = 0; i < cnt; ++i) {
      int c = __shfl_sync(0xffffffffu, myC, i);
      float p = __shfl_sync(0xffffffffu, myP, i);
      int h = c / Tk, j = c - h * Tk;
      if (h != curH) {
        if (curH >= 0) {
          float *o = out + (((ll)b * H + curH) * Tq + t) * D;
#pragma unroll
          for (int r = 0; r < DMAX_LANE; ++r) {
            int d = lane + 32 * r;
            if (d < D) o[d] += acc[r];
            acc[r] = 0.f;
          }
        }
        curH = h;
      }
      const float *vr = v + (((ll)b * H + h) * Tk + j) * D;
#pragma unroll
      for (int r = 0; r < DMAX_LANE; ++r) {
        int d = lane + 32 * r;
        if (d < D) acc[r] = fmaf(p, vr[d], acc[r]);
      }
    }
  }
  if (curH >= 0) {
    float *o = out + (((ll)b * H + curH) * Tq + t) * D;
#pragma unroll
    for (int r = 0; r < DMAX_LANE; ++r) {
      int d = lane + 32 * r;
      if (d < D) o[d] += acc[r];
    }
  }
}

// First z in [lo, hi) with col[z] ≥ target (col ascending over the range), found by the whole warp:
// 32 samples per step, so a row of n entries takes ⌈log32 n⌉ steps. Warp-uniform result.
__device__ __forceinline__ int warpLowerBound(const int *__restrict__ col, int lo, int hi, int target, int lane) {
  while (hi - lo > 32) {
    int step = (hi - lo + 31) >> 5;
    int pos = lo + lane * step;
    bool ge = pos >= hi || col[pos] >= target;
    unsigned m = __ballot_sync(0xffffffffu, ge);
    int first = m ? __ffs(m) - 1 : 32;  // the answer lies in (lo + (first−1)·step, lo + first·step]
    int nlo = first == 0 ? lo : lo + (first - 1) * step + 1;
    int nhi = lo + first * step;
    hi = nhi < hi ? nhi : hi;
    lo = nlo;
  }
  int pos = lo + lane;
  bool ge = pos >= hi || col[pos] >= target;
  unsigned m = __ballot_sync(0xffffffffu, ge);
  return m ? lo + __ffs(m) - 1 : hi;
}

// The q row of one (row, head) as this lane's float4s, pre-scaled: lane part p holds float4s p, p+8,
// p+16, … (QU of them: D ≤ 32·QU). Shared by the CSR and the cell-mask attention.
template <typename T, int QU>
__device__ __forceinline__ void loadQRow(float4 (&qr)[QU], const T *__restrict__ qrow, int part, int D4, float scale) {
#pragma unroll
  for (int u = 0; u < QU; ++u) {
    float4 x = make_float4(0.f, 0.f, 0.f, 0.f);
    if (part + 8 * u < D4) {
      x = ld4(qrow + 4 * (part + 8 * u));
      x.x *= scale; x.y *= scale; x.z *= scale; x.w *= scale;
    }
    qr[u] = x;
  }
}

// One warp's attention over the entries zs … ze−1 of its (row, head), the key of entry z being
// keyOf(z) (called for z < ze only): the scores in rounds of 4 entries, the online softmax over chunks
// of 32 entries, the sum over entries and the output row (scaled by rowScale when hasScale). Shared by
// the CSR attention (keys read from the column array) and the cell-mask attention (keys made from the
// selected cells), so both attend in the same order with the same arithmetic.
template <typename T, int PV, int QU, int RB, typename KeyOf>
__device__ __forceinline__ void attendEntries(const float4 (&qr)[QU], const T *__restrict__ kb,
                                              const T *__restrict__ vb, int zs, int ze, const KeyOf &keyOf,
                                              const T *__restrict__ rowScale, int hasScale, T *__restrict__ out,
                                              ll bh, int Tq, int t, int D, int E) {
  const unsigned full = 0xffffffffu;
  const int lane = threadIdx.x & 31;
  const int D4 = D >> 2;
  const int part = lane & 7, slot = lane >> 3;
  float m = __int_as_float(0xff800000);  // running max (warp-uniform)
  float l = 0.f;                          // this lane's part of the running sum
  // PV = 2: lane owns E columns 2·lane (+1) and 64 + 2·lane (+1); PV = 4: half-warp lane hl owns
  // 4·hl … 4·hl+3 and 64 + 4·hl …
  const int hl = PV == 4 ? (lane & 15) : lane, half = PV == 4 ? lane >> 4 : 0;
  const int e0 = PV * hl, e1 = 64 + PV * hl;
  const bool has0 = e0 < E, has1 = e1 < E;
  float4 acc0 = make_float4(0.f, 0.f, 0.f, 0.f), acc1 = make_float4(0.f, 0.f, 0.f, 0.f);
  for (int c0 = zs; c0 < ze; c0 += 32) {
    const int z = c0 + lane;
    const bool live = z < ze;
    const int cnt = ze - c0 < 32 ? ze - c0 : 32;
    const int j = live ? keyOf(z) : 0;
    float s = __int_as_float(0xff800000);
    // rounds of 4 entries, RB rounds per batch with all their key loads issued before any use
    for (int r0 = 0; 4 * r0 < cnt; r0 += RB) {
      float4 y[RB][QU];
#pragma unroll
      for (int rr = 0; rr < RB; ++rr) {
        const int e = 4 * (r0 + rr) + slot;
        const int je = __shfl_sync(full, j, e & 31);
        const T *krow = kb + (ll)je * D;
#pragma unroll
        for (int u = 0; u < QU; ++u)
          y[rr][u] = (e < cnt && part + 8 * u < D4) ? ld4(krow + 4 * (part + 8 * u)) : make_float4(0.f, 0.f, 0.f, 0.f);
      }
#pragma unroll
      for (int rr = 0; rr < RB; ++rr) {
        float a = 0.f;
#pragma unroll
        for (int u = 0; u < QU; ++u) {
          const float4 x = qr[u], w = y[rr][u];
          a = fmaf(x.x, w.x, a); a = fmaf(x.y, w.y, a); a = fmaf(x.z, w.z, a); a = fmaf(x.w, w.w, a);
        }
        a += __shfl_xor_sync(full, a, 1);
        a += __shfl_xor_sync(full, a, 2);
        a += __shfl_xor_sync(full, a, 4);
        const float got = __shfl_sync(full, a, (lane & 3) * 8);
        if ((lane >> 2) == r0 + rr) s = got;
      }
    }
    if (!live) s = __int_as_float(0xff800000);
    float cm = s;
    for (int off = 16; off > 0; off >>= 1) cm = fmaxf(cm, __shfl_xor_sync(full, cm, off));
    const float mn = fmaxf(m, cm);
    const float f = expf(m - mn);  // 0 on the first chunk (m = −∞)
    m = mn;
    const float p = live ? expf(s - mn) : 0.f;
    l = l * f + p;
    acc0.x *= f; acc0.y *= f; acc0.z *= f; acc0.w *= f;
    acc1.x *= f; acc1.y *= f; acc1.z *= f; acc1.w *= f;
    if (PV == 2) {
#pragma unroll 8
      for (int i = 0; i < cnt; ++i) {
        const int ji = __shfl_sync(full, j, i);
        const float pi = __shfl_sync(full, p, i);
        const T *vr = vb + (ll)ji * E;
        if (has0) {
          float2 w = ld2(vr + e0);
          acc0.x = fmaf(pi, w.x, acc0.x); acc0.y = fmaf(pi, w.y, acc0.y);
        }
        if (has1) {
          float2 w = ld2(vr + e1);
          acc1.x = fmaf(pi, w.x, acc1.x); acc1.y = fmaf(pi, w.y, acc1.y);
        }
      }
    } else {
#pragma unroll 4
      for (int i0 = 0; i0 < cnt; i0 += 2) {
        const int i = i0 + half;  // each half-warp takes every other entry
        const int ji = __shfl_sync(full, j, i & 31);
        const float pi = __shfl_sync(full, p, i & 31);
        if (i < cnt) {
          const T *vr = vb + (ll)ji * E;
          if (has0) {
            float4 w = ld4(vr + e0);
            acc0.x = fmaf(pi, w.x, acc0.x); acc0.y = fmaf(pi, w.y, acc0.y);
            acc0.z = fmaf(pi, w.z, acc0.z); acc0.w = fmaf(pi, w.w, acc0.w);
          }
          if (has1) {
            float4 w = ld4(vr + e1);
            acc1.x = fmaf(pi, w.x, acc1.x); acc1.y = fmaf(pi, w.y, acc1.y);
            acc1.z = fmaf(pi, w.z, acc1.z); acc1.w = fmaf(pi, w.w, acc1.w);
          }
        }
      }
    }
  }
  for (int off = 16; off > 0; off >>= 1) l += __shfl_xor_sync(full, l, off);
  float g = 0.f;
  if (l > 0.f) g = (hasScale ? tof(rowScale[bh * Tq + t]) : 1.f) / l;
  T *o = out + (bh * Tq + t) * E;
  if (PV == 2) {
    if (has0) st2(o + e0, make_float2(acc0.x * g, acc0.y * g));
    if (has1) st2(o + e1, make_float2(acc1.x * g, acc1.y * g));
  } else {
    acc0.x += __shfl_xor_sync(full, acc0.x, 16); acc0.y += __shfl_xor_sync(full, acc0.y, 16);
    acc0.z += __shfl_xor_sync(full, acc0.z, 16); acc0.w += __shfl_xor_sync(full, acc0.w, 16);
    acc1.x += __shfl_xor_sync(full, acc1.x, 16); acc1.y += __shfl_xor_sync(full, acc1.y, 16);
    acc1.z += __shfl_xor_sync(full, acc1.z, 16); acc1.w += __shfl_xor_sync(full, acc1.w, 16);
    if (half == 0) {
      if (has0) st4(o + e0, make_float4(acc0.x * g, acc0.y * g, acc0.z * g, acc0.w * g));
      if (has1) st4(o + e1, make_float4(acc1.x * g, acc1.y * g, acc1.z * g, acc1.w * g));
    }
  }
}


// The keys of a CSR row's entries: the column array, less the head's offset h·Tk.
struct CsrKeys {
  const int *cl;
  int base;
  __device__ __forceinline__ int operator()(int z) const { return cl[z] - base; }
};

// Fused CSR attention: for row t and head h, the entries of head h in row t (found by two warp
// searches over the row's sorted columns) get s_z = scale·q[b,h,t]·k[b,h,j], then
// out[b,h,t,:] = rowScale[b,h,t] · Σ_z softmax(s)_z · v[b,h,j,:] with an online softmax over chunks of
// 32 entries. Scores: 8 lanes per entry, 4 entries at a time, so each load of a key row is one
// contiguous 128-byte line per entry (lane part p holds q's float4s p, p+8, p+16, p+24); the score of
// entry e then moves to lane e. Sum over entries: PV = 2, all 32 lanes on one entry (two floats of
// E each, E even); PV = 4, each half-warp on every other entry (four floats each, E % 4 == 0), the
// halves added at the end. A head without entries gives zeros. One warp per (row, head); a block holds
// ROWS consecutive rows of one head, so its warps share most of their keys (L1).
// Needs D % 4 == 0, D ≤ 32·QU, E ≤ 128. grid (⌈Tq/ROWS⌉, H, B), block 32·ROWS.
// T: float, sea_bf16 or sea_f16 (q, k, v, rowScale and out; float32 math and accumulation).
template <typename T, int ROWS, int PV, int QU, int RB>
__device__ __forceinline__ void csrAttentionBody(const int *__restrict__ crow, const int *__restrict__ col,
                                                 const T *__restrict__ q, const T *__restrict__ kk,
                                                 const T *__restrict__ v, const T *__restrict__ rowScale,
                                                 T *__restrict__ out, int H, int Tq, int Tk, int D, int E, ll Z,
                                                 float scale, int hasScale) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const int t = blockIdx.x * ROWS + warp;
  const int h = blockIdx.y, b = blockIdx.z;
  if (t >= Tq) return;
  const ll bh = (ll)b * H + h;
  const int D4 = D >> 2;
  const int part = lane & 7;
  // this lane's float4s of the q row, pre-scaled (QU of them: D ≤ 32·QU)
  float4 qr[QU];
  loadQRow<T, QU>(qr, q + (bh * Tq + t) * D, part, D4, scale);
  const int *cr = crow + (ll)b * (Tq + 1);
  const int *cl = col + (ll)b * Z;
  int r0 = cr[t], r1 = cr[t + 1];
  int zs = warpLowerBound(cl, r0, r1, h * Tk, lane);
  int ze = warpLowerBound(cl, zs, r1, (h + 1) * Tk, lane);
  const T *kb = kk + bh * Tk * D;
  const T *vb = v + bh * Tk * E;
  attendEntries<T, PV, QU, RB>(qr, kb, vb, zs, ze, CsrKeys{cl, h * Tk}, rowScale, hasScale, out, bh, Tq, t, D, E);
}

// The instances the op picks from (ops/sea.ts CSR_ATTENTION_KERNELS): ROWS rows per block, PV, QU
// float4s of q per lane (2: D ≤ 64, 4: D ≤ 128), RB score rounds per batch of loads, blocks per SM.
// Each instance in float32 (NAME), bfloat16 (NAME_bf16) and float16 (NAME_f16).
#define CSR_ATTENTION_T(NAME, T, ROWS, PV, QU, RB, MINB)                                                             \
  extern "C" __global__ void __launch_bounds__(32 * ROWS, MINB)                                                      \
      NAME(const int *__restrict__ crow, const int *__restrict__ col, const T *__restrict__ q,                        \
           const T *__restrict__ kk, const T *__restrict__ v, const T *__restrict__ rowScale, T *__restrict__ out,    \
           int H, int Tq, int Tk, int D, int E, ll Z, float scale, int hasScale) {                                   \
    csrAttentionBody<T, ROWS, PV, QU, RB>(crow, col, q, kk, v, rowScale, out, H, Tq, Tk, D, E, Z, scale, hasScale);  \
  }
#define CSR_ATTENTION(NAME, ROWS, PV, QU, RB, MINB)             \
  CSR_ATTENTION_T(NAME, float, ROWS, PV, QU, RB, MINB)          \
  CSR_ATTENTION_T(NAME##_bf16, sea_bf16, ROWS, PV, QU, RB, MINB) \
  CSR_ATTENTION_T(NAME##_f16, sea_f16, ROWS, PV, QU, RB, MINB)
CSR_ATTENTION(csr_attention_r8v4d64, 8, 4, 2, 4, 3)
CSR_ATTENTION(csr_attention_r8v2d64, 8, 2, 2, 4, 3)
CSR_ATTENTION(csr_attention_r8v4d64b4, 8, 4, 2, 4, 4)
CSR_ATTENTION(csr_attention_r16v4d64, 16, 4, 2, 4, 2)
CSR_ATTENTION(csr_attention_r8v2d64rb2b4, 8, 2, 2, 2, 4)
CSR_ATTENTION(csr_attention_r8v2d64rb2b5, 8, 2, 2, 2, 5)
CSR_ATTENTION(csr_attention_r8v4, 8, 4, 4, 4, 2)
CSR_ATTENTION(csr_attention, 8, 2, 4, 4, 2)

// Fused stretch + CSR attention: the entries stretchToCsr writes for row t of head h (selected cells
// ascending, keys descending within a cell, a cell wider than kcap keeping kcap keys spread from its
// end), generated from the cell mask [B, Tq, H, Kc] and the row lengths instead of read from a CSR,
// then attended exactly as csrAttentionBody does (same order, same chunks of 32 entries): no count,
// scan, fill or host read of the entry count. Kc ≤ MASK_MAXSEL. grid (⌈Tq/ROWS⌉, H, B), block 32·ROWS.
#define MASK_MAXSEL 256
// The keys of a cell-mask row's entries: entry z lies in the last selected cell whose first entry is ≤
// z; with i = z − that first entry, its key is e − 1 − i, or e − 1 − ⌊i·w/kcap⌋ in a cell wider
// than kcap (e the cell's end key, w its width) — the entries stretchToCsr writes, in its order.
struct CellKeys {
  const int *start, *end, *width;
  int nsel, kcap;
  __device__ __forceinline__ int operator()(int z) const {
    int lo = 0, hi = nsel - 1;
    while (lo < hi) {
      const int mid = (lo + hi + 1) >> 1;
      if (start[mid] <= z) lo = mid;
      else hi = mid - 1;
    }
    const int i = z - start[lo], e = end[lo], w = width[lo];
    return w <= kcap ? e - 1 - i : e - 1 - (int)(((ll)i * w) / kcap);
  }
};

template <typename T, int ROWS, int PV, int QU, int RB>
__device__ __forceinline__ void maskAttentionBody(const unsigned char *__restrict__ mask, const int *__restrict__ rowLen,
                                                  const T *__restrict__ q, const T *__restrict__ kk,
                                                  const T *__restrict__ v, const T *__restrict__ rowScale,
                                                  T *__restrict__ out, int H, int Tq, int Tk, int Kc, int kcap, int D,
                                                  int E, float scale, int hasScale) {
  // per warp: the non-empty selected cells of (t, h) in cell order, their first entry, end key and width
  __shared__ int selStart[ROWS][MASK_MAXSEL];
  __shared__ int selEnd[ROWS][MASK_MAXSEL];
  __shared__ int selW[ROWS][MASK_MAXSEL];
  const unsigned full = 0xffffffffu;
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const int t = blockIdx.x * ROWS + warp;
  const int h = blockIdx.y, b = blockIdx.z;
  if (t >= Tq) return;
  const ll bh = (ll)b * H + h;
  const int D4 = D >> 2;
  const int part = lane & 7;
  // this lane's float4s of the q row, pre-scaled (QU of them: D ≤ 32·QU)
  float4 qr[QU];
  loadQRow<T, QU>(qr, q + (bh * Tq + t) * D, part, D4, scale);
  int L = rowLen[(ll)b * Tq + t];
  L = L < Tk ? L : Tk;
  int nsel = 0;
  if (L > 0) {
    const unsigned char *mrow = mask + (((ll)b * Tq + t) * H + h) * Kc;
    for (int c0 = 0; c0 < Kc; c0 += 32) {
      const int c = c0 + lane;
      int a = 0, e = 0;
      if (c < Kc && mrow[c]) {
        a = bound(c, L, Kc);
        e = bound(c + 1, L, Kc);
      }
      const bool keep = e > a;
      const unsigned bal = __ballot_sync(full, keep);
      if (keep) {
        const int at = nsel + __popc(bal & ((1u << lane) - 1u));
        selEnd[warp][at] = e;
        selW[warp][at] = e - a;
      }
      nsel += __popc(bal);
    }
  }
  __syncwarp();
  int ze = 0;  // entries of (t, h): Σ min(width, kcap), each cell's first entry by an exclusive scan
  for (int i0 = 0; i0 < nsel; i0 += 32) {
    const int i = i0 + lane;
    const int n = i < nsel ? min(selW[warp][i], kcap) : 0;
    int x = n;
    for (int off = 1; off < 32; off <<= 1) {
      int y = __shfl_up_sync(full, x, off);
      if (lane >= off) x += y;
    }
    if (i < nsel) selStart[warp][i] = ze + x - n;
    ze += __shfl_sync(full, x, 31);
  }
  __syncwarp();
  const int zs = 0;
  const T *kb = kk + bh * Tk * D;
  const T *vb = v + bh * Tk * E;
  attendEntries<T, PV, QU, RB>(qr, kb, vb, zs, ze, CellKeys{selStart[warp], selEnd[warp], selW[warp], nsel, kcap},
                               rowScale, hasScale, out, bh, Tq, t, D, E);
}

#define MASK_ATTENTION_T(NAME, T, ROWS, PV, QU, RB, MINB)                                                            \
  extern "C" __global__ void __launch_bounds__(32 * ROWS, MINB)                                                      \
      NAME(const unsigned char *__restrict__ mask, const int *__restrict__ rowLen, const T *__restrict__ q,           \
           const T *__restrict__ kk, const T *__restrict__ v, const T *__restrict__ rowScale, T *__restrict__ out,    \
           int H, int Tq, int Tk, int Kc, int kcap, int D, int E, float scale, int hasScale) {                       \
    maskAttentionBody<T, ROWS, PV, QU, RB>(mask, rowLen, q, kk, v, rowScale, out, H, Tq, Tk, Kc, kcap, D, E, scale,  \
                                           hasScale);                                                                \
  }
#define MASK_ATTENTION(NAME, ROWS, PV, QU, RB, MINB)             \
  MASK_ATTENTION_T(NAME, float, ROWS, PV, QU, RB, MINB)          \
  MASK_ATTENTION_T(NAME##_bf16, sea_bf16, ROWS, PV, QU, RB, MINB) \
  MASK_ATTENTION_T(NAME##_f16, sea_f16, ROWS, PV, QU, RB, MINB)
// D ≤ 64: the configuration of csr_attention_r8v2d64rb2b5; D ≤ 128: that of csr_attention
MASK_ATTENTION(mask_attention_d64, 8, 2, 2, 2, 3)
MASK_ATTENTION(mask_attention_d128, 8, 2, 4, 4, 2)

// ---- Cell-mask attention on the tensor cores (16-bit q, k, v; D = E = 64) ----
// The same entries and softmax as mask_attention_* (the keys stretchToCsr writes for each row and
// head), computed per tile of 16 consecutive rows of one head: neighbouring rows select mostly the
// same cells, so the tile attends once over the union of its rows' selected cells and masks, per row,
// the keys that row does not have. Cell c of a row with L keys covers [a, e) = [⌊c·L/Kc+½⌋,
// ⌊(c+1)·L/Kc+½⌋); the union visits, for every cell c some row selects, the keys from the smallest a
// to the largest e of the rows that select it, in chunks of 16 keys. Row r keeps key j of that range
// iff r selects c, a_r ≤ j < e_r and, in a cell wider than kcap (w = e_r − a_r), j is one of its kcap
// keys e_r − 1 − ⌊i·w/kcap⌋ (i < kcap): so each selected (row, key) is counted exactly once, under
// its own cell, whatever the neighbouring rows' bounds. S = Q·Kᵀ and O += P·V by mma.sync m16n8k16
// with fp32 accumulation (the layout of attention_mma_t: each thread holds rows g and g+8 of the tile,
// g = lane/4); the online softmax in fp32 base 2; P rounded to the storage type for P·V.
// One warp per tile; MM_WARPS consecutive tiles of one (b, h) a block. grid (⌈Tq/(16·MM_WARPS)⌉, H, B).
#define MM_WARPS 4
#define MM_P 72

// Whether row key j belongs to a selected cell [a, e) capped at kcap keys (see above).
__device__ __forceinline__ bool cellKeeps(int j, int a, int e, int kcap) {
  if (j < a || j >= e) return false;
  const int w = e - a;
  if (w <= kcap) return true;
  const int m = e - 1 - j;  // 0 ≤ m < w; kept iff ⌊i·w/kcap⌋ = m for i = ⌈m·kcap/w⌉
  if ((unsigned long long)w * (unsigned)(kcap + 1) < 4294967296ull) {
    const unsigned i = ((unsigned)m * (unsigned)kcap + (unsigned)w - 1u) / (unsigned)w;
    return (i * (unsigned)w) / (unsigned)kcap == (unsigned)m;
  }
  const ll i = ((ll)m * kcap + w - 1) / w;
  return (i * w) / kcap == m;
}

template <typename T>
__device__ __forceinline__ void maskAttentionMmaBody(const unsigned char *__restrict__ mask,
                                                     const int *__restrict__ rowLen, const T *__restrict__ q,
                                                     const T *__restrict__ kk, const T *__restrict__ v,
                                                     const T *__restrict__ rowScale, T *__restrict__ out, int H,
                                                     int Tq, int Tk, int Kc, int kcap, float scaleLog2,
                                                     int hasScale) {
  __shared__ int uCell[MM_WARPS][MASK_MAXSEL];
  __shared__ int uLo[MM_WARPS][MASK_MAXSEL];
  __shared__ int uHi[MM_WARPS][MASK_MAXSEL];
  __shared__ unsigned uRows[MM_WARPS][MASK_MAXSEL];
  __shared__ __align__(16) u16 Ks[MM_WARPS][16 * MM_P];
  __shared__ __align__(16) u16 Vs[MM_WARPS][16 * MM_P];
  const unsigned full = 0xffffffffu;
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const int g = lane >> 2, t4 = lane & 3;
  const int tile0 = (blockIdx.x * MM_WARPS + warp) * 16;
  if (tile0 >= Tq) return;  // the whole warp: no block-wide barrier below
  const int h = blockIdx.y, b = blockIdx.z;
  const ll bh = (ll)b * H + h;
  // lane r < 16 holds the visible keys of the tile's row r (0 past Tq)
  int myL = 0;
  if (lane < 16 && tile0 + lane < Tq) {
    myL = rowLen[(ll)b * Tq + tile0 + lane];
    myL = myL < Tk ? myL : Tk;
    myL = myL > 0 ? myL : 0;
  }
  // the cells any row of the tile selects (non-empty for that row), in cell order, with the rows that
  // select each and the key range those rows' bounds span
  int nu = 0;
  for (int c0 = 0; c0 < Kc; c0 += 32) {
    const int c = c0 + lane;
    unsigned rows = 0u;
    int lo = 0x7fffffff, hi = 0;
    for (int r = 0; r < 16; ++r) {
      const int L = __shfl_sync(full, myL, r);
      if (c < Kc && L > 0 && mask[(((ll)b * Tq + tile0 + r) * H + h) * Kc + c]) {
        const int a = bound(c, L, Kc), e = bound(c + 1, L, Kc);
        if (e > a) {
          rows |= 1u << r;
          lo = a < lo ? a : lo;
          hi = e > hi ? e : hi;
        }
      }
    }
    const unsigned bal = __ballot_sync(full, rows != 0u);
    if (rows) {
      const int at = nu + __popc(bal & ((1u << lane) - 1u));
      uCell[warp][at] = c;
      uLo[warp][at] = lo;
      uHi[warp][at] = hi;
      uRows[warp][at] = rows;
    }
    nu += __popc(bal);
  }
  __syncwarp();
  const int L0 = __shfl_sync(full, myL, g), L1 = __shfl_sync(full, myL, g + 8);
  const int r0 = tile0 + g, r1 = r0 + 8;
  const u16 *qp = reinterpret_cast<const u16 *>(q) + bh * Tq * 64;
  const unsigned *kp = reinterpret_cast<const unsigned *>(kk) + bh * Tk * 32;
  const unsigned *vp = reinterpret_cast<const unsigned *>(v) + bh * Tk * 32;
  // Q as A fragments: 4 steps of 16 dims
  unsigned qa[4][4];
#pragma unroll
  for (int ks = 0; ks < 4; ks++) {
    const int d = ks * 16 + t4 * 2;
    qa[ks][0] = r0 < Tq ? *reinterpret_cast<const unsigned *>(qp + (ll)r0 * 64 + d) : 0u;
    qa[ks][1] = r1 < Tq ? *reinterpret_cast<const unsigned *>(qp + (ll)r1 * 64 + d) : 0u;
    qa[ks][2] = r0 < Tq ? *reinterpret_cast<const unsigned *>(qp + (ll)r0 * 64 + d + 8) : 0u;
    qa[ks][3] = r1 < Tq ? *reinterpret_cast<const unsigned *>(qp + (ll)r1 * 64 + d + 8) : 0u;
  }
  float o[8][4];
#pragma unroll
  for (int i = 0; i < 8; i++)
#pragma unroll
    for (int e = 0; e < 4; e++) o[i][e] = 0.f;
  const float ninf = __int_as_float(0xff800000);
  float m0 = ninf, m1 = ninf, l0 = 0.f, l1 = 0.f;
  unsigned *K32 = reinterpret_cast<unsigned *>(Ks[warp]);
  unsigned *V32 = reinterpret_cast<unsigned *>(Vs[warp]);
  // The chunks (u, j0): cell u of the union, keys j0 … j0+15 of its range. The next chunk's K and V
  // words are loaded into registers while the current one is computed from shared memory.
  unsigned kw[16], vw[16];
  int nu_ = nu, u = 0, j0 = nu > 0 ? uLo[warp][0] : 0;
  auto load = [&](int uu, int jj) {
    const int hi = uHi[warp][uu];
#pragma unroll
    for (int r = 0; r < 16; ++r) {
      const bool in = jj + r < hi;  // zero past the range
      kw[r] = in ? kp[(ll)(jj + r) * 32 + lane] : 0u;
      vw[r] = in ? vp[(ll)(jj + r) * 32 + lane] : 0u;
    }
  };
  if (nu_ > 0) load(0, j0);
  int boundsOf = -1;  // the cell whose row bounds a0 … e1 hold
  int a0 = 0, e0 = 0, a1 = 0, e1 = 0;
  while (u < nu_) {
    const int cu = u, cj0 = j0;
#pragma unroll
    for (int r = 0; r < 16; ++r) {
      K32[r * (MM_P / 2) + lane] = kw[r];
      V32[r * (MM_P / 2) + lane] = vw[r];
    }
    __syncwarp();
    // the next chunk, then its loads (in flight during this chunk's math)
    j0 += 16;
    if (j0 >= uHi[warp][u]) {
      ++u;
      if (u < nu_) j0 = uLo[warp][u];
    }
    if (u < nu_) load(u, j0);
    if (boundsOf != cu) {
      // this thread's two rows' bounds of the chunk's cell (empty where the row does not select it)
      boundsOf = cu;
      const int c = uCell[warp][cu];
      const unsigned rows = uRows[warp][cu];
      a0 = e0 = a1 = e1 = 0;
      if ((rows >> g) & 1u) {
        a0 = bound(c, L0, Kc);
        e0 = bound(c + 1, L0, Kc);
      }
      if ((rows >> (g + 8)) & 1u) {
        a1 = bound(c, L1, Kc);
        e1 = bound(c + 1, L1, Kc);
      }
    }
    {
      const int j0 = cj0;
      float s[2][4];
#pragma unroll
      for (int nt = 0; nt < 2; nt++) {
#pragma unroll
        for (int e = 0; e < 4; e++) s[nt][e] = 0.f;
#pragma unroll
        for (int ks = 0; ks < 4; ks++) {
          const unsigned *kr = K32 + (nt * 8 + g) * (MM_P / 2) + ks * 8 + t4;
          MmaOp<T>::run(s[nt], qa[ks], kr[0], kr[4]);
        }
      }
      float mx0 = ninf, mx1 = ninf;
#pragma unroll
      for (int nt = 0; nt < 2; nt++) {
#pragma unroll
        for (int e = 0; e < 4; e++) {
          const int j = j0 + nt * 8 + t4 * 2 + (e & 1);
          const bool keep = e < 2 ? cellKeeps(j, a0, e0, kcap) : cellKeeps(j, a1, e1, kcap);
          s[nt][e] = keep ? s[nt][e] * scaleLog2 : ninf;
        }
        mx0 = fmaxf(mx0, fmaxf(s[nt][0], s[nt][1]));
        mx1 = fmaxf(mx1, fmaxf(s[nt][2], s[nt][3]));
      }
#pragma unroll
      for (int w = 1; w < 4; w <<= 1) {
        mx0 = fmaxf(mx0, __shfl_xor_sync(full, mx0, w));
        mx1 = fmaxf(mx1, __shfl_xor_sync(full, mx1, w));
      }
      const float n0 = fmaxf(m0, mx0), n1 = fmaxf(m1, mx1);
      const float u0 = n0 == ninf ? 0.f : n0, u1 = n1 == ninf ? 0.f : n1;
      const float al0 = exp2f(m0 - u0), al1 = exp2f(m1 - u1);
      float rs0 = 0.f, rs1 = 0.f;
#pragma unroll
      for (int nt = 0; nt < 2; nt++) {
        s[nt][0] = exp2f(s[nt][0] - u0);
        s[nt][1] = exp2f(s[nt][1] - u0);
        s[nt][2] = exp2f(s[nt][2] - u1);
        s[nt][3] = exp2f(s[nt][3] - u1);
        rs0 += s[nt][0] + s[nt][1];
        rs1 += s[nt][2] + s[nt][3];
      }
#pragma unroll
      for (int w = 1; w < 4; w <<= 1) {
        rs0 += __shfl_xor_sync(full, rs0, w);
        rs1 += __shfl_xor_sync(full, rs1, w);
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
      // O += P·V over the chunk's 16 keys: P as one A fragment, V's B fragments by ldmatrix.trans
      unsigned pa[4];
      pa[0] = pack2<T>(s[0][0], s[0][1]);
      pa[1] = pack2<T>(s[0][2], s[0][3]);
      pa[2] = pack2<T>(s[1][0], s[1][1]);
      pa[3] = pack2<T>(s[1][2], s[1][3]);
#pragma unroll
      for (int dn = 0; dn < 64; dn += 16) {
        const int mi = lane >> 3, r = lane & 7;
        const u16 *at = Vs[warp] + (r + (mi & 1) * 8) * MM_P + dn + (mi >> 1) * 8;
        const unsigned addr = (unsigned)__cvta_generic_to_shared(at);
        unsigned b0, b1, b2, b3;
        asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
                     : "=r"(b0), "=r"(b1), "=r"(b2), "=r"(b3)
                     : "r"(addr));
        MmaOp<T>::run(o[dn / 8], pa, b0, b1);
        MmaOp<T>::run(o[dn / 8 + 1], pa, b2, b3);
      }
      __syncwarp();  // before the next chunk overwrites K and V
    }
  }
  // out = rowScale · O / l (zero for a row without entries)
  float g0 = 0.f, g1 = 0.f;
  if (r0 < Tq && l0 > 0.f) g0 = (hasScale ? tof(rowScale[bh * Tq + r0]) : 1.f) / l0;
  if (r1 < Tq && l1 > 0.f) g1 = (hasScale ? tof(rowScale[bh * Tq + r1]) : 1.f) / l1;
  u16 *op = reinterpret_cast<u16 *>(out) + bh * Tq * 64;
#pragma unroll
  for (int i = 0; i < 8; i++) {
    const int d = i * 8 + t4 * 2;
    if (r0 < Tq) *reinterpret_cast<unsigned *>(op + (ll)r0 * 64 + d) = pack2<T>(o[i][0] * g0, o[i][1] * g0);
    if (r1 < Tq) *reinterpret_cast<unsigned *>(op + (ll)r1 * 64 + d) = pack2<T>(o[i][2] * g1, o[i][3] * g1);
  }
}

#define MASK_ATTENTION_MMA(NAME, T)                                                                              \
  extern "C" __global__ void __launch_bounds__(32 * MM_WARPS, 4)                                                 \
      NAME(const unsigned char *__restrict__ mask, const int *__restrict__ rowLen, const T *__restrict__ q,       \
           const T *__restrict__ kk, const T *__restrict__ v, const T *__restrict__ rowScale, T *__restrict__ out, \
           int H, int Tq, int Tk, int Kc, int kcap, float scaleLog2, int hasScale) {                             \
    maskAttentionMmaBody<T>(mask, rowLen, q, kk, v, rowScale, out, H, Tq, Tk, Kc, kcap, scaleLog2, hasScale);    \
  }
MASK_ATTENTION_MMA(mask_attention_mma_bf16, sea_bf16)
MASK_ATTENTION_MMA(mask_attention_mma_f16, sea_f16)
