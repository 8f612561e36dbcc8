/**
 * Backend registry. Backend packages register a factory on import (`registerBackend`); programs
 * ask `availableBackends()` what can run here and why the others cannot, pick one explicitly with
 * `setBackend(name)`, or take `defaultBackend()` — the highest-priority backend that initialises,
 * which is the CPU when nothing else is there.
 */
import type { Backend } from './backend.js';
import { BackendUnavailableError, SeaError } from './errors.js';

export interface BackendFactory {
  name: string;
  /** Higher wins when choosing the default (cpu 0, webgpu 10, cuda 20). */
  priority: number;
  /** Creates the backend or throws BackendUnavailableError with the reason. */
  create(): Promise<Backend> | Backend;
}

export interface BackendStatus {
  name: string;
  available: boolean;
  priority: number;
  /** Why the backend cannot run here, when it cannot. */
  reason?: string;
}

const factories = new Map<string, BackendFactory>();
const instances = new Map<string, Promise<Backend>>();
const failures = new Map<string, string>();
let current: Backend | null = null;

export function registerBackend(factory: BackendFactory): void {
  factories.set(factory.name, factory);
}

export function registeredBackends(): string[] {
  return [...factories.keys()];
}

/** Initialises (once) and returns the named backend; throws BackendUnavailableError with the reason. */
export async function getBackend(name: string): Promise<Backend> {
  const factory = factories.get(name);
  if (!factory) {
    const known = registeredBackends();
    throw new SeaError(
      'E_BACKEND_UNKNOWN',
      `unknown backend '${name}'; registered: ${known.length ? known.join(', ') : 'none'} (import its package, e.g. @sea/backend-${name})`,
    );
  }
  const failed = failures.get(name);
  if (failed !== undefined) throw new BackendUnavailableError(name, failed);
  let p = instances.get(name);
  if (!p) {
    p = Promise.resolve()
      .then(() => factory.create())
      .catch((e: unknown) => {
        const reason =
          e instanceof BackendUnavailableError ? e.reason : e instanceof Error ? e.message : String(e);
        failures.set(name, reason);
        instances.delete(name);
        throw new BackendUnavailableError(name, reason);
      });
    instances.set(name, p);
  }
  return p;
}

/** Every registered backend, tried, with the reason for each that cannot run. Highest priority first. */
export async function availableBackends(): Promise<BackendStatus[]> {
  const out: BackendStatus[] = [];
  for (const f of factories.values()) {
    try {
      await getBackend(f.name);
      out.push({ name: f.name, available: true, priority: f.priority });
    } catch (e) {
      out.push({
        name: f.name,
        available: false,
        priority: f.priority,
        reason: e instanceof BackendUnavailableError ? e.reason : String(e),
      });
    }
  }
  return out.sort((a, b) => b.priority - a.priority);
}

/** The highest-priority backend that initialises. */
export async function defaultBackend(): Promise<Backend> {
  const list = await availableBackends();
  const best = list.find((s) => s.available);
  if (!best) {
    throw new SeaError(
      'E_NO_BACKEND',
      `no backend is available: ${list.map((s) => `${s.name} (${s.reason})`).join('; ') || 'none registered — import @sea/backend-cpu'}`,
    );
  }
  return getBackend(best.name);
}

/** Makes `name` (or the default) the backend that new tensors go to. */
export async function setBackend(name?: string): Promise<Backend> {
  current = name ? await getBackend(name) : await defaultBackend();
  return current;
}

/** The backend set by `setBackend`; throws when none has been set. */
export function currentBackend(): Backend {
  if (!current) {
    throw new SeaError(
      'E_NO_BACKEND',
      'no backend selected: call `await setBackend()` (or pass a backend) first',
    );
  }
  return current;
}

/** Sets the current backend to an existing instance (tests, embedding). */
export function useBackend(backend: Backend): void {
  current = backend;
}

/** Forgets an initialised instance (after destroy or device loss) so the next get re-creates it. */
export function forgetBackend(name: string): void {
  instances.delete(name);
  failures.delete(name);
  if (current?.name === name) current = null;
}

/**
 * Destroys every backend instance the registry made (after each one's queued work is done) and
 * forgets them. Programs call it before they exit, so no device — and no native thread of its
 * driver — is alive while the process tears down; `availableBackends()` and `setBackend()` create
 * every backend they probe.
 */
export async function releaseBackends(): Promise<void> {
  const all = [...instances.entries()];
  instances.clear();
  current = null;
  for (const [, p] of all) {
    const b = await p.catch(() => null);
    if (!b) continue;
    try {
      await b.sync();
    } finally {
      b.destroy();
    }
  }
}
