import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { seaVitestConfig } from '@sea/vitest-config';

// Dawn reads the Vulkan driver location when it loads, and the dynamic loader reads
// LD_LIBRARY_PATH when a process starts: take both from tooling/setup-lavapipe.sh's env file
// (unless already set) before vitest forks the test processes.
const here = dirname(fileURLToPath(import.meta.url));
const envFile = resolve(here, '../../.lavapipe/env.sh');
if (!process.env.VK_ICD_FILENAMES && !process.env.VK_DRIVER_FILES && existsSync(envFile)) {
  for (const line of readFileSync(envFile, 'utf8').split('\n')) {
    const m = /^export (\w+)=([^$\s]*)/.exec(line.trim());
    if (!m) continue;
    const [, key, value] = m;
    const prev = process.env[key];
    process.env[key] = key === 'LD_LIBRARY_PATH' && prev ? `${value}:${prev}` : value;
  }
}

export default seaVitestConfig({ testTimeout: 300_000 });
