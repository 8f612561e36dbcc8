// Markdown tables of one results folder: node bench/report.mjs <folder> (cuda-bench.json,
// torch-bench.json, cuda-conformance.json written by tooling/device/run-cuda.sh).
import fs from 'node:fs';
import path from 'node:path';

const dir = process.argv[2] ?? '.';
const read = (f) => {
  try {
    return JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8'));
  } catch {
    return null;
  }
};
const r = read('cuda-bench.json');
const t = read('torch-bench.json') ?? { sdpa: [], opt: [] };
const c = read('cuda-conformance.json');
const out = [];
const p = (s) => out.push(s);
const mib = (b) => `${(b / 2 ** 20).toFixed(0)} MiB`;
const f = (x, d = 2) => (x === undefined || x === null ? '—' : x.toFixed(d));

if (c) {
  const per = {};
  for (const x of c.results) {
    const d = /bfloat16/.test(x.name)
      ? 'bfloat16'
      : /float16/.test(x.name)
        ? 'float16'
        : 'float32, int32, bool';
    per[d] ??= { pass: 0, fail: 0, skip: 0 };
    per[d][x.status]++;
  }
  p(
    `Conformance (NVRTC): ${c.passed} passed, ${c.failed} failed, ${c.skipped} skipped in ${c.seconds.toFixed(1)} s.\n`,
  );
  p('| tests named | passed | failed | skipped |');
  p('| --- | --- | --- | --- |');
  for (const [d, n] of Object.entries(per)) p(`| ${d} | ${n.pass} | ${n.fail} | ${n.skip} |`);
  p('');
}
if (r) {
  p(
    `Ceilings measured in the same run: device-to-device copy ${f(r.rates.copyGBps, 0)} GB/s (read + write), cuBLAS SGEMM ${f(r.rates.sgemmTflops, 1)} TFLOP/s, cuBLAS bf16 GEMM 8192³ ${f(r.rates.bf16GemmTflops, 0)} TFLOP/s${t.copyGBps ? `; torch: copy ${f(t.copyGBps, 0)} GB/s, bf16 GEMM ${f(t.bf16GemmTflops, 0)} TFLOP/s` : ''}.\n`,
  );
  const sea = new Map(r.sea.map((s) => [`${s.dtype}@${s.T}`, s]));
  const sd = new Map(t.sdpa.map((s) => [`${s.dtype}@${s.T}`, s]));
  const Ts = [...new Set(r.sea.map((s) => s.T))].sort((a, b) => a - b);
  p(
    '| T | SEA fp32 | SEA bf16 | SDPA fp32 | SDPA bf16 | SEA bf16 / SDPA bf16 | SEA fp32 / SDPA fp32 | SEA peak fp32 | SEA peak bf16 | SDPA bf16 peak | entries per row and head | SEA bf16, cell-mask attention on the tensor cores (SEA_CUDA_MASK_MMA=1) |',
  );
  p('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const T of Ts) {
    const a = sea.get(`float32@${T}`);
    const b = sea.get(`bfloat16@${T}`);
    const s32 = sd.get(`float32@${T}`);
    const s16 = sd.get(`bfloat16@${T}`);
    p(
      `| ${T / 1024}k | ${f(a?.ms)} | ${f(b?.ms)} | ${f(s32?.ms)} | ${f(s16?.ms, 3)} | ${b && s16 ? f(b.ms / s16.ms) : '—'} | ${a && s32 ? f(a.ms / s32.ms) : '—'} | ${a ? mib(a.peakBytesAboveInputs) : '—'} | ${b ? mib(b.peakBytesAboveInputs) : '—'} | ${s16 ? mib(s16.peakBytesAboveInputs) : '—'} | ${f((b ?? a)?.nnzPerRowPerHead, 1)} | ${b?.msMaskMma == null ? '—' : f(b.msMaskMma)} |`,
    );
  }
  p('');
  for (const pr of r.profiles.filter((x) => x.label.startsWith('SeaAttention'))) {
    p(`${pr.label}: wall ${f(pr.wallMs)} ms, GPU time in ops ${f(pr.gpuOpsMs)} ms, ${pr.ops} ops.\n`);
    p('| stage (calls) | ms | share | GB/s | of copy | TFLOP/s | of GEMM |');
    p('| --- | --- | --- | --- | --- | --- | --- |');
    for (const x of pr.rows.slice(0, 18))
      p(
        `| ${x.op.trim()} (${x.calls}) | ${f(x.ms, 3)} | ${f((100 * x.ms) / pr.gpuOpsMs, 0)}% | ${f(x.GBps, 0)} | ${f(100 * x.ofCopyBW, 0)}% | ${x.flops ? f(x.TFLOPs, 1) : ''} | ${x.flops ? `${f(100 * x.ofGemm, 0)}%` : ''} |`,
      );
    p('');
  }
  if (r.seaKernels?.length) {
    p('| fused CSR attention instance | layer ms |');
    p('| --- | --- |');
    for (const k of r.seaKernels) p(`| ${k.kernel} (${k.dtype ?? 'float32'} T=${k.T}) | ${f(k.ms)} |`);
    p('');
  }
  p('| OPT-125m shape, T = 2048 | ms | tokens/s | peak above weights |');
  p('| --- | --- | --- | --- |');
  for (const o of r.opt)
    p(
      `| sea ${o.dtype ?? 'float32'}, ${o.attention} attention | ${f(o.ms, 1)} | ${f(o.tokensPerS, 0)} | ${mib(o.peakBytesAboveWeights)} |`,
    );
  for (const o of t.opt)
    p(
      `| Hugging Face transformers ${o.dtype} (${o.attention}) | ${f(o.ms, 1)} | ${f(o.tokensPerS, 0)} | ${mib(o.peakBytesAboveWeights)} |`,
    );
  p('');
  if (r.cudnn) p(`cuDNN: ${JSON.stringify(r.cudnn)}\n`);
}
console.log(out.join('\n'));
