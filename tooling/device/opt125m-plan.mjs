// Projected device time of the OPT-125m-shape experiment (run-opt125m-piece.sh) from the rates the
// train check measured on the GPU (train-check.json of run-train-check.sh): the teacher's tokens
// over the `sea train` rate of its micro-batch, each distillation's tokens over the `sea distill`
// rate of its attention kind (one step of batch 1; the teacher's forward included), in hours and in
// pieces of MAX_MIN minutes.
//   node tooling/device/opt125m-plan.mjs path/to/train-check.json
// Env as run-opt125m-piece.sh: TEACHER_STEPS (20000), TEACHER_BATCH (4), DISTILL_STEPS (2000), ACC (8),
// MAX_MIN (24), CKPT (1: the teacher's rate with --checkpoint-layers).
import fs from 'node:fs';

const file = process.argv[2];
if (!file) {
  console.error('usage: node tooling/device/opt125m-plan.mjs train-check.json');
  process.exit(2);
}
const j = JSON.parse(fs.readFileSync(file, 'utf8'));
const T = 2048;
const env = (k, d) => Number(process.env[k] ?? d);
const [teacherSteps, teacherBatch, distillSteps, acc, maxMin] = [
  env('TEACHER_STEPS', 20000),
  env('TEACHER_BATCH', 4),
  env('DISTILL_STEPS', 2000),
  env('ACC', 8),
  env('MAX_MIN', 24),
];
const ckpt = process.env.CKPT !== '0';
const rows = [];
const lm = j.opt125mStep?.rows ?? [];
const pick =
  lm.find((r) => r.batch === teacherBatch && !!r.checkpointLayers === ckpt && r.tokensPerS) ??
  lm.find((r) => r.batch === teacherBatch && r.tokensPerS) ??
  lm.find((r) => r.tokensPerS);
const add = (method, tokens, rate, note) => {
  const s = rate ? tokens / rate : null;
  rows.push({
    method,
    tokens,
    tokensPerS: rate ?? null,
    hours: s === null ? null : s / 3600,
    pieces: s === null ? null : Math.ceil(s / 60 / maxMin),
    note,
  });
};
add(
  'teacher (sea train)',
  teacherSteps * teacherBatch * acc * T,
  pick?.tokensPerS,
  pick ? `rate of batch ${pick.batch}${pick.checkpointLayers ? ' checkpointed' : ''}` : 'no rate measured',
);
for (const r of j.opt125mDistillStep?.rows ?? [])
  add(
    `distill --attention ${r.attention}`,
    distillSteps * acc * T,
    r.tokensPerS,
    r.tokensPerS
      ? 'rate of batch 1 (teacher forward included)'
      : (r.error ?? r.skipped ?? 'no rate').split('\n')[0],
  );
const fmt = (x, d = 1) => (x === null || x === undefined ? '—' : x.toFixed(d));
console.log('| run | tokens | tokens/s (H200) | device hours | pieces of ' + maxMin + ' min | rate |');
console.log('| --- | ---: | ---: | ---: | ---: | --- |');
for (const r of rows)
  console.log(
    `| ${r.method} | ${(r.tokens / 1e6).toFixed(1)} M | ${fmt(r.tokensPerS, 0)} | ${fmt(r.hours)} | ${r.pieces ?? '—'} | ${r.note} |`,
  );
const total = rows.reduce((s, r) => s + (r.hours ?? 0), 0);
console.log(`total: ${total.toFixed(1)} device hours (measured rates only)`);
