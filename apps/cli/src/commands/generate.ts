/** `sea generate`: text from an OPT model, streamed token by token (prefill, then one token per step). */
import path from 'node:path';
import { type GenerateResult, OptForCausalLM } from '@sea/opt';
import { SeaError } from '@sea/tensor';
import { OptTokenizer } from '@sea/tokenizers';
import { chooseBackend } from '../backends.js';
import { type AttentionFlags, mib, seaConfigOf } from './common.js';

export interface GenerateFlags extends AttentionFlags {
  model: string;
  prompt: string;
  backend: string;
  maxNewTokens: number;
  temperature?: number;
  topK?: number;
  topP?: number;
  repetitionPenalty?: number;
  sampleSeed: number;
  stop?: string[];
  eos: boolean;
  /** f32 (default), bf16 or f16: the dtype the model computes in. */
  dtype?: 'f32' | 'bf16' | 'f16';
  json?: boolean;
}

const DTYPES = { f32: 'float32', bf16: 'bfloat16', f16: 'float16' } as const;

/** Text not yet printed: the decoded ids minus what was printed, held back while a character is incomplete. */
function streamer(decode: (ids: number[]) => string, write: (s: string) => void) {
  const ids: number[] = [];
  let printed = '';
  return {
    push(id: number) {
      ids.push(id);
      const text = decode(ids);
      if (text.endsWith('\uFFFD')) return; // a multi-byte character split across tokens
      write(text.slice(printed.length));
      printed = text;
    },
    end() {
      const text = decode(ids);
      if (text.length > printed.length) write(text.slice(printed.length));
    },
  };
}

export async function generateCommand(o: GenerateFlags): Promise<void> {
  if (typeof o.prompt !== 'string' || o.prompt.length === 0)
    throw new SeaError('E_ARGS', '--prompt must be non-empty text');
  const seaConfig = seaConfigOf(o);
  const dtype = DTYPES[o.dtype ?? 'f32'];
  if (!dtype) throw new SeaError('E_ARGS', `--dtype must be f32, bf16 or f16, got ${String(o.dtype)}`);
  const backend = await chooseBackend(o.backend);
  const tokenizer = await OptTokenizer.load();
  const t0 = performance.now();
  const model = await OptForCausalLM.load(o.model, {
    backend,
    attention: o.attention,
    seaConfig,
    seaWeights: o.seaWeights === 'fresh' ? undefined : o.seaWeights,
    seed: o.seed,
    dtype,
  });
  const loadMs = performance.now() - t0;
  try {
    const prompt = tokenizer.encode(o.prompt);
    const decode = (ids: readonly number[]) => tokenizer.decode(ids, { skipSpecialTokens: true });
    const out = streamer(decode, (s) => process.stdout.write(s));
    backend.resetPeak();
    const weightBytes = backend.memory().bytes;
    const ac = new AbortController();
    const onSigint = () => ac.abort();
    process.once('SIGINT', onSigint);
    let r: GenerateResult;
    try {
      r = await model.generate(prompt, {
        maxNewTokens: o.maxNewTokens,
        temperature: o.temperature,
        topK: o.topK,
        topP: o.topP,
        repetitionPenalty: o.repetitionPenalty,
        seed: o.sampleSeed,
        eosTokenId: o.eos ? model.config.eosTokenId : undefined,
        stopStrings: o.stop?.length ? o.stop : undefined,
        decode,
        signal: ac.signal,
        // the prompt is echoed once the options passed and the prompt ran
        onToken: o.json
          ? undefined
          : ([id], step) => {
              if (step === 0) process.stdout.write(o.prompt);
              out.push(id);
            },
      });
    } finally {
      process.off('SIGINT', onSigint);
    }
    if (!o.json) out.end();
    const t = r.timings;
    const ids = r.tokens[0];
    const prefillTps = t.promptTokens / (t.prefillMs / 1000);
    const decodeTps = t.decodeSteps / (t.decodeMs / 1000);
    const peak = backend.memory().peakBytes;
    if (o.json) {
      const result = {
        model: path.resolve(o.model),
        backend: backend.name,
        attention: o.attention,
        dtype,
        sea: o.attention === 'dense' ? undefined : { ...seaConfig, weights: o.seaWeights ?? 'fresh' },
        promptIds: prompt,
        ids,
        text: decode(ids),
        finishReason: r.finishReasons[0],
        timings: { loadMs, ...t },
        tokensPerSecond: { prefill: prefillTps, decode: Number.isFinite(decodeTps) ? decodeTps : null },
        peakBackendBytes: peak,
        weightBytes,
      };
      process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
      return;
    }
    process.stdout.write('\n');
    process.stderr.write(
      [
        `prefill ${t.promptTokens} tokens in ${t.prefillMs.toFixed(1)} ms (${prefillTps.toFixed(1)} tokens/s)`,
        `decode  ${t.decodeSteps} tokens in ${t.decodeMs.toFixed(1)} ms (${Number.isFinite(decodeTps) ? decodeTps.toFixed(1) : '–'} tokens/s)`,
        `${backend.name}, ${o.attention} attention, ${dtype}, finished: ${r.finishReasons[0]}, peak backend memory ${mib(peak)} (weights ${mib(weightBytes)})`,
        '',
      ].join('\n'),
    );
  } finally {
    model.dispose();
  }
}
