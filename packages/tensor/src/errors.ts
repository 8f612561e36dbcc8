/**
 * `text` with control characters (C0 except newline and tab, DEL, C1) written as `\xNN` / `\u{N}`
 * escapes, so a message quoting a file's bytes (a tensor name with a NUL, a terminal escape) prints
 * readably and cannot drive the terminal.
 */
export function escapeControl(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
  return text.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => {
    const n = c.codePointAt(0) as number;
    return n <= 0xff ? `\\x${n.toString(16).padStart(2, '0')}` : `\\u{${n.toString(16)}}`;
  });
}

/**
 * Base class of every error sea throws on purpose; `code` is stable for programs to switch on. The
 * message has its control characters escaped (see {@link escapeControl}).
 */
export class SeaError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(escapeControl(message));
    this.name = new.target.name;
  }
}

/** A shape, dtype or argument that does not meet an op's contract. */
export class ShapeError extends SeaError {
  constructor(message: string) {
    super('E_SHAPE', message);
  }
}

export class DTypeError extends SeaError {
  constructor(message: string) {
    super('E_DTYPE', message);
  }
}

/** A backend that cannot run here (no adapter, no driver, missing library). */
export class BackendUnavailableError extends SeaError {
  constructor(
    readonly backend: string,
    readonly reason: string,
  ) {
    super('E_BACKEND_UNAVAILABLE', `backend '${backend}' is unavailable: ${reason}`);
  }
}

/** A primitive the backend does not implement (listed in its exclusion list). */
export class UnsupportedOpError extends SeaError {
  constructor(
    readonly backend: string,
    readonly op: string,
  ) {
    super('E_UNSUPPORTED_OP', `backend '${backend}' does not implement '${op}'`);
  }
}

/** Use of a tensor after dispose, or of a tensor on another backend. */
export class TensorStateError extends SeaError {
  constructor(message: string) {
    super('E_TENSOR_STATE', message);
  }
}

/** Device-level failure: out of memory, lost device, kernel compile error. */
export class DeviceError extends SeaError {
  constructor(message: string) {
    super('E_DEVICE', message);
  }
}
