// The op layer around the optional fused capabilities `linear` and `attention` (layout 'bthd'): the
// capability runs when present and no tape records, the composition runs with a tape or when the
// capability declines, both give the same values, and neither leaks. A CPU backend stands in for a
// fusing one (the CUDA backend's kernels are checked by the conformance suite on the GPU machine).
import * as sea from '@sea/tensor';
import { setTape } from '@sea/tensor/internal';
import { describe, expect, it } from 'vitest';
import { CpuBackend } from './cpu_backend.js';

/** A CPU backend whose `linear` capability counts its calls and can decline with null. */
class FusingCpu extends CpuBackend {
  calls = 0;
  decline = false;
  linear: NonNullable<sea.Backend['linear']> = (x, w, bias, residual, opts) => {
    this.calls++;
    if (this.decline) return null;
    const [M] = x.shape;
    const N = w.shape[0];
    const y = this.matmul(x, w, { transB: true }, [M, N]);
    let out = y;
    const step = (next: sea.TensorInfo): void => {
      this.free(out.dataId);
      out = next;
    };
    if (bias) step(this.binary('add', out, bias, [M, N]));
    if (opts.activation === 'relu') step(this.unary('relu', out));
    if (residual) step(this.binary('add', out, residual, [M, N]));
    return out;
  };
}

const rng = new sea.Rng(5);
const normal = (n: number) => Float32Array.from({ length: n }, () => rng.normal());

describe('linear op with the fused capability', () => {
  it('fuses without a tape, composes with one or when declined; same values, no leak', async () => {
    const b = new FusingCpu();
    const x = sea.tensor(normal(2 * 5 * 7), [2, 5, 7], { backend: b });
    const w = sea.tensor(normal(3 * 7), [3, 7], { backend: b });
    const bias = sea.tensor(normal(3), [3], { backend: b });
    const r = sea.tensor(normal(2 * 5 * 3), [2, 5, 3], { backend: b });
    const want = await sea
      .add(sea.relu(sea.add(sea.matmul(x.reshape([10, 7]), w, { transB: true }), bias)).reshape([2, 5, 3]), r)
      .data();
    const before = b.memory();

    const fused = sea.linear(x, w, bias, { activation: 'relu', residual: r });
    expect(b.calls).toBe(1);
    expect(fused.shape).toEqual([2, 5, 3]);
    expect(Array.from(await fused.data())).toEqual(Array.from(want));
    fused.dispose();
    expect(b.memory().bytes).toBe(before.bytes);
    expect(b.memory().buffers).toBe(before.buffers);

    const ops: string[] = [];
    const prev = setTape({ record: (rec) => ops.push(rec.op) });
    let taped: sea.Tensor;
    try {
      taped = sea.linear(x, w, bias, { activation: 'relu', residual: r });
    } finally {
      setTape(prev);
    }
    expect(b.calls).toBe(1);
    expect(ops.filter((o) => o !== 'reshape')).toEqual(['matmul', 'add', 'relu', 'add']);
    expect(Array.from(await taped.data())).toEqual(Array.from(want));
    taped.dispose();

    b.decline = true;
    const composed = sea.linear(x, w, bias, { activation: 'relu', residual: r });
    expect(b.calls).toBe(2);
    expect(Array.from(await composed.data())).toEqual(Array.from(want));
    composed.dispose();
    expect(b.memory().bytes).toBe(before.bytes);
    expect(b.memory().buffers).toBe(before.buffers);
  });

  it('names a wrong residual shape, bias shape or activation', () => {
    const b = new FusingCpu();
    const x = sea.tensor(normal(4 * 6), [4, 6], { backend: b });
    const w = sea.tensor(normal(2 * 6), [2, 6], { backend: b });
    const r = sea.tensor(normal(4 * 3), [4, 3], { backend: b });
    expect(() => sea.linear(x, w, null, { residual: r })).toThrow(
      /expected residual of shape \[4,2\], got \[4,3\]/,
    );
    expect(() => sea.linear(x, w, sea.tensor(normal(3), [3], { backend: b }))).toThrow(
      /expected bias of shape \[2\], got \[3\]/,
    );
    expect(() => sea.linear(x, w, null, { activation: 'gelu' as never })).toThrow(
      /activation must be 'relu'/,
    );
    expect(b.calls).toBe(0);
  });
});

describe('attention in the bthd layout', () => {
  it('equals the bhtd result transposed, fused or (with a tape) composed', async () => {
    const b = new CpuBackend({ fusedAttentionMinScores: 0 });
    const [B, T, H, D] = [2, 9, 3, 4];
    const q = sea.tensor(normal(B * T * H * D), [B, T, H, D], { backend: b });
    const k = sea.tensor(normal(B * T * H * D), [B, T, H, D], { backend: b });
    const v = sea.tensor(normal(B * T * H * D), [B, T, H, D], { backend: b });
    const heads = (t: sea.Tensor) => sea.transpose(t, [0, 2, 1, 3]);
    const opts = { scale: 0.4, causal: true };
    const want = await heads(sea.attention(heads(q), heads(k), heads(v), opts)).data();

    const fused = sea.attention(q, k, v, { ...opts, layout: 'bthd' });
    expect(fused.shape).toEqual([B, T, H, D]);
    expect(Array.from(await fused.data())).toEqual(Array.from(want));

    const ops: string[] = [];
    const prev = setTape({ record: (rec) => ops.push(rec.op) });
    let taped: sea.Tensor;
    try {
      taped = sea.attention(q, k, v, { ...opts, layout: 'bthd' });
    } finally {
      setTape(prev);
    }
    // recorded as transposes around the [B,H,T,D] op, whose gradient the trainer knows
    expect(ops.filter((o) => o === 'transpose')).toHaveLength(4);
    expect(ops).toContain('attention');
    const got = await taped.data();
    for (let i = 0; i < want.length; i++) expect(got[i]).toBeCloseTo(want[i], 6);

    expect(() => sea.attention(q, k.reshape([B, T, H * D, 1]), v, { layout: 'bthd' })).toThrow(
      /expected k of shape \[2,Tk,3,4\]/,
    );
  });
});
