/**
 * The README's main job: WikiText-2 test perplexity on the default backend of the small SEA model
 * distilled in the repo (models/opt-small-wt2-sea: a 4-layer OPT teacher trained on real text, then
 * distilled to SEA with `sea distill`; see its README), beside the same SEA modules with fresh
 * (untrained) weights and exact attention on the same weights.
 *   pnpm demo [-- --windows N --model DIR]
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { withModelSeaDefaults } from './commands/common.js';
import { type EvalResult, runEval } from './commands/eval.js';

const args = process.argv.slice(2);
const arg = (name: string, def: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1] : def;
};
const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const model = arg('model', path.join(repo, 'models', 'opt-small-wt2-sea'));
const windows = Number.parseInt(arg('windows', '4'), 10);

const base = withModelSeaDefaults(
  {
    model,
    backend: process.env.SEA_BACKEND ?? 'auto',
    attention: 'sea' as 'dense' | 'performer' | 'sea',
    k: 32,
    predictorLength: 128,
    nbf: 8,
    seaPath: 'sparse',
    seed: 0,
    maxWindows: windows,
    protocol: 'sea' as const,
    json: false,
    seaWeights: undefined as string | undefined,
  },
  (f) => f !== 'attention',
);
const runs: [string, Partial<typeof base>][] = [
  ['sea, distilled', {}],
  ['sea, untrained modules', { seaWeights: 'fresh' }],
  ['dense on these weights', { attention: 'dense' }],
];
const rows: [string, EvalResult][] = [];
for (const [label, over] of runs) {
  const { result } = await runEval({ ...base, ...over });
  rows.push([label, result]);
}
const mib = (b: number) => (b / 2 ** 20).toFixed(1);
const r0 = rows[0][1];
process.stdout.write(
  [
    '',
    `WikiText-2 test (raw), ${r0.windows} of ${r0.totalWindows} windows × ${r0.window} tokens, backend ${r0.backend}`,
    `model ${model} (SEA k=${base.k}, K=${base.predictorLength}; a 7.3M-parameter OPT: perplexities are high for any model this small)`,
    '',
    '| attention              | perplexity | tokens/s | peak backend MiB |',
    '|------------------------|-----------:|---------:|-----------------:|',
    ...rows.map(
      ([label, r]) =>
        `| ${label.padEnd(22)} | ${r.perplexity.toFixed(2).padStart(10)} | ${r.tokensPerSecond.toFixed(0).padStart(8)} | ${mib(r.peakBackendBytes).padStart(16)} |`,
    ),
    '',
    "The student's non-attention weights were tuned with SEA during distillation, so exact attention",
    'on them is not the teacher. All 561 windows on the H100 (CUDA): teacher 1289.70, SEA student',
    '1195.85, Performer student 1249.48 (packages/train/experiments/2026-11-24-h100/README.md).',
    '',
  ].join('\n'),
);
