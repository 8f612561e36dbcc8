import { SeaError } from '@sea/tensor';
import { writeRandomBert, writeRandomOpt } from '../make_model.js';

export async function makeModelCommand(o: {
  out: string;
  arch: string;
  hidden: number;
  layers: number;
  heads: number;
  maxPositions?: number;
  seed: number;
}): Promise<void> {
  const atLeast = (flag: string, v: number | undefined, min: number, max: number) => {
    if (v === undefined) return;
    if (!Number.isSafeInteger(v) || v < min || v > max)
      throw new SeaError('E_ARGS', `${flag} must be an integer from ${min} to ${max}, got ${v}`);
  };
  atLeast('--hidden', o.hidden, 1, 65536);
  atLeast('--layers', o.layers, 1, 1024);
  atLeast('--heads', o.heads, 1, o.hidden);
  atLeast('--max-positions', o.maxPositions, 2, 1 << 20);
  atLeast('--seed', o.seed, 0, 2 ** 32 - 1);
  if (o.hidden % o.heads !== 0)
    throw new SeaError('E_ARGS', `--hidden ${o.hidden} is not a multiple of --heads ${o.heads}`);
  // the largest tensor (word or position embeddings, or fc1) must fit one typed array
  const vocab = o.arch === 'bert' ? 30522 : 50272;
  const rows = Math.max(vocab, o.maxPositions ?? 0, 4 * o.hidden);
  if (rows * o.hidden > 2 ** 28)
    throw new SeaError(
      'E_ARGS',
      `--hidden ${o.hidden} makes a ${rows}×${o.hidden} tensor (over 2^28 values); choose a smaller model`,
    );
  const common = {
    hidden: o.hidden,
    layers: o.layers,
    heads: o.heads,
    maxPositions: o.maxPositions,
    seed: o.seed,
  };
  let r: { dir: string; parameters: number };
  if (o.arch === 'opt') r = await writeRandomOpt(o.out, common);
  else if (o.arch === 'bert') r = await writeRandomBert(o.out, common);
  else throw new SeaError('E_ARGS', `--arch must be opt or bert, got '${o.arch}'`);
  process.stdout.write(
    `wrote ${r.dir}: ${o.arch.toUpperCase()}-format, ${r.parameters.toLocaleString('en')} parameters, RANDOM weights (speed and agreement only)\n`,
  );
}
