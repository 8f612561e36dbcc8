/** The `sea` command. */

import { SeaError } from '@sea/tensor';
import { Command, Option } from 'commander';

// `pnpm sea …` runs this file from apps/cli: resolve the user's relative paths where they typed them.
if (process.env.npm_lifecycle_event === 'sea' && process.env.INIT_CWD) process.chdir(process.env.INIT_CWD);

const program = new Command();
program
  .name('sea')
  .description(
    'SEA attention (sparse linear attention with an estimated attention mask) for OPT and BERT models',
  )
  .showHelpAfterError();

const backendOpt = () =>
  new Option('--backend <name>', 'backend: auto (best found), cpu, webgpu or cuda').default('auto');
const attentionOpt = () =>
  new Option(
    '--attention <kind>',
    'attention in every layer: dense (exact), performer, sea, reformer (LSH) or cosformer',
  )
    .choices(['dense', 'performer', 'sea', 'reformer', 'cosformer'])
    .default('dense');
/** The official SEA options that change the paper's tables, and the Reformer's hash rounds. */
const seaOptionFlags = (c: Command): Command =>
  c
    .addOption(
      new Option('--topk-mode <mode>', 'SEA: top-k grouping (causal models: causal_batch only)').choices([
        'query',
        'head',
        'batch',
        'causal_batch',
      ]),
    )
    .option(
      '--k-oversample <x>',
      'SEA: k_oversample (budgets at k·x; the dense path thins back)',
      Number.parseFloat,
    )
    .option(
      '--no-partial-attention-scaler',
      'SEA: softmax over the selected keys without the s_prob row scale',
    )
    .option('--n-hashes <n>', 'Reformer: LSH hash rounds (official: 8)', (v) => Number.parseInt(v, 10));

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
  .option('--hidden <n>', 'hidden size', (v) => Number.parseInt(v, 10), 128)
  .option('--layers <n>', 'decoder layers', (v) => Number.parseInt(v, 10), 2)
  .option('--heads <n>', 'attention heads', (v) => Number.parseInt(v, 10), 4)
  .option('--max-positions <n>', 'max_position_embeddings (default opt 2048, bert 512)', (v) =>
    Number.parseInt(v, 10),
  )
  .option('--seed <n>', 'random seed', (v) => Number.parseInt(v, 10), 0)
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
  .option(
    '--k <n>',
    'SEA: keys per query per head; a list (16,32,64,128) evaluates each (dynamic k: trained at one k, run at others); Reformer: bucket size',
    (v) => (v.includes(',') ? v.split(',').map((x) => Number.parseInt(x, 10)) : Number.parseInt(v, 10)),
    64,
  )
  .option('--predictor-length <n>', 'SEA: compressed width K', (v) => Number.parseInt(v, 10), 256)
  .option('--nbf <n>', 'SEA/Performer: feature factor (m = ⌊D ln D / nbf⌋)', Number.parseFloat, 8)
  .option('--sea-path <path>', 'SEA: sparse (FlatCSR, linear memory) or dense (T×T reference)', 'sparse')
  .option('--seed <n>', 'seed for fresh SEA / Performer weights', (v) => Number.parseInt(v, 10), 0)
  .option('--window <n>', 'window length (default: the model max_position_embeddings)', (v) =>
    Number.parseInt(v, 10),
  )
  .option('--max-windows <n>', 'evaluate only the first N windows', (v) => Number.parseInt(v, 10))
  .addOption(
    new Option('--protocol <p>', 'sea: no BOS (SEA trainer); gptq: BOS prepended once (the literature)')
      .choices(['sea', 'gptq'])
      .default('sea'),
  )
  .option('--data <file>', 'text file to evaluate instead of WikiText-2 test')
  .addOption(
    new Option(
      '--dtype <d>',
      'the dtype the model computes in (bf16/f16 need a backend that lists them: cuda)',
    )
      .choices(['f32', 'bf16', 'f16'])
      .default('f32'),
  )
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
  .option('--k <n>', 'SEA: keys per query per head', (v) => Number.parseInt(v, 10), 64)
  .option('--predictor-length <n>', 'SEA: compressed width K', (v) => Number.parseInt(v, 10), 128)
  .option('--nbf <n>', 'SEA/Performer: feature factor', Number.parseFloat, 1)
  .option('--sea-path <path>', 'SEA: sparse or dense', 'sparse')
  .option('--seed <n>', 'seed for fresh SEA / Performer weights', (v) => Number.parseInt(v, 10), 0)
  .option('--batch <n>', 'examples per batch', (v) => Number.parseInt(v, 10), 16)
  .option('--max-length <n>', 'truncation length', (v) => Number.parseInt(v, 10), 256)
  .option('--limit <n>', 'evaluate only the first N examples', (v) => Number.parseInt(v, 10))
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
  .option('--steps <n>', 'optimizer steps', (v) => Number.parseInt(v, 10), 100)
  .option(
    '--seq-len <n>',
    'OPT: tokens per window; BERT: truncation length (default 128)',
    (v) => Number.parseInt(v, 10),
    2048,
  )
  .option(
    '--batch <n>',
    'windows (OPT) or examples (BERT, default 16) per step',
    (v) => Number.parseInt(v, 10),
    1,
  )
  .option('--k <n>', 'SEA: keys per query per head (BERT default 7)', (v) => Number.parseInt(v, 10), 64)
  .option(
    '--predictor-length <n>',
    'SEA: compressed width K (OPT: a multiple of 4; BERT default 128)',
    (v) => Number.parseInt(v, 10),
    256,
  )
  .option('--nbf <n>', 'Performer feature factor (m = ⌊D ln D / nbf⌋; BERT default 1)', Number.parseFloat, 8)
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
    (v) => Number.parseInt(v, 10),
    1,
  )
  .option(
    '--checkpoint-layers',
    'OPT: recompute each student layer in backward instead of keeping its activations',
  )
  .option(
    '--max-minutes <x>',
    'stop (with a checkpoint) before this wall time; continue with --resume',
    Number.parseFloat,
  )
  .option(
    '--lr <x>',
    'base lr: OPT non-SEA weights at 0.2·lr, BERT at lr; SEA weights at 10·lr',
    Number.parseFloat,
    1e-5,
  )
  .option('--seed <n>', 'seed for SEA weights and batch order', (v) => Number.parseInt(v, 10), 0)
  .option('--out <dir>', 'run folder: checkpoints, loss.jsonl, loss.svg', 'distill-out')
  .option(
    '--eval-every <n>',
    'held-out evaluation (OPT perplexity, BERT accuracy/F1) every N steps (0: only at the end)',
    (v) => Number.parseInt(v, 10),
    0,
  )
  .option('--eval-windows <n>', 'OPT: held-out windows per evaluation', (v) => Number.parseInt(v, 10), 8)
  .option('--eval-examples <n>', 'BERT: held-out examples per evaluation', (v) => Number.parseInt(v, 10), 256)
  .option(
    '--save-every <n>',
    'checkpoint every N steps (0: only at the end)',
    (v) => Number.parseInt(v, 10),
    0,
  )
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
  .requiredOption('--config <file>', "config.json (or a model folder holding one), or 'opt-125m'")
  .requiredOption(
    '--data <file>',
    'training tokens: a binary ids file (.bin, uint32 little-endian, streamed), token ids, or text',
  )
  .option('--eval-data <file>', 'extra evaluation tokens (e.g. WikiText-2 test), never trained on')
  .option('--steps <n>', 'optimizer steps', (v) => Number.parseInt(v, 10), 1000)
  .option('--seq-len <n>', 'tokens per window', (v) => Number.parseInt(v, 10), 2048)
  .option('--batch <n>', 'windows per micro-batch', (v) => Number.parseInt(v, 10), 1)
  .option('--accumulate <n>', 'micro-batches per optimizer step', (v) => Number.parseInt(v, 10), 1)
  .option('--lr <x>', 'peak learning rate', Number.parseFloat, 6e-4)
  .option('--warmup <n>', 'linear warmup steps', (v) => Number.parseInt(v, 10), 0)
  .addOption(
    new Option('--schedule <s>', 'lr after warmup').choices(['cosine', 'constant']).default('cosine'),
  )
  .option('--min-lr-ratio <x>', 'cosine floor as a fraction of --lr', Number.parseFloat, 0.1)
  .option('--checkpoint-layers', 'recompute each layer in backward instead of keeping its activations')
  .addOption(
    new Option(
      '--compute-dtype <dtype>',
      'mixed precision: compute dtype (float32 master weights either way)',
    )
      .choices(['float32', 'bfloat16', 'float16'])
      .default('float32'),
  )
  .option('--seed <n>', 'seed for the initial weights and the batch order', (v) => Number.parseInt(v, 10), 0)
  .option('--out <dir>', 'run folder: checkpoints, loss.jsonl, loss.svg, model/', 'train-out')
  .option(
    '--eval-every <n>',
    'held-out perplexity every N steps (0: only at the end)',
    (v) => Number.parseInt(v, 10),
    0,
  )
  .option('--eval-windows <n>', 'windows per evaluation', (v) => Number.parseInt(v, 10), 8)
  .option(
    '--save-every <n>',
    'checkpoint every N steps (0: only at the end)',
    (v) => Number.parseInt(v, 10),
    0,
  )
  .option(
    '--max-minutes <x>',
    'stop (with a checkpoint) before this wall time; continue with --resume',
    Number.parseFloat,
  )
  .option(
    '--gpus <n>',
    'data parallel: one process per GPU over NCCL (same global batch)',
    (v) => Number.parseInt(v, 10),
    1,
  )
  .option('--resume', 'continue from the latest checkpoint in --out')
  .addOption(backendOpt())
  .action(async (o) => (await import('./commands/train.js')).trainCommand(o));

program
  .command('attention-map')
  .description(
    'PNG pictures of one layer and head: exact attention, the SEA estimate (T×K and T×T), the mask, the sparse attention',
  )
  .requiredOption('--model <dir>', 'Hugging Face OPT folder (config.json + model.safetensors)')
  .requiredOption('--text <text>', 'text to tokenize and run')
  .requiredOption('--out <dir>', 'folder for the PNG files and a summary JSON')
  .option('--layer <n>', 'layer (earlier layers run with exact attention)', (v) => Number.parseInt(v, 10), 0)
  .option('--head <n>', 'head to draw', (v) => Number.parseInt(v, 10), 0)
  .option('--k <n>', 'SEA: keys per query per head', (v) => Number.parseInt(v, 10), 4)
  .option(
    '--predictor-length <n>',
    'SEA: compressed width K (ignored with trained SEA weights)',
    (v) => Number.parseInt(v, 10),
    64,
  )
  .option('--nbf <n>', 'Performer feature factor (m = ⌊D ln D / nbf⌋)', Number.parseFloat, 8)
  .option(
    '--seed <n>',
    'seed for fresh SEA weights (layer L uses seed + L)',
    (v) => Number.parseInt(v, 10),
    0,
  )
  .option('--sea-weights <file>', 'safetensors file with model.decoder.layers.{i}.self_attn.sea.* weights')
  .addOption(backendOpt())
  .option('--json', 'print one JSON object instead of text')
  .action(async (o, cmd: Command) => {
    const { withModelSeaDefaults } = await import('./commands/common.js');
    const opts = withModelSeaDefaults(o, (f) => cmd.getOptionValueSource(f) !== 'cli');
    await (await import('./commands/attention_map.js')).attentionMapCommand(opts);
  });

for (const name of ['eval', 'distill']) {
  const c = program.commands.find((x) => x.name() === name);
  if (c) seaOptionFlags(c);
}

program.parseAsync(process.argv).catch((e: unknown) => {
  if (e instanceof SeaError) {
    process.stderr.write(`sea: ${e.message}\n`);
  } else {
    process.stderr.write(`sea: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  }
  process.exitCode = 1;
});
