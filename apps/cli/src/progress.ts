/**
 * Progress on stderr: a bar (cli-progress) on a terminal, or plain lines (`progressLines`) where
 * stderr is a file or a pipe (logs, CI), so a long run shows it is alive either way.
 *
 * Every bar started is registered until stopped, and `stopAllProgress` (run by the command runner whatever
 * happens) stops the rest, so no redraw timer outlives a failed command.
 */
import cliProgress from 'cli-progress';

export interface Progress {
  tick(n: number, extra?: Record<string, string | number>): void;
  stop(): void;
}

const active = new Set<Progress>();

/** Stops every bar still running (after an error); returns how many were. */
export function stopAllProgress(): number {
  const n = active.size;
  for (const p of [...active]) p.stop();
  return n;
}

/** Bars started and not yet stopped (tests). */
export function activeProgressCount(): number {
  return active.size;
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
  const p: Progress = {
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
      if (!active.delete(p)) return;
      bar.stop();
    },
  };
  active.add(p);
  return p;
}

/**
 * Progress as plain lines on stderr, for runs whose stderr is not a terminal: one line every
 * `every` units (and at the end), e.g. `distill 40/200 | 512 tok/s | loss 3.21`.
 */
export function progressLines(total: number, label: string, every: number): Progress {
  let last = 0;
  let lastLine = '';
  const line = (n: number, extra: Record<string, string | number>) => {
    const rest = Object.entries(extra)
      .filter(([k]) => k !== 'rate')
      .map(([k, v]) => `${k} ${v}`)
      .join(' ');
    return `${label} ${n}/${total}${extra.rate !== undefined ? ` | ${extra.rate} tok/s` : ''}${rest ? ` | ${rest}` : ''}\n`;
  };
  return {
    tick(n, extra = {}) {
      lastLine = line(n, extra);
      if (n - last >= every || n === total) {
        last = n;
        process.stderr.write(lastLine);
        lastLine = '';
      }
    },
    stop() {
      if (lastLine) process.stderr.write(lastLine);
    },
  };
}
