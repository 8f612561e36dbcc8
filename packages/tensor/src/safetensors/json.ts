/**
 * A strict JSON (RFC 8259) parser for safetensors headers and index files. Unlike `JSON.parse` it
 * reports duplicate object keys, limits nesting depth, and records where each key starts, so that
 * errors can name a byte offset. Objects become `JsonObject`s (a Map: no prototype keys involved).
 */

export type Json = null | boolean | number | string | Json[] | JsonObject;

export class JsonObject {
  readonly entries = new Map<string, Json>();
  /** Character index (in the parsed string) where each key's opening quote is. */
  readonly keyPos = new Map<string, number>();
  constructor(readonly pos: number) {}
}

export class JsonSyntaxError extends Error {
  constructor(
    message: string,
    /** Character index in the parsed string. */
    readonly pos: number,
  ) {
    super(message);
  }
}

const WS = /[ \t\n\r]*/y;
const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
// biome-ignore lint/suspicious/noControlCharactersInRegex: RFC 8259 forbids raw control characters in strings; this finds them.
const PLAIN = /[^"\\\u0000-\u001f]*/y;
const HEX4 = /^[0-9a-fA-F]{4}$/;
const ESCAPES: Record<string, string> = {
  '"': '"',
  '\\': '\\',
  '/': '/',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
};

export function parseJson(text: string, maxDepth = 32): Json {
  let i = 0;

  const ws = (): void => {
    WS.lastIndex = i;
    WS.test(text);
    i = WS.lastIndex;
  };

  const describe = (at: number): string =>
    at >= text.length ? 'end of input' : `'${JSON.stringify(text[at]).slice(1, -1)}'`;

  const fail = (what: string, at = i): never => {
    throw new JsonSyntaxError(`${what}, found ${describe(at)}`, at);
  };

  const str = (): string => {
    // text[i] === '"'
    const start = i;
    i++;
    let out = '';
    for (;;) {
      PLAIN.lastIndex = i;
      PLAIN.test(text);
      out += text.slice(i, PLAIN.lastIndex);
      i = PLAIN.lastIndex;
      if (i >= text.length) throw new JsonSyntaxError('unterminated string', start);
      const c = text[i];
      if (c === '"') {
        i++;
        return out;
      }
      if (c === '\\') {
        const e = text[i + 1];
        if (e === 'u') {
          const hex = text.slice(i + 2, i + 6);
          if (!HEX4.test(hex)) fail('invalid \\u escape in string', i);
          out += String.fromCharCode(Number.parseInt(hex, 16));
          i += 6;
        } else if (e !== undefined && Object.hasOwn(ESCAPES, e)) {
          out += ESCAPES[e];
          i += 2;
        } else {
          fail('invalid escape in string', i + 1);
        }
      } else {
        fail('unescaped control character in string');
      }
    }
  };

  const value = (depth: number): Json => {
    ws();
    const c = text[i];
    if (c === '{') {
      if (depth >= maxDepth) fail(`nesting deeper than ${maxDepth}`);
      const obj = new JsonObject(i);
      i++;
      ws();
      if (text[i] === '}') {
        i++;
        return obj;
      }
      for (;;) {
        ws();
        if (text[i] !== '"') fail('expected a string key');
        const keyAt = i;
        const key = str();
        if (obj.entries.has(key)) throw new JsonSyntaxError(`duplicate key ${JSON.stringify(key)}`, keyAt);
        ws();
        if (text[i] !== ':') fail(`expected ':' after key ${JSON.stringify(key)}`);
        i++;
        obj.entries.set(key, value(depth + 1));
        obj.keyPos.set(key, keyAt);
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === '}') {
          i++;
          return obj;
        }
        fail("expected ',' or '}' in object");
      }
    }
    if (c === '[') {
      if (depth >= maxDepth) fail(`nesting deeper than ${maxDepth}`);
      const arr: Json[] = [];
      i++;
      ws();
      if (text[i] === ']') {
        i++;
        return arr;
      }
      for (;;) {
        arr.push(value(depth + 1));
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === ']') {
          i++;
          return arr;
        }
        fail("expected ',' or ']' in array");
      }
    }
    if (c === '"') return str();
    if (text.startsWith('true', i)) {
      i += 4;
      return true;
    }
    if (text.startsWith('false', i)) {
      i += 5;
      return false;
    }
    if (text.startsWith('null', i)) {
      i += 4;
      return null;
    }
    NUMBER.lastIndex = i;
    if (NUMBER.test(text)) {
      const n = Number(text.slice(i, NUMBER.lastIndex));
      i = NUMBER.lastIndex;
      return n;
    }
    return fail('expected a JSON value');
  };

  const v = value(0);
  ws();
  if (i < text.length) fail('unexpected data after the JSON value');
  return v;
}
