/**
 * Training checkpoints: model weights, SEA weights (with the Performer buffer) and optimizer state
 * (moments, step) as safetensors, plus a small JSON of the trainer state.
 *
 * Writing never removes what a resume could need before its replacement is in place: the new step
 * is written under a temporary name (`.step-NNNNNNN.<pid>.tmp`), renamed to a fresh versioned name
 * (`step-NNNNNNN.vK`, never an existing folder), then `latest.json` is replaced atomically, and only
 * then are older versions of that step removed. A crash at any point leaves `latest.json` naming a
 * complete step; should its target be missing anyway (a folder removed by hand, an older writer),
 * reading falls back to the newest complete step. Temporary folders left by killed runs are removed
 * by {@link removeStaleTemps}. Nothing with NaN or ±Infinity in it is written.
 */
import { constants as fsc } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { assertFiniteTensors } from '@sea/model-common';
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

const FILES = ['model.safetensors', 'sea.safetensors', 'optimizer.safetensors', 'trainer.json'];

async function writeJsonAtomic(file: string, value: unknown): Promise<void> {
  const tmp = `${file}.${process.pid}.${globalThis.crypto.randomUUID()}.tmp`;
  const fh = await fs.open(tmp, 'w');
  try {
    await fh.writeFile(`${JSON.stringify(value, null, 2)}\n`);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await fs.rename(tmp, file);
}

/** Flushes a folder's entries (renames into it) to disk, where the platform allows it. */
async function syncDir(dir: string): Promise<void> {
  const fh = await fs.open(dir, fsc.O_RDONLY).catch(() => null);
  if (!fh) return;
  try {
    await fh.sync();
  } catch {
    // some file systems refuse fsync on folders
  } finally {
    await fh.close();
  }
}

export function stepDirName(step: number): string {
  return `step-${String(step).padStart(7, '0')}`;
}

/** `step-NNNNNNN` or `step-NNNNNNN.vK` → [step, version] (the unversioned name is version 0). */
function parseStepDir(name: string): [number, number] | undefined {
  const m = /^step-(\d{7,})(?:\.v(\d+))?$/.exec(name);
  return m ? [Number(m[1]), m[2] ? Number(m[2]) : 0] : undefined;
}

async function entries(dir: string): Promise<string[]> {
  return fs.readdir(dir).catch(() => []);
}

/** True when the folder holds every checkpoint file. */
async function isComplete(stepDir: string): Promise<boolean> {
  for (const f of FILES) {
    const st = await fs.stat(path.join(stepDir, f)).catch(() => null);
    if (!st?.isFile()) return false;
  }
  return true;
}

function alive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes the temporary folders and files (`.<name>.<pid>.tmp`, `latest.json.<pid>.….tmp`) that runs
 * killed while writing left in `dir`; those of a process still running are kept. Returns the names
 * removed.
 */
export async function removeStaleTemps(dir: string): Promise<string[]> {
  const removed: string[] = [];
  for (const name of await entries(dir)) {
    const m = /^\..+\.(\d+)\.tmp$/.exec(name) ?? /^latest\.json\.(\d+)\..+\.tmp$/.exec(name);
    if (!m || alive(Number(m[1]))) continue;
    await fs.rm(path.join(dir, name), { recursive: true, force: true });
    removed.push(name);
  }
  return removed;
}

/**
 * Writes `dir/step-NNNNNNN.vK/{model,sea,optimizer}.safetensors + trainer.json` and points
 * `dir/latest.json` at it (see the module comment for the order). Refuses, writing nothing, when a
 * tensor holds NaN or ±Infinity.
 */
export async function saveCheckpoint(dir: string, c: CheckpointContents): Promise<string> {
  for (const [what, tensors] of [
    ['model', c.model],
    ['sea', c.sea],
    ['optimizer', c.optimizer],
  ] as const) {
    await assertFiniteTensors(
      Object.entries(tensors),
      `step ${c.step}: refusing to save the ${what} weights`,
    );
  }
  await fs.mkdir(dir, { recursive: true });
  const base = stepDirName(c.step);
  const tmp = path.join(dir, `.${base}.${process.pid}.tmp`);
  await fs.rm(tmp, { recursive: true, force: true });
  await fs.mkdir(tmp);
  try {
    const meta = { step: String(c.step) };
    await writeSafetensors(path.join(tmp, 'model.safetensors'), c.model, meta);
    await writeSafetensors(path.join(tmp, 'sea.safetensors'), c.sea, meta);
    await writeSafetensors(path.join(tmp, 'optimizer.safetensors'), c.optimizer, meta);
    await writeJsonAtomic(path.join(tmp, 'trainer.json'), { step: c.step, ...c.state });
  } catch (e) {
    await fs.rm(tmp, { recursive: true, force: true });
    throw e;
  }
  // a fresh name: every existing version of this step stays until latest.json names the new one
  const versions = (await entries(dir))
    .map((n) => [n, parseStepDir(n)] as const)
    .filter(([, p]) => p !== undefined && p[0] === c.step);
  const next = Math.max(0, ...versions.map(([, p]) => (p as [number, number])[1])) + 1;
  const name = `${base}.v${next}`;
  const final = path.join(dir, name);
  await fs.rename(tmp, final);
  await syncDir(dir);
  await writeJsonAtomic(path.join(dir, 'latest.json'), { step: c.step, dir: name });
  await syncDir(dir);
  for (const [old] of versions) await fs.rm(path.join(dir, old), { recursive: true, force: true });
  return final;
}

/**
 * The step folder a resume reads: the one `dir/latest.json` names when it is complete, else the
 * newest complete `step-*` folder (highest step, then version); undefined when there is none.
 */
export async function findCheckpoint(dir: string): Promise<string | undefined> {
  try {
    const latest = JSON.parse(await fs.readFile(path.join(dir, 'latest.json'), 'utf8')) as { dir?: unknown };
    if (typeof latest.dir === 'string' && parseStepDir(latest.dir)) {
      const target = path.join(dir, latest.dir);
      if (await isComplete(target)) return target;
    }
  } catch {
    // no or unreadable latest.json: look at the step folders
  }
  const steps = (await entries(dir))
    .map((n) => [n, parseStepDir(n)] as const)
    .filter((x): x is readonly [string, [number, number]] => x[1] !== undefined)
    .sort((a, b) => b[1][0] - a[1][0] || b[1][1] - a[1][1]);
  for (const [n] of steps) if (await isComplete(path.join(dir, n))) return path.join(dir, n);
  return undefined;
}

async function readAll(file: string, backend?: sea.Backend): Promise<Record<string, Tensor>> {
  const ck = await openCheckpoint(file);
  const out: Record<string, Tensor> = {};
  try {
    for (const n of ck.names()) out[n] = (await ck.readTensor(n, backend ? { backend } : {})).keep();
    return out;
  } catch (e) {
    for (const t of Object.values(out)) t.dispose();
    throw e;
  } finally {
    await ck.close();
  }
}

/**
 * Reads the checkpoint of a run folder ({@link findCheckpoint}: latest.json's step, or the newest
 * complete one) or a step folder given directly.
 */
export async function loadCheckpoint(dir: string, backend?: sea.Backend): Promise<CheckpointContents> {
  const stepDir = (await isComplete(dir)) ? dir : await findCheckpoint(dir);
  if (!stepDir) {
    throw new TrainError(
      `no checkpoint in ${dir}: expected latest.json or a complete step-NNNNNNN folder (${FILES.join(', ')})`,
    );
  }
  let state: Record<string, unknown>;
  try {
    state = JSON.parse(await fs.readFile(path.join(stepDir, 'trainer.json'), 'utf8')) as Record<
      string,
      unknown
    >;
  } catch (e) {
    throw new TrainError(`${path.join(stepDir, 'trainer.json')} cannot be read: ${(e as Error).message}`);
  }
  const step = Number(state.step);
  if (!Number.isSafeInteger(step) || step < 0)
    throw new TrainError(
      `${path.join(stepDir, 'trainer.json')}: step ${String(state.step)} is not a step number`,
    );
  const parts: Record<string, Tensor>[] = [];
  try {
    for (const f of ['model', 'sea', 'optimizer'])
      parts.push(await readAll(path.join(stepDir, `${f}.safetensors`), backend));
  } catch (e) {
    for (const p of parts) for (const t of Object.values(p)) t.dispose();
    throw e;
  }
  return { step, model: parts[0], sea: parts[1], optimizer: parts[2], state };
}
