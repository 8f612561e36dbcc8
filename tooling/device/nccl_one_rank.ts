/**
 * One-rank NCCL check on the GPU machine (bundled by pack-train.sh and pack-cuda.sh): loads
 * libnccl.so.2, makes a unique id, joins a 1-rank group on the CUDA backend, checks allReduce (the
 * sum of one rank is its input) and broadcast (float32 and bfloat16) on device buffers, then trains a
 * small OPT for 3 steps with the NCCL reducer and without it and compares the parameters (the same
 * code path as N GPUs; must be bit-identical). Prints one JSON line; exit status 1 on any mismatch.
 */
import '@sea/backend-cuda';
import * as sea from '@sea/tensor';
import { CommunicatorReducer, LmTrainer, NcclCommunicator, ncclUniqueIdHex } from '@sea/train';

process.env.NCCL_NVLS_ENABLE = '0';
const backend = await sea.setBackend('cuda');
const id = await ncclUniqueIdHex();
const comm = await NcclCommunicator.create(0, 1, backend, id);
const x = sea
  .tensor(
    Float32Array.from({ length: 1000 }, (_, i) => Math.sin(i)),
    [1000],
  )
  .keep();
const want = Float32Array.from((await x.data()) as Float32Array);
const [sum] = await comm.allReduce([x]);
const got = (await sum.data()) as Float32Array;
const allReduceOk = got.every((v, i) => v === want[i]);
const [b] = await comm.broadcast([sum], 0);
const broadcastOk = ((await b.data()) as Float32Array).every((v, i) => v === want[i]);
b.dispose();
// broadcast copies bytes: a bfloat16 tensor (2 bytes a value) comes back whole
const h = sea.tidy(() => sea.cast(sea.tensor(want, [1000]), 'bfloat16')).keep();
const wantH = Float32Array.from((await h.data()) as Float32Array);
const [bh] = await comm.broadcast([h], 0);
const broadcastBf16Ok =
  bh.dtype === 'bfloat16' && ((await bh.data()) as Float32Array).every((v, i) => v === wantH[i]);
bh.dispose();

const hf = {
  model_type: 'opt',
  vocab_size: 512,
  hidden_size: 64,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  ffn_dim: 256,
  max_position_embeddings: 128,
  word_embed_proj_dim: 64,
  do_layer_norm_before: true,
  activation_function: 'relu',
};
const rng = new sea.Rng(1);
const data = Int32Array.from({ length: 20000 }, () => rng.int(512));
const run = async (withNccl: boolean) => {
  const t = await LmTrainer.create(
    hf,
    data,
    { seqLen: 128, batch: 2, accumulate: 2, lr: 1e-3, seed: 0 },
    undefined,
    backend,
  );
  if (withNccl) t.reducer = new CommunicatorReducer(comm);
  const losses: number[] = [];
  for (let s = 0; s < 3; s++) losses.push((await t.trainStep()).loss);
  const p: Record<string, Float32Array> = {};
  for (const [n, v] of Object.entries(t.params)) p[n] = Float32Array.from((await v.data()) as Float32Array);
  t.dispose();
  return { p, losses };
};
const a = await run(false);
const c = await run(true);
let maxDiff = 0;
for (const n of Object.keys(a.p))
  for (let i = 0; i < a.p[n].length; i++) maxDiff = Math.max(maxDiff, Math.abs(a.p[n][i] - c.p[n][i]));
comm.close();
const ok = allReduceOk && broadcastOk && broadcastBf16Ok && maxDiff === 0;
console.log(
  JSON.stringify({
    ok,
    allReduceOk,
    broadcastOk,
    broadcastBf16Ok,
    trainMaxDiff: maxDiff,
    losses: c.losses,
    nccl: process.env.SEA_NCCL_LIB ?? 'searched',
  }),
);
process.exit(ok ? 0 : 1);
