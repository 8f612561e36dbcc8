/**
 * Next-token cross-entropy of one window computed on the backend (log-softmax + take-along), so
 * only T numbers come back instead of the T×V logits.
 */
import { cast, logSoftmax, type Tensor, takeAlong, tensor, tidy } from '@sea/tensor';

/** logits [1, T, V] (row t predicts token t+1); returns the mean loss over the T−1 predictions. */
export async function windowLoss(logits: Tensor, ids: ArrayLike<number>): Promise<number> {
  const T = ids.length;
  if (logits.rank !== 3 || logits.shape[0] !== 1 || logits.shape[1] !== T) {
    throw new Error(`expected logits of shape [1,${T},V], got [${logits.shape.join(',')}]`);
  }
  const targets = new Int32Array(T);
  for (let t = 0; t < T - 1; t++) targets[t] = ids[t + 1];
  // 16-bit logits: the log-softmax runs in float32 (a 16-bit log-probability keeps 3 digits)
  const picked = tidy(() =>
    takeAlong(
      logSoftmax(logits.dtype === 'float32' ? logits : cast(logits, 'float32')),
      tensor(targets, [1, T, 1], { backend: logits.backend }),
    ),
  );
  const lp = await picked.data();
  picked.dispose();
  let total = 0;
  for (let t = 0; t < T - 1; t++) {
    if (!Number.isFinite(lp[t])) throw new Error(`non-finite log-probability at position ${t}`);
    total -= lp[t];
  }
  return total / (T - 1);
}
