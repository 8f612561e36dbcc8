import { SeaError } from '../errors.js';

export interface SafetensorsErrorContext {
  /** The file (or `<memory>` for in-memory buffers) the problem was found in. */
  file?: string;
  /** The tensor the problem concerns, when known. */
  tensor?: string;
  /** Absolute byte offset in the file where the problem was found, when known. */
  offset?: number;
}

/**
 * A safetensors file, header, index or tensor that cannot be read or written. The message names
 * the file, the tensor (when known), the problem and the byte offset (when known).
 */
export class SafetensorsError extends SeaError {
  readonly file: string | undefined;
  readonly tensor: string | undefined;
  readonly offset: number | undefined;
  /** The problem alone, without file/tensor/offset. */
  readonly problem: string;

  constructor(problem: string, ctx: SafetensorsErrorContext = {}) {
    const where: string[] = [];
    if (ctx.file !== undefined) where.push(ctx.file);
    if (ctx.tensor !== undefined) where.push(`tensor '${ctx.tensor}'`);
    const at = ctx.offset !== undefined ? ` (at byte ${ctx.offset})` : '';
    super('E_SAFETENSORS', `${where.length ? `${where.join(': ')}: ` : ''}${problem}${at}`);
    this.file = ctx.file;
    this.tensor = ctx.tensor;
    this.offset = ctx.offset;
    this.problem = problem;
  }
}
