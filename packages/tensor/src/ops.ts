/**
 * The functional op API: the same whatever the backend. Each op validates its inputs (shapes,
 * dtypes, backends, liveness) and names what was wrong, then calls one backend primitive.
 */
import type {
  Backend,
  BinaryOp,
  CsrInfo,
  LayerNormActivation,
  MatmulOptions,
  ReduceOp,
  ResizeMode,
  TensorInfo,
  UnaryOp,
} from './backend.js';
import { sliceRuns } from './backend.js';
import {
  assertDType,
  type DType,
  dtypeOfArray,
  isFloat,
  isHalf,
  type TypedArray,
  toTypedArray,
} from './dtype.js';
import { isRecording, recordOp, Tensor, tidy, wrap } from './engine.js';
import { DTypeError, ShapeError, TensorStateError } from './errors.js';
import { currentBackend } from './registry.js';
import { assertShape, broadcastShapes, fmt, normAxis, type Shape, shapesEqual, sizeOf } from './shape.js';

type Scalar = number;

function sameBackend(op: string, ...ts: (Tensor | null | undefined)[]): Backend {
  let b: Backend | null = null;
  for (const t of ts) {
    if (!t) continue;
    if (!(t instanceof Tensor)) throw new TensorStateError(`${op}: expected a Tensor, got ${typeof t}`);
    t.assertLive(`${op} input`);
    if (b && t.backend !== b) {
      throw new TensorStateError(
        `${op}: inputs live on different backends ('${b.name}' and '${t.backend.name}')`,
      );
    }
    b = t.backend;
  }
  return b ?? currentBackend();
}

function requireFloat(op: string, t: Tensor, what = 'input'): void {
  if (!isFloat(t.dtype))
    throw new DTypeError(
      `${op}: ${what} must be a float dtype (float32, float64, float16, bfloat16), got ${t.dtype}`,
    );
}

/** The SEA routines compute in float32, float16 or bfloat16 (float32 accumulation), not float64. */
const SEA_FLOATS: readonly DType[] = ['float32', 'float16', 'bfloat16'];

function requireSeaFloat(op: string, t: Tensor, what: string, like?: Tensor): void {
  if (!SEA_FLOATS.includes(t.dtype))
    throw new DTypeError(`${op}: ${what} must be float32, float16 or bfloat16, got ${t.dtype}`);
  if (like && t.dtype !== like.dtype)
    throw new DTypeError(`${op}: ${what} is ${t.dtype} but the other inputs are ${like.dtype}; cast first`);
}

/** Whether `backend` holds and computes in `dtype` (its `dtypes` list). */
export function supportsDType(backend: Backend, dtype: DType): boolean {
  return backend.dtypes.includes(dtype);
}

/** Throws a DTypeError naming the backend and its dtypes when it does not compute in `dtype`. */
export function assertBackendDType(op: string, backend: Backend, dtype: DType): void {
  if (supportsDType(backend, dtype)) return;
  const hint = isHalf(dtype)
    ? '; compute in float32 there (cast/astype), or use a backend that lists it (cuda)'
    : '';
  throw new DTypeError(
    `${op}: the '${backend.name}' backend does not compute in ${dtype} (it lists ${backend.dtypes.join(', ')})${hint}`,
  );
}

function requireDType(op: string, t: Tensor, dtype: DType, what: string): void {
  if (t.dtype !== dtype) throw new DTypeError(`${op}: ${what} must be ${dtype}, got ${t.dtype}`);
}

function requireRank(op: string, t: Tensor, rank: number, what: string, layout: string): void {
  if (t.rank !== rank)
    throw new ShapeError(`${op}: expected ${what} of shape ${layout}, got ${fmt(t.shape)}`);
}

// ---- creation ----

export interface CreateOptions {
  dtype?: DType;
  backend?: Backend;
}

/** A tensor from values (copied). dtype defaults to the typed array's, or float32. */
export function tensor(
  values: TypedArray | ArrayLike<number> | ArrayLike<boolean>,
  shape?: readonly number[],
  opts: CreateOptions = {},
): Tensor {
  const backend = opts.backend ?? currentBackend();
  const dtype: DType =
    opts.dtype ?? (ArrayBuffer.isView(values) ? dtypeOfArray(values as TypedArray) : 'float32');
  assertDType(dtype);
  assertBackendDType('tensor', backend, dtype);
  const s = shape ?? [values.length];
  assertShape(s);
  if (sizeOf(s) !== values.length) {
    throw new ShapeError(
      `tensor: ${values.length} values do not fill shape ${fmt(s)} (${sizeOf(s)} elements)`,
    );
  }
  // a Uint16Array given with a 16-bit dtype holds that dtype's bit patterns already
  const stored =
    ArrayBuffer.isView(values) &&
    (values instanceof Uint16Array ? isHalf(dtype) : dtypeOfArray(values as TypedArray) === dtype);
  const arr = stored ? (values as TypedArray) : toTypedArray(values as ArrayLike<number>, dtype);
  return new Tensor(backend, backend.upload(arr, dtype), [...s], dtype);
}

export function scalar(value: number, opts: CreateOptions = {}): Tensor {
  return tensor([value], [], opts);
}

export function zeros(shape: readonly number[], opts: CreateOptions = {}): Tensor {
  assertShape(shape);
  const backend = opts.backend ?? currentBackend();
  const dtype = opts.dtype ?? 'float32';
  assertDType(dtype);
  assertBackendDType('zeros', backend, dtype);
  return new Tensor(backend, backend.zeros(sizeOf(shape), dtype), [...shape], dtype);
}

export function full(shape: readonly number[], value: number, opts: CreateOptions = {}): Tensor {
  assertShape(shape);
  const backend = opts.backend ?? currentBackend();
  const dtype = opts.dtype ?? 'float32';
  assertDType(dtype);
  assertBackendDType('full', backend, dtype);
  const info = backend.fill(sizeOf(shape), value, dtype);
  return new Tensor(backend, info.dataId, [...shape], dtype);
}

export function ones(shape: readonly number[], opts: CreateOptions = {}): Tensor {
  return full(shape, 1, opts);
}

export interface ArangeOptions extends CreateOptions {
  /** The difference between neighbours (default 1; not 0). */
  step?: number;
}

/**
 * start, start + step, … up to but not including stop (int32 unless dtype says otherwise), made on
 * the device by the backend's `range`. int32 needs whole numbers and values int32 holds.
 */
export function arange(start: number, stop: number, opts: ArangeOptions = {}): Tensor {
  const step = opts.step ?? 1;
  for (const [name, v] of [
    ['start', start],
    ['stop', stop],
    ['step', step],
  ] as const) {
    if (typeof v !== 'number' || !Number.isFinite(v))
      throw new RangeError(`arange: ${name} must be a finite number, got ${v}`);
  }
  if (step === 0) throw new RangeError('arange: step must not be 0');
  const backend = opts.backend ?? currentBackend();
  const dtype = opts.dtype ?? 'int32';
  assertDType(dtype);
  if (dtype === 'bool') throw new DTypeError('arange: dtype must be numeric, got bool');
  assertBackendDType('arange', backend, dtype);
  const n = Math.max(0, Math.ceil((stop - start) / step));
  if (!Number.isSafeInteger(n)) throw new RangeError(`arange: ${n} elements is too many`);
  if (dtype === 'int32' && n > 0) {
    const last = start + (n - 1) * step;
    if (!Number.isInteger(start) || !Number.isInteger(step))
      throw new RangeError(`arange: int32 needs whole start and step, got start ${start}, step ${step}`);
    if (Math.min(start, last) < -(2 ** 31) || Math.max(start, last) > 2 ** 31 - 1)
      throw new RangeError(`arange: values ${start}…${last} do not fit int32`);
  }
  const info = backend.range(n, start, step, dtype);
  return new Tensor(backend, info.dataId, [n], dtype);
}

/**
 * A number operand as a 0-d tensor of `like`'s dtype, made by the backend's `fill` (a device memset)
 * rather than an upload: a host-to-device copy from pageable memory in the middle of a chain of
 * kernels makes the host wait for the device, which leaves the device idle between launches.
 */
function asTensor(x: Tensor | Scalar, like: Tensor): Tensor {
  if (x instanceof Tensor) return x;
  return full([], x, { backend: like.backend, dtype: like.dtype === 'bool' ? 'float32' : like.dtype });
}

// ---- dense ops ----

export function matmul(a: Tensor, b: Tensor, opts: MatmulOptions = {}): Tensor {
  const backend = sameBackend('matmul', a, b);
  requireFloat('matmul', a, 'a');
  requireFloat('matmul', b, 'b');
  if (a.dtype !== b.dtype) throw new DTypeError(`matmul: a is ${a.dtype} but b is ${b.dtype}`);
  if (a.rank < 2 || b.rank < 2) {
    throw new ShapeError(`matmul: expected a and b of rank ≥ 2, got ${fmt(a.shape)} and ${fmt(b.shape)}`);
  }
  const [m, ka] = opts.transA
    ? [a.shape[a.rank - 1], a.shape[a.rank - 2]]
    : [a.shape[a.rank - 2], a.shape[a.rank - 1]];
  const [kb, n] = opts.transB
    ? [b.shape[b.rank - 1], b.shape[b.rank - 2]]
    : [b.shape[b.rank - 2], b.shape[b.rank - 1]];
  if (ka !== kb) {
    throw new ShapeError(
      `matmul: inner dimensions differ: a ${fmt(a.shape)}${opts.transA ? 'ᵀ' : ''} has ${ka}, b ${fmt(b.shape)}${opts.transB ? 'ᵀ' : ''} has ${kb}`,
    );
  }
  const batch = broadcastShapes(a.shape.slice(0, -2), b.shape.slice(0, -2), 'matmul batch dims');
  const attrs = { transA: opts.transA ?? false, transB: opts.transB ?? false };
  return recordOp('matmul', [a, b], wrap(backend, backend.matmul(a, b, opts, [...batch, m, n])), attrs);
}

export interface LinearOpOptions {
  /** Applied to x·Wᵀ + b before the residual is added (default none). */
  activation?: 'relu' | null;
  /** Added last, shape [..., out] equal to the output's: y = act(x·Wᵀ + b) + residual. */
  residual?: Tensor | null;
}

/**
 * y = act(x·Wᵀ + b) + residual with W [out, in] (PyTorch/HF nn.Linear layout). A backend with the
 * fused `linear` capability does it in one GEMM with an epilogue (no separate bias, activation or
 * residual pass) when no tape is recording; otherwise matmul, add and relu compose it.
 */
export function linear(x: Tensor, weight: Tensor, bias?: Tensor | null, opts: LinearOpOptions = {}): Tensor {
  x.assertLive('linear x');
  weight.assertLive('linear weight');
  if (weight.rank !== 2)
    throw new ShapeError(`linear: expected weight of shape [out,in], got ${fmt(weight.shape)}`);
  if (x.rank < 1) throw new ShapeError(`linear: expected x of rank ≥ 1, got ${fmt(x.shape)}`);
  if (x.shape[x.rank - 1] !== weight.shape[1]) {
    throw new ShapeError(
      `linear: input ${fmt(x.shape)} has last dim ${x.shape[x.rank - 1]}, weight expects ${weight.shape[1]}`,
    );
  }
  if (bias && (bias.rank !== 1 || bias.shape[0] !== weight.shape[0])) {
    throw new ShapeError(`linear: expected bias of shape [${weight.shape[0]}], got ${fmt(bias.shape)}`);
  }
  const act = opts.activation ?? null;
  if (act !== null && act !== 'relu')
    throw new TypeError(`linear: activation must be 'relu' or null, got ${String(act)}`);
  const lead = x.shape.slice(0, -1);
  const outShape = [...lead, weight.shape[0]];
  const residual = opts.residual ?? null;
  if (residual && !shapesEqual(residual.shape, outShape)) {
    throw new ShapeError(`linear: expected residual of shape ${fmt(outShape)}, got ${fmt(residual.shape)}`);
  }
  const M = sizeOf(lead);
  const backend = sameBackend('linear', x, weight, bias, residual);
  const x2 = x.reshape([M, weight.shape[1]]);
  if (
    backend.linear &&
    !isRecording() &&
    x.dtype === weight.dtype &&
    (!bias || bias.dtype === x.dtype) &&
    (!residual || residual.dtype === x.dtype)
  ) {
    const r2 = residual ? residual.reshape([M, weight.shape[0]]) : null;
    const fused = backend.linear(x2, weight, bias ?? null, r2, { activation: act ?? 'none' });
    r2?.dispose();
    if (fused) {
      x2.dispose();
      return wrap(backend, { ...fused, shape: outShape });
    }
  }
  let y = matmul(x2, weight, { transB: true });
  x2.dispose();
  const step = (next: Tensor): void => {
    y.dispose();
    y = next;
  };
  if (bias) step(add(y, bias));
  if (act === 'relu') step(relu(y));
  const out = y.reshape(outShape);
  y.dispose();
  if (!residual) return out;
  const sum = add(out, residual);
  out.dispose();
  return sum;
}

export function unary(op: UnaryOp, x: Tensor): Tensor {
  const backend = sameBackend(op, x);
  if (op === 'not') requireDType(op, x, 'bool', 'input');
  else if (!['neg', 'abs', 'sign', 'square'].includes(op)) requireFloat(op, x);
  else if (x.dtype === 'bool') throw new DTypeError(`${op}: input must be numeric, got bool`);
  return recordOp(op, [x], wrap(backend, backend.unary(op, x)));
}

export const neg = (x: Tensor) => unary('neg', x);
export const abs = (x: Tensor) => unary('abs', x);
export const exp = (x: Tensor) => unary('exp', x);
export const log = (x: Tensor) => unary('log', x);
export const sqrt = (x: Tensor) => unary('sqrt', x);
export const rsqrt = (x: Tensor) => unary('rsqrt', x);
export const square = (x: Tensor) => unary('square', x);
export const reciprocal = (x: Tensor) => unary('reciprocal', x);
export const sin = (x: Tensor) => unary('sin', x);
export const cos = (x: Tensor) => unary('cos', x);
export const tanh = (x: Tensor) => unary('tanh', x);
export const sigmoid = (x: Tensor) => unary('sigmoid', x);
export const relu = (x: Tensor) => unary('relu', x);
export const gelu = (x: Tensor) => unary('gelu', x);
export const geluTanh = (x: Tensor) => unary('gelu_tanh', x);
export const erf = (x: Tensor) => unary('erf', x);
export const floor = (x: Tensor) => unary('floor', x);
export const ceil = (x: Tensor) => unary('ceil', x);
export const round = (x: Tensor) => unary('round', x);
export const sign = (x: Tensor) => unary('sign', x);
export const logicalNot = (x: Tensor) => unary('not', x);

const COMPARE: readonly BinaryOp[] = ['eq', 'ne', 'lt', 'le', 'gt', 'ge'];

export function binary(op: BinaryOp, a: Tensor | Scalar, b: Tensor | Scalar): Tensor {
  const ref = a instanceof Tensor ? a : (b as Tensor);
  if (!(ref instanceof Tensor)) throw new TensorStateError(`${op}: at least one operand must be a Tensor`);
  const ta = asTensor(a, ref);
  const tb = asTensor(b, ref);
  try {
    const backend = sameBackend(op, ta, tb);
    if (ta.dtype !== tb.dtype)
      throw new DTypeError(`${op}: operand dtypes differ (${ta.dtype} and ${tb.dtype})`);
    if (op === 'and' || op === 'or') requireDType(op, ta, 'bool', 'operands');
    else if (!COMPARE.includes(op) && ta.dtype === 'bool')
      throw new DTypeError(`${op}: bool operands; cast first`);
    const outShape = broadcastShapes(ta.shape, tb.shape, `${op} operands`);
    return recordOp(op, [ta, tb], wrap(backend, backend.binary(op, ta, tb, outShape)));
  } finally {
    if (ta !== a) ta.dispose();
    if (tb !== b) tb.dispose();
  }
}

export const add = (a: Tensor | Scalar, b: Tensor | Scalar) => binary('add', a, b);
export const sub = (a: Tensor | Scalar, b: Tensor | Scalar) => binary('sub', a, b);
export const mul = (a: Tensor | Scalar, b: Tensor | Scalar) => binary('mul', a, b);
export const div = (a: Tensor | Scalar, b: Tensor | Scalar) => binary('div', a, b);
export const maximum = (a: Tensor | Scalar, b: Tensor | Scalar) => binary('max', a, b);
export const minimum = (a: Tensor | Scalar, b: Tensor | Scalar) => binary('min', a, b);
export const pow = (a: Tensor | Scalar, b: Tensor | Scalar) => binary('pow', a, b);
export const equal = (a: Tensor | Scalar, b: Tensor | Scalar) => binary('eq', a, b);
export const notEqual = (a: Tensor | Scalar, b: Tensor | Scalar) => binary('ne', a, b);
export const less = (a: Tensor | Scalar, b: Tensor | Scalar) => binary('lt', a, b);
export const lessEqual = (a: Tensor | Scalar, b: Tensor | Scalar) => binary('le', a, b);
export const greater = (a: Tensor | Scalar, b: Tensor | Scalar) => binary('gt', a, b);
export const greaterEqual = (a: Tensor | Scalar, b: Tensor | Scalar) => binary('ge', a, b);
export const logicalAnd = (a: Tensor, b: Tensor) => binary('and', a, b);
export const logicalOr = (a: Tensor, b: Tensor) => binary('or', a, b);

export function where(cond: Tensor, a: Tensor | Scalar, b: Tensor | Scalar): Tensor {
  const ref = a instanceof Tensor ? a : b instanceof Tensor ? b : null;
  const ta = ref ? asTensor(a, ref) : full([], a as number, { backend: cond.backend });
  const tb = ref ? asTensor(b, ref) : full([], b as number, { backend: cond.backend });
  try {
    const backend = sameBackend('where', cond, ta, tb);
    requireDType('where', cond, 'bool', 'cond');
    if (ta.dtype !== tb.dtype)
      throw new DTypeError(`where: branch dtypes differ (${ta.dtype} and ${tb.dtype})`);
    const outShape = broadcastShapes(
      broadcastShapes(cond.shape, ta.shape, 'where cond/a'),
      tb.shape,
      'where a/b',
    );
    return recordOp('where', [cond, ta, tb], wrap(backend, backend.where(cond, ta, tb, outShape)));
  } finally {
    if (ta !== a) ta.dispose();
    if (tb !== b) tb.dispose();
  }
}

/**
 * Converts to `dtype` (float → float rounds to nearest even; float → int truncates toward zero;
 * anything → bool is x ≠ 0). The backend must list `dtype`.
 */
export function cast(x: Tensor, dtype: DType): Tensor {
  const backend = sameBackend('cast', x);
  assertDType(dtype);
  assertBackendDType('cast', backend, dtype);
  return recordOp('cast', [x], wrap(backend, backend.cast(x, dtype)), { dtype });
}

/** `cast` under NumPy's name. */
export const astype = cast;

function reduceAxes(x: Tensor, axes: number | readonly number[] | undefined): number[] {
  const list = axes === undefined ? x.shape.map((_, i) => i) : typeof axes === 'number' ? [axes] : [...axes];
  const norm = [...new Set(list.map((a) => normAxis(a, x.rank)))].sort((p, q) => p - q);
  return norm;
}

export function reduce(op: ReduceOp, x: Tensor, axes?: number | readonly number[], keepDims = false): Tensor {
  const backend = sameBackend(op, x);
  if (x.dtype === 'bool') throw new DTypeError(`${op}: bool input; cast first`);
  if ((op === 'mean' || op === 'prod') && !isFloat(x.dtype) && op === 'mean') requireFloat(op, x);
  const ax = reduceAxes(x, axes);
  if ((op === 'argmax' || op === 'argmin') && ax.length !== 1) {
    throw new ShapeError(`${op}: takes exactly one axis, got [${ax.join(',')}]`);
  }
  for (const a of ax) {
    if (x.shape[a] === 0 && op !== 'sum')
      throw new ShapeError(`${op}: cannot reduce empty axis ${a} of ${fmt(x.shape)}`);
  }
  const out = recordOp(op, [x], wrap(backend, backend.reduce(op, x, ax)), { axes: ax });
  if (!keepDims) return out;
  const kept = x.shape.map((d, i) => (ax.includes(i) ? 1 : d));
  const r = out.reshape(kept);
  out.dispose();
  return r;
}

export const sum = (x: Tensor, axes?: number | readonly number[], keepDims = false) =>
  reduce('sum', x, axes, keepDims);
export const mean = (x: Tensor, axes?: number | readonly number[], keepDims = false) =>
  reduce('mean', x, axes, keepDims);
export const max = (x: Tensor, axes?: number | readonly number[], keepDims = false) =>
  reduce('max', x, axes, keepDims);
export const min = (x: Tensor, axes?: number | readonly number[], keepDims = false) =>
  reduce('min', x, axes, keepDims);
export const prod = (x: Tensor, axes?: number | readonly number[], keepDims = false) =>
  reduce('prod', x, axes, keepDims);
export const argmax = (x: Tensor, axis: number, keepDims = false) => reduce('argmax', x, axis, keepDims);
export const argmin = (x: Tensor, axis: number, keepDims = false) => reduce('argmin', x, axis, keepDims);

/** Softmax over the last axis, with an optional additive mask broadcastable to x. */
export function softmax(x: Tensor, mask?: Tensor | null): Tensor {
  const backend = sameBackend('softmax', x, mask);
  requireFloat('softmax', x);
  if (x.rank < 1) throw new ShapeError('softmax: input must have rank ≥ 1');
  if (mask) {
    if (mask.dtype !== x.dtype) throw new DTypeError(`softmax: mask is ${mask.dtype}, x is ${x.dtype}`);
    const b = broadcastShapes(x.shape, mask.shape, 'softmax x/mask');
    if (!shapesEqual(b, x.shape)) {
      throw new ShapeError(
        `softmax: mask ${fmt(mask.shape)} must broadcast to x ${fmt(x.shape)}, not widen it`,
      );
    }
  }
  return recordOp('softmax', [x, mask], wrap(backend, backend.softmax(x, mask ?? null)));
}

export function logSoftmax(x: Tensor): Tensor {
  const backend = sameBackend('logSoftmax', x);
  requireFloat('logSoftmax', x);
  return recordOp('logSoftmax', [x], wrap(backend, backend.logSoftmax(x)));
}

/**
 * LayerNorm over the last axis; `opts.activation` 'gelu' applies the exact GELU to the result in the
 * same kernel (the composition gelu(layerNorm(…)) while a tape records).
 */
export function layerNorm(
  x: Tensor,
  gamma: Tensor,
  beta: Tensor,
  eps = 1e-5,
  opts: { activation?: LayerNormActivation } = {},
): Tensor {
  const backend = sameBackend('layerNorm', x, gamma, beta);
  requireFloat('layerNorm', x);
  const n = x.shape[x.rank - 1];
  for (const [t, name] of [
    [gamma, 'gamma'],
    [beta, 'beta'],
  ] as const) {
    if (t.rank !== 1 || t.shape[0] !== n) {
      throw new ShapeError(
        `layerNorm: expected ${name} of shape [${n}] for x ${fmt(x.shape)}, got ${fmt(t.shape)}`,
      );
    }
    if (t.dtype !== x.dtype) throw new DTypeError(`layerNorm: ${name} is ${t.dtype}, x is ${x.dtype}`);
  }
  const activation = opts.activation ?? 'none';
  if (activation !== 'none' && activation !== 'gelu')
    throw new RangeError(`layerNorm: activation must be 'none' or 'gelu', got ${String(activation)}`);
  if (activation === 'gelu' && isRecording()) return tidy(() => gelu(layerNorm(x, gamma, beta, eps)));
  if (activation === 'gelu') return wrap(backend, backend.layerNorm(x, gamma, beta, eps, 'gelu'));
  const out = wrap(backend, backend.layerNorm(x, gamma, beta, eps));
  return recordOp('layerNorm', [x, gamma, beta], out, { eps });
}

/**
 * Embedding lookup: table [V, ...rest], indices int32 [...] → [..., ...rest]. Out-of-range indices
 * are an error (checked on backends with host memory; GPU backends clamp).
 */
export function gather(table: Tensor, indices: Tensor): Tensor {
  const backend = sameBackend('gather', table, indices);
  requireDType('gather', indices, 'int32', 'indices');
  if (table.rank < 1) throw new ShapeError('gather: table must have rank ≥ 1');
  if (backend.readSync) {
    const idx = indices.dataSync() as Int32Array;
    const v = table.shape[0];
    for (let i = 0; i < idx.length; i++) {
      if (idx[i] < 0 || idx[i] >= v) {
        throw new ShapeError(
          `gather: index ${idx[i]} at position ${i} is out of range for table of ${v} rows`,
        );
      }
    }
  }
  return recordOp('gather', [table, indices], wrap(backend, backend.gather(table, indices)));
}

/** take_along_axis on the last axis. */
export function takeAlong(x: Tensor, indices: Tensor): Tensor {
  const backend = sameBackend('takeAlong', x, indices);
  requireDType('takeAlong', indices, 'int32', 'indices');
  if (x.rank !== indices.rank || !shapesEqual(x.shape.slice(0, -1), indices.shape.slice(0, -1))) {
    throw new ShapeError(
      `takeAlong: indices ${fmt(indices.shape)} must match x ${fmt(x.shape)} in every axis but the last`,
    );
  }
  return recordOp('takeAlong', [x, indices], wrap(backend, backend.takeAlong(x, indices)));
}

export interface Conv2dArgs {
  stride?: number | [number, number];
  dilation?: number | [number, number];
  /** number: all sides; [h, w]: symmetric; [top, bottom, left, right]: asymmetric. */
  padding?: number | [number, number] | [number, number, number, number];
  groups?: number;
  /** 'relu': max(0, ·) of each output in the conv's own store (relu(conv2d(…)) while a tape records). */
  activation?: 'none' | 'relu';
}

function pair(v: number | [number, number] | undefined, d: number): [number, number] {
  if (v === undefined) return [d, d];
  return typeof v === 'number' ? [v, v] : v;
}

export function conv2d(x: Tensor, w: Tensor, bias?: Tensor | null, args: Conv2dArgs = {}): Tensor {
  const backend = sameBackend('conv2d', x, w, bias);
  requireFloat('conv2d', x);
  requireDType('conv2d', w, x.dtype, 'weight');
  if (bias) requireDType('conv2d', bias, x.dtype, 'bias');
  requireRank('conv2d', x, 4, 'x', '[B,C,H,W]');
  requireRank('conv2d', w, 4, 'weight', '[O,C/groups,kh,kw]');
  const groups = args.groups ?? 1;
  const stride = pair(args.stride, 1);
  const dilation = pair(args.dilation, 1);
  const p = args.padding ?? 0;
  const padding: [number, number, number, number] =
    typeof p === 'number' ? [p, p, p, p] : p.length === 2 ? [p[0], p[0], p[1], p[1]] : p;
  const [B, C, H, W] = x.shape;
  const [O, Cg, kh, kw] = w.shape;
  if (!Number.isInteger(groups) || groups < 1 || C % groups !== 0 || O % groups !== 0) {
    throw new ShapeError(`conv2d: groups=${groups} must divide in channels ${C} and out channels ${O}`);
  }
  if (Cg !== C / groups) {
    throw new ShapeError(
      `conv2d: weight ${fmt(w.shape)} expects ${Cg * groups} input channels, x ${fmt(x.shape)} has ${C}`,
    );
  }
  if (
    [...stride, ...dilation].some((v) => !Number.isInteger(v) || v < 1) ||
    padding.some((v) => !Number.isInteger(v) || v < 0)
  ) {
    throw new ShapeError(`conv2d: bad stride ${stride}, dilation ${dilation} or padding ${padding}`);
  }
  if (bias && (bias.rank !== 1 || bias.shape[0] !== O)) {
    throw new ShapeError(`conv2d: expected bias of shape [${O}], got ${fmt(bias.shape)}`);
  }
  const oh = Math.floor((H + padding[0] + padding[1] - dilation[0] * (kh - 1) - 1) / stride[0]) + 1;
  const ow = Math.floor((W + padding[2] + padding[3] - dilation[1] * (kw - 1) - 1) / stride[1]) + 1;
  if (oh <= 0 || ow <= 0) {
    throw new ShapeError(
      `conv2d: kernel ${kh}×${kw} (dilation ${dilation}) does not fit input ${H}×${W} with padding ${padding}`,
    );
  }
  const activation = args.activation ?? 'none';
  if (activation !== 'none' && activation !== 'relu')
    throw new RangeError(`conv2d: activation must be 'none' or 'relu', got ${String(activation)}`);
  if (activation === 'relu') {
    if (isRecording()) return tidy(() => relu(conv2d(x, w, bias, { ...args, activation: 'none' })));
    const fused = { stride, dilation, padding, groups, activation };
    return wrap(backend, backend.conv2d(x, w, bias ?? null, fused, [B, O, oh, ow]));
  }
  const convOpts = { stride, dilation, padding, groups };
  const out = wrap(backend, backend.conv2d(x, w, bias ?? null, convOpts, [B, O, oh, ow]));
  return recordOp('conv2d', [x, w, bias], out, convOpts);
}

export function cumsum(x: Tensor, axis = -1, opts: { exclusive?: boolean; reverse?: boolean } = {}): Tensor {
  const backend = sameBackend('cumsum', x);
  if (x.dtype === 'bool') throw new DTypeError('cumsum: bool input; cast first');
  const a = normAxis(axis, x.rank);
  const exclusive = opts.exclusive ?? false;
  const reverse = opts.reverse ?? false;
  const out = wrap(backend, backend.cumsum(x, a, exclusive, reverse));
  return recordOp('cumsum', [x], out, { axis: a, exclusive, reverse });
}

export function resize(
  x: Tensor,
  size: [number, number],
  mode: ResizeMode,
  opts: { alignCorners?: boolean } = {},
): Tensor {
  const backend = sameBackend('resize', x);
  requireFloat('resize', x);
  requireRank('resize', x, 4, 'x', '[B,C,H,W]');
  const [oh, ow] = size;
  if (!Number.isInteger(oh) || !Number.isInteger(ow) || oh < 1 || ow < 1) {
    throw new ShapeError(`resize: output size must be positive integers, got [${size.join(',')}]`);
  }
  if (x.shape[2] < 1 || x.shape[3] < 1) throw new ShapeError(`resize: empty input ${fmt(x.shape)}`);
  const alignCorners = opts.alignCorners ?? false;
  const out = wrap(backend, backend.resize(x, oh, ow, { mode, alignCorners }));
  return recordOp('resize', [x], out, { size: [oh, ow], mode, alignCorners });
}

export function transpose(x: Tensor, perm?: readonly number[]): Tensor {
  const backend = sameBackend('transpose', x);
  const p = perm ?? x.shape.map((_, i) => x.rank - 1 - i);
  if (p.length !== x.rank || [...p].sort((a, b) => a - b).some((v, i) => v !== i)) {
    throw new ShapeError(`transpose: perm [${p.join(',')}] is not a permutation of ${x.rank} axes`);
  }
  return recordOp('transpose', [x], wrap(backend, backend.transpose(x, p)), { perm: [...p] });
}

export function slice(x: Tensor, begin: readonly number[], size?: readonly number[]): Tensor {
  const backend = sameBackend('slice', x);
  if (begin.length !== x.rank)
    throw new ShapeError(`slice: begin [${begin}] must have ${x.rank} entries for ${fmt(x.shape)}`);
  const sz = size ?? x.shape.map((d, i) => d - begin[i]);
  const resolved = sz.map((s, i) => (s === -1 ? x.shape[i] - begin[i] : s));
  resolved.forEach((s, i) => {
    if (!Number.isInteger(begin[i]) || begin[i] < 0 || s < 0 || begin[i] + s > x.shape[i]) {
      throw new ShapeError(`slice: begin ${begin[i]} size ${s} exceeds axis ${i} of ${fmt(x.shape)}`);
    }
  });
  const out = wrap(backend, backend.slice(x, begin, resolved));
  return recordOp('slice', [x], out, { begin: [...begin], size: resolved });
}

export function concat(xs: readonly Tensor[], axis: number): Tensor {
  if (xs.length === 0) throw new ShapeError('concat: needs at least one tensor');
  const backend = sameBackend('concat', ...xs);
  const a = normAxis(axis, xs[0].rank);
  for (const t of xs) {
    if (t.rank !== xs[0].rank || t.shape.some((d, i) => i !== a && d !== xs[0].shape[i])) {
      throw new ShapeError(`concat: ${fmt(t.shape)} does not match ${fmt(xs[0].shape)} outside axis ${a}`);
    }
    if (t.dtype !== xs[0].dtype)
      throw new DTypeError(`concat: dtypes differ (${t.dtype} and ${xs[0].dtype})`);
  }
  return recordOp('concat', xs, wrap(backend, backend.concat(xs, a)), { axis: a });
}

export function pad(x: Tensor, pads: readonly (readonly [number, number])[], value = 0): Tensor {
  const backend = sameBackend('pad', x);
  if (
    pads.length !== x.rank ||
    pads.some(([a, b]) => !Number.isInteger(a) || !Number.isInteger(b) || a < 0 || b < 0)
  ) {
    throw new ShapeError(`pad: need ${x.rank} non-negative [before, after] pairs for ${fmt(x.shape)}`);
  }
  const out = wrap(backend, backend.pad(x, pads, value));
  return recordOp('pad', [x], out, { pads: pads.map(([p0, p1]) => [p0, p1]), value });
}

/**
 * Writes src into dst at `begin` (dst[begin + i] = src[i]; same dtype and rank): in place where the
 * backend has the `writeSlice` capability, and then the result is `dst` itself; otherwise a new
 * tensor (dst with the block replaced), and dst is left as it was. Decoding caches use it to add a
 * row without copying what they hold. Not recorded on a gradient tape.
 */
export function writeSlice(dst: Tensor, src: Tensor, begin: readonly number[]): Tensor {
  const backend = sameBackend('writeSlice', dst, src);
  if (src.dtype !== dst.dtype) throw new DTypeError(`writeSlice: src is ${src.dtype}, dst is ${dst.dtype}`);
  if (src.rank !== dst.rank || begin.length !== dst.rank) {
    throw new ShapeError(
      `writeSlice: src ${fmt(src.shape)} and begin [${begin}] must have the rank of dst ${fmt(dst.shape)}`,
    );
  }
  for (let a = 0; a < dst.rank; a++) {
    if (!Number.isInteger(begin[a]) || begin[a] < 0 || begin[a] + src.shape[a] > dst.shape[a]) {
      throw new ShapeError(
        `writeSlice: block ${fmt(src.shape)} at [${begin}] exceeds axis ${a} of dst ${fmt(dst.shape)}`,
      );
    }
  }
  if (src.size === 0) return dst;
  if (!isRecording() && backend.writeSlice?.(dst, src, sliceRuns(dst.shape, src.shape, begin))) return dst;
  return tidy(() => {
    const pads = dst.shape.map((d, a) => [begin[a], d - begin[a] - src.shape[a]] as const);
    const inside = pad(ones(src.shape, { dtype: 'bool', backend }), pads, 0);
    return where(inside, pad(src, pads, 0), dst);
  });
}

// ---- SEA routines ----

function checkBHTD(op: string, t: Tensor, name: string): void {
  requireRank(op, t, 4, name, '[B,H,T,D]');
}

export function performerPrefixSum(qf: Tensor, kf: Tensor, v: Tensor, eps = 1e-6): Tensor {
  const backend = sameBackend('performerPrefixSum', qf, kf, v);
  for (const [t, n] of [
    [qf, 'qf'],
    [kf, 'kf'],
    [v, 'v'],
  ] as const) {
    checkBHTD('performerPrefixSum', t, n);
    requireSeaFloat('performerPrefixSum', t, n, qf);
  }
  if (!shapesEqual(qf.shape, kf.shape)) {
    throw new ShapeError(`performerPrefixSum: qf ${fmt(qf.shape)} and kf ${fmt(kf.shape)} must match`);
  }
  if (!shapesEqual(qf.shape.slice(0, 3), v.shape.slice(0, 3))) {
    throw new ShapeError(`performerPrefixSum: v ${fmt(v.shape)} must match qf ${fmt(qf.shape)} in [B,H,T]`);
  }
  const out = wrap(backend, backend.performerPrefixSum(qf, kf, v, { eps }));
  return recordOp('performerPrefixSum', [qf, kf, v], out, { eps });
}

/**
 * The causal C_avg and the s_mix blend, heads merged (docs/algorithm.md §7.5–§7.6): local, v [B,H,T,E],
 * sMix [B,H,T] → [B,T,H·E], out[b,t,h·E+e] = s·local + (1 − s)·(Σ_{j≤t} v[b,h,j,e])/(t+1). One kernel
 * (the `runningMeanMix` primitive) where nothing records a tape; the same formula in differentiable
 * ops (cumsum, div, mul, add, transpose) while a tape records or for float64.
 */
export function runningMeanMix(local: Tensor, v: Tensor, sMix: Tensor): Tensor {
  const op = 'runningMeanMix';
  const backend = sameBackend(op, local, v, sMix);
  checkBHTD(op, local, 'local');
  checkBHTD(op, v, 'v');
  if (!shapesEqual(local.shape, v.shape)) {
    throw new ShapeError(`${op}: local ${fmt(local.shape)} and v ${fmt(v.shape)} must match`);
  }
  const [B, H, T, E] = local.shape;
  if (!shapesEqual(sMix.shape, [B, H, T])) {
    throw new ShapeError(`${op}: expected sMix of shape [${B},${H},${T}], got ${fmt(sMix.shape)}`);
  }
  if (isRecording() || local.dtype === 'float64') {
    if (!isFloat(local.dtype)) throw new DTypeError(`${op}: local must be a float dtype, got ${local.dtype}`);
    for (const [t, n] of [
      [v, 'v'],
      [sMix, 'sMix'],
    ] as const) {
      if (t.dtype !== local.dtype)
        throw new DTypeError(`${op}: ${n} is ${t.dtype} but local is ${local.dtype}; cast first`);
    }
    return tidy(() => {
      const count = arange(1, T + 1, { backend, dtype: local.dtype }).reshape([1, 1, T, 1]);
      const mean = div(cumsum(v, 2), count);
      const s = sMix.reshape([B, H, T, 1]);
      const mixed = add(mul(s, local), mul(sub(1, s), mean));
      return transpose(mixed, [0, 2, 1, 3]).reshape([B, T, H * E]);
    });
  }
  requireSeaFloat(op, local, 'local');
  requireSeaFloat(op, v, 'v', local);
  requireSeaFloat(op, sMix, 'sMix', local);
  return recordOp(op, [local, v, sMix], wrap(backend, backend.runningMeanMix(local, v, sMix)));
}

export function groupedTopK(scores: Tensor, budgets: Tensor): Tensor {
  const backend = sameBackend('groupedTopK', scores, budgets);
  requireRank('groupedTopK', scores, 2, 'scores', '[G,N]');
  requireSeaFloat('groupedTopK', scores, 'scores');
  requireDType('groupedTopK', budgets, 'int32', 'budgets');
  if (budgets.rank !== 1 || budgets.shape[0] !== scores.shape[0]) {
    throw new ShapeError(
      `groupedTopK: expected budgets of shape [${scores.shape[0]}], got ${fmt(budgets.shape)}`,
    );
  }
  return recordOp('groupedTopK', [scores, budgets], wrap(backend, backend.groupedTopK(scores, budgets)));
}

/** A batch of FlatCSR matrices on a backend; dispose it when done. */
export class CsrMatrix implements CsrInfo {
  constructor(
    readonly crow: Tensor,
    readonly col: Tensor,
    readonly heads: number,
    readonly keys: number,
    readonly nnz: readonly number[],
  ) {}
  get batch(): number {
    return this.crow.shape[0];
  }
  get rows(): number {
    return this.crow.shape[1] - 1;
  }
  dispose(): void {
    this.crow.dispose();
    this.col.dispose();
  }
}

export async function stretchToCsr(
  mask: Tensor,
  rowLen: Tensor,
  opts: { k: number; keys: number; capacity?: number },
): Promise<CsrMatrix> {
  const backend = sameBackend('stretchToCsr', mask, rowLen);
  requireRank('stretchToCsr', mask, 4, 'mask', '[B,Tq,H,K]');
  requireDType('stretchToCsr', mask, 'bool', 'mask');
  requireDType('stretchToCsr', rowLen, 'int32', 'rowLen');
  if (!shapesEqual(rowLen.shape, mask.shape.slice(0, 2))) {
    throw new ShapeError(
      `stretchToCsr: expected rowLen of shape ${fmt(mask.shape.slice(0, 2))}, got ${fmt(rowLen.shape)}`,
    );
  }
  if (!Number.isInteger(opts.k) || opts.k < 1)
    throw new ShapeError(`stretchToCsr: k must be a positive integer, got ${opts.k}`);
  if (!Number.isInteger(opts.keys) || opts.keys < 1) {
    throw new ShapeError(`stretchToCsr: keys must be a positive integer, got ${opts.keys}`);
  }
  if (opts.capacity !== undefined && (!Number.isInteger(opts.capacity) || opts.capacity < 0)) {
    throw new ShapeError(`stretchToCsr: capacity must be a non-negative integer, got ${opts.capacity}`);
  }
  const r = await backend.stretchToCsr(mask, rowLen, opts);
  return new CsrMatrix(wrap(backend, r.crow), wrap(backend, r.col), r.heads, r.keys, r.nnz);
}

function checkCsr(op: string, csr: CsrMatrix, t: Tensor, name: string, rows: number): void {
  checkBHTD(op, t, name);
  if (t.shape[0] !== csr.batch || t.shape[1] !== csr.heads || t.shape[2] !== rows) {
    throw new ShapeError(
      `${op}: expected ${name} of shape [${csr.batch},${csr.heads},${rows},D] for this CSR mask, got ${fmt(t.shape)}`,
    );
  }
  requireSeaFloat(op, t, name);
}

export function csrSddmm(csr: CsrMatrix, q: Tensor, k: Tensor, scale = 1): Tensor {
  const backend = sameBackend('csrSddmm', csr.crow, q, k);
  checkCsr('csrSddmm', csr, q, 'q', csr.rows);
  checkCsr('csrSddmm', csr, k, 'k', csr.keys);
  requireSeaFloat('csrSddmm', k, 'k', q);
  if (q.shape[3] !== k.shape[3])
    throw new ShapeError(`csrSddmm: q ${fmt(q.shape)} and k ${fmt(k.shape)} head dims differ`);
  return recordOp('csrSddmm', [q, k], wrap(backend, backend.csrSddmm(csr, q, k, scale)), { csr, scale });
}

export function csrSoftmax(csr: CsrMatrix, val: Tensor, rowScale?: Tensor | null): Tensor {
  const backend = sameBackend('csrSoftmax', csr.crow, val, rowScale);
  requireSeaFloat('csrSoftmax', val, 'values');
  if (rowScale) requireSeaFloat('csrSoftmax', rowScale, 'rowScale', val);
  if (!shapesEqual(val.shape, csr.col.shape)) {
    throw new ShapeError(`csrSoftmax: expected values of shape ${fmt(csr.col.shape)}, got ${fmt(val.shape)}`);
  }
  if (rowScale && !shapesEqual(rowScale.shape, [csr.batch, csr.heads, csr.rows])) {
    throw new ShapeError(
      `csrSoftmax: expected rowScale of shape [${csr.batch},${csr.heads},${csr.rows}], got ${fmt(rowScale.shape)}`,
    );
  }
  const out = wrap(backend, backend.csrSoftmax(csr, val, rowScale ?? null));
  return recordOp('csrSoftmax', [val, rowScale], out, { csr });
}

export function csrSpmm(csr: CsrMatrix, val: Tensor, v: Tensor): Tensor {
  const backend = sameBackend('csrSpmm', csr.crow, val, v);
  checkCsr('csrSpmm', csr, v, 'v', csr.keys);
  requireSeaFloat('csrSpmm', val, 'values', v);
  if (!shapesEqual(val.shape, csr.col.shape)) {
    throw new ShapeError(`csrSpmm: expected values of shape ${fmt(csr.col.shape)}, got ${fmt(val.shape)}`);
  }
  return recordOp('csrSpmm', [val, v], wrap(backend, backend.csrSpmm(csr, val, v)), { csr });
}

export interface CsrAttentionOpOptions {
  /** Multiplies Q·Kᵀ (csrSddmm's scale); default 1. */
  scale?: number;
  /** Multiplies each row's probabilities, shape [B, H, Tq] (csrSoftmax's rowScale). */
  rowScale?: Tensor | null;
}

/**
 * Sparse attention on a FlatCSR mask: csrSpmm(csr, csrSoftmax(csr, csrSddmm(csr, q, k, scale),
 * rowScale), v) → [B, H, Tq, E]. A backend with the `csrAttention` capability runs it in one kernel
 * (no [B, Z] scores or probabilities in memory); otherwise, and always while a tape records (so the
 * gradients are those of the three primitives), the three primitives run.
 */
export function csrAttention(
  csr: CsrMatrix,
  q: Tensor,
  k: Tensor,
  v: Tensor,
  opts: CsrAttentionOpOptions = {},
): Tensor {
  const backend = sameBackend('csrAttention', csr.crow, q, k, v, opts.rowScale);
  const scale = opts.scale ?? 1;
  const rowScale = opts.rowScale ?? null;
  checkCsr('csrAttention', csr, q, 'q', csr.rows);
  checkCsr('csrAttention', csr, k, 'k', csr.keys);
  checkCsr('csrAttention', csr, v, 'v', csr.keys);
  requireSeaFloat('csrAttention', k, 'k', q);
  requireSeaFloat('csrAttention', v, 'v', q);
  if (q.shape[3] !== k.shape[3])
    throw new ShapeError(`csrAttention: q ${fmt(q.shape)} and k ${fmt(k.shape)} head dims differ`);
  if (rowScale) {
    requireSeaFloat('csrAttention', rowScale, 'rowScale', q);
    if (!shapesEqual(rowScale.shape, [csr.batch, csr.heads, csr.rows])) {
      throw new ShapeError(
        `csrAttention: expected rowScale of shape [${csr.batch},${csr.heads},${csr.rows}], got ${fmt(rowScale.shape)}`,
      );
    }
  }
  if (!isRecording()) {
    const fused = backend.csrAttention?.(csr, q, k, v, rowScale, { scale }) ?? null;
    if (fused) return wrap(backend, fused);
  }
  if (isHalf(q.dtype) && !isRecording()) {
    // 16-bit inputs without a fused kernel: composed in float32 (16-bit scores would cost the softmax
    // most of its precision) and rounded once, as a fused kernel does
    const dt = q.dtype;
    return tidy(() => {
      const up = (t: Tensor) => cast(t, 'float32');
      const rs = rowScale ? up(rowScale) : null;
      return cast(csrAttention(csr, up(q), up(k), up(v), { scale, rowScale: rs }), dt);
    });
  }
  return tidy(() => csrSpmm(csr, csrSoftmax(csr, csrSddmm(csr, q, k, scale), rowScale), v));
}

export interface CellMaskAttentionOpOptions extends CsrAttentionOpOptions {
  /** The stretch's cap: a cell wider than k keys keeps k of them (stretchToCsr's k). */
  k: number;
}

/**
 * Sparse attention on a compressed cell mask: csrAttention(await stretchToCsr(mask, rowLen, { k,
 * keys: Tk }), q, k, v, opts), the CSR mask never leaving the op. mask bool [B, Tq, H, K], rowLen
 * int32 [B, Tq] (L_t ≤ Tk), q [B, H, Tq, D], k [B, H, Tk, D], v [B, H, Tk, E]. A backend with the
 * `cellMaskAttention` capability runs it without building the CSR arrays and without reading their
 * size back to the host; otherwise, and always while a tape records, the stretch and csrAttention run.
 */
export async function cellMaskAttention(
  mask: Tensor,
  rowLen: Tensor,
  q: Tensor,
  k: Tensor,
  v: Tensor,
  opts: CellMaskAttentionOpOptions,
): Promise<Tensor> {
  const backend = sameBackend('cellMaskAttention', mask, rowLen, q, k, v, opts.rowScale);
  requireRank('cellMaskAttention', mask, 4, 'mask', '[B,Tq,H,K]');
  requireDType('cellMaskAttention', mask, 'bool', 'mask');
  requireDType('cellMaskAttention', rowLen, 'int32', 'rowLen');
  const [B, Tq, H] = mask.shape;
  if (!shapesEqual(rowLen.shape, [B, Tq])) {
    throw new ShapeError(
      `cellMaskAttention: expected rowLen of shape [${B},${Tq}], got ${fmt(rowLen.shape)}`,
    );
  }
  for (const [t, name, rows] of [
    [q, 'q', Tq],
    [k, 'k', k.shape[2]],
    [v, 'v', k.shape[2]],
  ] as const) {
    checkBHTD('cellMaskAttention', t, name);
    if (t.shape[0] !== B || t.shape[1] !== H || t.shape[2] !== rows) {
      throw new ShapeError(
        `cellMaskAttention: expected ${name} of shape [${B},${H},${rows},·] for mask ${fmt(mask.shape)}, got ${fmt(t.shape)}`,
      );
    }
    requireSeaFloat('cellMaskAttention', t, name, q);
  }
  if (q.shape[3] !== k.shape[3])
    throw new ShapeError(`cellMaskAttention: q ${fmt(q.shape)} and k ${fmt(k.shape)} head dims differ`);
  if (!Number.isInteger(opts.k) || opts.k < 1)
    throw new ShapeError(`cellMaskAttention: k must be a positive integer, got ${opts.k}`);
  const rowScale = opts.rowScale ?? null;
  if (rowScale) {
    requireSeaFloat('cellMaskAttention', rowScale, 'rowScale', q);
    if (!shapesEqual(rowScale.shape, [B, H, Tq])) {
      throw new ShapeError(
        `cellMaskAttention: expected rowScale of shape [${B},${H},${Tq}], got ${fmt(rowScale.shape)}`,
      );
    }
  }
  const scale = opts.scale ?? 1;
  if (!isRecording()) {
    const fused = backend.cellMaskAttention?.(mask, rowLen, q, k, v, rowScale, { scale, k: opts.k }) ?? null;
    if (fused) return wrap(backend, fused);
  }
  const csr = await stretchToCsr(mask, rowLen, { k: opts.k, keys: k.shape[2] });
  try {
    return csrAttention(csr, q, k, v, { scale, rowScale });
  } finally {
    csr.dispose();
  }
}

// ---- SEA decoding steps ----

/**
 * One decoded row of the causal Performer from its running sums (docs/algorithm.md §3 causal, §8):
 * sums float32 [B, H, M, E+1] ([S | z + eps]), q, k [B, H, 1, D], the value row
 * [prefix.table[prefix.rows[b]] ; v] (the table [N, P] is optional; its row, the same for every head,
 * leads the row: SEA's position code; v [B, H, 1, E − P]), w [M, D] (projection × D^(-1/4)) in one float
 * dtype → the row's output [B, H, 1, E] and the sums after it (a new tensor; `sums` is left as it
 * was). See `Backend.performerStep`. Inference only: not recorded on a tape.
 */
export function performerStep(
  sums: Tensor,
  q: Tensor,
  k: Tensor,
  v: Tensor,
  w: Tensor,
  kernelEps: number,
  prefix?: { table: Tensor; rows: ArrayLike<number> },
): { out: Tensor; sums: Tensor } {
  const op = 'performerStep';
  const backend = sameBackend(op, sums, q, k, v, w, prefix?.table);
  requireRank(op, sums, 4, 'sums', '[B,H,M,E+1]');
  requireDType(op, sums, 'float32', 'sums');
  const [B, H, M, E1] = sums.shape;
  const D = w.shape[1];
  const P = prefix ? prefix.table.shape[1] : 0;
  let prefixRows: number[] | undefined;
  if (prefix) {
    const t = prefix.table;
    requireSeaFloat(op, t, 'prefix table', q);
    if (t.rank !== 2 || P >= E1 - 1)
      throw new ShapeError(`${op}: expected a prefix table [N,P] with P < ${E1 - 1}, got ${fmt(t.shape)}`);
    if (prefix.rows.length !== B)
      throw new ShapeError(`${op}: expected ${B} prefix rows, got ${prefix.rows.length}`);
    prefixRows = Array.from(prefix.rows);
    for (const [b, r] of prefixRows.entries()) {
      if (!Number.isInteger(r) || r < 0 || r >= t.shape[0])
        throw new RangeError(
          `${op}: prefix row ${r} of sequence ${b} is outside the table's ${t.shape[0]} rows`,
        );
    }
  }
  for (const [t, name, n] of [
    [q, 'q', D],
    [k, 'k', D],
    [v, 'v', E1 - 1 - P],
  ] as const) {
    requireSeaFloat(op, t, name, q);
    if (!shapesEqual(t.shape, [B, H, 1, n]))
      throw new ShapeError(`${op}: expected ${name} of shape [${B},${H},1,${n}], got ${fmt(t.shape)}`);
  }
  requireSeaFloat(op, w, 'w', q);
  if (w.rank !== 2 || w.shape[0] !== M)
    throw new ShapeError(
      `${op}: expected w of shape [${M},D] for sums ${fmt(sums.shape)}, got ${fmt(w.shape)}`,
    );
  if (E1 < 2) throw new ShapeError(`${op}: sums ${fmt(sums.shape)} must have at least 2 columns ([S | z])`);
  if (!Number.isFinite(kernelEps)) throw new RangeError(`${op}: kernelEps must be finite, got ${kernelEps}`);
  const [out, next] = backend.performerStep(
    sums,
    q,
    k,
    prefix?.table ?? null,
    v,
    w,
    prefixRows ? { kernelEps, prefixRows } : { kernelEps },
  );
  return { out: wrap(backend, out), sums: wrap(backend, next) };
}

/** The weights of `seaEncoderStep` (nn.Linear layout; shapes in `Backend.seaEncoderStep`). */
export interface SeaEncoderStepTensors {
  encoder: Tensor;
  encoderBias: Tensor;
  normGamma: Tensor;
  normBeta: Tensor;
  scaler: Tensor;
  scalerBias: Tensor;
  nu: Tensor;
  nuBias: Tensor;
}

/**
 * The estimator's encoder on one decoded row (docs/algorithm.md §4): c [B, H, 1, Ec] (C_perf), v
 * [B, H, 1, Ev] → z = GELU(LN(Linear_enc([c ; v]))) rounded to the dtype, the scaler's outputs before
 * the sigmoid [B, H, 1, S] and ν's row [B, H, 1, X]. See `Backend.seaEncoderStep`. Inference only.
 */
export function seaEncoderStep(
  c: Tensor,
  v: Tensor,
  weights: SeaEncoderStepTensors,
  eps: number,
): { scales: Tensor; x: Tensor } {
  const op = 'seaEncoderStep';
  const w = weights;
  const backend = sameBackend(op, c, v, ...Object.values(w));
  requireRank(op, c, 4, 'c', '[B,H,1,Ec]');
  const [B, H, one, Ec] = c.shape;
  if (one !== 1) throw new ShapeError(`${op}: expected c of shape [B,H,1,Ec] (one row), got ${fmt(c.shape)}`);
  requireSeaFloat(op, c, 'c');
  requireSeaFloat(op, v, 'v', c);
  requireRank(op, v, 4, 'v', '[B,H,1,Ev]');
  const Ev = v.shape[3];
  if (!shapesEqual(v.shape, [B, H, 1, Ev]))
    throw new ShapeError(`${op}: expected v of shape [${B},${H},1,Ev], got ${fmt(v.shape)}`);
  const N = w.encoder.shape[0];
  const S = w.scaler.shape[0];
  const X = w.nu.shape[0];
  for (const [name, t, shape] of [
    ['encoder', w.encoder, [N, Ec + Ev]],
    ['encoderBias', w.encoderBias, [N]],
    ['normGamma', w.normGamma, [N]],
    ['normBeta', w.normBeta, [N]],
    ['scaler', w.scaler, [S, N]],
    ['scalerBias', w.scalerBias, [S]],
    ['nu', w.nu, [X, N]],
    ['nuBias', w.nuBias, [X]],
  ] as const) {
    requireSeaFloat(op, t, name, c);
    if (!shapesEqual(t.shape, shape))
      throw new ShapeError(`${op}: expected ${name} of shape ${fmt(shape)}, got ${fmt(t.shape)}`);
  }
  if (!(eps > 0)) throw new RangeError(`${op}: eps must be positive, got ${eps}`);
  const [scales, x] = backend.seaEncoderStep(c, v, w, { eps });
  return { scales: wrap(backend, scales), x: wrap(backend, x) };
}

/** The weights of `causalCnnStep` (docs/algorithm.md §4a; shapes in `Backend.causalCnnStep`). */
export interface CausalCnnStepTensors {
  normInGamma: Tensor;
  normInBeta: Tensor;
  conv1: Tensor;
  conv1Bias: Tensor;
  conv2: Tensor;
  conv2Bias: Tensor;
  convOut: Tensor;
  convOutBias: Tensor;
  map: Tensor;
  normOutGamma: Tensor;
  normOutBeta: Tensor;
}

/**
 * One decoded row of the causal estimator's CNN (docs/algorithm.md §4a, §8): x [B, C, 1, W] (the row of
 * Ẑ), the rolling windows win0, win1 [B, C, 4, W] → the row's Â logits [B, H, 1, K] and the windows
 * after it (new tensors). See `Backend.causalCnnStep`. Inference only: not recorded on a tape.
 */
export function causalCnnStep(
  x: Tensor,
  win0: Tensor,
  win1: Tensor,
  weights: CausalCnnStepTensors,
  eps: number,
): { logits: Tensor; win0: Tensor; win1: Tensor } {
  const op = 'causalCnnStep';
  const w = weights;
  const backend = sameBackend(op, x, win0, win1, ...Object.values(w));
  requireRank(op, x, 4, 'x', '[B,C,1,W]');
  const [B, C, one, W] = x.shape;
  if (one !== 1) throw new ShapeError(`${op}: expected x of shape [B,C,1,W] (one row), got ${fmt(x.shape)}`);
  const H = w.convOut.shape[0];
  const K = w.map.shape[0];
  const want: [string, Tensor, number[]][] = [
    ['win0', win0, [B, C, 4, W]],
    ['win1', win1, [B, C, 4, W]],
    ['normInGamma', w.normInGamma, [W]],
    ['normInBeta', w.normInBeta, [W]],
    ['conv1', w.conv1, [C, C, 3, 3]],
    ['conv1Bias', w.conv1Bias, [C]],
    ['conv2', w.conv2, [C, C, 3, 3]],
    ['conv2Bias', w.conv2Bias, [C]],
    ['convOut', w.convOut, [H, C]],
    ['convOutBias', w.convOutBias, [H]],
    ['map', w.map, [K, W + 2]],
    ['normOutGamma', w.normOutGamma, [K]],
    ['normOutBeta', w.normOutBeta, [K]],
  ];
  requireSeaFloat(op, x, 'x');
  for (const [name, t, shape] of want) {
    requireSeaFloat(op, t, name, x);
    if (!shapesEqual(t.shape, shape))
      throw new ShapeError(
        `${op}: expected ${name} of shape ${fmt(shape)} for x ${fmt(x.shape)}, got ${fmt(t.shape)}`,
      );
  }
  if (!(eps > 0)) throw new RangeError(`${op}: eps must be positive, got ${eps}`);
  const [logits, n0, n1] = backend.causalCnnStep(x, win0, win1, w, { eps });
  return { logits: wrap(backend, logits), win0: wrap(backend, n0), win1: wrap(backend, n1) };
}

/**
 * The sparse attention of one decoded row per sequence, from the estimator's logits to the mixed
 * context (docs/algorithm.md §5–§7; see `Backend.seaDecodeAttention`): softmax over K, the causal
 * budget's top cells over all heads, attention over their keys in the cache, C_avg from the running
 * sum of V. logits [B, H, 1, K], q [B, H, 1, D], the cache k, v [B, H, Tk, ·] (row rowLen[b] − 1 holds
 * the new token), scales [B, H, 1, 2] (the scaler's outputs before the sigmoid: s_prob, s_mix), vSum
 * float32 [B, H, 1, E] over the rows before the new one; `opts.rowLen` the rows' positions + 1 →
 * out [B, H, 1, E] and the running sum with the new row. Inference only: not recorded on a tape.
 */
export function seaDecodeAttention(
  logits: Tensor,
  q: Tensor,
  k: Tensor,
  v: Tensor,
  scales: Tensor,
  vSum: Tensor,
  opts: { k: number; scale?: number; rowLen: ArrayLike<number> },
): { out: Tensor; vSum: Tensor } {
  const op = 'seaDecodeAttention';
  const backend = sameBackend(op, logits, q, k, v, scales, vSum);
  requireRank(op, logits, 4, 'logits', '[B,H,1,K]');
  const [B, H, one] = logits.shape;
  if (one !== 1)
    throw new ShapeError(`${op}: expected logits of shape [B,H,1,K] (one row), got ${fmt(logits.shape)}`);
  requireSeaFloat(op, logits, 'logits');
  for (const [t, name] of [
    [q, 'q'],
    [k, 'k'],
    [v, 'v'],
    [scales, 'scales'],
  ] as const)
    requireSeaFloat(op, t, name, logits);
  requireRank(op, k, 4, 'k', '[B,H,Tk,D]');
  requireRank(op, v, 4, 'v', '[B,H,Tk,E]');
  const [, , Tk, D] = k.shape;
  const E = v.shape[3];
  for (const [t, name, shape] of [
    [q, 'q', [B, H, 1, D]],
    [k, 'k', [B, H, Tk, D]],
    [v, 'v', [B, H, Tk, E]],
    [scales, 'scales', [B, H, 1, 2]],
    [vSum, 'vSum', [B, H, 1, E]],
  ] as const) {
    if (!shapesEqual(t.shape, shape))
      throw new ShapeError(`${op}: expected ${name} of shape ${fmt(shape)}, got ${fmt(t.shape)}`);
  }
  requireDType(op, vSum, 'float32', 'vSum');
  if (!Number.isInteger(opts.k) || opts.k < 1)
    throw new ShapeError(`${op}: k must be a positive integer, got ${opts.k}`);
  if (opts.rowLen.length !== B)
    throw new ShapeError(`${op}: expected ${B} row lengths, got ${opts.rowLen.length}`);
  const rowLen = Array.from(opts.rowLen);
  for (const [b, L] of rowLen.entries()) {
    if (!Number.isInteger(L) || L < 1 || L > Tk)
      throw new ShapeError(
        `${op}: row length ${L} of sequence ${b} is outside [1, ${Tk}] (the cache's rows)`,
      );
  }
  const [out, next] = backend.seaDecodeAttention(logits, q, k, v, scales, vSum, {
    k: opts.k,
    scale: opts.scale ?? 1,
    rowLen,
  });
  return { out: wrap(backend, out), vSum: wrap(backend, next) };
}

export type { Shape, TensorInfo };
