/** Finds the project's shared data folder (vocabularies, WikiText-2, GLUE) on Node. */
import { existsSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/**
 * The shared data folder: `$SEA_SHARED_DATA` when set, else the first `shared/data` found beside
 * `from` or any folder above it (a checkout with `../shared` beside it finds `<repo>/../shared/data`).
 * Returns null when there is none.
 */
export function findSharedData(from?: string): string | null {
  const env = process.env.SEA_SHARED_DATA;
  if (env) return isDir(env) ? resolve(env) : null;
  let dir = resolve(from ?? dirname(fileURLToPath(import.meta.url)));
  for (;;) {
    const candidate = join(dir, 'shared', 'data');
    if (isDir(candidate)) return candidate;
    const parent = dirname(dir);
    if (parent === dir) return null;
    dir = parent;
  }
}

/** Like findSharedData, but throws an error that says where it looked and how to point at it. */
export function requireSharedData(from?: string): string {
  const found = findSharedData(from);
  if (found) return found;
  const env = process.env.SEA_SHARED_DATA;
  throw new Error(
    env
      ? `SEA_SHARED_DATA=${env} is not a folder`
      : 'no shared/data folder found above this package; set SEA_SHARED_DATA to the folder holding tokenizers/, glue/ and wikitext-2/',
  );
}

export function fileExists(p: string): boolean {
  return existsSync(p);
}
