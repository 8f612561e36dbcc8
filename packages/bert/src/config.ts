/** BERT's Hugging Face config.json, with the defaults BertConfig uses. */
import { configFields, type HfActivation, ModelLoadError, readConfigJson } from '@sea/model-common';

export type BertActivation = HfActivation;

export interface BertConfig {
  modelType: 'bert';
  vocabSize: number;
  hiddenSize: number;
  numHiddenLayers: number;
  numAttentionHeads: number;
  intermediateSize: number;
  hiddenAct: BertActivation;
  maxPositionEmbeddings: number;
  typeVocabSize: number;
  layerNormEps: number;
  padTokenId: number;
  /** Classifier outputs: `num_labels`, or the size of `id2label` (HF writes that), default 2. */
  numLabels: number;
  id2label: Record<string, string> | null;
}

export function parseBertConfig(raw: unknown): BertConfig {
  const c = configFields(raw, 'bert');
  const r = c.raw;
  const { hiddenSize, numAttentionHeads } = c.heads({ hidden: 768, heads: 12 });
  const hiddenAct = c.activation('hidden_act', 'gelu');
  const posType = r.position_embedding_type ?? 'absolute';
  if (posType !== 'absolute') {
    throw new ModelLoadError(
      `config.json: position_embedding_type '${String(posType)}' is not supported (only 'absolute')`,
    );
  }
  const id2label =
    r.id2label && typeof r.id2label === 'object' && !Array.isArray(r.id2label)
      ? (r.id2label as Record<string, string>)
      : null;
  const numLabels =
    typeof r.num_labels === 'number'
      ? c.posInt('num_labels', 2)
      : id2label
        ? Object.keys(id2label).length
        : 2;
  return {
    modelType: 'bert',
    vocabSize: c.posInt('vocab_size', 30522),
    hiddenSize,
    numHiddenLayers: c.posInt('num_hidden_layers', 12),
    numAttentionHeads,
    intermediateSize: c.posInt('intermediate_size', 3072),
    hiddenAct,
    maxPositionEmbeddings: c.posInt('max_position_embeddings', 512),
    typeVocabSize: c.posInt('type_vocab_size', 2),
    layerNormEps: c.num('layer_norm_eps', 1e-12),
    padTokenId: c.num('pad_token_id', 0),
    numLabels,
    id2label,
  };
}

export async function readBertConfig(dir: string): Promise<BertConfig> {
  return parseBertConfig(await readConfigJson(dir));
}

/** The shape of a small random-weight BERT classifier (`randomBertConfigJson`). */
export interface RandomBertOptions {
  hidden?: number;
  layers?: number;
  heads?: number;
  intermediate?: number;
  maxPositions?: number;
  vocab?: number;
  labels?: number;
  /** `_name_or_path` of the config. */
  name?: string;
  /** `sea_note`: what the random weights are good for. */
  note?: string;
}

/**
 * config.json (Hugging Face keys) of a small BertForSequenceClassification meant for random
 * weights; the uncased vocabulary size by default, so the real tokenizer applies.
 */
export function randomBertConfigJson(o: RandomBertOptions = {}): Record<string, unknown> {
  const hidden = o.hidden ?? 128;
  const labels = o.labels ?? 2;
  const names = Array.from({ length: labels }, (_, i) => `LABEL_${i}`);
  return {
    _name_or_path: o.name ?? 'sea-random-bert',
    sea_note: o.note ?? 'RANDOM WEIGHTS: for speed and agreement measurements only, not task quality',
    model_type: 'bert',
    architectures: ['BertForSequenceClassification'],
    vocab_size: o.vocab ?? 30522,
    hidden_size: hidden,
    num_hidden_layers: o.layers ?? 2,
    num_attention_heads: o.heads ?? 4,
    intermediate_size: o.intermediate ?? 4 * hidden,
    hidden_act: 'gelu',
    max_position_embeddings: o.maxPositions ?? 512,
    type_vocab_size: 2,
    layer_norm_eps: 1e-12,
    num_labels: labels,
    id2label: Object.fromEntries(names.map((n, i) => [i, n])),
    label2id: Object.fromEntries(names.map((n, i) => [n, i])),
    pad_token_id: 0,
    hidden_dropout_prob: 0.1,
    attention_probs_dropout_prob: 0.1,
  };
}
