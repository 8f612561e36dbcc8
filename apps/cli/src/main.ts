/**
 * The `sea` command's process: runs {@link runCli}, destroys the backends it made (so no device and
 * no driver thread is alive during teardown) and exits with the code right away, so no timer or
 * native handle left behind by a failed command keeps the process alive.
 */
import { releaseBackends } from '@sea/tensor';
import { runCli } from './program.js';

// `pnpm sea …` runs this file from apps/cli: resolve the user's relative paths where they typed them.
if (process.env.npm_lifecycle_event === 'sea' && process.env.INIT_CWD) process.chdir(process.env.INIT_CWD);

const code = await runCli(process.argv);
// bounded: a device that does not answer must not hold the exit
await Promise.race([releaseBackends().catch(() => {}), new Promise((r) => setTimeout(r, 500).unref())]);
// stdout and stderr are written synchronously to files, pipes and terminals on POSIX; the callback
// waits for any buffered rest elsewhere.
process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
