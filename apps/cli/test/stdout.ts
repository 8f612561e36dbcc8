import { vi } from 'vitest';

/** What `f` writes to stdout, captured instead of printed. */
export async function stdoutOf(f: () => Promise<void>): Promise<string> {
  const out: string[] = [];
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((s) => {
    out.push(String(s));
    return true;
  });
  try {
    await f();
  } finally {
    spy.mockRestore();
  }
  return out.join('');
}
