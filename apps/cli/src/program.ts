/**
 * The `sea` command's options and actions, and {@link runCli}: parses argv, runs one command and
 * returns its exit code — 0, or 1 with one `sea: …` line on stderr for any error (no stack: user
 * errors are SeaErrors naming what was wrong; anything else is reported as an internal error).
 * Progress displays are stopped whatever happens. bin/sea and `pnpm sea` run it through main.ts;
 * tests call it in-process.
 */

import fs from 'node:fs';
import { escapeControl, SeaError } from '@sea/tensor';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import type { withModelSeaDefaults as WithModelSeaDefaults } from './commands/common.js';
import { stopAllProgress } from './progress.js';
import { setVerbose } from './quiet.js';

/** An integer option value ('12'; not '1.5', '1e3', '12abc' or ''). */
function int(v: string): number {
  const t = v.trim();
  if (!/^[+-]?\d+$/.test(t) || !Number.isSafeInteger(Number(t)))
    throw new InvalidArgumentError(`expected an integer, got '${v}'`);
  return Number(t);
}

/** A finite number option value ('1e-5', '0.5'; not 'abc', 'NaN', 'Infinity' or ''). */
function num(v: string): number {
  const x = v.trim() === '' ? Number.NaN : Number(v);
  if (!Number.isFinite(x)) throw new InvalidArgumentError(`expected a finite number, got '${v}'`);
  return x;
}

/** The version of @sea/cli (its package.json beside src/ or dist/). */
function version(): string {
  try {
    const pkg = new URL('../package.json', import.meta.url);
    return (JSON.parse(fs.readFileSync(pkg, 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

const program = new Command();
program
  .name('sea')
  .description(
    'SEA attention (sparse linear attention with an estimated attention mask) for OPT and BERT models',
  )
  .version(`sea ${version()} (Node ${process.version})`, '-V, --version', 'print the version')
  .option('--verbose', "also show native libraries' messages on stderr (Dawn, the Vulkan loader)")
  .hook('preAction', (cmd) => setVerbose(!!cmd.opts().verbose || !!process.env.SEA_VERBOSE))
  .exitOverride()
  .configureOutput({ outputError: () => {} });

/** An option whose default is described (e.g. "the folder's sea.k, else 64") rather than only shown. */
const described = (
  flags: string,
  text: string,
  value: unknown,
  shown: string,
  parse?: (v: string) => unknown,
) => {
  const o = new Option(flags, text).default(value, shown);
  return parse ? o.argParser(parse) : o;
};
const folderFlag = (flags: string, text: string, key: string, value: number, parse: (v: string) => unknown) =>
  described(flags, text, value, `the model folder's sea.${key}, else ${value}`, parse);

const backendOpt = () =>
  new Option(
    '--backend <name>',
    'backend: auto (the best found; a GPU on a software adapter loses to the CPU), cpu, webgpu or cuda',
  ).default('auto');
const attentionOpt = () =>
  new Option(
    '--attention <kind>',
    'attention in every layer: dense (exact), performer, sea, reformer (LSH) or cosformer',
  )
    .choices(['dense', 'performer', 'sea', 'reformer', 'cosformer'])
    .default('dense', "the model folder's sea.attention, else dense");
/** What differs between the commands that run a model folder with SEA/Performer layers. */
interface SeaModelFlags {
  /** --sea-weights: what the command reads by default. */
  seaWeights: string;
  /** --k: the fallback default, its text and parser (eval takes a list: dynamic k). */
  k: number;
  kText?: string;
  kParse?: (v: string) => unknown;
  /** --predictor-length: the fallback default and its text. */
  predictorLength: number;
  predictorLengthText?: string;
  /** --nbf: the fallback default. */
  nbf: number;
  /** --sea-path's text; absent: the command has none. */
  seaPath?: string;
  /** --seed's text. */
  seed?: string;
}

/**
 * The SEA options of a command that runs a model folder (eval, glue, attention-map): --sea-weights,
 * then --k, --predictor-length and --nbf defaulting to the folder's sea.* settings, --sea-path, --seed.
 */
const seaModelOptions = (c: Command, f: SeaModelFlags): Command => {
  c.option('--sea-weights <file>', f.seaWeights)
    .addOption(folderFlag('--k <n>', f.kText ?? 'SEA: keys per query per head', 'k', f.k, f.kParse ?? int))
    .addOption(
      folderFlag(
        '--predictor-length <n>',
        f.predictorLengthText ?? 'SEA: compressed width K',
        'predictor_length',
        f.predictorLength,
        int,
      ),
    )
    .addOption(
      folderFlag('--nbf <n>', 'SEA/Performer: feature factor (m = ⌊D ln D / nbf⌋)', 'nbf', f.nbf, num),
    );
  if (f.seaPath) c.option('--sea-path <path>', f.seaPath, 'sparse');
  return c.option('--seed <n>', f.seed ?? 'seed for fresh SEA / Performer weights', int, 0);
};

/** A command's action with the model folder's SEA settings filling the options not given on the command line. */
const withFolderDefaults =
  <O>(load: () => Promise<(o: O) => Promise<void>>) =>
  async (o: Parameters<typeof WithModelSeaDefaults>[0], cmd: Command): Promise<void> => {
    const { withModelSeaDefaults } = await import('./commands/common.js');
    const opts = withModelSeaDefaults(o, (flag) => cmd.getOptionValueSource(flag) !== 'cli');
    await (await load())(opts as unknown as O);
  };

/** The official SEA options that change the paper's tables, and the Reformer's hash rounds. */
const seaOptionFlags = (c: Command): Command =>
  c
    .addOption(
      new Option(
        '--topk-mode <mode>',
        'SEA: top-k grouping (causal models: causal_batch only; default: causal_batch)',
      ).choices(['query', 'head', 'batch', 'causal_batch']),
    )
    .option(
      '--k-oversample <x>',
      'SEA: k_oversample (budgets at k·x; the dense path thins back; default: 1)',
      num,
    )
    .option(
      '--no-partial-attention-scaler',
      'SEA: softmax over the selected keys without the s_prob row scale',
    )
    .option('--n-hashes <n>', 'Reformer: LSH hash rounds (default: 8, as the official code)', int);
/** An integer, or a comma-separated list of them (eval --k 16,32,64,128: dynamic k). */
const intList = (v: string): number | number[] => (v.includes(',') ? v.split(',').map(int) : int(v));

program
  .command('info')
  .description('list the backends found here, and why any other is missing')
  .option('--json', 'print JSON')
  .action(async (o) => (await import('./commands/info.js')).infoCommand(o));

program
  .command('make-model')
  .description(
    'write a small OPT- or BERT-format model with RANDOM weights (speed and agreement only, not quality)',
  )
  .requiredOption('--out <dir>', 'output folder (required)')
  .addOption(
    new Option('--arch <arch>', 'opt (causal LM) or bert (sequence classifier)')
      .choices(['opt', 'bert'])
      .default('opt'),
  )
  .option('--hidden <n>', 'hidden size', int, 128)
  .option('--layers <n>', 'decoder layers', int, 2)
  .option('--heads <n>', 'attention heads', int, 4)
  .option('--max-positions <n>', 'max_position_embeddings (default: opt 2048, bert 512)', int)
  .option('--seed <n>', 'random seed', int, 0)
  .action(async (o) => (await import('./commands/make_model.js')).makeModelCommand(o));

const evalCmd = program
  .command('eval')
  .description(
    'WikiText-2 test perplexity of an OPT model (non-overlapping windows, last partial window dropped)',
  )
  .requiredOption(
    '--model <dir>',
    'Hugging Face OPT folder: config.json, weights, tokenizer files (required)',
  )
  .addOption(backendOpt())
  .addOption(attentionOpt());
seaModelOptions(evalCmd, {
  seaWeights:
    "safetensors file with SEA weights, or 'fresh' (default: the model folder's sea.safetensors, else fresh from --seed)",
  k: 64,
  kText:
    'SEA: keys per query per head; a list (16,32,64,128) evaluates each (dynamic k); Reformer: bucket size',
  kParse: intList,
  predictorLength: 256,
  nbf: 8,
  seaPath: 'SEA: sparse (FlatCSR, linear memory) or dense (T×T reference)',
})
  .option('--window <n>', 'window length (default: the model max_position_embeddings)', int)
  .option('--max-windows <n>', 'evaluate only the first N windows (default: all)', int)
  .addOption(
    new Option('--protocol <p>', 'sea: no BOS (SEA trainer); gptq: BOS prepended once (the literature)')
      .choices(['sea', 'gptq'])
      .default('sea'),
  )
  .option('--data <file>', "text file to evaluate (default: WikiText-2's raw test split in data/)")
  .addOption(
    new Option(
      '--dtype <d>',
      'the dtype the model computes in (bf16/f16 need a backend that lists them: cuda)',
    )
      .choices(['f32', 'bf16', 'f16'])
      .default('f32'),
  )
  .option('--json', 'print one JSON object instead of text')
  .action(withFolderDefaults(async () => (await import('./commands/eval.js')).evalCommand));

program
  .command('generate')
  .description('text from an OPT model: the prompt at once, then one token per step, streamed')
  .requiredOption('--model <dir>', 'Hugging Face OPT folder (config.json + model.safetensors)')
  .requiredOption('--prompt <text>', 'text to continue')
  .option('--max-new-tokens <n>', 'tokens to generate', (v) => Number(v), 40)
  .option('--temperature <x>', 'sample with this temperature (0: greedy; default greedy)', Number)
  .option('--top-k <n>', 'sample from the k most likely tokens', Number)
  .option('--top-p <p>', 'sample from the smallest set of tokens with probability ≥ p', Number)
  .option('--repetition-penalty <x>', 'divide the logits of tokens already seen (HF; 1 = off)', Number)
  .option('--sample-seed <n>', 'seed of the sampling PRNG (same tokens on every backend)', Number, 0)
  .option('--stop <text...>', 'stop when the generated text contains one of these')
  .option('--no-eos', "do not stop at the model's end-of-sequence token")
  .addOption(backendOpt())
  .addOption(attentionOpt())
  .option(
    '--sea-weights <file>',
    "safetensors file with SEA weights (default: the model folder's sea.safetensors, else fresh from --seed; 'fresh' forces fresh)",
  )
  .option('--k <n>', 'SEA: keys per query per head', int, 64)
  .option('--predictor-length <n>', 'SEA: compressed width K', int, 256)
  .option('--nbf <n>', 'SEA/Performer: feature factor (m = ⌊D ln D / nbf⌋)', num, 8)
  .option(
    '--sea-path <path>',
    'SEA: the prompt runs on the sparse path (decoding is always sparse)',
    'sparse',
  )
  .option('--seed <n>', 'seed for fresh SEA / Performer weights', int, 0)
  .addOption(
    new Option(
      '--dtype <d>',
      'the dtype the model computes in (bf16/f16 need a backend that lists them: cuda)',
    )
      .choices(['f32', 'bf16', 'f16'])
      .default('f32'),
  )
  .option('--json', 'print one JSON object (ids, text, timings) instead of streaming text')
  .action(withFolderDefaults(async () => (await import('./commands/generate.js')).generateCommand));

const glueCmd = program
  .command('glue')
  .description('GLUE dev accuracy (and F1 for MRPC) of a BERT sequence classifier')
  .requiredOption('--model <dir>', 'Hugging Face BertForSequenceClassification folder (required)')
  .addOption(new Option('--task <task>', 'GLUE task').choices(['mrpc', 'sst2']).default('mrpc'))
  .addOption(backendOpt())
  .addOption(attentionOpt());
seaModelOptions(glueCmd, {
  seaWeights:
    "safetensors file with SEA weights, or 'fresh' (default: the model folder's sea.safetensors, else fresh from --seed)",
  k: 64,
  predictorLength: 128,
  nbf: 1,
  seaPath: 'SEA: sparse (FlatCSR, linear memory) or dense (T×T reference)',
})
  .option('--batch <n>', 'examples per batch', int, 16)
  .option('--max-length <n>', 'truncation length', int, 256)
  .option('--limit <n>', 'evaluate only the first N examples (default: all)', int)
  .option('--json', 'print one JSON object instead of text')
  .action(withFolderDefaults(async () => (await import('./commands/glue.js')).glueCommand));

program
  .command('tokenize')
  .description(
    'token ids (a JSON array) from text files, GLUE MRPC/SST-2 TSV (their sentences), WikiText (<unk> removed), - (stdin) or --text; --decode turns ids back into text',
  )
  .argument(
    '[files...]',
    'input files (joined with blank lines), or - for stdin; with --decode: token id files',
  )
  .option('--out <file>', 'write the ids (or with --decode the text) to this file (default: print them)')
  .option('--text <text>', 'tokenize (or with --decode: decode) this text (default: the files)')
  .option('--decode', 'decode token ids to text')
  .addOption(
    new Option('--tokenizer <name>', "the vocabulary bundled with sea: OPT's BPE or BERT's WordPiece")
      .choices(['opt', 'bert'])
      .default('opt'),
  )
  .option(
    '--model <dir>',
    "use this model folder's tokenizer: tokenizer.json or its vocabulary files (default: --tokenizer's)",
  )
  .option('--special', 'add special tokens (OPT: the </s> BOS; BERT: [CLS] … [SEP]); keep them when decoding')
  .option('--json', 'print one JSON object')
  .action(async (files, o) => (await import('./commands/tokenize.js')).tokenizeCommand(files, o));

program
  .command('distill')
  .description(
    'distil SEA (or Performer) attention from a dense OPT or BERT teacher (docs/algorithm.md §9 losses, AdamW, two LR groups)',
  )
  .requiredOption(
    '--teacher <dir>',
    "Hugging Face OPT or BertForSequenceClassification folder (config.json's model_type picks the recipe): the frozen teacher (required)",
  )
  .option(
    '--data <file>',
    "OPT: token ids (JSON array or integers), or text / GLUE TSV tokenized with OPT's tokenizer; " +
      "BERT: a TSV of --task (default: OPT none, it is required; BERT MRPC's train.tsv, SST-2's dev.tsv)",
  )
  .addOption(new Option('--task <task>', 'BERT: GLUE task').choices(['mrpc', 'sst2']).default('mrpc'))
  .option('--steps <n>', 'optimizer steps', int, 100)
  .addOption(
    described(
      '--seq-len <n>',
      'OPT: tokens per window; BERT: truncation length',
      2048,
      'OPT 2048, BERT 128',
      int,
    ),
  )
  .addOption(described('--batch <n>', 'windows (OPT) or examples (BERT) per step', 1, 'OPT 1, BERT 16', int))
  .addOption(described('--k <n>', 'SEA: keys per query per head', 64, 'OPT 64, BERT 7', int))
  .addOption(
    described(
      '--predictor-length <n>',
      'SEA: compressed width K (OPT: a multiple of 4)',
      256,
      'OPT 256, BERT 128',
      int,
    ),
  )
  .addOption(described('--nbf <n>', 'Performer feature factor (m = ⌊D ln D / nbf⌋)', 8, 'OPT 8, BERT 1', num))
  .addOption(
    new Option(
      '--attention <kind>',
      "student attention ('dense': a dense fine-tune with the same losses; reformer: LSH with bucket size --k)",
    )
      .choices(['sea', 'performer', 'dense', 'reformer', 'cosformer'])
      .default('sea'),
  )
  .option(
    '--accumulate <n>',
    'micro-batches of --batch per optimizer step (gradient accumulation; global batch = batch × n)',
    int,
    1,
  )
  .option(
    '--checkpoint-layers',
    'recompute each student layer in backward instead of keeping its activations (less memory, one more forward)',
  )
  .addOption(
    new Option(
      '--compute-dtype <dtype>',
      'mixed precision: the student computes in this dtype (float32 master weights either way)',
    )
      .choices(['float32', 'bfloat16', 'float16'])
      .default('float32'),
  )
  .option(
    '--max-minutes <x>',
    'stop (with a checkpoint) before this wall time; continue with --resume (default: no limit)',
    num,
  )
  .option('--lr <x>', 'base lr: OPT non-SEA weights at 0.2·lr, BERT at lr; SEA weights at 10·lr', num, 1e-5)
  .option('--seed <n>', 'seed for SEA weights and batch order', int, 0)
  .option('--out <dir>', 'run folder: checkpoints, loss.jsonl, loss.svg', 'distill-out')
  .option(
    '--eval-every <n>',
    'held-out evaluation (OPT perplexity, BERT accuracy/F1) every N steps (0: only at the end)',
    int,
    0,
  )
  .option('--eval-windows <n>', 'OPT: held-out windows per evaluation', int, 8)
  .option('--eval-examples <n>', 'BERT: held-out examples per evaluation', int, 256)
  .option('--save-every <n>', 'checkpoint every N steps (0: only at the end)', int, 0)
  .option('--log <file>', 'JSON-lines loss log (default: <out>/loss.jsonl)')
  .addOption(
    new Option(
      '--export-dtype <dtype>',
      'storage of the exported model folder <out>/model (SEA weights stay float32)',
    )
      .choices(['float32', 'float16'])
      .default('float32'),
  )
  .option('--resume', 'continue from the latest checkpoint in --out')
  .addOption(backendOpt())
  .action(async (o, cmd: Command) =>
    (await import('./commands/distill.js')).distillCommand(o, (f) => cmd.getOptionValueSource(f) !== 'cli'),
  );

program
  .command('train')
  .description(
    'train an OPT language model (from scratch: the teacher) with the trainer behind distill: cross-entropy, AdamW, warmup + cosine',
  )
  .requiredOption('--config <file>', "config.json (or a model folder holding one), or 'opt-125m' (required)")
  .requiredOption(
    '--data <file>',
    'training tokens: a binary ids file (.bin, uint32 little-endian, streamed), token ids, or text (required)',
  )
  .option(
    '--eval-data <file>',
    'extra evaluation tokens (e.g. WikiText-2 test), never trained on (default: none)',
  )
  .option('--steps <n>', 'optimizer steps', int, 1000)
  .option('--seq-len <n>', 'tokens per window', int, 2048)
  .option('--batch <n>', 'windows per micro-batch', int, 1)
  .option('--accumulate <n>', 'micro-batches per optimizer step', int, 1)
  .option(
    '--checkpoint-layers',
    'recompute each layer in backward instead of keeping its activations (less memory, one more forward)',
  )
  .option('--lr <x>', 'peak learning rate', num, 6e-4)
  .option('--warmup <n>', 'linear warmup steps', int, 0)
  .addOption(
    new Option('--schedule <s>', 'lr after warmup').choices(['cosine', 'constant']).default('cosine'),
  )
  .option('--min-lr-ratio <x>', 'cosine floor as a fraction of --lr', num, 0.1)
  .addOption(
    new Option(
      '--compute-dtype <dtype>',
      'mixed precision: compute dtype (float32 master weights either way)',
    )
      .choices(['float32', 'bfloat16', 'float16'])
      .default('float32'),
  )
  .option('--seed <n>', 'seed for the initial weights and the batch order', int, 0)
  .option('--out <dir>', 'run folder: checkpoints, loss.jsonl, loss.svg, model/', 'train-out')
  .option('--eval-every <n>', 'held-out perplexity every N steps (0: only at the end)', int, 0)
  .option('--eval-windows <n>', 'windows per evaluation', int, 8)
  .option('--save-every <n>', 'checkpoint every N steps (0: only at the end)', int, 0)
  .option(
    '--max-minutes <x>',
    'stop (with a checkpoint) before this wall time; continue with --resume (default: no limit)',
    num,
  )
  .option('--gpus <n>', 'data parallel: one process per GPU over NCCL (same global batch)', int, 1)
  .option('--resume', 'continue from the latest checkpoint in --out')
  .addOption(backendOpt())
  .action(async (o) => (await import('./commands/train.js')).trainCommand(o));

const attentionMapCmd = program
  .command('attention-map')
  .description(
    'PNG pictures of one layer and head: exact attention, the SEA estimate (T×K and T×T), the mask, the sparse attention',
  )
  .requiredOption('--model <dir>', 'Hugging Face OPT folder: config.json, model.safetensors (required)')
  .requiredOption('--text <text>', 'text to tokenize and run (required)')
  .requiredOption('--out <dir>', 'folder for the PNG files and a summary JSON (required)')
  .option('--layer <n>', 'layer (earlier layers run with exact attention)', int, 0)
  .option('--head <n>', 'head to draw', int, 0);
seaModelOptions(attentionMapCmd, {
  seaWeights:
    "safetensors file with model.decoder.layers.{i}.self_attn.sea.* weights (default: the model folder's sea.safetensors, else fresh from --seed)",
  k: 4,
  predictorLength: 64,
  predictorLengthText: 'SEA: compressed width K (ignored with trained SEA weights)',
  nbf: 8,
  seed: 'seed for fresh SEA weights (layer L uses seed + L)',
})
  .addOption(backendOpt())
  .option('--json', 'print one JSON object instead of text')
  .action(withFolderDefaults(async () => (await import('./commands/attention_map.js')).attentionMapCommand));

for (const name of ['eval', 'distill']) {
  const c = program.commands.find((x) => x.name() === name);
  if (c) seaOptionFlags(c);
}

/** One line: newlines and the spaces around them become one space, other control characters escapes. */
const oneLine = (text: string) => escapeControl(text.replace(/\s*\n\s*/g, ' ').trim());

/** The stderr line for an error thrown by a command. */
export function errorLine(e: unknown): string {
  if (e instanceof SeaError) return `sea: ${oneLine(e.message)}`;
  if (e instanceof CommanderError)
    return `sea: ${oneLine(e.message.replace(/^error: /, ''))} (see sea --help)`;
  const sys = e as NodeJS.ErrnoException & { dest?: string };
  if (e instanceof Error && typeof sys.code === 'string' && typeof sys.syscall === 'string') {
    // a file-system error on a path the user gave (missing, a file where a folder is needed, …)
    return `sea: cannot ${sys.syscall}${sys.path ? ` ${sys.path}` : ''}: ${sys.code}${sys.dest ? ` (to ${sys.dest})` : ''}`;
  }
  const msg = e instanceof Error ? e.message : String(e);
  return `sea: internal error: ${oneLine(msg)}${process.env.SEA_DEBUG ? '' : ' (SEA_DEBUG=1 prints the stack)'}`;
}

/**
 * Runs `sea` with `argv` (as process.argv: node, script, args…) and returns the exit code: 0, or 1
 * after writing one `sea: …` line to stderr. Help and --version return 0.
 */
export async function runCli(argv: readonly string[]): Promise<number> {
  try {
    // (a real process cannot receive one: argv entries are C strings)
    const nul = argv.findIndex((a) => a.includes('\u0000'));
    if (nul >= 2)
      throw new SeaError('E_ARGS', `argument ${nul - 1} (${JSON.stringify(argv[nul])}) holds a NUL byte`);
    await program.parseAsync([...argv]);
    return 0;
  } catch (e) {
    if (e instanceof CommanderError && e.exitCode === 0) return 0;
    stopAllProgress();
    process.stderr.write(`${errorLine(e)}\n`);
    if (process.env.SEA_DEBUG && e instanceof Error && e.stack) process.stderr.write(`${e.stack}\n`);
    return 1;
  } finally {
    stopAllProgress();
  }
}
