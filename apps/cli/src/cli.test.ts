// The `sea` command run the way the README runs it (`pnpm -s sea …` from the repository root):
// --version, every command's --help (each option's default stated once), --json output that parses,
// and no native library chatter on stderr without --verbose.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const here = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(here, '../../..');
const COMMANDS = ['info', 'make-model', 'eval', 'glue', 'tokenize', 'distill', 'train', 'attention-map'];

/** `pnpm -s sea ARGS` in the repository root, as the README writes it. */
async function sea(...args: string[]): Promise<{ stdout: string; stderr: string }> {
  return run('pnpm', ['-s', 'sea', ...args], {
    cwd: ROOT,
    maxBuffer: 16 << 20,
    env: { ...process.env, SEA_VERBOSE: '' },
  });
}

/** Option entries of a commander help text: flags and the (wrapped) description. */
function optionsOf(help: string): { flags: string; text: string }[] {
  const lines = help.split('\n');
  const start = lines.findIndex((l) => l.startsWith('Options:'));
  const out: { flags: string; text: string }[] = [];
  for (const line of lines.slice(start + 1)) {
    const m = /^ {2}(-\S.*?)(?: {2,}(.*))?$/.exec(line);
    if (m) out.push({ flags: m[1].trim(), text: m[2] ?? '' });
    else if (/^ {10,}\S/.test(line) && out.length) out[out.length - 1].text += ` ${line.trim()}`;
    else if (line.trim() === '' || /^\S/.test(line)) break;
  }
  return out;
}

describe('sea as the README runs it', () => {
  it('--version prints the package version', async () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(here, '../package.json'), 'utf8')) as {
      version: string;
    };
    const { stdout } = await sea('--version');
    expect(stdout.trim()).toBe(`sea ${pkg.version} (Node ${process.version})`);
  });

  it('each command’s --help states the default of every option that takes a value, once', async () => {
    const helps = await Promise.all(COMMANDS.map((c) => sea(c, '--help')));
    helps.forEach(({ stdout }, i) => {
      const opts = optionsOf(stdout);
      expect(opts.length, COMMANDS[i]).toBeGreaterThan(1);
      for (const o of opts) {
        const defaults = o.text.match(/\bdefault\b/gi)?.length ?? 0;
        const where = `sea ${COMMANDS[i]} ${o.flags}: ${o.text}`;
        expect(defaults, where).toBeLessThanOrEqual(1);
        // an option taking a value says its default, or that it is required
        if (/[<[]/.test(o.flags) && !/\(required\)/.test(o.text)) expect(defaults, where).toBe(1);
      }
    });
  }, 120_000);

  it('--json output parses, and native stderr stays quiet without --verbose', async () => {
    const info = await sea('info', '--json');
    const parsed = JSON.parse(info.stdout) as { backends: { name: string }[]; default: string };
    expect(parsed.backends.map((b) => b.name)).toContain('cpu');
    expect(parsed.default).toBeTruthy();
    expect(info.stderr).not.toMatch(/XDG_RUNTIME_DIR|Vulkan|Dawn|While initializing/);
    const tok = await sea('tokenize', '--text', 'Hello, my name is', '--special', '--json');
    expect(JSON.parse(tok.stdout)).toMatchObject({ tokenizer: 'opt', ids: [2, 31414, 6, 127, 766, 16] });
  }, 120_000);
});
