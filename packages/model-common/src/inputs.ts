/** Token ids and masks given as tensors or plain arrays, brought to host int32 [B, T]. */
import { Tensor } from '@sea/tensor';
import { ModelInputError } from './errors.js';

export type IdsInput = Tensor | Int32Array | readonly number[] | readonly (readonly number[])[];

export interface HostIds {
  values: Int32Array;
  B: number;
  T: number;
}

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

/**
 * Every value must be an integer that int32 holds exactly (no NaN, no fraction, nothing that would
 * wrap), checked before any conversion so the error names the value as given and its [row, column].
 */
function checkIntegers(values: ArrayLike<unknown>, what: string, T: number): void {
  const cols = T > 0 ? T : 1;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (typeof v === 'number' && Number.isInteger(v) && v >= INT32_MIN && v <= INT32_MAX) continue;
    const shown = typeof v === 'number' ? String(v) : `${typeof v} ${JSON.stringify(v) ?? String(v)}`;
    const why =
      typeof v !== 'number'
        ? 'is not a number'
        : Number.isNaN(v)
          ? 'is NaN'
          : !Number.isFinite(v)
            ? 'is infinite'
            : !Number.isInteger(v)
              ? 'is not an integer'
              : 'is outside the int32 range';
    throw new ModelInputError(
      `${what} value ${shown} at [${Math.floor(i / cols)},${i % cols}] ${why}: ids must be integers`,
    );
  }
}

/**
 * Flat arrays are one row [1, T] unless `shape` says [B, T]; nested arrays are rows; tensors must
 * be rank 2. Values must be integers (checked before conversion to int32, never rounded or wrapped).
 */
export async function toHostIds(
  x: IdsInput,
  what: string,
  shape?: readonly [number, number],
): Promise<HostIds> {
  if (x instanceof Tensor) {
    if (x.rank !== 2)
      throw new ModelInputError(`expected ${what} of shape [B,T], got [${x.shape.join(',')}]`);
    const data = (await x.data()) as ArrayLike<number>;
    checkIntegers(data, what, x.shape[1]);
    return { values: Int32Array.from(data, Number), B: x.shape[0], T: x.shape[1] };
  }
  if (Array.isArray(x) && x.length > 0 && Array.isArray(x[0])) {
    const rows = x as readonly (readonly number[])[];
    const T = rows[0].length;
    if (rows.some((r) => r.length !== T)) {
      throw new ModelInputError(
        `${what}: rows have different lengths (${rows.map((r) => r.length).join(', ')}); pad them`,
      );
    }
    const flat = rows.flat();
    checkIntegers(flat, what, T);
    return { values: Int32Array.from(flat), B: rows.length, T };
  }
  const raw = x as ArrayLike<number>;
  if (!(x instanceof Int32Array)) checkIntegers(raw, what, shape?.[1] ?? raw.length);
  const flat = x instanceof Int32Array ? x : Int32Array.from(raw);
  const [B, T] = shape ?? [1, flat.length];
  if (B * T !== flat.length)
    throw new ModelInputError(`${what}: ${flat.length} values do not fill shape [${B},${T}]`);
  return { values: flat, B, T };
}

export function checkIds(ids: HostIds, vocab: number): void {
  if (ids.T === 0 || ids.B === 0)
    throw new ModelInputError(`expected at least one token, got shape [${ids.B},${ids.T}]`);
  for (let i = 0; i < ids.values.length; i++) {
    const v = ids.values[i];
    if (!Number.isInteger(v) || v < 0 || v >= vocab) {
      throw new ModelInputError(
        `input id ${v} at [${Math.floor(i / ids.T)},${i % ids.T}] is outside the vocabulary (vocab_size ${vocab})`,
      );
    }
  }
}

/** The attention mask as 0/1, checked against the ids' shape; all ones when absent. */
export async function toHostMask(mask: IdsInput | undefined, ids: HostIds): Promise<Int32Array> {
  if (mask === undefined) return new Int32Array(ids.B * ids.T).fill(1);
  const m = await toHostIds(mask, 'attentionMask', [ids.B, ids.T]);
  if (m.B !== ids.B || m.T !== ids.T) {
    throw new ModelInputError(`attentionMask has shape [${m.B},${m.T}], inputIds [${ids.B},${ids.T}]`);
  }
  for (const v of m.values) {
    if (v !== 0 && v !== 1) throw new ModelInputError(`attentionMask must hold 0 and 1 only, got ${v}`);
  }
  return m.values;
}
