/*
 * A stand-in for libcuda.so.1, NVRTC, cuBLAS and cuBLASLt with the symbols the CUDA backend binds
 * (src/driver.ts, src/ops/linear.ts). Every call returns success at once; out-parameters get
 * plausible values (one device, sm 9.0, 132 SMs, 141 GB; increasing fake device addresses; a tiny
 * CUBIN; one GEMM algorithm). Device-to-host copies write zeros. Nothing runs on any device: what is
 * left to time is the host side of every queued op. One library serves every name (build.sh links
 * libcuda.so.1, libnvrtc.so.13, libcublas.so.13 and libcublasLt.so.13 to it), so the counters below
 * see all calls; sea_stub_counts() reads them.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum {
  C_LAUNCH, C_GEMM, C_HTOD, C_DTOH, C_DTOD, C_MEMSET, C_ALLOC, C_FREE, C_SYNC, C_EVENT, C_LTATTR, C_HEUR, C_MODFN, C_HTOD_PAGEABLE, C_N
};
static uint64_t counts[C_N];
/** Copies the counters (launches, gemms, HtoD, DtoH, DtoD, memsets, allocs, frees, syncs, event
 * records, cuBLASLt attribute sets, cuBLASLt heuristic queries, cuModuleGetFunction calls, host-to-device copies from pageable memory: a
 * real driver may wait for the stream before staging those) into out[0..n). */
void sea_stub_counts(uint64_t *out, int n) {
  for (int i = 0; i < n && i < C_N; i++) out[i] = counts[i];
}
void sea_stub_reset(void) { memset(counts, 0, sizeof counts); }

typedef uint64_t CUdeviceptr;
static uint64_t next_addr = 0x7f0000000000ull;
static int dummy_handle;
#define HANDLE ((void *)&dummy_handle)

/* ---------------------------------------------------------------- driver */
int cuInit(unsigned flags) { (void)flags; return 0; }
int cuDriverGetVersion(int *v) { *v = 13000; return 0; }
int cuGetErrorName(int err, const char **s) { (void)err; *s = "CUDA_ERROR_STUB"; return 0; }
int cuDeviceGetCount(int *n) { *n = 1; return 0; }
int cuDeviceGet(int *dev, int ordinal) { *dev = ordinal; return 0; }
int cuDeviceGetName(char *name, int len, int dev) {
  (void)dev;
  strncpy(name, "host-cost stub (no device)", len);
  if (len > 0) name[len - 1] = 0;
  return 0;
}
int cuDeviceGetAttribute(int *v, int attr, int dev) {
  (void)dev;
  switch (attr) {
    case 16: *v = 132; break;        /* multiprocessors */
    case 75: *v = 9; break;          /* compute capability major */
    case 76: *v = 0; break;          /* minor */
    case 1: *v = 1024; break;        /* max threads per block */
    case 8: *v = 49152; break;       /* shared memory per block */
    case 97: *v = 232448; break;     /* opt-in shared memory per block */
    default: *v = 1;
  }
  return 0;
}
int cuDeviceTotalMem_v2(size_t *bytes, int dev) { (void)dev; *bytes = 141ull << 30; return 0; }
int cuDevicePrimaryCtxRetain(void **ctx, int dev) { (void)dev; *ctx = HANDLE; return 0; }
int cuDevicePrimaryCtxRelease_v2(int dev) { (void)dev; return 0; }
int cuCtxSetCurrent(void *ctx) { (void)ctx; return 0; }
int cuCtxSynchronize(void) { counts[C_SYNC]++; return 0; }
int cuMemGetInfo_v2(size_t *free_, size_t *total) { *free_ = 140ull << 30; *total = 141ull << 30; return 0; }
int cuMemAlloc_v2(CUdeviceptr *out, size_t bytes) {
  counts[C_ALLOC]++;
  *out = next_addr;
  next_addr += (bytes + 511) & ~(uint64_t)511;
  return 0;
}
int cuMemFree_v2(CUdeviceptr p) { (void)p; counts[C_FREE]++; return 0; }
/* page-locked blocks handed out, so a copy can tell pinned sources from pageable ones */
static struct { const char *p; size_t n; } pinned[64];
static int npinned;
static int is_pinned(const void *src) {
  for (int i = 0; i < npinned; i++)
    if ((const char *)src >= pinned[i].p && (const char *)src < pinned[i].p + pinned[i].n) return 1;
  return 0;
}
int cuMemHostAlloc(void **pp, size_t bytes, unsigned flags) {
  (void)flags;
  *pp = malloc(bytes ? bytes : 1);
  if (*pp && npinned < 64) {
    pinned[npinned].p = *pp;
    pinned[npinned].n = bytes;
    npinned++;
  }
  return *pp ? 0 : 2;
}
int cuMemFreeHost(void *p) {
  for (int i = 0; i < npinned; i++)
    if (pinned[i].p == p) pinned[i] = pinned[--npinned];
  free(p);
  return 0;
}
int cuMemcpyHtoDAsync_v2(CUdeviceptr dst, const void *src, size_t n, void *s) {
  (void)dst; (void)n; (void)s;
  counts[C_HTOD]++;
  if (!is_pinned(src)) counts[C_HTOD_PAGEABLE]++;
  return 0;
}
int cuMemcpyDtoHAsync_v2(void *dst, CUdeviceptr src, size_t n, void *s) {
  (void)src; (void)s; counts[C_DTOH]++; memset(dst, 0, n); return 0;
}
int cuMemcpyDtoDAsync_v2(CUdeviceptr d, CUdeviceptr s_, size_t n, void *s) {
  (void)d; (void)s_; (void)n; (void)s; counts[C_DTOD]++; return 0;
}
int cuMemsetD8Async(CUdeviceptr d, uint8_t v, size_t n, void *s) { (void)d; (void)v; (void)n; (void)s; counts[C_MEMSET]++; return 0; }
int cuMemsetD16Async(CUdeviceptr d, uint16_t v, size_t n, void *s) { (void)d; (void)v; (void)n; (void)s; counts[C_MEMSET]++; return 0; }
int cuMemsetD32Async(CUdeviceptr d, uint32_t v, size_t n, void *s) { (void)d; (void)v; (void)n; (void)s; counts[C_MEMSET]++; return 0; }
int cuModuleLoadData(void **mod, const void *image) { (void)image; *mod = HANDLE; return 0; }
int cuModuleUnload(void *mod) { (void)mod; return 0; }
int cuModuleGetFunction(void **f, void *mod, const char *name) { (void)mod; (void)name; counts[C_MODFN]++; *f = HANDLE; return 0; }
int cuLaunchKernel(void *f, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz,
                   unsigned smem, void *stream, void **params, void **extra) {
  (void)f; (void)gx; (void)gy; (void)gz; (void)bx; (void)by; (void)bz; (void)smem; (void)stream;
  (void)params; (void)extra;
  counts[C_LAUNCH]++;
  return 0;
}
int cuStreamCreate(void **s, unsigned flags) { (void)flags; *s = HANDLE; return 0; }
int cuStreamDestroy_v2(void *s) { (void)s; return 0; }
int cuStreamSynchronize(void *s) { (void)s; counts[C_SYNC]++; return 0; }
int cuEventCreate(void **ev, unsigned flags) { (void)flags; *ev = HANDLE; return 0; }
int cuEventRecord(void *ev, void *s) { (void)ev; (void)s; counts[C_EVENT]++; return 0; }
int cuEventSynchronize(void *ev) { (void)ev; counts[C_SYNC]++; return 0; }
int cuEventElapsedTime_v2(float *ms, void *a, void *b) { (void)a; (void)b; *ms = 0.f; return 0; }
int cuEventElapsedTime(float *ms, void *a, void *b) { (void)a; (void)b; *ms = 0.f; return 0; }
int cuEventDestroy_v2(void *ev) { (void)ev; return 0; }
int cuStreamWaitEvent(void *s, void *ev, unsigned flags) { (void)s; (void)ev; (void)flags; return 0; }

/* ---------------------------------------------------------------- NVRTC */
static const unsigned char tiny_cubin[16] = {0x7f, 'E', 'L', 'F', 2, 1, 1, 0x33};
int nvrtcVersion(int *major, int *minor) { *major = 13; *minor = 0; return 0; }
const char *nvrtcGetErrorString(int r) { (void)r; return "NVRTC_SUCCESS"; }
int nvrtcCreateProgram(void **prog, const char *src, const char *name, int nh, const char **h, const char **inc) {
  (void)src; (void)name; (void)nh; (void)h; (void)inc; *prog = HANDLE; return 0;
}
int nvrtcCompileProgram(void *prog, int n, const char **opts) { (void)prog; (void)n; (void)opts; return 0; }
int nvrtcGetProgramLogSize(void *prog, size_t *size) { (void)prog; *size = 1; return 0; }
int nvrtcGetProgramLog(void *prog, char *log) { (void)prog; log[0] = 0; return 0; }
int nvrtcGetCUBINSize(void *prog, size_t *size) { (void)prog; *size = sizeof tiny_cubin; return 0; }
int nvrtcGetCUBIN(void *prog, unsigned char *out) { (void)prog; memcpy(out, tiny_cubin, sizeof tiny_cubin); return 0; }
int nvrtcDestroyProgram(void **prog) { *prog = 0; return 0; }

/* ---------------------------------------------------------------- cuBLAS */
int cublasCreate_v2(void **h) { *h = HANDLE; return 0; }
int cublasDestroy_v2(void *h) { (void)h; return 0; }
int cublasSetStream_v2(void *h, void *s) { (void)h; (void)s; return 0; }
const char *cublasGetStatusString(int s) { (void)s; return "CUBLAS_STATUS_SUCCESS"; }
int cublasGemmStridedBatchedEx(void *h, int ta, int tb, int m, int n, int k, const void *alpha, uint64_t A,
                               int At, int lda, int64_t sA, uint64_t B, int Bt, int ldb, int64_t sB,
                               const void *beta, uint64_t C, int Ct, int ldc, int64_t sC, int batch,
                               int compute, int algo) {
  (void)h; (void)ta; (void)tb; (void)m; (void)n; (void)k; (void)alpha; (void)A; (void)At; (void)lda;
  (void)sA; (void)B; (void)Bt; (void)ldb; (void)sB; (void)beta; (void)C; (void)Ct; (void)ldc; (void)sC;
  (void)batch; (void)compute; (void)algo;
  counts[C_GEMM]++;
  return 0;
}

/* ---------------------------------------------------------------- cuBLASLt */
int cublasLtCreate(void **h) { *h = HANDLE; return 0; }
int cublasLtDestroy(void *h) { (void)h; return 0; }
int cublasLtMatmulDescCreate(void **d, int c, int s) { (void)c; (void)s; *d = HANDLE; return 0; }
int cublasLtMatmulDescDestroy(void *d) { (void)d; return 0; }
int cublasLtMatmulDescSetAttribute(void *d, int a, const void *buf, size_t n) {
  (void)d; (void)a; (void)buf; (void)n; counts[C_LTATTR]++; return 0;
}
int cublasLtMatrixLayoutCreate(void **l, int t, uint64_t r, uint64_t c, int64_t ld) {
  (void)t; (void)r; (void)c; (void)ld; *l = HANDLE; return 0;
}
int cublasLtMatrixLayoutDestroy(void *l) { (void)l; return 0; }
int cublasLtMatmulPreferenceCreate(void **p) { *p = HANDLE; return 0; }
int cublasLtMatmulPreferenceDestroy(void *p) { (void)p; return 0; }
int cublasLtMatmulPreferenceSetAttribute(void *p, int a, const void *buf, size_t n) {
  (void)p; (void)a; (void)buf; (void)n; return 0;
}
/* cublasLtMatmulHeuristicResult_t: 64-byte algo, size_t workspaceSize, int state, float waves, 4 ints */
int cublasLtMatmulAlgoGetHeuristic(void *h, void *op, void *a, void *b, void *c, void *d, void *pref, int req,
                                   unsigned char *results, int *returned) {
  (void)h; (void)op; (void)a; (void)b; (void)c; (void)d; (void)pref;
  counts[C_HEUR]++;
  if (req < 1) { *returned = 0; return 0; }
  memset(results, 0, 96);
  float waves = 1.f;
  memcpy(results + 76, &waves, 4);
  *returned = 1;
  return 0;
}
int cublasLtMatmul(void *h, void *op, const void *alpha, uint64_t A, void *Ad, uint64_t B, void *Bd,
                   const void *beta, uint64_t C, void *Cd, uint64_t D, void *Dd, void *algo, uint64_t ws,
                   size_t wsBytes, void *stream) {
  (void)h; (void)op; (void)alpha; (void)A; (void)Ad; (void)B; (void)Bd; (void)beta; (void)C; (void)Cd;
  (void)D; (void)Dd; (void)algo; (void)ws; (void)wsBytes; (void)stream;
  counts[C_GEMM]++;
  return 0;
}
