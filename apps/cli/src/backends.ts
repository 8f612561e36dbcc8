/** Registers every backend package with the registry and picks one for a command. */
import '@sea/backend-cpu';
import '@sea/backend-webgpu';
import '@sea/backend-cuda';
import { type Backend, getBackend, setBackend } from '@sea/tensor';

export { availableBackends } from '@sea/tensor';

/** `auto` (or nothing) picks the highest-priority backend that starts here. */
export async function chooseBackend(name: string | undefined): Promise<Backend> {
  if (!name || name === 'auto') return setBackend();
  const b = await getBackend(name);
  return setBackend(b.name);
}
