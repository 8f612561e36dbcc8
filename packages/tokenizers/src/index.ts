/**
 * `@sea/tokenizers`: OPT (GPT-2 byte-level BPE) and BERT WordPiece tokenizers from local
 * vocabulary files.
 *
 * @module @sea/tokenizers
 */
export type { BatchEncoding, PaddingSide } from './batch.js';
export { padRows } from './batch.js';
export {
  type BertBatchOptions,
  type BertEncodeOptions,
  type BertEncoding,
  BertTokenizer,
  type BertTokenizerOptions,
  type Truncation,
  truncatePair,
} from './bert.js';
export { type OptBatchOptions, type OptDecodeOptions, type OptEncodeOptions, OptTokenizer } from './opt.js';
export { findSharedData, requireSharedData } from './shared_data.js';
