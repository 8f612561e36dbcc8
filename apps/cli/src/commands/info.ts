import { availableBackends } from '../backends.js';

export async function infoCommand(opts: { json?: boolean }): Promise<void> {
  const list = await availableBackends();
  if (opts.json) {
    process.stdout.write(`${JSON.stringify({ node: process.version, backends: list }, null, 2)}\n`);
    return;
  }
  process.stdout.write(`sea on Node ${process.version}\nbackends (highest priority first):\n`);
  for (const b of list) {
    process.stdout.write(
      `  ${b.available ? '✓' : '✗'} ${b.name.padEnd(8)} ${b.available ? 'available' : `unavailable: ${b.reason}`}\n`,
    );
  }
  const def = list.find((b) => b.available);
  process.stdout.write(`default: ${def ? def.name : 'none'}\n`);
}
