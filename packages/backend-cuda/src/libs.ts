/**
 * Finds the CUDA libraries at run time: the dynamic loader's own search, LD_LIBRARY_PATH,
 * SEA_CUDA_LIB_DIRS, the usual CUDA install folders and every python site-packages `nvidia/*\/lib`
 * (pip wheels keep cuBLAS and NVRTC there, e.g. nvidia/cu13/lib). Nothing here needs CUDA installed.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const isDir = (d: string): boolean => {
  try {
    return fs.statSync(d).isDirectory();
  } catch {
    return false;
  }
};

/** Expands a path pattern whose components may contain `*`. */
function expand(pattern: string): string[] {
  let cur = ['/'];
  for (const part of pattern.split('/').filter(Boolean)) {
    const next: string[] = [];
    for (const base of cur) {
      if (!part.includes('*')) {
        const p = path.join(base, part);
        if (fs.existsSync(p)) next.push(p);
        continue;
      }
      const re = new RegExp(`^${part.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`);
      let ents: string[] = [];
      try {
        ents = fs.readdirSync(base);
      } catch {}
      for (const e of ents.sort()) if (re.test(e)) next.push(path.join(base, e));
    }
    cur = next;
  }
  return cur;
}

function sitePackages(): string[] {
  const dirs = new Set<string>();
  if (process.env.SEA_CUDA_NO_PYTHON !== '1') {
    for (const py of ['python3', 'python']) {
      try {
        const out = execFileSync(
          py,
          [
            '-c',
            'import site,sys,json;print(json.dumps(site.getsitepackages()+[site.getusersitepackages()]+sys.path))',
          ],
          { encoding: 'utf8', timeout: 20000, stdio: ['ignore', 'pipe', 'ignore'] },
        );
        for (const d of JSON.parse(out) as string[])
          if (d && /(site|dist)-packages$/.test(d) && isDir(d)) dirs.add(d);
        break;
      } catch {}
    }
  }
  for (const p of [
    '/opt/*/.venv/lib/python3*/site-packages',
    '/opt/*/lib/python3*/site-packages',
    '/opt/conda/lib/python3*/site-packages',
    '/usr/local/lib/python3*/site-packages',
    '/usr/local/lib/python3*/dist-packages',
    '/usr/lib/python3/dist-packages',
  ])
    for (const d of expand(p)) dirs.add(d);
  return [...dirs];
}

let cachedDirs: string[] | null = null;

/** Folders searched for CUDA libraries, in order of preference. */
export function libraryDirs(): string[] {
  if (cachedDirs) return cachedDirs;
  const dirs: string[] = [];
  const add = (d: string | undefined): void => {
    if (d && !dirs.includes(d) && isDir(d)) dirs.push(d);
  };
  for (const d of (process.env.SEA_CUDA_LIB_DIRS ?? '').split(':')) add(d);
  for (const d of (process.env.LD_LIBRARY_PATH ?? '').split(':')) add(d);
  for (const p of [
    '/usr/local/nvidia/lib64',
    '/usr/local/nvidia/lib',
    '/usr/local/cuda/lib64',
    '/usr/local/cuda/targets/x86_64-linux/lib',
    '/usr/local/cuda-*/lib64',
    '/usr/lib/x86_64-linux-gnu',
    '/usr/lib64',
    '/lib/x86_64-linux-gnu',
  ])
    for (const d of expand(p)) add(d);
  for (const sp of sitePackages()) for (const d of expand(`${sp}/nvidia/*/lib`)) add(d);
  cachedDirs = dirs;
  return dirs;
}

/** Files in the searched folders whose names match `re`, newest major version first (13, then 12, …). */
export function findLibraries(re: RegExp): string[] {
  const out: string[] = [];
  for (const d of libraryDirs()) {
    let ents: string[] = [];
    try {
      ents = fs.readdirSync(d);
    } catch {}
    for (const e of ents) if (re.test(e)) out.push(path.join(d, e));
  }
  const rank = (p: string): number => {
    const m = path.basename(p).match(/\.so\.(\d+)/);
    return m ? -Number(m[1]) : 0;
  };
  return out.sort((a, b) => rank(a) - rank(b));
}
