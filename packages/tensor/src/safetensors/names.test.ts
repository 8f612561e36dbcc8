import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { escapeControl, SeaError } from '../errors.js';
import { openCheckpoint, parseSafetensors, SafetensorsError, writeSafetensors } from './index.js';

/** A one-tensor file (F32 [1]) whose header names the tensor `name` (JSON-escaped as a writer would). */
function oneTensor(name: string): Uint8Array {
  const h = new TextEncoder().encode(
    `{${JSON.stringify(name)}:{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`,
  );
  const out = new Uint8Array(8 + h.length + 4);
  new DataView(out.buffer).setBigUint64(0, BigInt(h.length), true);
  out.set(h, 8);
  return out;
}

function parseError(bytes: Uint8Array): SafetensorsError {
  try {
    parseSafetensors(bytes, { name: 'bad.safetensors' });
  } catch (e) {
    expect(e).toBeInstanceOf(SafetensorsError);
    return e as SafetensorsError;
  }
  throw new Error('expected a SafetensorsError');
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: checking that none are left
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/;

describe('tensor names are keys, not paths, and never carry control characters', () => {
  it('refuses a NUL byte in a name and prints it escaped', () => {
    const e = parseError(oneTensor('model.w\u0000eight'));
    expect(e.message).toMatch(/control character \\x00 at index 7/);
    expect(e.message).toContain('model.w\\x00eight');
    expect(e.message).not.toMatch(CONTROL);
  });

  it('refuses terminal escapes and other control characters', () => {
    for (const c of ['\u001b[2J', '\r', '\u007f', '\u0085']) {
      const e = parseError(oneTensor(`a${c}b`));
      expect(e.message).toMatch(/control character/);
      expect(e.message).not.toMatch(CONTROL);
    }
  });

  it.each(['../../etc/passwd', '/abs/name', 'a/../b', './x', 'C:weights', 'a\\b', ''])(
    'refuses the path-like or empty name %j',
    (name) => {
      const e = parseError(oneTensor(name));
      expect(e.message).toMatch(/file path|empty/);
      expect(e.message).toContain('bad.safetensors');
    },
  );

  it('accepts ordinary names, dots and inner slashes included', () => {
    for (const name of ['model.decoder.layers.0.fc1.weight', 'dense/kernel:0', 'a..b', 'é']) {
      expect(parseSafetensors(oneTensor(name)).names()).toEqual([name]);
    }
  });

  it('refuses such names when writing, and leaves no file', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sea-names-'));
    const file = path.join(dir, 'w.safetensors');
    for (const name of ['x\u0000y', '../up']) {
      await expect(
        writeSafetensors(file, { [name]: { dtype: 'F32', shape: [1], data: new Float32Array([1]) } }),
      ).rejects.toThrow(SafetensorsError);
      expect(fs.existsSync(file)).toBe(false);
    }
    fs.writeFileSync(file, oneTensor('w\u0000'));
    await expect(openCheckpoint(file)).rejects.toThrow(/control character \\x00/);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('every SeaError message has its control characters escaped', () => {
    const e = new SeaError('E_X', 'name \u0000 and \u001b[31m red, tab\tand\nnewline kept');
    expect(e.message).toBe('name \\x00 and \\x1b[31m red, tab\tand\nnewline kept');
    expect(escapeControl('\u2028')).toBe('\\u{2028}');
  });
});
