/**
 * The `sea` command's process: runs {@link runCli} and exits with its code right away, so no timer
 * or native handle left behind by a failed command keeps the process alive.
 */
import { runCli } from './program.js';

// `pnpm sea …` runs this file from apps/cli: resolve the user's relative paths where they typed them.
if (process.env.npm_lifecycle_event === 'sea' && process.env.INIT_CWD) process.chdir(process.env.INIT_CWD);

const code = await runCli(process.argv);
// stdout and stderr are written synchronously to files, pipes and terminals on POSIX; the callback
// waits for any buffered rest elsewhere.
process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
