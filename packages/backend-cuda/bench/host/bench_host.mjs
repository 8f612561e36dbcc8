// Host cost of the CUDA backend, measured without a GPU: the backend runs over the stub libraries of
// cuda_stub.c (build.sh), whose every call returns at once, so the wall time of a step is the host
// side alone (the op layer, the backend's op wrappers, the allocator, parameter packing, the koffi
// calls). Cases: an OPT-125m-shaped decode step (12 layers, hidden 768, 12 heads, ffn 3072, vocab
// 50272; dense with a K/V cache and SEA K=256, k=64, nbf 8) in float32 and bfloat16 after a short
// prompt, and the SEA layer's forward (SeaAttention, H=12, D=64, causal) at T=2048. Per case: µs per
// step, the driver/cuBLAS calls per step the stubs counted (kernel launches, GEMMs, copies, memsets,
// syncs) and µs per queued op (launches + GEMMs + copies + memsets).
//
// Run from the repository root (sources through tsx, nothing to build):
//   bash packages/backend-cuda/bench/host/build.sh
//   node --import tsx --conditions=source packages/backend-cuda/bench/host/bench_host.mjs
// Env: SEA_HOST_CASES (decode-dense,decode-sea,layer-sea; also forward-dense,forward-sea: the whole
// model's forward over SEA_HOST_LAYER_T tokens), SEA_HOST_DTYPES (float32,bfloat16),
// SEA_HOST_STEPS (decode steps timed, default 60), SEA_HOST_PROMPT (prompt tokens, default 64),
// SEA_HOST_LAYER_T (default 2048), SEA_HOST_REPS (layer forwards timed, default 20),
// SEA_HOST_STUB_DIR (default /tmp/sea-cuda-stub), SEA_HOST_JSON (write the results there),
// SEA_DECODE_FUSED=0 (decode through the composed ops instead of the step primitives).
// Profile: SEA_HOST_PROFILE=/tmp/sea-prof (the timed loops only), then
//   node packages/backend-cuda/bench/host/top.mjs /tmp/sea-prof/decode-sea-float32.cpuprofile
import fs from 'node:fs';
import { Session } from 'node:inspector/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import koffi from 'koffi';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const PKGS = path.resolve(HERE, '../../..');
const STUB = process.env.SEA_HOST_STUB_DIR ?? '/tmp/sea-cuda-stub';
if (!fs.existsSync(path.join(STUB, 'libcuda.so.1'))) {
  console.error(
    `no stub libraries in ${STUB}: run bash ${path.relative(process.cwd(), HERE)}/build.sh first`,
  );
  process.exit(2);
}
process.env.SEA_LIBCUDA = path.join(STUB, 'libcuda.so.1');
process.env.SEA_CUDA_LIB_DIRS = STUB;
process.env.SEA_CUDA_NO_PYTHON = '1';
process.env.SEA_CUDA_PREBUILT = '0';
process.env.SEA_CUDA_CACHE = path.join(STUB, 'cache');

const imp = (pkg) => import(pathToFileURL(path.join(PKGS, pkg, 'src/index.ts')).href);
const sea = await imp('tensor');
const { createCudaBackend } = await imp('backend-cuda');
const { OptForCausalLM, optWeightSpecs } = await imp('opt');
const { SeaAttention, setFusedDecodeSteps } = await imp('sparse-attention');
// SEA_DECODE_FUSED=0: decoding steps through the composed ops instead of the step primitives
if (process.env.SEA_DECODE_FUSED === '0') setFusedDecodeSteps(false);
const train = CASES_ASKED().some((c) => c.startsWith('train-')) ? await imp('train') : null;
function CASES_ASKED() {
  return (process.env.SEA_HOST_CASES ?? 'decode-dense,decode-sea,layer-sea').split(',');
}

const stub = koffi.load(path.join(STUB, 'libseacudastub.so'));
const NAMES = [
  'launch',
  'gemm',
  'htod',
  'dtoh',
  'dtod',
  'memset',
  'alloc',
  'free',
  'sync',
  'event',
  'ltAttr',
  'heuristic',
  'getFunction',
  'htodPageable',
];
const stubCounts = stub.func('void sea_stub_counts(_Out_ uint64_t *out, int n)');
const counts = () => {
  const a = new BigUint64Array(NAMES.length);
  stubCounts(a, NAMES.length);
  return Object.fromEntries(NAMES.map((n, i) => [n, Number(a[i])]));
};
const diff = (a, b, per) => Object.fromEntries(NAMES.map((n) => [n, (b[n] - a[n]) / per]));
const queued = (c) => c.launch + c.gemm + c.htod + c.dtoh + c.dtod + c.memset;
/** Every driver / cuBLAS call counted: the queued ops plus syncs, event records, allocs and frees. */
const driverCalls = (c) => queued(c) + c.sync + c.event + c.alloc + c.free + c.ltAttr;

const CASES = (process.env.SEA_HOST_CASES ?? 'decode-dense,decode-sea,layer-sea').split(',');
const DTYPES = (process.env.SEA_HOST_DTYPES ?? 'float32,bfloat16').split(',');
const STEPS = Number(process.env.SEA_HOST_STEPS ?? 60);
const PROMPT = Number(process.env.SEA_HOST_PROMPT ?? 64);
const LAYER_T = Number(process.env.SEA_HOST_LAYER_T ?? 2048);
const REPS = Number(process.env.SEA_HOST_REPS ?? 20);

const b = createCudaBackend();
sea.useBackend(b);
// SEA_HOST_PROFILE=<dir>: a V8 CPU profile of the timed loops only (one .cpuprofile per case), read
// with top.mjs
const PROFILE = process.env.SEA_HOST_PROFILE;
const session = PROFILE ? new Session() : null;
if (session) {
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 50 });
  fs.mkdirSync(PROFILE, { recursive: true });
}
const profStart = async () => session && (await session.post('Profiler.start'));
const profStop = async (name) => {
  if (!session) return;
  const { profile } = await session.post('Profiler.stop');
  fs.writeFileSync(path.join(PROFILE, `${name}.cpuprofile`), JSON.stringify(profile));
};
// SEA_HOST_TRACE=1 (SEA_HOST_TRACE_GRID=1: kernels by launch shape too): where the queued ops of the timed loops come from: for each backend entry point
// (launch, upload, memset, copyDtoD, read), the calling frames outside @sea/tensor and
// @sea/backend-cuda, counted per step
const TRACE = process.env.SEA_HOST_TRACE === '1';
const traced = new Map();
let tracing = false;
if (TRACE) {
  for (const m of ['launch', 'upload', 'memset', 'memsetZero', 'copyDtoD', 'read']) {
    const own = b[m].bind(b);
    b[m] = (...a) => {
      if (tracing) {
        const frames = (new Error().stack ?? '').split('\n').slice(2);
        const at = frames
          .filter((f) => !/packages\/(tensor|backend-cuda)\/|node:internal|<anonymous>/.test(f))
          .slice(0, 2)
          .map((f) =>
            f
              .trim()
              .replace(/^at /, '')
              .replace(/\(?file:\/\/.*packages\//, '(')
              .replace(/:\d+\)?$/, ')'),
          )
          .join(' < ');
        const k = `${m.padEnd(10)} ${at}`;
        traced.set(k, (traced.get(k) ?? 0) + 1);
      }
      return own(...a);
    };
  }
}
// and the kernels launched, by name
const kernels = new Map();
if (TRACE) {
  const names = new Map();
  const ownFn = b.fn.bind(b);
  b.fn = (family, name) => {
    const f = ownFn(family, name);
    names.set(f, name);
    return f;
  };
  let last = '';
  const fnAgain = b.fn;
  b.fn = (family, name) => {
    last = name;
    return fnAgain(family, name);
  };
  const ownLaunch = b.launch;
  b.launch = (...a) => {
    // SEA_HOST_TRACE_GRID=1: by kernel and grid × block (a long kernel on a tiny grid stands out)
    const k =
      process.env.SEA_HOST_TRACE_GRID === '1'
        ? `${last} grid ${a[1].join('x')} block ${a[2].join('x')}`
        : last;
    if (tracing) kernels.set(k, (kernels.get(k) ?? 0) + 1);
    return ownLaunch(...a);
  };
}
const printTrace = (per) => {
  if (!TRACE) return;
  for (const [k, n] of [...traced].sort((x, y) => y[1] - x[1]).slice(0, 40))
    console.log(`   ${(n / per).toFixed(1).padStart(7)}  ${k}`);
  traced.clear();
  console.log('   kernels launched per step:');
  for (const [k, n] of [...kernels].sort((x, y) => y[1] - x[1]))
    console.log(`   ${(n / per).toFixed(1).padStart(7)}  ${k}`);
  kernels.clear();
};
const median = (xs) => [...xs].sort((x, y) => x - y)[xs.length >> 1];
const rows = [];
const cpuUs = (u) => u.user + u.system;
/**
 * One row: wall µs per step (median and fastest: on a shared machine the fastest is the steadiest
 * estimate of the host cost), the process's CPU µs per step, and the calls the stubs counted.
 */
const report = (name, dtype, ts, cpu, c) => {
  const ops = queued(c);
  const stepUs = median(ts);
  const minUs = Math.min(...ts);
  if (process.env.SEA_HOST_DIST) console.log(ts.map((t) => t.toFixed(0)).join(' '));
  const row = {
    case: name,
    dtype,
    usPerStep: stepUs,
    minUsPerStep: minUs,
    cpuUsPerStep: cpu,
    opsPerStep: ops,
    driverCallsPerStep: driverCalls(c),
    usPerOp: minUs / ops,
    calls: c,
  };
  rows.push(row);
  console.log(
    `${name.padEnd(14)} ${dtype.padEnd(8)} median ${stepUs.toFixed(0).padStart(6)} µs  min ${minUs.toFixed(0).padStart(6)} µs  cpu ${cpu.toFixed(0).padStart(6)} µs/step  ${String(ops.toFixed(0)).padStart(5)} ops/step  ${(minUs / ops).toFixed(2).padStart(6)} µs/op (min)  ` +
      `(launch ${c.launch.toFixed(0)}, gemm ${c.gemm.toFixed(0)}, htod ${c.htod.toFixed(1)} (pageable ${c.htodPageable.toFixed(1)}), dtoh ${c.dtoh.toFixed(1)}, dtod ${c.dtod.toFixed(1)}, memset ${c.memset.toFixed(1)}, sync ${c.sync.toFixed(1)}, event ${c.event.toFixed(1)}, alloc ${c.alloc.toFixed(1)}, Lt heuristic ${c.heuristic.toFixed(1)})`,
  );
};

const config = {
  modelType: 'opt',
  vocabSize: 50272,
  hiddenSize: 768,
  numHiddenLayers: 12,
  ffnDim: 3072,
  numAttentionHeads: 12,
  maxPositionEmbeddings: 2048,
  doLayerNormBefore: true,
  wordEmbedProjDim: 768,
  activationFunction: 'relu',
  enableBias: true,
  layerNormElementwiseAffine: true,
  removeFinalLayerNorm: false,
  tieWordEmbeddings: true,
  padTokenId: 1,
  bosTokenId: 2,
  eosTokenId: 2,
  layerNormEps: 1e-5,
};
const seaConfig = { predictorLength: 256, k: 64, nbFeatureFactor: 8 };
const rng = new sea.Rng(1);

async function decode(kind, dtype) {
  // weights' values do not matter to the host: zeros of the right shapes
  const w = new Map();
  for (const spec of optWeightSpecs(config)) w.set(spec.name, sea.zeros(spec.shape, { dtype }));
  const model = await OptForCausalLM.fromWeights(config, w, { attention: kind, seaConfig, seed: 3, dtype });
  const ids = Array.from({ length: PROMPT }, () => 4 + rng.int(config.vocabSize - 4));
  const cache = model.createCache(PROMPT + STEPS + 16);
  let out = await model.forward([ids], { cache, logitsToKeep: 1 });
  await out.logits.data();
  out.logits.dispose();
  const step = async (i) => {
    out = await model.forward([[4 + (i % 1000)]], { cache, logitsToKeep: 1 });
    await out.logits.data();
    out.logits.dispose();
  };
  for (let i = 0; i < 20; i++) await step(i); // warm-up (JIT)
  const c0 = counts();
  const ts = [];
  await profStart();
  const cpu0 = process.cpuUsage();
  tracing = TRACE;
  for (let i = 0; i < STEPS; i++) {
    const t0 = performance.now();
    await step(i);
    ts.push((performance.now() - t0) * 1000);
  }
  tracing = false;
  const cpu = cpuUs(process.cpuUsage(cpu0)) / STEPS;
  await profStop(`decode-${kind}-${dtype}`);
  report(`decode-${kind}`, dtype, ts, cpu, diff(c0, counts(), STEPS));
  printTrace(STEPS);
  model.disposeCache(cache);
  model.dispose();
}

/** The whole OPT-125m-shaped forward over T = SEA_HOST_LAYER_T tokens (no cache), logits of the last. */
async function forward(kind, dtype) {
  const w = new Map();
  for (const spec of optWeightSpecs(config)) w.set(spec.name, sea.zeros(spec.shape, { dtype }));
  const model = await OptForCausalLM.fromWeights(config, w, { attention: kind, seaConfig, seed: 3, dtype });
  const ids = Array.from({ length: LAYER_T }, () => 4 + rng.int(config.vocabSize - 4));
  const run = async () => {
    const out = await model.forward([ids], { logitsToKeep: 1 });
    await out.logits.data();
    out.logits.dispose();
  };
  for (let i = 0; i < 4; i++) await run();
  const c0 = counts();
  const ts = [];
  const reps = Math.max(3, REPS >> 2);
  await profStart();
  tracing = TRACE;
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await run();
    ts.push((performance.now() - t0) * 1000);
  }
  tracing = false;
  const cpu = cpuUs(process.cpuUsage(cpu0)) / reps;
  await profStop(`forward-${kind}-${dtype}`);
  report(`forward-${kind}@${LAYER_T}`, dtype, ts, cpu, diff(c0, counts(), reps));
  printTrace(reps);
  model.dispose();
}

async function layer(dtype) {
  const H = 12;
  const D = 64;
  const T = LAYER_T;
  const l = SeaAttention.create(
    { causal: true, heads: H, headDim: D, predictorLength: 256, k: 64, nbFeatureFactor: 8, maxPositions: T },
    { seed: 1, backend: b, dtype },
  );
  const q = sea.zeros([1, H, T, D], { dtype });
  const k = sea.zeros([1, H, T, D], { dtype });
  const v = sea.zeros([1, H, T, D], { dtype });
  const run = async () => {
    const o = await l.forward(q, k, v);
    o.context.dispose();
    await b.sync();
  };
  for (let i = 0; i < 8; i++) await run();
  const c0 = counts();
  const ts = [];
  await profStart();
  const cpu0 = process.cpuUsage();
  tracing = TRACE;
  for (let i = 0; i < REPS; i++) {
    const t0 = performance.now();
    await run();
    ts.push((performance.now() - t0) * 1000);
  }
  tracing = false;
  const cpu = cpuUs(process.cpuUsage(cpu0)) / REPS;
  await profStop(`layer-sea-${dtype}`);
  report(`layer-sea@${T}`, dtype, ts, cpu, diff(c0, counts(), REPS));
  printTrace(REPS);
  for (const t of [q, k, v]) t.dispose();
  l.dispose();
}

/**
 * One training step at the OPT-125m shape over T = SEA_HOST_LAYER_T tokens, batch 1: `sea train`
 * (LmTrainer, dense) or `sea distill --attention sea` (Distiller: a float32 dense teacher, the SEA
 * student), forward + backward + clipping + AdamW, in `dtype` compute over float32 masters.
 */
async function trainStep(kind, dtype) {
  const hf = { ...train.OPT_125M_CONFIG, max_position_embeddings: Math.max(2048, LAYER_T) };
  const zeros = () => {
    const w = new Map();
    for (const spec of optWeightSpecs(config, 'model.')) w.set(spec.name, sea.zeros(spec.shape));
    return w;
  };
  const tokens = Int32Array.from({ length: 4 * LAYER_T + 64 }, () => 4 + rng.int(config.vocabSize - 4));
  const opts = { seqLen: LAYER_T, batch: 1, seed: 0, computeDtype: dtype, evalWindows: 0 };
  let teacher = null;
  let t;
  if (kind === 'dense') t = await train.LmTrainer.create(hf, tokens, opts, zeros(), b);
  else {
    teacher = await OptForCausalLM.fromWeights(config, zeros(), { backend: b });
    const attention = kind === 'sea' ? 'sea' : kind.replace(/^distill-/, '');
    t = await train.Distiller.create(teacher, tokens, { ...opts, attention, ...seaConfigOf() });
  }
  await t.trainStep(); // warm-up: kernels and caches
  b.resetPeak();
  const steps = Number(process.env.SEA_HOST_TRAIN_STEPS ?? 2);
  const c0 = counts();
  const ts = [];
  await profStart();
  tracing = TRACE;
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < steps; i++) {
    const t0 = performance.now();
    await t.trainStep();
    ts.push((performance.now() - t0) * 1000);
  }
  tracing = false;
  const cpu = cpuUs(process.cpuUsage(cpu0)) / steps;
  await profStop(`train-${kind}-${dtype}`);
  report(`train-${kind}@${LAYER_T}`, dtype, ts, cpu, diff(c0, counts(), steps));
  // the allocator's accounting is real (only the addresses are the stub's): the step's peak
  console.log(`   peak device memory of a step: ${(b.memory().peakBytes / 2 ** 30).toFixed(2)} GiB`);
  printTrace(steps);
  t.dispose();
  teacher?.dispose();
}
const seaConfigOf = () => ({
  k: seaConfig.k,
  predictorLength: seaConfig.predictorLength,
  nbf: seaConfig.nbFeatureFactor,
});

console.log(`host cost over the stubs in ${STUB} (node ${process.version}); no GPU work is timed`);
for (const dtype of DTYPES) {
  if (CASES.includes('decode-dense')) await decode('dense', dtype);
  if (CASES.includes('decode-sea')) await decode('sea', dtype);
  if (CASES.includes('layer-sea')) await layer(dtype);
  if (CASES.includes('forward-dense')) await forward('dense', dtype);
  if (CASES.includes('forward-sea')) await forward('sea', dtype);
  if (CASES.includes('train-dense')) await trainStep('dense', dtype);
  if (CASES.includes('train-sea')) await trainStep('sea', dtype);
  // train-distill-<attention>: `sea distill --attention <attention>` (dense, performer, cosformer, reformer)
  for (const c of CASES.filter((x) => x.startsWith('train-distill-'))) await trainStep(c.slice(6), dtype);
}
const leak = b.memory();
console.log(`live device buffers after the runs: ${leak.buffers} (${leak.bytes} bytes)`);
if (process.env.SEA_HOST_JSON)
  fs.writeFileSync(
    process.env.SEA_HOST_JSON,
    JSON.stringify({ date: new Date().toISOString(), node: process.version, rows }, null, 1),
  );
b.destroy();
