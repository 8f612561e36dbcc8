/**
 * The CUDA driver API (libcuda.so.1), NVRTC and cuBLAS through koffi: prototypes only, loaded at
 * run time. Versioned `_v2` symbols; device pointers are BigInts; out-parameters of calls on the hot
 * path go through one reusable native scratch slot instead of JS arrays.
 */

import fs from 'node:fs';
import path from 'node:path';
import koffi from 'koffi';
import { findLibraries } from './libs.js';

type Fn = (...args: unknown[]) => number;
type KoffiLib = ReturnType<typeof koffi.load>;

/** A CUDA, NVRTC or cuBLAS call that returned an error code. */
export class CudaCallError extends Error {
  constructor(
    readonly call: string,
    readonly code: number,
    detail: string,
  ) {
    super(`${call} failed: ${detail} (${code})`);
  }
}

export const CUDA_ERROR_OUT_OF_MEMORY = 2;

function loadFirst(
  candidates: string[],
  preload?: (p: string) => void,
): { lib: KoffiLib; file: string } | { errors: string[] } {
  const errors: string[] = [];
  for (const c of candidates) {
    try {
      preload?.(c);
      return { lib: koffi.load(c), file: c };
    } catch (e) {
      errors.push(`${c}: ${(e as Error).message}`);
    }
  }
  return { errors };
}

function binder(lib: KoffiLib) {
  return (...protos: string[]): Fn => {
    let err: unknown;
    for (const p of protos) {
      try {
        return lib.func(p) as unknown as Fn;
      } catch (e) {
        err = e;
      }
    }
    throw err;
  };
}

function driverFunctions(lib: KoffiLib) {
  const fn = binder(lib);
  return {
    cuInit: fn('int cuInit(uint32_t flags)'),
    cuDriverGetVersion: fn('int cuDriverGetVersion(_Out_ int *v)'),
    cuGetErrorName: fn('int cuGetErrorName(int err, _Out_ const char **s)'),
    cuDeviceGetCount: fn('int cuDeviceGetCount(_Out_ int *n)'),
    cuDeviceGet: fn('int cuDeviceGet(_Out_ int *dev, int ordinal)'),
    cuDeviceGetName: fn('int cuDeviceGetName(_Out_ uint8_t *name, int len, int dev)'),
    cuDeviceGetAttribute: fn('int cuDeviceGetAttribute(_Out_ int *v, int attr, int dev)'),
    cuDeviceTotalMem: fn('int cuDeviceTotalMem_v2(_Out_ size_t *bytes, int dev)'),
    cuDevicePrimaryCtxRetain: fn('int cuDevicePrimaryCtxRetain(_Out_ void **ctx, int dev)'),
    cuDevicePrimaryCtxRelease: fn('int cuDevicePrimaryCtxRelease_v2(int dev)'),
    cuCtxSetCurrent: fn('int cuCtxSetCurrent(void *ctx)'),
    cuCtxSynchronize: fn('int cuCtxSynchronize()'),
    cuMemGetInfo: fn('int cuMemGetInfo_v2(_Out_ size_t *free, _Out_ size_t *total)'),
    cuMemAlloc: fn('int cuMemAlloc_v2(void *dptrOut, size_t bytes)'),
    cuMemFree: fn('int cuMemFree_v2(uint64_t dptr)'),
    cuMemHostAlloc: fn('int cuMemHostAlloc(_Out_ void **pp, size_t bytes, uint32_t flags)'),
    cuMemFreeHost: fn('int cuMemFreeHost(void *p)'),
    cuMemcpyHtoDAsync: fn(
      'int cuMemcpyHtoDAsync_v2(uint64_t dst, const void *src, size_t bytes, void *stream)',
    ),
    cuMemcpyDtoHAsync: fn('int cuMemcpyDtoHAsync_v2(void *dst, uint64_t src, size_t bytes, void *stream)'),
    cuMemcpyDtoDAsync: fn('int cuMemcpyDtoDAsync_v2(uint64_t dst, uint64_t src, size_t bytes, void *stream)'),
    cuMemsetD8Async: fn('int cuMemsetD8Async(uint64_t dst, uint8_t value, size_t n, void *stream)'),
    cuMemsetD16Async: fn('int cuMemsetD16Async(uint64_t dst, uint16_t value, size_t n, void *stream)'),
    cuMemsetD32Async: fn('int cuMemsetD32Async(uint64_t dst, uint32_t value, size_t n, void *stream)'),
    cuModuleLoadData: fn('int cuModuleLoadData(_Out_ void **mod, const void *image)'),
    cuModuleUnload: fn('int cuModuleUnload(void *mod)'),
    cuModuleGetFunction: fn('int cuModuleGetFunction(_Out_ void **f, void *mod, const char *name)'),
    cuLaunchKernel: fn(
      'int cuLaunchKernel(void *f, uint32_t gx, uint32_t gy, uint32_t gz, uint32_t bx, uint32_t by, uint32_t bz, uint32_t smem, void *stream, void *params, void *extra)',
    ),
    cuStreamCreate: fn('int cuStreamCreate(_Out_ void **s, uint32_t flags)'),
    cuStreamDestroy: fn('int cuStreamDestroy_v2(void *s)'),
    cuStreamSynchronize: fn('int cuStreamSynchronize(void *s)'),
    cuEventCreate: fn('int cuEventCreate(_Out_ void **ev, uint32_t flags)'),
    cuEventRecord: fn('int cuEventRecord(void *ev, void *stream)'),
    cuEventSynchronize: fn('int cuEventSynchronize(void *ev)'),
    cuEventElapsedTime: fn(
      'int cuEventElapsedTime_v2(_Out_ float *ms, void *a, void *b)',
      'int cuEventElapsedTime(_Out_ float *ms, void *a, void *b)',
    ),
    cuEventDestroy: fn('int cuEventDestroy_v2(void *ev)'),
    /** Makes stream `s` wait for event `ev` (a second stream's work ordered against the first). */
    cuStreamWaitEvent: fn('int cuStreamWaitEvent(void *s, void *ev, uint32_t flags)'),
  };
}
export type DriverApi = ReturnType<typeof driverFunctions>;

export interface Driver {
  api: DriverApi;
  file: string;
  /** Throws CudaCallError with the driver's error name when rc ≠ 0. */
  check(rc: number, call: string): void;
}

/** Loads libcuda.so.1 (or SEA_LIBCUDA); throws an Error whose message says why not. */
export function loadDriver(): Driver {
  const cands = [
    ...(process.env.SEA_LIBCUDA ? [process.env.SEA_LIBCUDA] : []),
    'libcuda.so.1',
    ...findLibraries(/^libcuda\.so(\.1)?$/).filter((p) => !p.includes('/compat/')),
  ];
  const r = loadFirst(cands);
  if (!('lib' in r)) {
    throw new Error(`no NVIDIA driver: libcuda.so.1 could not be loaded (${r.errors[0] ?? 'not found'})`);
  }
  const api = driverFunctions(r.lib);
  const check = (rc: number, call: string): void => {
    if (rc === 0) return;
    const s: [string | null] = [null];
    let name = `CUDA error ${rc}`;
    try {
      if (api.cuGetErrorName(rc, s) === 0 && s[0]) name = s[0];
    } catch {}
    throw new CudaCallError(call, rc, name);
  };
  return { api, file: r.file, check };
}

function nvrtcFunctions(lib: KoffiLib) {
  const fn = binder(lib);
  return {
    nvrtcVersion: fn('int nvrtcVersion(_Out_ int *major, _Out_ int *minor)'),
    nvrtcGetErrorString: lib.func('const char *nvrtcGetErrorString(int result)') as unknown as (
      rc: number,
    ) => string,
    nvrtcCreateProgram: fn(
      'int nvrtcCreateProgram(_Out_ void **prog, const char *src, const char *name, int numHeaders, const char **headers, const char **includeNames)',
    ),
    nvrtcCompileProgram: fn('int nvrtcCompileProgram(void *prog, int numOptions, const char **options)'),
    nvrtcGetProgramLogSize: fn('int nvrtcGetProgramLogSize(void *prog, _Out_ size_t *size)'),
    nvrtcGetProgramLog: fn('int nvrtcGetProgramLog(void *prog, _Out_ uint8_t *log)'),
    nvrtcGetCUBINSize: fn('int nvrtcGetCUBINSize(void *prog, _Out_ size_t *size)'),
    nvrtcGetCUBIN: fn('int nvrtcGetCUBIN(void *prog, _Out_ uint8_t *cubin)'),
    nvrtcDestroyProgram: fn('int nvrtcDestroyProgram(_Inout_ void **prog)'),
  };
}
export type NvrtcApi = ReturnType<typeof nvrtcFunctions>;

/** Loads NVRTC (SEA_LIBNVRTC or the newest found); its builtins library is preloaded by path. */
export function loadNvrtc(): { api: NvrtcApi; file: string; version: string } {
  const preload = (p: string): void => {
    if (!p.includes('/')) return;
    const dir = path.dirname(p);
    const bi = fs
      .readdirSync(dir)
      .filter((n) => /^libnvrtc-builtins\.so\.[\d.]+$/.test(n))
      .sort((a, b) => a.length - b.length)[0];
    if (bi) koffi.load(path.join(dir, bi));
  };
  const cands = [
    ...(process.env.SEA_LIBNVRTC ? [process.env.SEA_LIBNVRTC] : []),
    ...findLibraries(/^libnvrtc\.so(\.\d+)*$/),
    'libnvrtc.so.13',
    'libnvrtc.so.12',
    'libnvrtc.so',
  ];
  const r = loadFirst(cands, preload);
  if (!('lib' in r))
    throw new Error(`NVRTC not found (${r.errors.slice(0, 3).join('; ') || 'no candidates'})`);
  const api = nvrtcFunctions(r.lib);
  const mj: [number] = [0];
  const mn: [number] = [0];
  api.nvrtcVersion(mj, mn);
  return { api, file: r.file, version: `${mj[0]}.${mn[0]}` };
}

function cublasFunctions(lib: KoffiLib) {
  const fn = binder(lib);
  return {
    cublasCreate: fn('int cublasCreate_v2(_Out_ void **handle)'),
    cublasDestroy: fn('int cublasDestroy_v2(void *handle)'),
    cublasSetStream: fn('int cublasSetStream_v2(void *handle, void *stream)'),
    cublasGetStatusString: lib.func('const char *cublasGetStatusString(int status)') as unknown as (
      rc: number,
    ) => string,
    cublasGemmStridedBatchedEx: fn(
      'int cublasGemmStridedBatchedEx(void *handle, int transa, int transb, int m, int n, int k, const void *alpha, uint64_t A, int Atype, int lda, int64_t strideA, uint64_t B, int Btype, int ldb, int64_t strideB, const void *beta, uint64_t C, int Ctype, int ldc, int64_t strideC, int batchCount, int computeType, int algo)',
    ),
  };
}
export type CublasApi = ReturnType<typeof cublasFunctions>;

/** Loads cuBLAS (SEA_LIBCUBLAS or the newest found). */
export function loadCublas(): { api: CublasApi; file: string } {
  const cands = [
    ...(process.env.SEA_LIBCUBLAS ? [process.env.SEA_LIBCUBLAS] : []),
    ...findLibraries(/^libcublas\.so(\.\d+)*$/),
    'libcublas.so.13',
    'libcublas.so.12',
    'libcublas.so',
  ];
  // libcublas needs libcublasLt from its own folder; preloading it by path spares LD_LIBRARY_PATH.
  const preload = (p: string): void => {
    if (!p.includes('/')) return;
    const dir = path.dirname(p);
    const lt = fs.readdirSync(dir).filter((n) => /^libcublasLt\.so\.\d+$/.test(n))[0];
    if (lt) koffi.load(path.join(dir, lt));
  };
  const r = loadFirst(cands, preload);
  if (!('lib' in r))
    throw new Error(`cuBLAS not found (${r.errors.slice(0, 3).join('; ') || 'no candidates'})`);
  return { api: cublasFunctions(r.lib), file: r.file };
}

function cublasLtFunctions(lib: KoffiLib) {
  const fn = binder(lib);
  return {
    cublasLtCreate: fn('int cublasLtCreate(_Out_ void **handle)'),
    cublasLtDestroy: fn('int cublasLtDestroy(void *handle)'),
    cublasLtMatmulDescCreate: fn(
      'int cublasLtMatmulDescCreate(_Out_ void **desc, int computeType, int scaleType)',
    ),
    cublasLtMatmulDescDestroy: fn('int cublasLtMatmulDescDestroy(void *desc)'),
    cublasLtMatmulDescSetAttribute: fn(
      'int cublasLtMatmulDescSetAttribute(void *desc, int attr, void *buf, size_t size)',
    ),
    cublasLtMatrixLayoutCreate: fn(
      'int cublasLtMatrixLayoutCreate(_Out_ void **layout, int type, uint64_t rows, uint64_t cols, int64_t ld)',
    ),
    cublasLtMatrixLayoutDestroy: fn('int cublasLtMatrixLayoutDestroy(void *layout)'),
    cublasLtMatmulPreferenceCreate: fn('int cublasLtMatmulPreferenceCreate(_Out_ void **pref)'),
    cublasLtMatmulPreferenceDestroy: fn('int cublasLtMatmulPreferenceDestroy(void *pref)'),
    cublasLtMatmulPreferenceSetAttribute: fn(
      'int cublasLtMatmulPreferenceSetAttribute(void *pref, int attr, void *buf, size_t size)',
    ),
    cublasLtMatmulAlgoGetHeuristic: fn(
      'int cublasLtMatmulAlgoGetHeuristic(void *handle, void *op, void *a, void *b, void *c, void *d, void *pref, int requested, void *results, _Out_ int *returned)',
    ),
    cublasLtMatmul: fn(
      'int cublasLtMatmul(void *handle, void *op, const void *alpha, uint64_t A, void *Adesc, uint64_t B, void *Bdesc, const void *beta, uint64_t C, void *Cdesc, uint64_t D, void *Ddesc, void *algo, uint64_t workspace, size_t workspaceBytes, void *stream)',
    ),
  };
}
export type CublasLtApi = ReturnType<typeof cublasLtFunctions>;

/**
 * Loads cuBLASLt for GEMMs with epilogues: SEA_LIBCUBLASLT, else the one beside the cuBLAS in use
 * (`near`, the path cuBLAS was loaded from), else the newest found.
 */
export function loadCublasLt(near?: string): { api: CublasLtApi; file: string } {
  let beside: string[] = [];
  if (near?.includes('/')) {
    try {
      const dir = path.dirname(near);
      beside = fs
        .readdirSync(dir)
        .filter((n) => /^libcublasLt\.so\.\d+$/.test(n))
        .map((n) => path.join(dir, n));
    } catch {}
  }
  const cands = [
    ...(process.env.SEA_LIBCUBLASLT ? [process.env.SEA_LIBCUBLASLT] : []),
    ...beside,
    ...findLibraries(/^libcublasLt\.so(\.\d+)*$/),
    'libcublasLt.so.13',
    'libcublasLt.so.12',
    'libcublasLt.so',
  ];
  const r = loadFirst(cands);
  if (!('lib' in r))
    throw new Error(`cuBLASLt not found (${r.errors.slice(0, 3).join('; ') || 'no candidates'})`);
  return { api: cublasLtFunctions(r.lib), file: r.file };
}
