/**
 * Node file I/O: `SafetensorsFile` (header read once, each tensor's bytes read on demand through a
 * file handle, so the file is never held whole in memory), sharded checkpoints (`openCheckpoint`)
 * and atomic writes (`writeSafetensors`). Node modules are imported lazily so that the package
 * still loads in browsers.
 */
import type { FileHandle } from 'node:fs/promises';
import type { Tensor } from '../engine.js';
import { SafetensorsError } from './errors.js';
import {
  MAX_HEADER_BYTES,
  parseHeader,
  readHeaderLength,
  type SafetensorsHeader,
  type SafetensorsTensorInfo,
} from './header.js';
import { type Json, JsonObject, JsonSyntaxError, parseJson } from './json.js';
import {
  HeaderReader,
  makeRaw,
  type RawTensor,
  type ReadTensorOptions,
  rawToTensor,
  type SafetensorsReader,
} from './reader.js';
import { encodePlanned, planSafetensors, type WritableTensor, type WriteOptions } from './write.js';

const fsp = () => import('node:fs/promises');
const pathMod = () => import('node:path');

/** Largest chunk one positional read asks for (Node refuses reads of 2 GiB or more). */
const READ_CHUNK = 1 << 30;

async function readExactly(
  fh: FileHandle,
  into: Uint8Array,
  position: number,
  file: string,
  tensor?: string,
): Promise<void> {
  let done = 0;
  while (done < into.length) {
    const len = Math.min(READ_CHUNK, into.length - done);
    const { bytesRead } = await fh.read(into, done, len, position + done);
    if (bytesRead === 0) {
      throw new SafetensorsError(
        `file ended after ${position + done} bytes while reading ${into.length} bytes at ${position}`,
        {
          file,
          tensor,
          offset: position + done,
        },
      );
    }
    done += bytesRead;
  }
}

function ioError(e: unknown, file: string, what: string): SafetensorsError {
  if (e instanceof SafetensorsError) return e;
  const msg = e instanceof Error ? e.message : String(e);
  return new SafetensorsError(`${what}: ${msg}`, { file });
}

export interface OpenOptions {
  /** Largest header accepted (default 100 MB). */
  maxHeaderBytes?: number;
}

/** A safetensors file on disk. Call `close()` when done. */
export class SafetensorsFile extends HeaderReader {
  #fh: FileHandle | null;

  private constructor(file: string, header: SafetensorsHeader, fh: FileHandle) {
    super(file, header);
    this.#fh = fh;
  }

  /** Opens the file and validates its header (the tensor bytes are read on demand). */
  static async open(path: string, opts: OpenOptions = {}): Promise<SafetensorsFile> {
    const fs = await fsp();
    let fh: FileHandle;
    try {
      fh = await fs.open(path, 'r');
    } catch (e) {
      throw ioError(e, path, 'cannot open');
    }
    try {
      const st = await fh.stat();
      if (!st.isFile()) throw new SafetensorsError('not a regular file', { file: path });
      const size = st.size;
      const first = new Uint8Array(Math.min(8, size));
      await readExactly(fh, first, 0, path);
      const n = readHeaderLength(first, size, path, opts.maxHeaderBytes ?? MAX_HEADER_BYTES);
      const hb = new Uint8Array(n);
      await readExactly(fh, hb, 8, path);
      return new SafetensorsFile(path, parseHeader(hb, size, path), fh);
    } catch (e) {
      await fh.close().catch(() => {});
      throw ioError(e, path, 'cannot read');
    }
  }

  async readRaw(name: string): Promise<RawTensor> {
    const info = this.info(name);
    const fh = this.#fh;
    if (!fh) throw new SafetensorsError('file was closed', { file: this.file, tensor: name });
    const bytes = new Uint8Array(info.byteLength);
    try {
      await readExactly(fh, bytes, info.fileOffset, this.file, name);
    } catch (e) {
      if (e instanceof SafetensorsError) throw e;
      throw new SafetensorsError(`read failed: ${e instanceof Error ? e.message : String(e)}`, {
        file: this.file,
        tensor: name,
      });
    }
    return makeRaw(info, bytes, this.file);
  }

  override async close(): Promise<void> {
    const fh = this.#fh;
    this.#fh = null;
    await fh?.close();
  }
}

export interface CheckpointTensorInfo extends SafetensorsTensorInfo {
  /** The shard file holding the tensor. */
  readonly shard: string;
}

/** One or several safetensors files read as one. */
export class Checkpoint implements SafetensorsReader {
  readonly #where = new Map<string, SafetensorsFile>();

  constructor(
    /** The folder, or the single file. */
    readonly file: string,
    readonly shards: readonly SafetensorsFile[],
    where: ReadonlyMap<string, SafetensorsFile>,
    /** The index file's own `metadata` object (e.g. total_size), when sharded. */
    readonly indexMetadata: Readonly<Record<string, unknown>> = {},
  ) {
    const names = [...where.keys()].sort();
    for (const n of names) this.#where.set(n, where.get(n) as SafetensorsFile);
  }

  /** The first shard's `__metadata__`. */
  get metadata(): Readonly<Record<string, string>> {
    return this.shards[0]?.metadata ?? {};
  }

  names(): string[] {
    return [...this.#where.keys()];
  }

  has(name: string): boolean {
    return this.#where.has(name);
  }

  #shard(name: string): SafetensorsFile {
    const s = this.#where.get(name);
    if (!s)
      throw new SafetensorsError(`no tensor named '${name}' (${this.#where.size} tensors)`, {
        file: this.file,
        tensor: name,
      });
    return s;
  }

  info(name: string): CheckpointTensorInfo {
    const s = this.#shard(name);
    return { ...s.info(name), shard: s.file };
  }

  async readRaw(name: string): Promise<RawTensor> {
    return this.#shard(name).readRaw(name);
  }

  async readTensor(name: string, opts: ReadTensorOptions = {}): Promise<Tensor> {
    const s = this.#shard(name);
    return rawToTensor(await s.readRaw(name), s.file, opts);
  }

  async close(): Promise<void> {
    await Promise.all(this.shards.map((s) => s.close()));
  }
}

const CONVERT_HINT =
  'sea reads only safetensors. Convert in Python with `model.save_pretrained(dir, safe_serialization=True)` ' +
  '(transformers), or `from safetensors.torch import save_file; save_file(torch.load("pytorch_model.bin"), "model.safetensors")`';

const MAX_INDEX_BYTES = 100_000_000;

/**
 * Opens a checkpoint: a `.safetensors` file, or a folder holding `model.safetensors` or
 * `model.safetensors.index.json` (whose `weight_map` names the shard of every tensor; each entry is
 * checked to exist in its shard).
 */
export async function openCheckpoint(dirOrFile: string, opts: OpenOptions = {}): Promise<Checkpoint> {
  const fs = await fsp();
  const path = await pathMod();
  const stat = await fs.stat(dirOrFile).catch((e: unknown) => {
    throw ioError(e, dirOrFile, 'cannot open checkpoint');
  });
  if (stat.isFile()) {
    if (dirOrFile.endsWith('.index.json')) return openIndex(dirOrFile, path.dirname(dirOrFile), opts);
    const f = await SafetensorsFile.open(dirOrFile, opts);
    return new Checkpoint(dirOrFile, [f], new Map(f.names().map((n) => [n, f])));
  }
  const exists = async (p: string) => (await fs.stat(p).catch(() => null))?.isFile() ?? false;
  const single = path.join(dirOrFile, 'model.safetensors');
  if (await exists(single)) {
    const f = await SafetensorsFile.open(single, opts);
    return new Checkpoint(dirOrFile, [f], new Map(f.names().map((n) => [n, f])));
  }
  const index = path.join(dirOrFile, 'model.safetensors.index.json');
  if (await exists(index)) return openIndex(index, dirOrFile, opts);
  for (const bin of ['pytorch_model.bin', 'pytorch_model.bin.index.json']) {
    if (await exists(path.join(dirOrFile, bin))) {
      throw new SafetensorsError(`found only ${bin} (a PyTorch pickle checkpoint). ${CONVERT_HINT}`, {
        file: dirOrFile,
      });
    }
  }
  throw new SafetensorsError('no model.safetensors or model.safetensors.index.json in this folder', {
    file: dirOrFile,
  });
}

async function openIndex(index: string, dir: string, opts: OpenOptions): Promise<Checkpoint> {
  const fs = await fsp();
  const path = await pathMod();
  const st = await fs.stat(index);
  if (st.size > MAX_INDEX_BYTES) {
    throw new SafetensorsError(`index file is ${st.size} bytes, over the ${MAX_INDEX_BYTES}-byte limit`, {
      file: index,
    });
  }
  const bytes = await fs.readFile(index).catch((e: unknown) => {
    throw ioError(e, index, 'cannot read index');
  });
  let root: Json;
  try {
    root = parseJson(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (e) {
    const where = e instanceof JsonSyntaxError ? ` at character ${e.pos}` : '';
    throw new SafetensorsError(
      `index is not valid UTF-8 JSON${where}: ${e instanceof Error ? e.message : String(e)}`,
      {
        file: index,
      },
    );
  }
  if (!(root instanceof JsonObject))
    throw new SafetensorsError('index is not a JSON object', { file: index });
  const wm = root.entries.get('weight_map');
  if (!(wm instanceof JsonObject))
    throw new SafetensorsError("index has no 'weight_map' object", { file: index });
  const meta = root.entries.get('metadata');
  const indexMetadata: Record<string, unknown> = {};
  if (meta instanceof JsonObject)
    for (const [k, v] of meta.entries)
      indexMetadata[k] = v instanceof JsonObject ? Object.fromEntries(v.entries) : v;

  const shardNames = new Set<string>();
  for (const [name, shard] of wm.entries) {
    if (
      typeof shard !== 'string' ||
      shard === '' ||
      shard !== path.basename(shard) ||
      shard === '.' ||
      shard === '..'
    ) {
      throw new SafetensorsError(
        `weight_map entry ${JSON.stringify(shard)} is not a file name in the checkpoint folder`,
        {
          file: index,
          tensor: name,
        },
      );
    }
    shardNames.add(shard);
  }
  const opened = new Map<string, SafetensorsFile>();
  try {
    for (const s of [...shardNames].sort())
      opened.set(s, await SafetensorsFile.open(path.join(dir, s), opts));
    const where = new Map<string, SafetensorsFile>();
    for (const [name, shard] of wm.entries) {
      const f = opened.get(shard as string) as SafetensorsFile;
      if (!f.has(name)) {
        throw new SafetensorsError(
          `weight_map says this tensor is in ${shard}, but that shard has no such tensor`,
          {
            file: index,
            tensor: name,
          },
        );
      }
      where.set(name, f);
    }
    return new Checkpoint(dir, [...opened.values()], where, indexMetadata);
  } catch (e) {
    await Promise.all([...opened.values()].map((f) => f.close().catch(() => {})));
    throw e;
  }
}

/**
 * Writes a safetensors file atomically: everything is validated first, the bytes go to a temporary
 * file in the same folder, which is fsynced and renamed over `path`. On any error the temporary
 * file is removed and an existing file at `path` is left untouched.
 */
export async function writeSafetensors(
  path: string,
  tensors: Readonly<Record<string, WritableTensor>>,
  metadata?: Readonly<Record<string, string>>,
  opts: WriteOptions = {},
): Promise<void> {
  const fs = await fsp();
  const pm = await pathMod();
  const plan = planSafetensors(tensors, metadata, opts, path);
  const tmp = pm.join(
    pm.dirname(path),
    `.${pm.basename(path)}.${process.pid}.${globalThis.crypto.randomUUID()}.tmp`,
  );
  let fh: FileHandle | null = null;
  try {
    fh = await fs.open(tmp, 'wx');
    await fh.write(plan.head, 0, plan.head.length, 0);
    let pos = plan.head.length;
    for (const t of plan.tensors) {
      const bytes = await encodePlanned(t, path);
      let done = 0;
      while (done < bytes.length) {
        const { bytesWritten } = await fh.write(
          bytes,
          done,
          Math.min(READ_CHUNK, bytes.length - done),
          pos + done,
        );
        done += bytesWritten;
      }
      pos += bytes.length;
    }
    if (pos !== plan.totalBytes)
      throw new SafetensorsError(`wrote ${pos} bytes, expected ${plan.totalBytes}`, { file: path });
    await fh.sync();
    await fh.close();
    fh = null;
    await fs.rename(tmp, path);
  } catch (e) {
    if (fh) await fh.close().catch(() => {});
    await fs.rm(tmp, { force: true }).catch(() => {});
    throw ioError(e, path, 'write failed');
  }
  // Persist the rename itself (best effort: not every platform can fsync a folder).
  try {
    const dh = await fs.open(pm.dirname(path), 'r');
    await dh.sync().catch(() => {});
    await dh.close();
  } catch {
    // ignore
  }
}
