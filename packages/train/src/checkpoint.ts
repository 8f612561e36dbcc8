/**
 * Training checkpoints: model weights, SEA weights (with the Performer buffer) and optimizer state
 * (moments, step) as safetensors, plus a small JSON of the trainer state. A checkpoint folder is
 * written under a temporary name and renamed into place, and `latest.json` is replaced atomically,
 * so a crash leaves either the previous checkpoint or the new one, never a torn one.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import type * as sea from '@sea/tensor';
import type { Tensor } from '@sea/tensor';
import { openCheckpoint, writeSafetensors } from '@sea/tensor/node';
import { TrainError } from './errors.js';

export interface CheckpointContents {
  step: number;
  model: Record<string, Tensor>;
  sea: Record<string, Tensor>;
  optimizer: Record<string, Tensor>;
  state: Record<string, unknown>;
}

async function writeJsonAtomic(file: string, value: unknown): Promise<void> {
  const tmp = `${file}.${process.pid}.${globalThis.crypto.randomUUID()}.tmp`;
  await fs.writeFile(tmp, `${JSON.stringify(value, null, 2)}\n`);
  await fs.rename(tmp, file);
}

export function stepDirName(step: number): string {
  return `step-${String(step).padStart(7, '0')}`;
}

/** Writes `dir/step-NNNNNNN/{model,sea,optimizer}.safetensors + trainer.json` and points `dir/latest.json` at it. */
export async function saveCheckpoint(dir: string, c: CheckpointContents): Promise<string> {
  await fs.mkdir(dir, { recursive: true });
  const name = stepDirName(c.step);
  const final = path.join(dir, name);
  const tmp = path.join(dir, `.${name}.${process.pid}.tmp`);
  await fs.rm(tmp, { recursive: true, force: true });
  await fs.mkdir(tmp);
  const meta = { step: String(c.step) };
  await writeSafetensors(path.join(tmp, 'model.safetensors'), c.model, meta);
  await writeSafetensors(path.join(tmp, 'sea.safetensors'), c.sea, meta);
  await writeSafetensors(path.join(tmp, 'optimizer.safetensors'), c.optimizer, meta);
  await fs.writeFile(
    path.join(tmp, 'trainer.json'),
    `${JSON.stringify({ step: c.step, ...c.state }, null, 2)}\n`,
  );
  await fs.rm(final, { recursive: true, force: true });
  await fs.rename(tmp, final);
  await writeJsonAtomic(path.join(dir, 'latest.json'), { step: c.step, dir: name });
  return final;
}

async function readAll(file: string, backend?: sea.Backend): Promise<Record<string, Tensor>> {
  const ck = await openCheckpoint(file);
  try {
    const out: Record<string, Tensor> = {};
    for (const n of ck.names()) out[n] = (await ck.readTensor(n, backend ? { backend } : {})).keep();
    return out;
  } finally {
    await ck.close();
  }
}

/** Reads the checkpoint that `dir/latest.json` names (or a step folder given directly). */
export async function loadCheckpoint(dir: string, backend?: sea.Backend): Promise<CheckpointContents> {
  let stepDir = dir;
  try {
    const latest = JSON.parse(await fs.readFile(path.join(dir, 'latest.json'), 'utf8')) as { dir: string };
    stepDir = path.join(dir, latest.dir);
  } catch {
    // not a run folder: maybe a step folder
  }
  let state: Record<string, unknown>;
  try {
    state = JSON.parse(await fs.readFile(path.join(stepDir, 'trainer.json'), 'utf8')) as Record<
      string,
      unknown
    >;
  } catch (e) {
    throw new TrainError(
      `no checkpoint in ${dir}: expected latest.json or trainer.json (${(e as Error).message})`,
    );
  }
  return {
    step: Number(state.step),
    model: await readAll(path.join(stepDir, 'model.safetensors'), backend),
    sea: await readAll(path.join(stepDir, 'sea.safetensors'), backend),
    optimizer: await readAll(path.join(stepDir, 'optimizer.safetensors'), backend),
    state,
  };
}
