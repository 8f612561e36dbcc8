/** A progress bar on stderr (cli-progress), silent when --json or not a TTY unless forced. */
import cliProgress from 'cli-progress';

export interface Progress {
  tick(n: number, extra?: Record<string, string | number>): void;
  stop(): void;
}

export function progressBar(total: number, label: string, enabled: boolean): Progress {
  if (!enabled) return { tick() {}, stop() {} };
  const bar = new cliProgress.SingleBar(
    {
      format: `${label} [{bar}] {value}/{total} | {rate} tok/s | {extra}`,
      stream: process.stderr,
      hideCursor: true,
      noTTYOutput: true,
      notTTYSchedule: 5000,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, 0, { rate: '-', extra: '' });
  return {
    tick(n, extra = {}) {
      bar.update(n, {
        rate: extra.rate ?? '-',
        extra: Object.entries(extra)
          .filter(([k]) => k !== 'rate')
          .map(([k, v]) => `${k} ${v}`)
          .join(' '),
      });
    },
    stop() {
      bar.stop();
    },
  };
}
