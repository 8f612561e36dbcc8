/**
 * The explorer page: pick a model and a backend, type text, see exact and estimated attention for
 * one layer and head. All model work is in @sea/pictures (shared with the CLI); this file is DOM.
 */
import { CpuBackend } from '@sea/backend-cpu';
import { createWebGpuBackend } from '@sea/backend-webgpu';
import {
  AttentionExplorer,
  type AttentionMaps,
  bundledModel,
  colourBarImage,
  EXPLORER_SEA,
  type ExplorerModel,
  heatmapImage,
  legendTicks,
  type MatrixPicture,
  modelFromFiles,
  pictureCell,
  picturesOf,
  type Rgba,
  scaleNote,
} from '@sea/pictures';
import { type Backend, BackendUnavailableError } from '@sea/tensor';
import { OptTokenizer } from '@sea/tokenizers';

export const DEFAULT_TEXT =
  'SEA estimates attention with a Performer and a small CNN, keeps the top cells for each query, and runs exact attention only there.';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const els = {
  modelSource: $<HTMLSelectElement>('model-source'),
  modelFiles: $<HTMLInputElement>('model-files'),
  modelLabel: $<HTMLSpanElement>('model-label'),
  backendChoice: $<HTMLSelectElement>('backend-choice'),
  text: $<HTMLTextAreaElement>('text'),
  layer: $<HTMLSelectElement>('layer'),
  head: $<HTMLSelectElement>('head'),
  k: $<HTMLInputElement>('k'),
  K: $<HTMLInputElement>('K'),
  run: $<HTMLButtonElement>('run'),
  status: $<HTMLParagraphElement>('status'),
  backendNote: $<HTMLParagraphElement>('backend-note'),
  seaNote: $<HTMLParagraphElement>('sea-note'),
  tokens: $<HTMLElement>('tokens'),
  summary: $<HTMLElement>('summary'),
  pictures: $<HTMLElement>('pictures'),
  steps: $<HTMLTableElement>('steps'),
  tooltip: $<HTMLDivElement>('tooltip'),
};

interface State {
  backend: Backend | null;
  backendNote: string;
  tokenizer: OptTokenizer | null;
  model: ExplorerModel | null;
  explorer: AttentionExplorer | null;
  maps: AttentionMaps | null;
}
const state: State = {
  backend: null,
  backendNote: '',
  tokenizer: null,
  model: null,
  explorer: null,
  maps: null,
};

function setStatus(text: string, kind: 'busy' | 'done' | 'error' = 'busy'): void {
  els.status.textContent = text;
  els.status.className = `status ${kind}`;
  document.body.dataset.state = kind === 'busy' ? 'running' : kind;
}

function describeError(e: unknown): string {
  if (e instanceof BackendUnavailableError) return e.reason;
  return e instanceof Error ? e.message : String(e);
}

// ---- backend ----

async function makeBackend(choice: string): Promise<{ backend: Backend; note: string }> {
  let reason = '';
  if (choice !== 'cpu') {
    try {
      const b = await createWebGpuBackend();
      const s = b.summary;
      const adapter =
        [s.vendor, s.architecture, s.device, s.description].filter(Boolean).join(' ') || 'unnamed adapter';
      const soft = s.isFallback ? ' — a software adapter: results are exact, times are not a GPU’s' : '';
      return { backend: b, note: `Ran on WebGPU (${adapter})${soft}.` };
    } catch (e) {
      reason = describeError(e);
    }
  }
  const backend = new CpuBackend();
  const note =
    choice === 'cpu'
      ? 'Ran on the CPU backend (chosen).'
      : `Ran on the CPU backend: WebGPU is unavailable here (${reason}).`;
  return { backend, note };
}

async function useBackend(choice: string): Promise<void> {
  state.explorer?.dispose();
  state.explorer = null;
  state.backend?.destroy();
  setStatus('Starting the backend…');
  const { backend, note } = await makeBackend(choice);
  state.backend = backend;
  state.backendNote = note;
  els.backendNote.textContent = note;
  document.body.dataset.backend = backend.name;
}

// ---- model and tokenizer ----

async function bundledTokenizer(): Promise<OptTokenizer> {
  const get = async (path: string) => {
    const r = await fetch(path);
    if (!r.ok) throw new Error(`cannot load ${path}: HTTP ${r.status}`);
    return r.text();
  };
  const [vocab, merges] = await Promise.all([
    get('./tokenizer/opt/vocab.json'),
    get('./tokenizer/gpt2/merges.txt'),
  ]);
  return OptTokenizer.fromVocabFiles(vocab, merges);
}

const loadBundledModel = (): Promise<ExplorerModel> => bundledModel();

/**
 * The distilled model kept in the repository, served beside the page: its config.json's `sea` block
 * gives k and K (the SEA weights fix K).
 */
async function loadDistilledModel(): Promise<ExplorerModel> {
  const dir = './model/opt-small-wt2-sea/';
  const get = async (f: string) => {
    const r = await fetch(dir + f);
    if (!r.ok) throw new Error(`cannot load ${dir}${f}: HTTP ${r.status}`);
    return r;
  };
  const [config, model, sea] = await Promise.all(
    ['config.json', 'model.safetensors', 'sea.safetensors'].map(get),
  );
  const configText = await config.text();
  const block = (JSON.parse(configText) as { sea?: { k?: number; predictor_length?: number } }).sea;
  if (block?.k) els.k.value = String(block.k);
  if (block?.predictor_length) els.K.value = String(block.predictor_length);
  const bytes = await Promise.all([model, sea].map(async (r) => new Uint8Array(await r.arrayBuffer())));
  return modelFromFiles('opt-small-wt2-sea (distilled SEA)', configText, bytes, { randomWeights: false });
}

async function loadFolder(
  files: FileList,
): Promise<{ model: ExplorerModel; tokenizer: OptTokenizer | null }> {
  const list = [...files];
  const byName = (n: string) => list.find((f) => f.name === n);
  const config = byName('config.json');
  const tensors = list.filter((f) => f.name.endsWith('.safetensors'));
  if (!config || !tensors.length)
    throw new Error('pick config.json and model.safetensors (and optionally vocab.json + merges.txt)');
  // model.safetensors first: its tensors win over a separate SEA weights file's
  tensors.sort((a, b) => Number(b.name === 'model.safetensors') - Number(a.name === 'model.safetensors'));
  const bytes = await Promise.all(tensors.map(async (f) => new Uint8Array(await f.arrayBuffer())));
  const folder = (config as File & { webkitRelativePath?: string }).webkitRelativePath?.split('/')[0];
  const model = modelFromFiles(folder || tensors.map((f) => f.name).join(' + '), await config.text(), bytes);
  const vocab = byName('vocab.json');
  const merges = byName('merges.txt');
  const tokenizer =
    vocab && merges ? OptTokenizer.fromVocabFiles(await vocab.text(), await merges.text()) : null;
  return { model, tokenizer };
}

function useModel(model: ExplorerModel): void {
  state.explorer?.dispose();
  state.explorer = null;
  state.model = model;
  const c = model.config;
  els.modelLabel.textContent = `${model.label}: ${c.numHiddenLayers} layers, ${c.numAttentionHeads} heads, hidden ${c.hiddenSize}${model.randomWeights ? ' — RANDOM WEIGHTS (shows the mechanics, not language knowledge)' : ''}`;
  els.modelLabel.classList.toggle('warn', model.randomWeights);
  fillSelect(
    els.layer,
    c.numHiddenLayers,
    'layer',
    Math.min(Number(els.layer.value) || 0, c.numHiddenLayers - 1),
  );
  fillSelect(
    els.head,
    c.numAttentionHeads,
    'head',
    Math.min(Number(els.head.value) || 0, c.numAttentionHeads - 1),
  );
}

function fillSelect(sel: HTMLSelectElement, n: number, what: string, value: number): void {
  sel.replaceChildren(
    ...Array.from({ length: n }, (_, i) => {
      const o = document.createElement('option');
      o.value = String(i);
      o.textContent = `${what} ${i}`;
      return o;
    }),
  );
  sel.value = String(value);
}

// ---- running ----

let queue: Promise<void> = Promise.resolve();
let pending = 0;

/** Runs the pipeline (the explorer's caches decide what actually recomputes), one run at a time. */
function schedule(): void {
  pending++;
  queue = queue.then(async () => {
    pending--;
    if (pending > 0) return; // a newer request is queued: let it run instead
    await runOnce();
  });
}

async function runOnce(): Promise<void> {
  const { tokenizer, model } = state;
  if (!tokenizer || !model || !state.backend) return;
  try {
    const ids = tokenizer.encode(els.text.value);
    const layer = Number(els.layer.value);
    const k = Number(els.k.value);
    const K = Number(els.K.value);
    if (!state.explorer) state.explorer = new AttentionExplorer(model, state.backend);
    setStatus(`Running layer ${layer} on ${ids.length} tokens (k = ${k}, K = ${K})…`);
    let maps: AttentionMaps;
    try {
      maps = await state.explorer.run({ ids, layer, k, sea: { predictorLength: K } });
    } catch (e) {
      if (state.backend.name === 'cpu') throw e;
      // a WebGPU failure mid-run: say so and finish on the CPU
      const why = describeError(e);
      state.explorer.dispose();
      state.backend.destroy();
      state.backend = new CpuBackend();
      state.backendNote = `Ran on the CPU backend: WebGPU failed during the run (${why}).`;
      els.backendNote.textContent = state.backendNote;
      document.body.dataset.backend = 'cpu';
      state.explorer = new AttentionExplorer(model, state.backend);
      maps = await state.explorer.run({ ids, layer, k, sea: { predictorLength: K } });
    }
    state.maps = maps;
    draw();
    const ran = maps.steps.filter((s) => !s.cached).length;
    setStatus(
      `Done on ${maps.backend}: ${ran} of ${maps.steps.length} steps ran${ran < maps.steps.length ? ' (the rest came from the cache)' : ''}.`,
      'done',
    );
  } catch (e) {
    setStatus(`Error: ${describeError(e)}`, 'error');
    console.error(e);
  }
}

// ---- drawing ----

function toImageData(img: Rgba): ImageData {
  return new ImageData(new Uint8ClampedArray(img.data), img.width, img.height);
}

function drawPicture(p: MatrixPicture, maps: AttentionMaps): HTMLElement {
  const fig = document.createElement('figure');
  fig.className = 'pic';
  fig.dataset.id = p.id;
  const cap = document.createElement('figcaption');
  const h3 = document.createElement('h3');
  h3.textContent = p.title;
  const sub = document.createElement('p');
  sub.className = 'caption';
  sub.textContent = p.caption;
  cap.append(h3, sub);

  const cell = pictureCell(p, 300);
  const heat = heatmapImage(p, cell);
  const canvas = document.createElement('canvas');
  canvas.className = 'heat';
  canvas.width = heat.width;
  canvas.height = heat.height;
  Object.assign(canvas.dataset, {
    rows: String(p.rows),
    cols: String(p.cols),
    cell: String(cell),
    max: String(p.max),
    scale: p.scale,
    kind: p.kind,
  });
  canvas.getContext('2d')?.putImageData(toImageData(heat), 0, 0);
  canvas.addEventListener('mousemove', (ev) => showTooltip(ev, canvas, p, maps));
  canvas.addEventListener('mouseleave', () => {
    els.tooltip.hidden = true;
  });

  const axes = document.createElement('div');
  axes.className = 'axes';
  const colAxis = document.createElement('div');
  colAxis.className = 'col-axis';
  colAxis.textContent = `${p.colLabel} → (0 … ${p.cols - 1})`;
  const rowAxis = document.createElement('div');
  rowAxis.className = 'row-axis';
  rowAxis.textContent = `${p.rowLabel} ↓ (0 … ${p.rows - 1})`;
  axes.append(colAxis, canvas, rowAxis);

  const legend = document.createElement('div');
  legend.className = 'legend';
  const barH = Math.max(100, heat.height);
  const bar = document.createElement('canvas');
  bar.className = 'bar';
  bar.width = 14;
  bar.height = barH;
  bar.getContext('2d')?.putImageData(toImageData(colourBarImage(p, 14, barH)), 0, 0);
  const tickBox = document.createElement('div');
  tickBox.className = 'ticks';
  tickBox.style.height = `${barH}px`;
  for (const t of legendTicks(p)) {
    const s = document.createElement('span');
    s.textContent = t.label;
    s.style.top = `${Math.round(t.y * (barH - 1))}px`;
    tickBox.append(s);
  }
  legend.append(bar, tickBox);

  const plot = document.createElement('div');
  plot.className = 'plot';
  plot.append(axes, legend);
  const note = document.createElement('p');
  note.className = 'scale';
  note.textContent = scaleNote(p);
  fig.append(cap, plot, note);
  return fig;
}

function tokenText(id: number): string {
  const s = state.tokenizer?.decode([id]) ?? String(id);
  return s === '' ? `#${id}` : s;
}

function showTooltip(ev: MouseEvent, canvas: HTMLCanvasElement, p: MatrixPicture, maps: AttentionMaps): void {
  const cell = Number(canvas.dataset.cell);
  const sx = canvas.width / canvas.clientWidth;
  const sy = canvas.height / canvas.clientHeight;
  const c = Math.floor((ev.offsetX * sx) / cell);
  const r = Math.floor((ev.offsetY * sy) / cell);
  if (r < 0 || c < 0 || r >= p.rows || c >= p.cols) return;
  const i = r * p.cols + c;
  const q = `t=${r} ${JSON.stringify(tokenText(maps.ids[r]))}`;
  const col =
    p.colLabel === 'key j'
      ? `j=${c} ${JSON.stringify(tokenText(maps.ids[c]))}`
      : `${p.colLabel.split(' ')[1]}=${c}`;
  const v = p.visible && !p.visible[i] ? 'no key (j > t)' : p.values[i].toPrecision(4);
  els.tooltip.textContent = `${q} · ${col}: ${v}`;
  els.tooltip.hidden = false;
  els.tooltip.style.left = `${ev.pageX + 12}px`;
  els.tooltip.style.top = `${ev.pageY + 12}px`;
}

function mib(bytes: number): string {
  return bytes >= 2 ** 20 ? `${(bytes / 2 ** 20).toFixed(2)} MiB` : `${(bytes / 1024).toFixed(1)} KiB`;
}

function draw(): void {
  const maps = state.maps;
  if (!maps) return;
  const head = Number(els.head.value);
  els.seaNote.textContent = `SEA weights: ${maps.seaWeights}.`;
  els.seaNote.classList.toggle('warn', maps.seaWeights.startsWith('RANDOM'));

  els.tokens.replaceChildren(
    ...Array.from(maps.ids, (id, t) => {
      const s = document.createElement('span');
      s.className = 'tok';
      s.textContent = tokenText(id);
      s.title = `t=${t}, id ${id}`;
      const n = document.createElement('sub');
      n.textContent = String(t);
      s.append(n);
      return s;
    }),
  );

  const { T, H, D, K, k, nnz } = maps;
  const dense = (H * T * (T + 1)) / 2;
  let sProb = 0;
  let cover = 0;
  for (let t = 0; t < T; t++) {
    sProb += maps.sProb[head * T + t] / T;
    cover += maps.coverage[head * T + t] / T;
  }
  els.summary.innerHTML = '';
  const p = document.createElement('p');
  p.className = 'summary-line';
  p.textContent =
    `T = ${T} tokens · H = ${H} heads · D = ${D} · K = ${K} · k = ${k} · mask: ${nnz} keys ` +
    `(${(nnz / T).toFixed(1)} per row over all heads; exact attention uses ${dense}) · head ${head}: ` +
    `mean s_prob ${sProb.toFixed(3)}, exact attention mass inside the mask ${(cover * 100).toFixed(1)} %`;
  els.summary.append(p);

  els.pictures.replaceChildren(...picturesOf(maps, head).map((pic) => drawPicture(pic, maps)));

  const body = els.steps.tBodies[0];
  body.replaceChildren(
    ...maps.steps.map((s) => {
      const tr = document.createElement('tr');
      for (const v of [
        s.step,
        `${s.ms.toFixed(1)} ms`,
        mib(s.liveBytes),
        mib(s.peakExtraBytes),
        s.cached ? 'cached' : 'ran',
      ]) {
        const td = document.createElement('td');
        td.textContent = v;
        tr.append(td);
      }
      if (s.cached) tr.className = 'cached';
      return tr;
    }),
  );
}

// ---- wiring ----

let typing: ReturnType<typeof setTimeout> | undefined;
els.text.addEventListener('input', () => {
  clearTimeout(typing);
  typing = setTimeout(schedule, 500);
});
for (const el of [els.layer, els.k, els.K]) el.addEventListener('change', schedule);
els.run.addEventListener('click', schedule);
els.head.addEventListener('change', draw);
els.backendChoice.addEventListener('change', async () => {
  try {
    await useBackend(els.backendChoice.value);
    schedule();
  } catch (e) {
    setStatus(`Error: ${describeError(e)}`, 'error');
  }
});
els.modelSource.addEventListener('change', async () => {
  if (els.modelSource.value === 'folder') {
    els.modelFiles.click();
    return;
  }
  try {
    const distilled = els.modelSource.value === 'distilled';
    setStatus(distilled ? 'Loading the distilled model…' : 'Building the bundled model…');
    useModel(await (distilled ? loadDistilledModel() : loadBundledModel()));
    state.tokenizer = await bundledTokenizer();
    schedule();
  } catch (e) {
    setStatus(`Error: ${describeError(e)}`, 'error');
  }
});
els.modelFiles.addEventListener('change', async () => {
  const files = els.modelFiles.files;
  if (!files?.length) return;
  try {
    setStatus(`Reading ${files.length} files…`);
    const { model, tokenizer } = await loadFolder(files);
    useModel(model);
    state.tokenizer = tokenizer ?? (await bundledTokenizer());
    schedule();
  } catch (e) {
    setStatus(`Error: ${describeError(e)}`, 'error');
  }
});

async function start(): Promise<void> {
  const params = new URLSearchParams(location.search);
  els.text.value = params.get('text') ?? DEFAULT_TEXT;
  els.k.value = params.get('k') ?? '4';
  els.K.value = params.get('K') ?? String(EXPLORER_SEA.predictorLength);
  const backendChoice = params.get('backend') ?? 'auto';
  els.backendChoice.value = backendChoice;
  try {
    setStatus('Loading the tokenizer and building the bundled model…');
    const [tokenizer, model] = await Promise.all([bundledTokenizer(), loadBundledModel()]);
    state.tokenizer = tokenizer;
    useModel(model);
    if (params.has('layer')) els.layer.value = params.get('layer') as string;
    if (params.has('head')) els.head.value = params.get('head') as string;
    await useBackend(backendChoice);
    schedule();
  } catch (e) {
    setStatus(`Error: ${describeError(e)}`, 'error');
  }
}

void start();
