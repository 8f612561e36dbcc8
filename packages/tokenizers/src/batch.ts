/** Padded batches as flat int32 arrays, ready to upload as [B, T] tensors. */
export interface BatchEncoding {
  /** [batch, length] */
  readonly shape: [number, number];
  readonly inputIds: Int32Array;
  /** 1 for real tokens, 0 for padding. */
  readonly attentionMask: Int32Array;
  /** Segment ids (BERT pairs); absent for OPT. */
  readonly tokenTypeIds?: Int32Array;
}

export type PaddingSide = 'right' | 'left';

/** Pads rows to one length and flattens them. `length` defaults to the longest row. */
export function padRows(
  rows: readonly (readonly number[])[],
  padId: number,
  opts: { length?: number; side?: PaddingSide; typeRows?: readonly (readonly number[])[] } = {},
): BatchEncoding {
  const longest = rows.reduce((m, r) => Math.max(m, r.length), 0);
  const T = opts.length ?? longest;
  if (longest > T)
    throw new Error(`a row has ${longest} tokens, more than the padded length ${T}; enable truncation`);
  const B = rows.length;
  const inputIds = new Int32Array(B * T).fill(padId);
  const attentionMask = new Int32Array(B * T);
  const tokenTypeIds = opts.typeRows ? new Int32Array(B * T) : undefined;
  rows.forEach((r, b) => {
    const start = opts.side === 'left' ? T - r.length : 0;
    for (let i = 0; i < r.length; i++) {
      inputIds[b * T + start + i] = r[i];
      attentionMask[b * T + start + i] = 1;
      if (tokenTypeIds && opts.typeRows) tokenTypeIds[b * T + start + i] = opts.typeRows[b][i];
    }
  });
  return tokenTypeIds
    ? { shape: [B, T], inputIds, attentionMask, tokenTypeIds }
    : { shape: [B, T], inputIds, attentionMask };
}
