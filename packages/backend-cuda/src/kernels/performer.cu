// Causal Performer attention by prefix sums (spec §3): for each (b,h) and t,
// out[t,e] = Σ_m qf[t,m]·S_t[m,e] / Σ_m qf[t,m]·(z_t[m] + eps), S_t = Σ_{j≤t} kf_j v_jᵀ, z_t = Σ_{j≤t} kf_j.
// Block (32, G): lane = column e within a 32-wide tile of E, group g owns features m ≡ g (mod G) and
// keeps their S column and z in registers; TC steps are staged in shared memory per barrier pair.
typedef long long ll;
#define MAXM 512
#define RMAX 32
#define TC 4
#define GMAX 16

extern "C" __global__ void __launch_bounds__(512) performer_prefix_sum(const float *__restrict__ qf, const float *__restrict__ kf,
                                                                       const float *__restrict__ v, float *__restrict__ out,
                                                                       int T, int M, int E, float eps) {
  __shared__ float qs[TC][MAXM];
  __shared__ float ks[TC][MAXM];
  __shared__ float rn[TC][GMAX][32];
  __shared__ float rd[TC][GMAX][32];
  const int lane = threadIdx.x, g = threadIdx.y, G = blockDim.y;
  const int tid = g * 32 + lane, nth = 32 * G;
  const ll bh = blockIdx.x;
  const int e = blockIdx.y * 32 + lane;
  const float *q = qf + bh * T * M, *k = kf + bh * T * M;
  const float *vv = v + bh * T * E;
  float *o = out + bh * T * E;
  float S[RMAX], z[RMAX];
#pragma unroll
  for (int r = 0; r < RMAX; ++r) { S[r] = 0.f; z[r] = 0.f; }
  for (int t0 = 0; t0 < T; t0 += TC) {
    int steps = T - t0 < TC ? T - t0 : TC;
    for (int i = tid; i < steps * M; i += nth) {
      int s = i / M, m = i - s * M;
      qs[s][m] = q[(ll)(t0 + s) * M + m];
      ks[s][m] = k[(ll)(t0 + s) * M + m];
    }
    __syncthreads();
    for (int s = 0; s < steps; ++s) {
      float ve = e < E ? vv[(ll)(t0 + s) * E + e] : 0.f;
      float num = 0.f, den = 0.f;
#pragma unroll
      for (int r = 0; r < RMAX; ++r) {
        int m = g + r * G;
        if (m < M) {
          float km = ks[s][m], qm = qs[s][m];
          S[r] = fmaf(km, ve, S[r]);
          z[r] += km;
          num = fmaf(qm, S[r], num);
          den = fmaf(qm, z[r] + eps, den);
        }
      }
      rn[s][g][lane] = num;
      rd[s][g][lane] = den;
    }
    __syncthreads();
    if (g == 0 && e < E) {
      for (int s = 0; s < steps; ++s) {
        float num = 0.f, den = 0.f;
        for (int j = 0; j < G; ++j) { num += rn[s][j][lane]; den += rd[s][j][lane]; }
        o[(ll)(t0 + s) * E + e] = num / den;
      }
    }
  }
}
