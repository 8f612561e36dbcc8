import { describe, expect, it } from 'vitest';
import { SeaError } from '../errors.js';
import { parseSafetensors, SafetensorsError } from './index.js';

/** A file from header text and a buffer length (bytes 0..n-1), with N = the header's UTF-8 length. */
function file(header: string, dataBytes: number, lengthOverride?: bigint): Uint8Array {
  const h = new TextEncoder().encode(header);
  const out = new Uint8Array(8 + h.length + dataBytes);
  new DataView(out.buffer).setBigUint64(0, lengthOverride ?? BigInt(h.length), true);
  out.set(h, 8);
  for (let i = 0; i < dataBytes; i++) out[8 + h.length + i] = i & 0xff;
  return out;
}

function fails(bytes: Uint8Array, opts = {}): SafetensorsError {
  try {
    parseSafetensors(bytes, opts);
  } catch (e) {
    expect(e).toBeInstanceOf(SafetensorsError);
    expect(e).toBeInstanceOf(SeaError);
    expect((e as SafetensorsError).code).toBe('E_SAFETENSORS');
    return e as SafetensorsError;
  }
  throw new Error('expected a SafetensorsError');
}

const T = (name: string, dtype: string, shape: string, offs: string) =>
  `"${name}":{"dtype":"${dtype}","shape":${shape},"data_offsets":${offs}}`;

describe('header validation names the problem, the tensor and the offset', () => {
  const cases: [string, Uint8Array, RegExp, string | undefined][] = [
    ['too short', new Uint8Array(5), /too short for the 8-byte header length/, undefined],
    ['length past end', file('{}', 0, 1000n), /header length 1000 runs past the end of the file/, undefined],
    ['length over cap', file('{}', 0, 2n ** 62n), /exceeds the limit of 100000000 bytes/, undefined],
    ['not json', file('{"a":', 0), /not valid JSON: expected a JSON value/, undefined],
    ['not an object', file('[1]', 0), /does not start with '\{'/, undefined],
    ['trailing json', file('{}{}', 0), /unexpected data after the JSON value/, undefined],
    ['entry not object', file('{"a":[1]}', 0), /entry is not an object \(got array\)/, 'a'],
    ['unknown dtype', file(`{${T('w', 'F12', '[1]', '[0,4]')}}`, 4), /unknown dtype "F12"/, 'w'],
    ['negative dim', file(`{${T('w', 'F32', '[-1]', '[0,4]')}}`, 4), /non-negative integers/, 'w'],
    ['fractional dim', file(`{${T('w', 'F32', '[1.5]', '[0,4]')}}`, 4), /non-negative integers/, 'w'],
    [
      'huge dims',
      file(`{${T('w', 'F32', '[4294967296,4294967296,4294967296]', '[0,4]')}}`, 4),
      /too many elements/,
      'w',
    ],
    ['descending', file(`{${T('w', 'F32', '[1]', '[4,0]')}}`, 4), /not ascending/, 'w'],
    [
      'three offsets',
      file(`{${T('w', 'F32', '[1]', '[0,4,4]')}}`, 4),
      /must be two non-negative integers/,
      'w',
    ],
    [
      'size mismatch',
      file(`{${T('w', 'F32', '[2]', '[0,4]')}}`, 4),
      /holds 4 bytes but shape \[2\] of F32 needs 8 bytes/,
      'w',
    ],
    [
      'out of buffer',
      file(`{${T('w', 'F32', '[2]', '[0,8]')}}`, 4),
      /run past the end of the 4-byte buffer/,
      'w',
    ],
    [
      'overlap',
      file(`{${T('a', 'F32', '[2]', '[0,8]')},${T('b', 'F32', '[1]', '[4,8]')}}`, 8),
      /overlaps tensor 'a' \[0,8\)/,
      'b',
    ],
    ['gap', file(`{${T('a', 'F32', '[1]', '[4,8]')}}`, 8), /4 unused bytes in the buffer before/, 'a'],
    [
      'trailing bytes',
      file(`{${T('a', 'F32', '[1]', '[0,4]')}}`, 7),
      /3 trailing bytes after the last tensor/,
      undefined,
    ],
    [
      'metadata not string',
      file('{"__metadata__":{"k":1}}', 0),
      /__metadata__ value of "k" is not a string/,
      undefined,
    ],
    ['metadata not object', file('{"__metadata__":"x"}', 0), /__metadata__ must be an object/, undefined],
    [
      'duplicate tensor',
      file(`{${T('a', 'F32', '[1]', '[0,4]')},${T('a', 'F32', '[1]', '[0,4]')}}`, 4),
      /duplicate key "a"/,
      undefined,
    ],
    [
      'duplicate field',
      file('{"a":{"dtype":"F32","dtype":"F16","shape":[1],"data_offsets":[0,4]}}', 4),
      /duplicate key "dtype"/,
      undefined,
    ],
    ['missing field', file('{"a":{"dtype":"F32","shape":[1]}}', 4), /entry has no 'data_offsets'/, 'a'],
    [
      'deep nesting',
      file(`{"a":${'['.repeat(5000)}${']'.repeat(5000)}}`, 0),
      /nesting deeper than 32/,
      undefined,
    ],
  ];
  for (const [what, bytes, re, tensor] of cases) {
    it(what, () => {
      const e = fails(bytes);
      expect(e.message).toMatch(re);
      expect(e.file).toBe('<memory>');
      expect(e.tensor).toBe(tensor);
      expect(e.offset).toBeTypeOf('number');
      expect(e.message).toMatch(/\(at byte \d+\)$/);
    });
  }

  it('points at the first invalid UTF-8 byte', () => {
    const b = file('{"__metadata__":{"k":"vv"}}', 0);
    b[8 + 22] = 0xff; // the first 'v'
    const e = fails(b);
    expect(e.message).toMatch(/not valid UTF-8/);
    expect(e.offset).toBe(30);
  });

  it('points at the tensor entry for shape errors', () => {
    const header = `{${T('ok', 'F32', '[1]', '[0,4]')},${T('bad', 'F32', '[-3]', '[4,8]')}}`;
    const e = fails(file(header, 8));
    expect(e.offset).toBe(8 + header.indexOf('"shape":[-3]'));
  });

  it('honours a smaller header cap', () => {
    expect(fails(file('{}      ', 0), { maxHeaderBytes: 4 }).message).toMatch(/exceeds the limit of 4 bytes/);
  });

  it('accepts null metadata, zero-size tensors sharing an offset and space padding', () => {
    const header = `{"__metadata__":null,${T('e1', 'F32', '[0]', '[0,0]')},${T('e2', 'I64', '[3,0]', '[0,0]')},${T('x', 'U8', '[2]', '[0,2]')}}   `;
    const f = parseSafetensors(file(header, 2));
    expect(f.names()).toEqual(['e1', 'e2', 'x']);
    expect({ ...f.metadata }).toEqual({});
    expect([...f.readRawSync('x').bytes]).toEqual([0, 1]);
  });

  it('reports unknown tensor names', () => {
    const f = parseSafetensors(file('{}', 0));
    expect(() => f.info('w')).toThrowError(/tensor 'w': no tensor named 'w'/);
  });
});
