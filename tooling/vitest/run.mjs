#!/usr/bin/env node
// `vitest run` with a watchdog, the `test` script of every package. Vitest 4 transforms modules
// in native code (oxc / rolldown); on a 2-core machine that can deadlock now and then, leaving the
// run idle forever. When vitest prints nothing for SEA_TEST_IDLE_S seconds (default 300), its
// process group is killed and the run starts once more; a second silence fails with a message.
// That is the only retry: test failures, and test workers that die, fail the run as they are
// (vitest's exit code is passed on).
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const idleS = Number(process.env.SEA_TEST_IDLE_S ?? 300);
const require = createRequire(join(process.cwd(), 'package.json'));
const vitest = join(dirname(require.resolve('vitest/package.json')), 'vitest.mjs');
const args = ['run', ...process.argv.slice(2)];

function once(attempt) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [vitest, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let last = Date.now();
    let hung = false;
    const keep = () => {
      last = Date.now();
    };
    child.stdout.on('data', (d) => {
      keep();
      process.stdout.write(d);
    });
    child.stderr.on('data', (d) => {
      keep();
      process.stderr.write(d);
    });
    const timer = setInterval(() => {
      if (Date.now() - last < idleS * 1000) return;
      hung = true;
      console.error(
        `\n[sea-vitest] no output for ${idleS} s (attempt ${attempt}): killing vitest (pid ${child.pid}) and its workers`,
      );
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {}
    }, 2000);
    child.on('close', (code, signal) => {
      clearInterval(timer);
      resolve({ code: code ?? 1, signal, hung });
    });
  });
}

const first = await once(1);
if (!first.hung) process.exit(first.code);
const second = await once(2);
if (second.hung) {
  console.error(`[sea-vitest] vitest stalled twice in ${process.cwd()}: failing`);
  process.exit(1);
}
process.exit(second.code);
