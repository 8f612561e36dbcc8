#!/usr/bin/env node
// `vitest run` with a watchdog, the `test` script of every package. Vitest 4 transforms modules
// in native code (oxc / rolldown); on a 2-core machine that can deadlock now and then, leaving the
// run idle forever. When vitest prints nothing for SEA_TEST_IDLE_S seconds (default 300), its
// process group is killed and the run starts once more; a second silence fails with a message.
// Likewise a run whose tests all passed but whose only error is a test worker that died on exit
// (Dawn and lavapipe threads can abort in the process's teardown: "Worker exited unexpectedly")
// runs once more. Test failures are never retried: vitest's exit code is passed on as it is.
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
    let text = '';
    const keep = (d) => {
      last = Date.now();
      text = (text + d.toString()).slice(-20000);
    };
    child.stdout.on('data', (d) => {
      keep(d);
      process.stdout.write(d);
    });
    child.stderr.on('data', (d) => {
      keep(d);
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
      resolve({ code: code ?? 1, signal, hung, workerDied: diedOnExit(text) });
    });
  });
}

/** Every test passed and the one error is a worker that exited unexpectedly. */
function diedOnExit(out) {
  const plain = out.replace(new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g'), '');
  return (
    /Worker exited unexpectedly/.test(plain) &&
    /Errors\s+1 error/.test(plain) &&
    /Tests\s+\d+ passed/.test(plain) &&
    !/Tests\s+[^\n]*failed/.test(plain) &&
    !/Test Files\s+[^\n]*failed/.test(plain)
  );
}

const first = await once(1);
if (first.code === 0 || !(first.hung || first.workerDied)) process.exit(first.code);
if (first.workerDied)
  console.error('\n[sea-vitest] every test passed but a test worker died on exit: running once more');
const second = await once(2);
if (second.hung) {
  console.error(`[sea-vitest] vitest stalled twice in ${process.cwd()}: failing`);
  process.exit(1);
}
process.exit(second.code);
