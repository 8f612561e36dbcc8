import { adapterLine, autoChoice, availableBackends } from '../backends.js';

export async function infoCommand(opts: { json?: boolean }): Promise<void> {
  const list = await availableBackends();
  const def = autoChoice(list);
  if (opts.json) {
    process.stdout.write(
      `${JSON.stringify({ node: process.version, backends: list, default: def ?? null }, null, 2)}\n`,
    );
    return;
  }
  process.stdout.write(`sea on Node ${process.version}\nbackends (highest priority first):\n`);
  for (const b of list) {
    process.stdout.write(
      `  ${b.available ? '✓' : '✗'} ${b.name.padEnd(8)} ${b.available ? 'available' : `unavailable: ${b.reason}`}\n`,
    );
    if (b.adapter) process.stdout.write(`             adapter: ${adapterLine(b.adapter)}\n`);
  }
  const skipped = list.find((b) => b.available && b.name !== 'cpu' && b.adapter?.software);
  process.stdout.write(
    `default: ${def ?? 'none'}${skipped ? ` (${skipped.name} runs on a software adapter, slower than the CPU backend here; --backend ${skipped.name} uses it)` : ''}\n`,
  );
}
