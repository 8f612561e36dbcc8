/** Registers every backend package with the registry and picks one for a command. */
import '@sea/backend-cpu';
import '@sea/backend-webgpu';
import '@sea/backend-cuda';
import {
  type Backend,
  type BackendStatus,
  getBackend,
  availableBackends as registryBackends,
  setBackend,
} from '@sea/tensor';
import { quietNativeStderr } from './quiet.js';

/** What the WebGPU backend says about its adapter (see @sea/backend-webgpu's AdapterSummary). */
export interface AdapterInfo {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** A CPU implementation of the GPU API (lavapipe/llvmpipe, SwiftShader) or a fallback adapter. */
  software: boolean;
}

/** The adapter behind a backend, for GPU backends that report one. */
export function adapterOf(b: Backend): AdapterInfo | undefined {
  const s = (b as { summary?: Partial<AdapterInfo> & { isFallback?: boolean } }).summary;
  if (!s) return undefined;
  const text = `${s.vendor ?? ''} ${s.architecture ?? ''} ${s.device ?? ''} ${s.description ?? ''}`;
  return {
    vendor: s.vendor ?? '',
    architecture: s.architecture ?? '',
    device: s.device ?? '',
    description: s.description ?? '',
    software: !!s.isFallback || /llvmpipe|lavapipe|swiftshader|software/i.test(text),
  };
}

/** One line naming a backend's adapter, e.g. "mesa software llvmpipe … (software)". */
export function adapterLine(a: AdapterInfo): string {
  const name = [a.vendor, a.architecture, a.device, a.description]
    .map((s) => s.trim())
    .filter(Boolean)
    .join(' · ');
  return `${name || 'unnamed adapter'}${a.software ? ' (software: a CPU implementation of the GPU API)' : ''}`;
}

/** The backends registered here, whether each starts, and the adapter of GPU backends. */
export async function availableBackends(): Promise<(BackendStatus & { adapter?: AdapterInfo })[]> {
  const list = await quietNativeStderr(() => registryBackends());
  const out: (BackendStatus & { adapter?: AdapterInfo })[] = [];
  for (const s of list) {
    const adapter = s.available ? adapterOf(await getBackend(s.name)) : undefined;
    out.push(adapter ? { ...s, adapter } : s);
  }
  return out;
}

/**
 * `auto` (or nothing) picks the highest-priority backend that starts here, except a GPU backend on
 * a software adapter (lavapipe, SwiftShader): there the CPU backend is faster (the demo on 2 cores:
 * CPU 195 tokens/s, WebGPU on lavapipe 50), so `auto` takes the CPU. Naming a backend always uses it.
 */
export async function chooseBackend(name: string | undefined): Promise<Backend> {
  return quietNativeStderr(async () => {
    if (!name || name === 'auto') {
      const best = await setBackend();
      if (best.name !== 'cpu' && adapterOf(best)?.software) return setBackend('cpu');
      return best;
    }
    const b = await getBackend(name);
    return setBackend(b.name);
  });
}

/** The backend `auto` picks (see chooseBackend), without making it the current one. */
export function autoChoice(list: readonly (BackendStatus & { adapter?: AdapterInfo })[]): string | undefined {
  const first = list.find((b) => b.available && !(b.name !== 'cpu' && b.adapter?.software));
  return first?.name;
}
