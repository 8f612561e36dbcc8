/** `sea glue`: GLUE dev accuracy (and F1 for MRPC) of a BERT sequence classifier. */
import path from 'node:path';
import { checkedForward } from '@sea/model-common';
import { SeaError } from '@sea/tensor';
import { chooseBackend } from '../backends.js';
import { type GlueTask, glueDev } from '../data.js';
import { accuracy, f1 } from '../metrics.js';
import { progressBar } from '../progress.js';
import {
  type AttentionFlags,
  emit,
  loadCliModel,
  loadCliTokenizer,
  mib,
  positiveOrUndefined,
  seaConfigOf,
} from './common.js';

export interface GlueFlags extends AttentionFlags {
  model: string;
  task: GlueTask;
  backend: string;
  batch: number;
  maxLength: number;
  limit?: number;
  json?: boolean;
}

export async function glueCommand(o: GlueFlags): Promise<void> {
  const seaConfig = seaConfigOf(o);
  const batch = positiveOrUndefined('--batch', o.batch) ?? 16;
  const maxLength = positiveOrUndefined('--max-length', o.maxLength) ?? 256;
  const limit = positiveOrUndefined('--limit', o.limit);
  const backend = await chooseBackend(o.backend);
  const model = await loadCliModel('bert', o, backend);
  try {
    if (model.config.numLabels !== 2) {
      throw new SeaError(
        'E_ARGS',
        `${o.task} is a two-class task but the model has ${model.config.numLabels} labels`,
      );
    }
    const tokenizer = await loadCliTokenizer(o.model, 'bert');
    const { file, examples: all } = glueDev(o.task);
    const examples = limit ? all.slice(0, limit) : all;
    // truncate to what the model's position table holds (as transformers' tokenizers do)
    const length = Math.min(maxLength, model.config.maxPositionEmbeddings);
    const pred: number[] = [];
    const gold = examples.map((e) => e.label);
    const bar = progressBar(examples.length, `glue ${o.task}`, !o.json);
    backend.resetPeak();
    let tokens = 0;
    let forwardMs = 0;
    try {
      for (let i = 0; i < examples.length; i += batch) {
        const part = examples.slice(i, i + batch);
        const enc = tokenizer.encodeBatch(
          part.map((e) => (e.b === undefined ? e.a : ([e.a, e.b] as const))),
          { truncation: 'longest_first', maxLength: length },
        );
        const f0 = performance.now();
        const out = await checkedForward(model, enc.inputIds, {
          shape: enc.shape,
          attentionMask: enc.attentionMask,
          tokenTypeIds: enc.tokenTypeIds,
        });
        const logits = (await out.logits.data()) as Float32Array;
        forwardMs += performance.now() - f0;
        out.logits.dispose();
        out.pooled.dispose();
        for (let b = 0; b < part.length; b++) pred.push(logits[2 * b + 1] > logits[2 * b] ? 1 : 0);
        tokens += enc.attentionMask.reduce((a, v) => a + v, 0);
        bar.tick(pred.length, { rate: Math.round(tokens / (forwardMs / 1000)) });
      }
    } finally {
      bar.stop();
    }
    const mem = backend.memory();
    const result = {
      model: path.resolve(o.model),
      task: o.task,
      data: file,
      examples: examples.length,
      backend: backend.name,
      attention: o.attention,
      sea:
        o.attention === 'dense'
          ? undefined
          : { ...seaConfig, seed: o.seed, weights: o.seaWeights ?? 'fresh' },
      accuracy: accuracy(pred, gold),
      f1: o.task === 'mrpc' ? f1(pred, gold) : undefined,
      tokensPerSecond: tokens / (forwardMs / 1000),
      peakBackendBytes: mem.peakBytes,
    };
    emit(
      !!o.json,
      result,
      [
        `model      ${result.model}`,
        `task       ${o.task} dev (${examples.length} examples from ${file})`,
        `backend    ${backend.name}   attention ${o.attention}`,
        `accuracy   ${(100 * result.accuracy).toFixed(2)}%${result.f1 !== undefined ? `   F1 ${(100 * result.f1).toFixed(2)}` : ''}`,
        `throughput ${result.tokensPerSecond.toFixed(0)} tokens/s   peak backend memory ${mib(mem.peakBytes)}`,
        '',
      ].join('\n'),
    );
  } finally {
    model.dispose();
  }
}
