/**
 * `@sea/models`: one loader for model folders, as `AutoModel` / `AutoTokenizer` do it.
 * `loadModel(dir)` reads config.json (`model_type` picks OPT or BERT), the weights (sharded too) and
 * the folder's `sea` block, and runs the attention the folder was made for unless told otherwise;
 * `loadTokenizer(dir)` reads `tokenizer.json`, else the vocabulary files.
 *
 * @module @sea/models
 */

export { BertForSequenceClassification } from '@sea/bert';
export { OptForCausalLM } from '@sea/opt';
export {
  type LoadTokenizerOptions,
  loadTokenizer,
  type ModelTokenizer,
  TOKENIZER_FILES,
  tokenizerFilesIn,
  writeTokenizerFiles,
} from '@sea/tokenizers';
export {
  type FolderSea,
  type LoadModelOptions,
  loadModel,
  MODEL_DTYPES,
  MODEL_TYPES,
  type ModelDtype,
  type ModelSettings,
  type ModelType,
  modelSettings,
  readFolderSea,
  type SeaModel,
} from './load.js';
