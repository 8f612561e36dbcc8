// The backend registry: availability with reasons, default choice by priority, unknown names.
// Registry state is module-global; vitest gives each test file its own module instance.
import { describe, expect, it } from 'vitest';
import type { Backend } from './backend.js';
import { BackendUnavailableError, SeaError } from './errors.js';
import {
  availableBackends,
  currentBackend,
  defaultBackend,
  forgetBackend,
  getBackend,
  registerBackend,
  registeredBackends,
  releaseBackends,
  setBackend,
  useBackend,
} from './registry.js';

const stub = (name: string) => ({ name }) as unknown as Backend;

describe('registry', () => {
  it('has no current backend until one is set', () => {
    expect(() => currentBackend()).toThrow(/no backend selected: call `await setBackend\(\)`/);
  });

  it('with nothing registered, the default names the fix', async () => {
    await expect(defaultBackend()).rejects.toThrow(/none registered — import @sea\/backend-cpu/);
  });

  it('reports failing factories with their reasons, highest priority first', async () => {
    let gpuCalls = 0;
    registerBackend({ name: 'low', priority: 0, create: () => stub('low') });
    registerBackend({
      name: 'gpu',
      priority: 20,
      create: () => {
        gpuCalls++;
        throw new BackendUnavailableError('gpu', 'libcuda.so.1 not found');
      },
    });
    registerBackend({
      name: 'mid',
      priority: 10,
      create: async () => {
        throw new Error('adapter request failed');
      },
    });
    const list = await availableBackends();
    expect(list).toEqual([
      { name: 'gpu', available: false, priority: 20, reason: 'libcuda.so.1 not found' },
      { name: 'mid', available: false, priority: 10, reason: 'adapter request failed' },
      { name: 'low', available: true, priority: 0 },
    ]);
    expect(registeredBackends()).toEqual(['low', 'gpu', 'mid']);

    // the default is the highest-priority backend that initialises
    expect((await defaultBackend()).name).toBe('low');

    // a failure is remembered (the factory is not retried) and rethrown as BackendUnavailableError
    const err = await getBackend('gpu').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BackendUnavailableError);
    expect((err as BackendUnavailableError).message).toBe(
      "backend 'gpu' is unavailable: libcuda.so.1 not found",
    );
    expect(gpuCalls).toBe(1);

    // forgetting it lets the next request try again
    forgetBackend('gpu');
    await getBackend('gpu').catch(() => {});
    expect(gpuCalls).toBe(2);
  });

  it('picks a higher-priority backend once it is available', async () => {
    registerBackend({ name: 'top', priority: 30, create: () => stub('top') });
    expect((await defaultBackend()).name).toBe('top');
    expect((await setBackend()).name).toBe('top');
    expect(currentBackend().name).toBe('top');
    expect((await setBackend('low')).name).toBe('low');
  });

  it('creates each backend once', async () => {
    let n = 0;
    registerBackend({
      name: 'once',
      priority: -1,
      create: () => {
        n++;
        return stub('once');
      },
    });
    const [a, b] = await Promise.all([getBackend('once'), getBackend('once')]);
    expect(a).toBe(b);
    expect(await getBackend('once')).toBe(a);
    expect(n).toBe(1);
  });

  it('an unknown name lists the registered backends', async () => {
    const err = await getBackend('tpu').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SeaError);
    expect((err as SeaError).code).toBe('E_BACKEND_UNKNOWN');
    expect((err as SeaError).message).toMatch(/unknown backend 'tpu'; registered: low, gpu, mid, top, once/);
    expect((err as SeaError).message).toContain('@sea/backend-tpu');
  });

  it('useBackend sets an instance; forgetting its name clears it', () => {
    useBackend(stub('low'));
    expect(currentBackend().name).toBe('low');
    forgetBackend('low');
    expect(() => currentBackend()).toThrow(SeaError);
  });
});

describe('registry with nothing available', () => {
  it('the default error lists every reason', async () => {
    // gpu and mid from above still fail; hide the working ones
    forgetBackend('low');
    registerBackend({
      name: 'low',
      priority: 0,
      create: () => {
        throw new BackendUnavailableError('low', 'disabled');
      },
    });
    registerBackend({
      name: 'top',
      priority: 30,
      create: () => {
        throw new Error('gone');
      },
    });
    forgetBackend('top');
    registerBackend({
      name: 'once',
      priority: -1,
      create: () => {
        throw new Error('gone too');
      },
    });
    forgetBackend('once');
    await expect(defaultBackend()).rejects.toThrow(
      /no backend is available: top \(gone\); gpu \(libcuda.so.1 not found\)/,
    );
  });

  it('releaseBackends syncs and destroys every instance it made, then forgets them', async () => {
    const log: string[] = [];
    const tracked = (name: string) =>
      ({
        name,
        sync: async () => {
          log.push(`sync ${name}`);
        },
        destroy: () => {
          log.push(`destroy ${name}`);
        },
      }) as unknown as Backend;
    registerBackend({ name: 'gpu-a', priority: 30, create: () => tracked('gpu-a') });
    registerBackend({ name: 'gpu-b', priority: 31, create: () => tracked('gpu-b') });
    const a = await getBackend('gpu-a');
    await getBackend('gpu-b');
    useBackend(a);
    await releaseBackends();
    expect(log).toEqual(['sync gpu-a', 'destroy gpu-a', 'sync gpu-b', 'destroy gpu-b']);
    expect(() => currentBackend()).toThrow(/no backend selected/);
    expect(await getBackend('gpu-a')).not.toBe(a);
  });
});
