/**
 * Token streams for language-model training: an in-memory array, or a binary ids file (little-endian
 * uint32 per token) read window by window, so a corpus larger than memory trains with O(batch·T)
 * host memory. `writeTokenFile` writes the format; `convertTokenIds` turns a text ids file (a JSON
 * array, or integers separated by whitespace or commas) into it in chunks.
 */
import fs from 'node:fs';
import { TrainError } from './errors.js';

/** Tokens a trainer draws windows from. */
export interface TokenSource {
  readonly length: number;
  /** Tokens [start, start + n) (a fresh array or a view the caller does not modify). */
  read(start: number, n: number): Int32Array;
  /** Tokens [start, end) as a source of their own (a train / held-out split). */
  slice(start: number, end: number): TokenSource;
  /** Releases file handles. */
  close(): void;
}

function checkRange(what: string, length: number, start: number, n: number): void {
  if (!Number.isInteger(start) || !Number.isInteger(n) || start < 0 || n < 0 || start + n > length) {
    throw new TrainError(`${what}: tokens [${start}, ${start + n}) are outside [0, ${length})`);
  }
}

/** Tokens held in memory. */
export class ArrayTokenSource implements TokenSource {
  constructor(readonly tokens: Int32Array) {}
  get length(): number {
    return this.tokens.length;
  }
  read(start: number, n: number): Int32Array {
    checkRange('token array', this.length, start, n);
    return this.tokens.subarray(start, start + n);
  }
  slice(start: number, end: number): TokenSource {
    checkRange('token array', this.length, start, end - start);
    return new ArrayTokenSource(this.tokens.subarray(start, end));
  }
  close(): void {}
}

/** Bytes per token of the binary ids format. */
export const TOKEN_BYTES = 4;

/**
 * A binary ids file read on demand: each `read` is one positioned read of n·4 bytes. Every token
 * read is checked against the vocabulary (the error names the file and the token's offset).
 */
export class FileTokenSource implements TokenSource {
  private constructor(
    readonly file: string,
    private readonly fd: number,
    private readonly offset: number,
    readonly length: number,
    readonly vocabSize: number,
    private readonly shared: { open: number },
  ) {}

  static open(file: string, vocabSize: number): FileTokenSource {
    let fd: number;
    try {
      fd = fs.openSync(file, 'r');
    } catch (e) {
      throw new TrainError(`cannot open token file ${file}: ${(e as Error).message}`);
    }
    const size = fs.fstatSync(fd).size;
    if (size % TOKEN_BYTES !== 0) {
      fs.closeSync(fd);
      throw new TrainError(
        `${file}: ${size} bytes is not a whole number of ${TOKEN_BYTES}-byte token ids (expected little-endian uint32 ids)`,
      );
    }
    return new FileTokenSource(file, fd, 0, size / TOKEN_BYTES, vocabSize, { open: 1 });
  }

  read(start: number, n: number): Int32Array {
    checkRange(this.file, this.length, start, n);
    const buf = Buffer.alloc(n * TOKEN_BYTES);
    const pos = (this.offset + start) * TOKEN_BYTES;
    let got = 0;
    while (got < buf.length) {
      const r = fs.readSync(this.fd, buf, got, buf.length - got, pos + got);
      if (r === 0) throw new TrainError(`${this.file}: unexpected end of file at byte ${pos + got}`);
      got += r;
    }
    const out = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const v = buf.readUInt32LE(i * TOKEN_BYTES);
      if (v >= this.vocabSize) {
        throw new TrainError(
          `${this.file}: token ${v} at offset ${this.offset + start + i} is outside the vocabulary [0, ${this.vocabSize})`,
        );
      }
      out[i] = v;
    }
    return out;
  }

  slice(start: number, end: number): TokenSource {
    checkRange(this.file, this.length, start, end - start);
    this.shared.open += 1;
    return new FileTokenSource(
      this.file,
      this.fd,
      this.offset + start,
      end - start,
      this.vocabSize,
      this.shared,
    );
  }

  close(): void {
    this.shared.open -= 1;
    if (this.shared.open === 0) fs.closeSync(this.fd);
  }
}

/** Writes ids as the binary format (atomically: a temporary file renamed into place). */
export function writeTokenFile(file: string, ids: ArrayLike<number>): void {
  const buf = Buffer.alloc(ids.length * TOKEN_BYTES);
  for (let i = 0; i < ids.length; i++) {
    const v = ids[i];
    if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) {
      throw new TrainError(`token ${v} at position ${i} is not a uint32 id`);
    }
    buf.writeUInt32LE(v, i * TOKEN_BYTES);
  }
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, buf);
  fs.renameSync(tmp, file);
}

/**
 * Converts a text ids file (JSON array or integers separated by whitespace/commas) into the binary
 * format, reading `chunkBytes` at a time; returns the number of tokens.
 */
export function convertTokenIds(
  textFile: string,
  binFile: string,
  vocabSize: number,
  chunkBytes = 1 << 20,
): number {
  const fd = fs.openSync(textFile, 'r');
  const tmp = `${binFile}.${process.pid}.tmp`;
  const out = fs.openSync(tmp, 'w');
  let count = 0;
  let carry = '';
  let pos = 0;
  try {
    const buf = Buffer.alloc(chunkBytes);
    const flush = (text: string, final: boolean) => {
      const parts = text.split(/[\s,[\]]+/);
      const tail = final ? '' : (parts.pop() ?? '');
      const ids: number[] = [];
      for (const p of parts) {
        if (!p) continue;
        if (!/^\d+$/.test(p)) {
          throw new TrainError(
            `${textFile}: '${p.slice(0, 20)}' near token ${count + ids.length} is not a token id`,
          );
        }
        const v = Number(p);
        if (v >= vocabSize) {
          throw new TrainError(
            `${textFile}: token ${v} at position ${count + ids.length} is outside the vocabulary [0, ${vocabSize})`,
          );
        }
        ids.push(v);
      }
      const b = Buffer.alloc(ids.length * TOKEN_BYTES);
      for (let i = 0; i < ids.length; i++) b.writeUInt32LE(ids[i], i * TOKEN_BYTES);
      fs.writeSync(out, b);
      count += ids.length;
      return tail;
    };
    for (;;) {
      const r = fs.readSync(fd, buf, 0, buf.length, pos);
      if (r === 0) break;
      pos += r;
      carry = flush(carry + buf.toString('latin1', 0, r), false);
    }
    flush(carry, true);
  } catch (e) {
    fs.closeSync(out);
    fs.rmSync(tmp, { force: true });
    throw e;
  } finally {
    fs.closeSync(fd);
  }
  fs.closeSync(out);
  fs.renameSync(tmp, binFile);
  return count;
}
