/**
 * The storage dtypes of the safetensors format (names as Hugging Face writes them in the header).
 */
export type SafetensorsDType =
  | 'F64'
  | 'F32'
  | 'F16'
  | 'BF16'
  | 'I64'
  | 'I32'
  | 'I16'
  | 'I8'
  | 'U64'
  | 'U32'
  | 'U16'
  | 'U8'
  | 'BOOL'
  | 'F8_E4M3'
  | 'F8_E5M2'
  | 'F8_E8M0'
  | 'C64'
  | 'F6_E2M3'
  | 'F6_E3M2'
  | 'F4';

/** Bits per element of each storage dtype (sub-byte dtypes pack elements). */
export const SAFETENSORS_DTYPE_BITS: Readonly<Record<SafetensorsDType, number>> = {
  F64: 64,
  F32: 32,
  F16: 16,
  BF16: 16,
  I64: 64,
  I32: 32,
  I16: 16,
  I8: 8,
  U64: 64,
  U32: 32,
  U16: 16,
  U8: 8,
  BOOL: 8,
  F8_E4M3: 8,
  F8_E5M2: 8,
  F8_E8M0: 8,
  C64: 64,
  F6_E2M3: 6,
  F6_E3M2: 6,
  F4: 4,
};

export const SAFETENSORS_DTYPES = Object.keys(SAFETENSORS_DTYPE_BITS) as SafetensorsDType[];

/** Storage dtypes that `readTensor` converts and `writeSafetensors` writes. */
export const CONVERTIBLE_DTYPES: readonly SafetensorsDType[] = [
  'F64',
  'F32',
  'F16',
  'BF16',
  'I64',
  'I32',
  'I16',
  'I8',
  'U64',
  'U32',
  'U16',
  'U8',
  'BOOL',
];

export function isSafetensorsDType(s: unknown): s is SafetensorsDType {
  return typeof s === 'string' && Object.hasOwn(SAFETENSORS_DTYPE_BITS, s);
}

export function isConvertible(d: SafetensorsDType): boolean {
  return CONVERTIBLE_DTYPES.includes(d);
}

export function isFloatStorage(d: SafetensorsDType): boolean {
  return d === 'F64' || d === 'F32' || d === 'F16' || d === 'BF16';
}

export function isIntStorage(d: SafetensorsDType): boolean {
  return d[0] === 'I' || d[0] === 'U';
}

/** Whole bytes per element; undefined for sub-byte dtypes. */
export function itemSize(d: SafetensorsDType): number | undefined {
  const b = SAFETENSORS_DTYPE_BITS[d];
  return b % 8 === 0 ? b / 8 : undefined;
}
