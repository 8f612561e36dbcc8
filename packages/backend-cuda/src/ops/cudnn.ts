/**
 * conv2d on the tensor cores through cuDNN (loaded at first use like cuBLAS: found beside it in the
 * python site-packages `nvidia/cudnn/lib`, SEA_LIBCUDNN, or the loader's path). The legacy
 * convolution API of cuDNN 8/9: NCHW tensors of the input dtype, float32 compute
 * (CUDNN_TENSOR_OP_MATH), the algorithm cuDNN's heuristic ranks first for each shape (cached). cuDNN
 * pads symmetrically, so a conv whose top/bottom (or left/right) padding differ runs with the larger
 * one on both sides and its output is cropped. The bias is added by cudnnAddTensor. Any cuDNN
 * failure (library absent, no algorithm, a status error) makes `run` return null and the backend's
 * own kernel takes the conv; the reason stays in `CudnnConv.unavailable` / `lastError`.
 */
import fs from 'node:fs';
import path from 'node:path';
import { type Shape, sizeOf, type TensorInfo } from '@sea/tensor';
import { type Conv2dOptions, stridesOf } from '@sea/tensor/backend';
import koffi from 'koffi';
import type { CudaBackend } from '../cuda_backend.js';
import { findLibraries } from '../libs.js';
import { copyStrided } from './elementwise.js';

type Fn = (...args: unknown[]) => number;
type Pointer = unknown;

const NCHW = 0;
const DATA = { float32: 0, float16: 2, bfloat16: 9 } as const;
const CROSS_CORRELATION = 1;
const TENSOR_OP_MATH = 1;
/** float32 convs: FMA kernels only (no TF32 on the tensor cores), the float32 result of the own kernels. */
const FMA_MATH = 3;
/** sizeof(cudnnConvolutionFwdAlgoPerf_t): algo, status, time (float), pad, memory (size_t), determinism, mathType, reserved[3]. */
const PERF_BYTES = 48;

function loadCudnnLibrary(): { lib: ReturnType<typeof koffi.load>; file: string } {
  const cands = [
    ...(process.env.SEA_LIBCUDNN ? [process.env.SEA_LIBCUDNN] : []),
    ...findLibraries(/^libcudnn\.so(\.\d+)*$/),
    'libcudnn.so.9',
    'libcudnn.so.8',
  ];
  const errors: string[] = [];
  for (const c of cands) {
    try {
      // cuDNN 9's libcudnn is a shim that opens its sub-libraries from its own folder
      if (c.includes('/') && !fs.existsSync(c)) continue;
      return { lib: koffi.load(c), file: c };
    } catch (e) {
      errors.push(`${path.basename(c)}: ${(e as Error).message}`);
    }
  }
  throw new Error(
    `cuDNN not found (looked in the library folders and python site-packages nvidia/cudnn/lib${errors.length ? `; ${errors.slice(0, 2).join('; ')}` : ''}); set SEA_LIBCUDNN`,
  );
}

interface Plan {
  x: Pointer;
  w: Pointer;
  y: Pointer;
  bias: Pointer;
  conv: Pointer;
  algo: number;
  workspace: number;
  /** Output rows/columns cuDNN writes (symmetric padding) before the crop. */
  fullH: number;
  fullW: number;
}

export class CudnnConv {
  readonly file: string;
  lastError: string | null = null;
  readonly #api: Record<string, Fn>;
  readonly #handle: Pointer;
  readonly #plans = new Map<string, Plan | null>();
  readonly #one = new Float32Array([1]);
  readonly #zero = new Float32Array([0]);

  constructor(private readonly b: CudaBackend) {
    const { lib, file } = loadCudnnLibrary();
    this.file = file;
    const f = (p: string): Fn => lib.func(p) as unknown as Fn;
    this.#api = {
      cudnnCreate: f('int cudnnCreate(_Out_ void **handle)'),
      cudnnDestroy: f('int cudnnDestroy(void *handle)'),
      cudnnSetStream: f('int cudnnSetStream(void *handle, void *stream)'),
      cudnnGetErrorString: f('const char *cudnnGetErrorString(int status)') as Fn,
      cudnnCreateTensorDescriptor: f('int cudnnCreateTensorDescriptor(_Out_ void **d)'),
      cudnnSetTensor4dDescriptor: f(
        'int cudnnSetTensor4dDescriptor(void *d, int format, int dataType, int n, int c, int h, int w)',
      ),
      cudnnDestroyTensorDescriptor: f('int cudnnDestroyTensorDescriptor(void *d)'),
      cudnnCreateFilterDescriptor: f('int cudnnCreateFilterDescriptor(_Out_ void **d)'),
      cudnnSetFilter4dDescriptor: f(
        'int cudnnSetFilter4dDescriptor(void *d, int dataType, int format, int k, int c, int h, int w)',
      ),
      cudnnDestroyFilterDescriptor: f('int cudnnDestroyFilterDescriptor(void *d)'),
      cudnnCreateConvolutionDescriptor: f('int cudnnCreateConvolutionDescriptor(_Out_ void **d)'),
      cudnnSetConvolution2dDescriptor: f(
        'int cudnnSetConvolution2dDescriptor(void *d, int padH, int padW, int u, int v, int dilH, int dilW, int mode, int computeType)',
      ),
      cudnnSetConvolutionMathType: f('int cudnnSetConvolutionMathType(void *d, int mathType)'),
      cudnnSetConvolutionGroupCount: f('int cudnnSetConvolutionGroupCount(void *d, int groups)'),
      cudnnDestroyConvolutionDescriptor: f('int cudnnDestroyConvolutionDescriptor(void *d)'),
      cudnnGetConvolution2dForwardOutputDim: f(
        'int cudnnGetConvolution2dForwardOutputDim(void *conv, void *x, void *w, _Out_ int *n, _Out_ int *c, _Out_ int *h, _Out_ int *wd)',
      ),
      cudnnGetConvolutionForwardAlgorithm_v7: f(
        'int cudnnGetConvolutionForwardAlgorithm_v7(void *h, void *x, void *w, void *conv, void *y, int requested, _Out_ int *returned, void *perf)',
      ),
      cudnnConvolutionForward: f(
        'int cudnnConvolutionForward(void *h, const void *alpha, void *xd, uint64_t x, void *wd, uint64_t w, void *conv, int algo, uint64_t ws, size_t wsBytes, const void *beta, void *yd, uint64_t y)',
      ),
      cudnnAddTensor: f(
        'int cudnnAddTensor(void *h, const void *alpha, void *bd, uint64_t b, const void *beta, void *yd, uint64_t y)',
      ),
    };
    const h: [Pointer] = [null];
    this.#check(this.#api.cudnnCreate(h), 'cudnnCreate');
    this.#handle = h[0];
    this.#check(this.#api.cudnnSetStream(this.#handle, b.stream), 'cudnnSetStream');
  }

  #check(rc: number, call: string): void {
    if (rc !== 0)
      throw new Error(`${call} failed: cuDNN status ${rc} (${String(this.#api.cudnnGetErrorString(rc))})`);
  }

  #desc(kind: 'Tensor' | 'Filter' | 'Convolution'): Pointer {
    const d: [Pointer] = [null];
    this.#check(this.#api[`cudnnCreate${kind}Descriptor`](d), `cudnnCreate${kind}Descriptor`);
    return d[0];
  }

  #plan(x: TensorInfo, w: TensorInfo, opts: Conv2dOptions): Plan | null {
    const key = `${x.dtype}|${x.shape}|${w.shape}|${opts.stride}|${opts.dilation}|${opts.padding}|${opts.groups}`;
    const cached = this.#plans.get(key);
    if (cached !== undefined) return cached;
    const api = this.#api;
    const dt = DATA[x.dtype as keyof typeof DATA];
    const [B, C, H, W] = x.shape;
    const [O, Cg, kh, kw] = w.shape;
    const [pt, pb, pl, pr] = opts.padding;
    let plan: Plan | null = null;
    try {
      const xd = this.#desc('Tensor');
      this.#check(api.cudnnSetTensor4dDescriptor(xd, NCHW, dt, B, C, H, W), 'cudnnSetTensor4dDescriptor(x)');
      const wd = this.#desc('Filter');
      this.#check(api.cudnnSetFilter4dDescriptor(wd, dt, NCHW, O, Cg, kh, kw), 'cudnnSetFilter4dDescriptor');
      const cd = this.#desc('Convolution');
      this.#check(
        api.cudnnSetConvolution2dDescriptor(
          cd,
          Math.max(pt, pb),
          Math.max(pl, pr),
          opts.stride[0],
          opts.stride[1],
          opts.dilation[0],
          opts.dilation[1],
          CROSS_CORRELATION,
          DATA.float32,
        ),
        'cudnnSetConvolution2dDescriptor',
      );
      this.#check(
        api.cudnnSetConvolutionMathType(cd, x.dtype === 'float32' ? FMA_MATH : TENSOR_OP_MATH),
        'cudnnSetConvolutionMathType',
      );
      if (opts.groups !== 1)
        this.#check(api.cudnnSetConvolutionGroupCount(cd, opts.groups), 'cudnnSetConvolutionGroupCount');
      const n: [number] = [0];
      const c: [number] = [0];
      const h: [number] = [0];
      const wo: [number] = [0];
      this.#check(
        api.cudnnGetConvolution2dForwardOutputDim(cd, xd, wd, n, c, h, wo),
        'cudnnGetConvolution2dForwardOutputDim',
      );
      const yd = this.#desc('Tensor');
      this.#check(
        api.cudnnSetTensor4dDescriptor(yd, NCHW, dt, n[0], c[0], h[0], wo[0]),
        'cudnnSetTensor4dDescriptor(y)',
      );
      const bd = this.#desc('Tensor');
      this.#check(
        api.cudnnSetTensor4dDescriptor(bd, NCHW, dt, 1, O, 1, 1),
        'cudnnSetTensor4dDescriptor(bias)',
      );
      const perf = Buffer.alloc(PERF_BYTES * 4);
      const got: [number] = [0];
      this.#check(
        api.cudnnGetConvolutionForwardAlgorithm_v7(this.#handle, xd, wd, cd, yd, 4, got, perf),
        'cudnnGetConvolutionForwardAlgorithm_v7',
      );
      // the first ranked algorithm whose status is success
      for (let i = 0; i < got[0]; i++) {
        if (perf.readInt32LE(i * PERF_BYTES + 4) !== 0) continue;
        plan = {
          x: xd,
          w: wd,
          y: yd,
          bias: bd,
          conv: cd,
          algo: perf.readInt32LE(i * PERF_BYTES),
          workspace: Number(perf.readBigUInt64LE(i * PERF_BYTES + 16)),
          fullH: h[0],
          fullW: wo[0],
        };
        break;
      }
      if (!plan) throw new Error('cuDNN offers no forward algorithm for this conv');
    } catch (e) {
      this.lastError = (e as Error).message;
      plan = null;
    }
    this.#plans.set(key, plan);
    return plan;
  }

  /** The conv, or null when cuDNN cannot take it (the caller runs its own kernel). */
  run(
    x: TensorInfo,
    w: TensorInfo,
    bias: TensorInfo | null,
    opts: Conv2dOptions,
    outShape: Shape,
  ): TensorInfo | null {
    if (!(x.dtype in DATA) || w.dtype !== x.dtype || (bias && bias.dtype !== x.dtype)) return null;
    if (sizeOf(outShape) === 0) return null;
    const [pt0, pb0, pl0, pr0] = opts.padding;
    // the crop of symmetric padding lines up only at stride 1 along an asymmetric axis
    if ((pt0 !== pb0 && opts.stride[0] !== 1) || (pl0 !== pr0 && opts.stride[1] !== 1)) return null;
    const plan = this.#plan(x, w, opts);
    if (!plan) return null;
    const b = this.b;
    const [B, O, OH, OW] = outShape;
    const crop = plan.fullH !== OH || plan.fullW !== OW;
    // cuDNN's symmetric padding: rows/columns start at max(pt,pb)−pt (max(pl,pr)−pl) of its output
    const [pt, pb, pl, pr] = opts.padding;
    const r0 = Math.max(pt, pb) - pt;
    const c0 = Math.max(pl, pr) - pl;
    const full = b.output(crop ? [B, O, plan.fullH, plan.fullW] : outShape, x.dtype);
    const ws = plan.workspace > 0 ? b.alloc(plan.workspace) : null;
    try {
      this.#check(
        this.#api.cudnnConvolutionForward(
          this.#handle,
          this.#one,
          plan.x,
          b.ptr(x),
          plan.w,
          b.ptr(w),
          plan.conv,
          plan.algo,
          ws ? ws.ptr : 0n,
          plan.workspace,
          this.#zero,
          plan.y,
          b.ptr(full),
        ),
        'cudnnConvolutionForward',
      );
      if (bias)
        this.#check(
          this.#api.cudnnAddTensor(
            this.#handle,
            this.#one,
            plan.bias,
            b.ptr(bias),
            this.#one,
            plan.y,
            b.ptr(full),
          ),
          'cudnnAddTensor',
        );
    } catch (e) {
      this.lastError = (e as Error).message;
      if (ws) b.free(ws);
      b.free(full.dataId);
      return null;
    }
    if (ws) b.free(ws); // stream-ordered: reused only by later work on the stream
    if (!crop) return full;
    const out = b.output(outShape, x.dtype);
    const fst = stridesOf([B, O, plan.fullH, plan.fullW]);
    copyStrided(b, x.dtype, b.ptr(full), b.ptr(out), outShape, fst, stridesOf(outShape), r0 * fst[2] + c0, 0);
    b.free(full.dataId);
    return out;
  }

  destroy(): void {
    for (const p of this.#plans.values()) {
      if (!p) continue;
      this.#api.cudnnDestroyTensorDescriptor(p.x);
      this.#api.cudnnDestroyTensorDescriptor(p.y);
      this.#api.cudnnDestroyTensorDescriptor(p.bias);
      this.#api.cudnnDestroyFilterDescriptor(p.w);
      this.#api.cudnnDestroyConvolutionDescriptor(p.conv);
    }
    this.#plans.clear();
    this.#api.cudnnDestroy(this.#handle);
  }
}
