/**
 * The fused linear layer, act(x·wᵀ + bias) + residual, as one cuBLASLt GEMM: the bias and the ReLU
 * are the GEMM's epilogue and the residual is its C operand (D = A·B + 1·C), so the output is
 * written once. Plans (descriptors, layouts and the heuristic's algorithm) are made once per shape
 * and kind; a call then sets only the bias pointer, through a native slot, and launches.
 */
import { DeviceError, type TensorInfo } from '@sea/tensor';
import type { LinearOptions } from '@sea/tensor/backend';
import koffi from 'koffi';
import type { CudaBackend } from '../cuda_backend.js';
import { type CublasLtApi, loadCublasLt } from '../driver.js';
import { cudaDataType } from './matmul.js';

const OP_N = 0;
const OP_T = 1;
const R_32F = 0;
const COMPUTE_32F = 68;
const DESC_TRANSA = 3;
const DESC_TRANSB = 4;
const DESC_EPILOGUE = 7;
const DESC_BIAS_POINTER = 8;
const PREF_MAX_WORKSPACE_BYTES = 1;
const EPILOGUE_DEFAULT = 1;
const EPILOGUE_RELU = 2;
const EPILOGUE_BIAS = 4;
const EPILOGUE_RELU_BIAS = 6;
/** sizeof(cublasLtMatmulHeuristicResult_t): the 64-byte algo, workspace size, state, waves, 4 ints. */
const HEURISTIC_BYTES = 96;
const WORKSPACE_BYTES = 32 << 20;

interface Plan {
  desc: unknown;
  layouts: unknown[];
  /** Native heuristic result; its first 64 bytes are the algorithm handed to cublasLtMatmul. */
  algo: unknown;
  workspace: number;
}

type Pointer = unknown;

/** cuBLASLt state of one backend: handle, workspace (outside the caching allocator) and plans. */
export class LtGemm {
  readonly #api: CublasLtApi;
  readonly #handle: Pointer;
  readonly #pref: Pointer;
  readonly #workspace: bigint;
  readonly #plans = new Map<string, Plan | null>();
  readonly #slot = koffi.alloc('uint64_t', 1) as unknown as Pointer;
  readonly #slotView = new BigUint64Array(koffi.view(this.#slot as never, 8));
  readonly #u32 = koffi.alloc('uint32_t', 1) as unknown as Pointer;
  readonly #u32View = new Uint32Array(koffi.view(this.#u32 as never, 4));
  readonly #returned: [number] = [0];

  constructor(
    private readonly b: CudaBackend,
    cublasFile: string,
  ) {
    const lib = loadCublasLt(cublasFile);
    this.#api = lib.api;
    const h: [Pointer] = [null];
    this.#check(this.#api.cublasLtCreate(h), 'cublasLtCreate');
    this.#handle = h[0];
    const p: [Pointer] = [null];
    this.#check(this.#api.cublasLtMatmulPreferenceCreate(p), 'cublasLtMatmulPreferenceCreate');
    this.#pref = p[0];
    this.#slotView[0] = BigInt(WORKSPACE_BYTES);
    this.#check(
      this.#api.cublasLtMatmulPreferenceSetAttribute(this.#pref, PREF_MAX_WORKSPACE_BYTES, this.#slot, 8),
      'cublasLtMatmulPreferenceSetAttribute',
    );
    this.#workspace = b.rawAlloc(WORKSPACE_BYTES);
  }

  #check(rc: number, call: string): void {
    if (rc !== 0) throw new DeviceError(`${call} failed: cuBLAS status ${rc}`);
  }

  #setU32(desc: Pointer, attr: number, v: number): void {
    this.#u32View[0] = v;
    this.#check(
      this.#api.cublasLtMatmulDescSetAttribute(desc, attr, this.#u32, 4),
      'cublasLtMatmulDescSetAttribute',
    );
  }

  /** The plan for [M,K]·[N,K]ᵀ with this epilogue; null when the heuristic offers no algorithm. */
  #plan(M: number, N: number, K: number, epilogue: number, dtype: string): Plan | null {
    const key = `${M},${N},${K},${epilogue},${dtype}`;
    const rt = cudaDataType('linear', dtype);
    const cached = this.#plans.get(key);
    if (cached !== undefined) return cached;
    const api = this.#api;
    const d: [Pointer] = [null];
    this.#check(api.cublasLtMatmulDescCreate(d, COMPUTE_32F, R_32F), 'cublasLtMatmulDescCreate');
    const desc = d[0];
    this.#setU32(desc, DESC_TRANSA, OP_T);
    this.#setU32(desc, DESC_TRANSB, OP_N);
    this.#setU32(desc, DESC_EPILOGUE, epilogue);
    // row-major Y[M,N] = X[M,K]·W[N,K]ᵀ is column-major Yᵀ (N×M) = op_T(W as K×N)·(Xᵀ as K×M)
    const layout = (rows: number, cols: number, ld: number): Pointer => {
      const l: [Pointer] = [null];
      this.#check(api.cublasLtMatrixLayoutCreate(l, rt, rows, cols, ld), 'cublasLtMatrixLayoutCreate');
      return l[0];
    };
    const layouts = [layout(K, N, K), layout(K, M, K), layout(N, M, N)];
    const algo = koffi.alloc('uint8_t', HEURISTIC_BYTES) as unknown as Pointer;
    if (epilogue === EPILOGUE_BIAS || epilogue === EPILOGUE_RELU_BIAS) {
      // the heuristic reads the bias pointer's alignment: any 256-byte aligned address will do
      this.#slotView[0] = this.#workspace;
      this.#check(
        api.cublasLtMatmulDescSetAttribute(desc, DESC_BIAS_POINTER, this.#slot, 8),
        'cublasLtMatmulDescSetAttribute',
      );
    }
    const rc = api.cublasLtMatmulAlgoGetHeuristic(
      this.#handle,
      desc,
      layouts[0],
      layouts[1],
      layouts[2],
      layouts[2],
      this.#pref,
      1,
      algo,
      this.#returned,
    );
    let plan: Plan | null = null;
    if (rc === 0 && this.#returned[0] > 0) {
      const view = new DataView(koffi.view(algo as never, HEURISTIC_BYTES));
      plan = { desc, layouts, algo, workspace: Number(view.getBigUint64(64, true)) };
    } else {
      for (const l of layouts) api.cublasLtMatrixLayoutDestroy(l);
      api.cublasLtMatmulDescDestroy(desc);
      koffi.free(algo as never);
    }
    this.#plans.set(key, plan);
    return plan;
  }

  /** act(x·wᵀ + bias) + residual, or null when this shape/kind has no cuBLASLt algorithm. */
  run(
    x: TensorInfo,
    w: TensorInfo,
    bias: TensorInfo | null,
    residual: TensorInfo | null,
    opts: LinearOptions,
  ): TensorInfo | null {
    const relu = opts.activation === 'relu';
    if (relu && residual) return null; // C joins before the epilogue: ReLU would see the residual
    const [M, K] = x.shape;
    const N = w.shape[0];
    if (K === 0) return null;
    const epilogue = bias
      ? relu
        ? EPILOGUE_RELU_BIAS
        : EPILOGUE_BIAS
      : relu
        ? EPILOGUE_RELU
        : EPILOGUE_DEFAULT;
    const b = this.b;
    if (M === 0 || N === 0) return b.output([M, N], x.dtype);
    const plan = this.#plan(M, N, K, epilogue, x.dtype);
    if (!plan) return null;
    if (bias) {
      this.#slotView[0] = b.ptr(bias);
      this.#check(
        this.#api.cublasLtMatmulDescSetAttribute(plan.desc, DESC_BIAS_POINTER, this.#slot, 8),
        'cublasLtMatmulDescSetAttribute',
      );
    }
    const out = b.output([M, N], x.dtype);
    const [aL, bL, dL] = plan.layouts;
    const rc = this.#api.cublasLtMatmul(
      this.#handle,
      plan.desc,
      b.one,
      b.ptr(w),
      aL,
      b.ptr(x),
      bL,
      residual ? b.one : b.zero,
      residual ? b.ptr(residual) : b.ptr(out),
      dL,
      b.ptr(out),
      dL,
      plan.algo,
      this.#workspace,
      plan.workspace,
      b.stream,
    );
    if (rc !== 0) {
      b.free(out.dataId);
      throw new DeviceError(`cublasLtMatmul [${M},${K}]·[${N},${K}]ᵀ failed: cuBLAS status ${rc}`);
    }
    return out;
  }

  destroy(): void {
    for (const plan of this.#plans.values()) {
      if (!plan) continue;
      for (const l of plan.layouts) this.#api.cublasLtMatrixLayoutDestroy(l);
      this.#api.cublasLtMatmulDescDestroy(plan.desc);
      koffi.free(plan.algo as never);
    }
    this.#plans.clear();
    this.#api.cublasLtMatmulPreferenceDestroy(this.#pref);
    this.#api.cublasLtDestroy(this.#handle);
    this.b.rawFree(this.#workspace);
    koffi.free(this.#slot as never);
    koffi.free(this.#u32 as never);
  }
}

/** The backend's `linear` capability: float32 2-D operands through cuBLASLt, else null. */
export function linear(
  b: CudaBackend,
  x: TensorInfo,
  w: TensorInfo,
  bias: TensorInfo | null,
  residual: TensorInfo | null,
  opts: LinearOptions,
): TensorInfo | null {
  // float32 (plain SGEMM), bfloat16/float16 on the tensor cores with float32 accumulation; the bias
  // and residual share x's dtype (the op layer fuses only then)
  if (!['float32', 'bfloat16', 'float16'].includes(x.dtype) || w.dtype !== x.dtype) return null;
  const lt = b.lt();
  return lt ? lt.run(x, w, bias, residual, opts) : null;
}
