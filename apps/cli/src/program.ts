/**
 * The `sea` command's options and actions, and {@link runCli}: parses argv, runs one command and
 * returns its exit code — 0, or 1 with one `sea: …` line on stderr for any error (no stack: user
 * errors are SeaErrors naming what was wrong; anything else is reported as an internal error).
 * Progress displays are stopped whatever happens. bin/sea and `pnpm sea` run it through main.ts;
 * tests call it in-process.
 */

import { escapeControl, SeaError } from '@sea/tensor';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { stopAllProgress } from './progress.js';

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

const program = new Command();
program
  .name('sea')
  .description(
    'SEA attention (sparse linear attention with an estimated attention mask) for OPT and BERT models',
  )
  .exitOverride()
  .configureOutput({ outputError: () => {} });

const backendOpt = () =>
  new Option('--backend <name>', 'backend: auto (best found), cpu, webgpu or cuda').default('auto');
const attentionOpt = () =>
  new Option('--attention <kind>', 'attention in every layer: dense (exact), performer, or sea')
    .choices(['dense', 'performer', 'sea'])
    .default('dense');

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
  .requiredOption('--out <dir>', 'output folder')
  .addOption(
    new Option('--arch <arch>', 'opt (causal LM) or bert (sequence classifier)')
      .choices(['opt', 'bert'])
      .default('opt'),
  )
  .option('--hidden <n>', 'hidden size', int, 128)
  .option('--layers <n>', 'decoder layers', int, 2)
  .option('--heads <n>', 'attention heads', int, 4)
  .option('--max-positions <n>', 'max_position_embeddings (default opt 2048, bert 512)', int)
  .option('--seed <n>', 'random seed', int, 0)
  .action(async (o) => (await import('./commands/make_model.js')).makeModelCommand(o));

program
  .command('eval')
  .description(
    'WikiText-2 test perplexity of an OPT model (non-overlapping windows, last partial window dropped)',
  )
  .requiredOption('--model <dir>', 'Hugging Face OPT folder (config.json + model.safetensors)')
  .addOption(backendOpt())
  .addOption(attentionOpt())
  .option(
    '--sea-weights <file>',
    "safetensors file with SEA weights (default: the model folder's sea.safetensors, else fresh from --seed; 'fresh' forces fresh)",
  )
  .option('--k <n>', 'SEA: keys per query per head', int, 64)
  .option('--predictor-length <n>', 'SEA: compressed width K', int, 256)
  .option('--nbf <n>', 'SEA/Performer: feature factor (m = ⌊D ln D / nbf⌋)', num, 8)
  .option('--sea-path <path>', 'SEA: sparse (FlatCSR, linear memory) or dense (T×T reference)', 'sparse')
  .option('--seed <n>', 'seed for fresh SEA / Performer weights', int, 0)
  .option('--window <n>', 'window length (default: the model max_position_embeddings)', int)
  .option('--max-windows <n>', 'evaluate only the first N windows', int)
  .addOption(
    new Option('--protocol <p>', 'sea: no BOS (SEA trainer); gptq: BOS prepended once (the literature)')
      .choices(['sea', 'gptq'])
      .default('sea'),
  )
  .option('--data <file>', 'text file to evaluate instead of WikiText-2 test')
  .option('--json', 'print one JSON object instead of text')
  .action(async (o, cmd: Command) => {
    const { withModelSeaDefaults } = await import('./commands/common.js');
    const opts = withModelSeaDefaults(o, (f) => cmd.getOptionValueSource(f) !== 'cli');
    await (await import('./commands/eval.js')).evalCommand(opts);
  });

program
  .command('glue')
  .description('GLUE dev accuracy (and F1 for MRPC) of a BERT sequence classifier')
  .requiredOption('--model <dir>', 'Hugging Face BertForSequenceClassification folder')
  .addOption(new Option('--task <task>', 'GLUE task').choices(['mrpc', 'sst2']).default('mrpc'))
  .addOption(backendOpt())
  .addOption(attentionOpt())
  .option('--sea-weights <file>', 'safetensors file with SEA weights (default: fresh from --seed)')
  .option('--k <n>', 'SEA: keys per query per head', int, 64)
  .option('--predictor-length <n>', 'SEA: compressed width K', int, 128)
  .option('--nbf <n>', 'SEA/Performer: feature factor', num, 1)
  .option('--sea-path <path>', 'SEA: sparse or dense', 'sparse')
  .option('--seed <n>', 'seed for fresh SEA / Performer weights', int, 0)
  .option('--batch <n>', 'examples per batch', int, 16)
  .option('--max-length <n>', 'truncation length', int, 256)
  .option('--limit <n>', 'evaluate only the first N examples', int)
  .option('--json', 'print one JSON object instead of text')
  .action(async (o, cmd: Command) => {
    const { withModelSeaDefaults } = await import('./commands/common.js');
    const opts = withModelSeaDefaults(o, (f) => cmd.getOptionValueSource(f) !== 'cli');
    await (await import('./commands/glue.js')).glueCommand(opts);
  });

program
  .command('tokenize')
  .description(
    'OPT token ids (a JSON array) from text files, GLUE MRPC/SST-2 TSV (their sentences) or WikiText (<unk> removed)',
  )
  .argument('<files...>', 'input files, joined with blank lines')
  .requiredOption('--out <file>', 'output JSON file')
  .option('--json', 'print JSON')
  .action(async (files, o) => (await import('./commands/tokenize.js')).tokenizeCommand(files, o));

program
  .command('distill')
  .description(
    'distil SEA (or Performer) attention from a dense OPT or BERT teacher (spec §9 losses, AdamW, two LR groups)',
  )
  .requiredOption(
    '--teacher <dir>',
    "Hugging Face OPT or BertForSequenceClassification folder (config.json's model_type picks the recipe): the frozen teacher",
  )
  .option(
    '--data <file>',
    "OPT (required): token ids (JSON array or integers), or text / GLUE TSV tokenized with OPT's tokenizer; " +
      "BERT: a TSV of --task (default: MRPC's train.tsv, SST-2's dev.tsv)",
  )
  .addOption(new Option('--task <task>', 'BERT: GLUE task').choices(['mrpc', 'sst2']).default('mrpc'))
  .option('--steps <n>', 'optimizer steps', int, 100)
  .option('--seq-len <n>', 'OPT: tokens per window; BERT: truncation length (default 128)', int, 2048)
  .option('--batch <n>', 'windows (OPT) or examples (BERT, default 16) per step', int, 1)
  .option('--k <n>', 'SEA: keys per query per head (BERT default 7)', int, 64)
  .option(
    '--predictor-length <n>',
    'SEA: compressed width K (OPT: a multiple of 4; BERT default 128)',
    int,
    256,
  )
  .option('--nbf <n>', 'Performer feature factor (m = ⌊D ln D / nbf⌋; BERT default 1)', num, 8)
  .addOption(
    new Option('--attention <kind>', 'student attention').choices(['sea', 'performer']).default('sea'),
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
  .command('attention-map')
  .description(
    'PNG pictures of one layer and head: exact attention, the SEA estimate (T×K and T×T), the mask, the sparse attention',
  )
  .requiredOption('--model <dir>', 'Hugging Face OPT folder (config.json + model.safetensors)')
  .requiredOption('--text <text>', 'text to tokenize and run')
  .requiredOption('--out <dir>', 'folder for the PNG files and a summary JSON')
  .option('--layer <n>', 'layer (earlier layers run with exact attention)', int, 0)
  .option('--head <n>', 'head to draw', int, 0)
  .option('--k <n>', 'SEA: keys per query per head', int, 4)
  .option('--predictor-length <n>', 'SEA: compressed width K (ignored with trained SEA weights)', int, 64)
  .option('--nbf <n>', 'Performer feature factor (m = ⌊D ln D / nbf⌋)', num, 8)
  .option('--seed <n>', 'seed for fresh SEA weights (layer L uses seed + L)', int, 0)
  .option('--sea-weights <file>', 'safetensors file with model.decoder.layers.{i}.self_attn.sea.* weights')
  .addOption(backendOpt())
  .option('--json', 'print one JSON object instead of text')
  .action(async (o, cmd: Command) => {
    const { withModelSeaDefaults } = await import('./commands/common.js');
    const opts = withModelSeaDefaults(o, (f) => cmd.getOptionValueSource(f) !== 'cli');
    await (await import('./commands/attention_map.js')).attentionMapCommand(opts);
  });

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
