/**
 * The README's main job: WikiText-2 perplexity on the default backend with dense, Performer and
 * SEA attention, on a small RANDOM-weight OPT-format model the repo builds itself (so it measures
 * speed, memory and agreement between attention methods, not language quality).
 *   pnpm demo [-- --windows N --window T --model DIR]
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type EvalResult, runEval } from './commands/eval.js';
import { writeRandomOpt } from './make_model.js';

const args = process.argv.slice(2);
const arg = (name: string, def: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1] : def;
};
const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const model = arg('model', path.join(repo, '.cache', 'random-opt'));
const windows = Number.parseInt(arg('windows', '2'), 10);
const window = Number.parseInt(arg('window', '1024'), 10);

if (!fs.existsSync(path.join(model, 'config.json'))) {
  const r = await writeRandomOpt(model, {});
  process.stdout.write(`built ${r.dir}: ${r.parameters.toLocaleString('en')} parameters, RANDOM weights\n`);
}

const rows: EvalResult[] = [];
for (const attention of ['dense', 'performer', 'sea'] as const) {
  const { result } = await runEval({
    model,
    backend: process.env.SEA_BACKEND ?? 'auto',
    attention,
    k: 64,
    predictorLength: 256,
    nbf: 8,
    seaPath: 'sparse',
    seed: 0,
    window,
    maxWindows: windows,
    protocol: 'sea',
    json: false,
  });
  rows.push(result);
}
const mib = (b: number) => (b / 2 ** 20).toFixed(1);
process.stdout.write(
  [
    '',
    `WikiText-2 test, ${rows[0].windows} windows × ${window} tokens, backend ${rows[0].backend}, model ${model}`,
    'RANDOM weights: perplexities sit near the vocabulary size (50,272); compare methods, not quality.',
    '',
    '| attention | perplexity | tokens/s | peak backend MiB |',
    '|-----------|-----------:|---------:|-----------------:|',
    ...rows.map(
      (r) =>
        `| ${r.attention.padEnd(9)} | ${r.perplexity.toFixed(2).padStart(10)} | ${r.tokensPerSecond.toFixed(0).padStart(8)} | ${mib(r.peakBackendBytes).padStart(16)} |`,
    ),
    '',
  ].join('\n'),
);
