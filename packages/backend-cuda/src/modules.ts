/**
 * Kernel modules: one CUDA C source per primitive family under `kernels/`, loaded at first use.
 * Order of preference: a prebuilt fatbin beside the source whose recorded source hash matches
 * (`<family>.sm_XY.fatbin` + `.sha256`, built by scripts/build-fatbin.sh), then the on-disk NVRTC
 * cache (keyed by source hash, arch, NVRTC version and options; SEA_CUDA_CACHE names the folder), then
 * NVRTC itself. SEA_CUDA_PREBUILT=0 ignores the fatbins. A compile error becomes a DeviceError
 * carrying the NVRTC log.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DeviceError } from '@sea/tensor';
import { type Driver, loadNvrtc, type NvrtcApi } from './driver.js';

export const KERNEL_DIR = fileURLToPath(new URL('./kernels/', import.meta.url));
export const NVRTC_OPTIONS = ['-default-device', '--std=c++17'];

export type Family =
  | 'elementwise'
  | 'reduce'
  | 'conv'
  | 'performer'
  | 'topk'
  | 'csr'
  | 'attention'
  | 'decode';

/** A family's CUDA C source: the shared 16-bit storage helpers (kernels/half.cuh), then `<family>.cu`. */
export function familySource(family: Family): string {
  const half = fs.readFileSync(path.join(KERNEL_DIR, 'half.cuh'), 'utf8');
  return `${half}\n${fs.readFileSync(path.join(KERNEL_DIR, `${family}.cu`), 'utf8')}`;
}

export function sourceHash(src: string): string {
  return createHash('sha256').update(src).digest('hex');
}

function cacheDir(): string {
  if (process.env.SEA_CUDA_CACHE) return process.env.SEA_CUDA_CACHE;
  const base = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(base, 'sea-cuda');
}

export interface ModuleSourceInfo {
  family: Family;
  origin: 'fatbin' | 'cache' | 'nvrtc';
  ms: number;
}

export class ModuleLoader {
  #nvrtc: { api: NvrtcApi; version: string } | null = null;
  #modules = new Map<Family, unknown>();
  /** Functions by family, then name (no key string built per launch). */
  #functions = new Map<Family, Map<string, unknown>>();
  readonly loaded: ModuleSourceInfo[] = [];

  constructor(
    private readonly drv: Driver,
    private readonly sm: string,
  ) {}

  /** The function `name` of `family`, loading the module on first use. */
  fn(family: Family, name: string): unknown {
    let fns = this.#functions.get(family);
    const f = fns?.get(name);
    if (f !== undefined) return f;
    const mod = this.#module(family);
    const out: [unknown] = [null];
    this.drv.check(this.drv.api.cuModuleGetFunction(out, mod, name), `cuModuleGetFunction(${name})`);
    if (!fns) {
      fns = new Map();
      this.#functions.set(family, fns);
    }
    fns.set(name, out[0]);
    return out[0];
  }

  #module(family: Family): unknown {
    const m = this.#modules.get(family);
    if (m !== undefined) return m;
    const t0 = performance.now();
    const src = familySource(family);
    const hash = sourceHash(src);
    let image: Buffer | null = null;
    let origin: ModuleSourceInfo['origin'] = 'fatbin';
    const fat = path.join(KERNEL_DIR, `${family}.sm_${this.sm}.fatbin`);
    try {
      if (process.env.SEA_CUDA_PREBUILT !== '0' && fs.readFileSync(`${fat}.sha256`, 'utf8').trim() === hash) {
        image = fs.readFileSync(fat);
      }
    } catch {}
    if (!image)
      image = this.#compileCached(family, src, hash, (o) => {
        origin = o;
      });
    const out: [unknown] = [null];
    this.drv.check(this.drv.api.cuModuleLoadData(out, image), `cuModuleLoadData(${family})`);
    this.#modules.set(family, out[0]);
    this.loaded.push({ family, origin, ms: performance.now() - t0 });
    return out[0];
  }

  #compileCached(
    family: Family,
    src: string,
    hash: string,
    setOrigin: (o: 'cache' | 'nvrtc') => void,
  ): Buffer {
    if (!this.#nvrtc) {
      try {
        this.#nvrtc = loadNvrtc();
      } catch (e) {
        throw new DeviceError(
          `cannot build the '${family}' kernels: ${(e as Error).message}; set SEA_CUDA_LIB_DIRS or ship a prebuilt fatbin`,
        );
      }
    }
    const arch = `sm_${this.sm}`;
    const key = sourceHash(`${hash}|${arch}|${this.#nvrtc.version}|${NVRTC_OPTIONS.join(' ')}`).slice(0, 24);
    const file = path.join(cacheDir(), `${family}-${key}.cubin`);
    try {
      const buf = fs.readFileSync(file);
      setOrigin('cache');
      return buf;
    } catch {}
    setOrigin('nvrtc');
    const image = compile(this.#nvrtc.api, src, `${family}.cu`, arch);
    try {
      fs.mkdirSync(path.dirname(file), { recursive: true });
      const tmp = `${file}.${process.pid}.tmp`;
      fs.writeFileSync(tmp, image);
      fs.renameSync(tmp, file);
    } catch {
      // an unwritable cache only costs a recompile next time
    }
    return image;
  }

  unloadAll(): void {
    for (const m of this.#modules.values()) this.drv.api.cuModuleUnload(m);
    this.#modules.clear();
    this.#functions.clear();
  }
}

/** NVRTC → CUBIN for `arch`; a failed compile throws DeviceError with the log. */
export function compile(api: NvrtcApi, src: string, name: string, arch: string): Buffer {
  const prog: [unknown] = [null];
  let rc = api.nvrtcCreateProgram(prog, src, name, 0, null, null);
  if (rc !== 0) throw new DeviceError(`nvrtcCreateProgram(${name}) failed: ${api.nvrtcGetErrorString(rc)}`);
  try {
    const opts = [`--gpu-architecture=${arch}`, ...NVRTC_OPTIONS];
    rc = api.nvrtcCompileProgram(prog[0], opts.length, opts);
    const ls: [number | bigint] = [0];
    api.nvrtcGetProgramLogSize(prog[0], ls);
    const log = Buffer.alloc(Math.max(1, Number(ls[0])));
    api.nvrtcGetProgramLog(prog[0], log);
    const text = log.toString('utf8').replace(/\0.*$/s, '').trim();
    if (rc !== 0) {
      throw new DeviceError(
        `NVRTC could not compile ${name} for ${arch}: ${api.nvrtcGetErrorString(rc)}\n${text}`,
      );
    }
    const sz: [number | bigint] = [0];
    rc = api.nvrtcGetCUBINSize(prog[0], sz);
    if (rc !== 0) throw new DeviceError(`nvrtcGetCUBINSize(${name}) failed: ${api.nvrtcGetErrorString(rc)}`);
    const buf = Buffer.alloc(Number(sz[0]));
    rc = api.nvrtcGetCUBIN(prog[0], buf);
    if (rc !== 0) throw new DeviceError(`nvrtcGetCUBIN(${name}) failed: ${api.nvrtcGetErrorString(rc)}`);
    return buf;
  } finally {
    api.nvrtcDestroyProgram(prog);
  }
}

/** Compiles a CUDA C source with NVRTC (loaded on demand) to a CUBIN for `arch` (e.g. 'sm_90'). */
export function compileKernelSource(src: string, name: string, arch: string): Buffer {
  let nv: ReturnType<typeof loadNvrtc>;
  try {
    nv = loadNvrtc();
  } catch (e) {
    throw new DeviceError(`cannot compile ${name}: ${(e as Error).message}`);
  }
  return compile(nv.api, src, name, arch);
}
