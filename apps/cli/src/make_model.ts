/**
 * Builds a small OPT- or BERT-format model folder (config.json + model.safetensors + the bundled
 * tokenizer files) with RANDOM weights, initialised as Hugging Face does (`randomWeights`: normal(0, 0.02), zero biases, unit
 * LayerNorms). It uses the real vocabulary size, so the real tokenizer applies. It measures speed
 * and agreement between attention methods, not language quality: its perplexity is about the
 * vocabulary size.
 */
import fs from 'node:fs';
import path from 'node:path';
import { bertWeightSpecs, parseBertConfig, type RandomBertOptions, randomBertConfigJson } from '@sea/bert';
import {
  optWeightSpecs,
  parseOptConfig,
  type RandomOptOptions,
  randomOptConfigJson,
  randomWeights,
} from '@sea/opt';
import { writeSafetensors } from '@sea/tensor/node';
import { writeTokenizerFiles } from '@sea/tokenizers';

export type { RandomBertOptions, RandomOptOptions };

/** Writes config.json, model.safetensors and a README saying what the weights are. */
async function writeRandomModel(
  dir: string,
  cfg: Record<string, unknown>,
  specs: Parameters<typeof randomWeights>[0],
  seed: number,
  arch: 'opt' | 'bert',
  command: string,
): Promise<{ dir: string; parameters: number }> {
  const tensors = randomWeights(specs, seed);
  const parameters = Object.values(tensors).reduce((n, t) => n + t.data.length, 0);
  const note = String(cfg.sea_note);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'config.json'), `${JSON.stringify(cfg, null, 2)}\n`);
  await writeSafetensors(path.join(dir, 'model.safetensors'), tensors, { format: 'pt', note });
  await writeTokenizerFiles(dir, arch);
  fs.writeFileSync(
    path.join(dir, 'README.md'),
    `# ${String(cfg._name_or_path)}\n\n${note}.\n\nBuilt by \`${command}\` (seed ${seed}); ${parameters.toLocaleString('en')} parameters.\n`,
  );
  return { dir, parameters };
}

export async function writeRandomOpt(
  dir: string,
  o: RandomOptOptions & { seed?: number } = {},
): Promise<{ dir: string; parameters: number }> {
  const cfg = randomOptConfigJson(o);
  const specs = optWeightSpecs(parseOptConfig(cfg));
  return writeRandomModel(dir, cfg, specs, o.seed ?? 0, 'opt', 'sea make-model');
}

/** A BertForSequenceClassification folder with RANDOM weights and the real uncased vocabulary size. */
export async function writeRandomBert(
  dir: string,
  o: RandomBertOptions & { seed?: number } = {},
): Promise<{ dir: string; parameters: number }> {
  const cfg = randomBertConfigJson(o);
  const specs = bertWeightSpecs(parseBertConfig(cfg));
  return writeRandomModel(dir, cfg, specs, o.seed ?? 0, 'bert', 'sea make-model --arch bert');
}
