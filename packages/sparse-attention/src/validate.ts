import { DTypeError, fmt, isFloat, ShapeError, type Tensor } from '@sea/tensor';

/**
 * Checks q, k, v [B, H, T, D] (or [B, T, H, D] with layout 'bthd'; self-attention: one T), float32,
 * T ≥ 1; returns [B, H, T, D].
 */
export function checkQkv(
  op: string,
  q: Tensor,
  k: Tensor,
  v: Tensor,
  heads: number,
  headDim: number,
  layout: 'bhtd' | 'bthd' = 'bhtd',
): [number, number, number, number] {
  const bthd = layout === 'bthd';
  const want = bthd ? `[B,T,${heads},${headDim}]` : `[B,${heads},T,${headDim}]`;
  const [hAxis, tAxis] = bthd ? [2, 1] : [1, 2];
  for (const [t, n] of [
    [q, 'q'],
    [k, 'k'],
    [v, 'v'],
  ] as const) {
    if (t.rank !== 4 || t.shape[hAxis] !== heads || t.shape[3] !== headDim) {
      throw new ShapeError(`${op}: expected ${n} of shape ${want}, got ${fmt(t.shape)}`);
    }
    // float64 (training gradient checks) needs q, k, v of one dtype
    if (!isFloat(t.dtype) || t.dtype !== q.dtype)
      throw new DTypeError(`${op}: ${n} must be float32, got ${t.dtype}`);
  }
  if (
    q.shape[0] !== k.shape[0] ||
    q.shape[0] !== v.shape[0] ||
    q.shape[tAxis] !== k.shape[tAxis] ||
    k.shape[tAxis] !== v.shape[tAxis]
  ) {
    throw new ShapeError(
      `${op}: q ${fmt(q.shape)}, k ${fmt(k.shape)} and v ${fmt(v.shape)} must have one shape ${bthd ? '[B,T,H,D]' : '[B,H,T,D]'}`,
    );
  }
  const [B, T, H, D] = [q.shape[0], q.shape[tAxis], q.shape[hAxis], q.shape[3]];
  if (B < 1 || T < 1) throw new ShapeError(`${op}: empty input ${fmt(q.shape)}: need B ≥ 1 and T ≥ 1`);
  return [B, H, T, D];
}

export function checkKeyValid(op: string, keyValid: Tensor | undefined, B: number, T: number): void {
  if (!keyValid) return;
  if (
    keyValid.dtype !== 'bool' ||
    keyValid.rank !== 2 ||
    keyValid.shape[0] !== B ||
    keyValid.shape[1] !== T
  ) {
    throw new ShapeError(
      `${op}: expected keyValid bool [${B},${T}], got ${keyValid.dtype} ${fmt(keyValid.shape)}`,
    );
  }
}

export function positiveInt(op: string, what: string, v: unknown): void {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) {
    throw new RangeError(`${op}: ${what} must be a positive integer, got ${String(v)}`);
  }
}
