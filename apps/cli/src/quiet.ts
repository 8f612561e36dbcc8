/**
 * Native libraries write to the process's stderr directly: Dawn (the WebGPU backend in Node) and
 * the Vulkan loader print "XDG_RUNTIME_DIR is invalid", "Vulkan … required" adapter warnings and
 * the like while an adapter is found. Unless `--verbose`, backend start-up runs with file
 * descriptor 2 pointed at /dev/null (through libc's dup/dup2, called with koffi) and restored
 * after, so the user sees sea's own messages only. Where that is not possible it does nothing.
 */
let verbose = !!process.env.SEA_VERBOSE;

export function setVerbose(on: boolean): void {
  verbose = on;
}

export function isVerbose(): boolean {
  return verbose;
}

interface Libc {
  dup(fd: number): number;
  dup2(a: number, b: number): number;
  open(path: string, flags: number): number;
  close(fd: number): number;
}

let libc: Libc | null | undefined;

async function loadLibc(): Promise<Libc | null> {
  if (libc !== undefined) return libc;
  libc = null;
  if (process.platform !== 'linux' && process.platform !== 'darwin') return null;
  try {
    const koffi = (await import('koffi')).default;
    const lib = koffi.load(process.platform === 'linux' ? 'libc.so.6' : 'libSystem.B.dylib');
    libc = {
      dup: lib.func('int dup(int)'),
      dup2: lib.func('int dup2(int, int)'),
      open: lib.func('int open(const char *, int)'),
      close: lib.func('int close(int)'),
    };
  } catch {
    libc = null;
  }
  return libc;
}

/** Runs `fn` with native writes to stderr discarded (unless verbose); JavaScript errors still propagate. */
export async function quietNativeStderr<T>(fn: () => Promise<T>): Promise<T> {
  const c = verbose ? null : await loadLibc();
  if (!c) return fn();
  const saved = c.dup(2);
  const nul = saved >= 0 ? c.open('/dev/null', 1 /* O_WRONLY */) : -1;
  if (nul < 0) {
    if (saved >= 0) c.close(saved);
    return fn();
  }
  c.dup2(nul, 2);
  c.close(nul);
  try {
    return await fn();
  } finally {
    c.dup2(saved, 2);
    c.close(saved);
  }
}
