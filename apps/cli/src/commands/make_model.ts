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
