/**
 * Every command, as a real process, exits non-zero within a second of an error thrown inside it —
 * a plain Error injected midway (a preload patches one method: the second forward of eval and
 * glue, the second training step of distill, the explorer run of attention-map, the tokenizer of
 * tokenize), with progress bars running — and prints one `sea:` line. make-model and info fail on
 * their own bad input.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cleanErrorProblem, runProcess, tinyDistillArgs, useFixtures } from './harness.js';

const fx = useFixtures('sea-cli-exit-');
const root = fx.root;

const cases: [string, () => string[]][] = [
  ['eval', () => ['eval', '--model', fx.opt, '--data', fx.text, '--window', '8', '--backend', 'cpu']],
  [
    'glue',
    () => [
      'glue',
      '--model',
      fx.bert,
      '--limit',
      '6',
      '--batch',
      '2',
      '--max-length',
      '16',
      '--backend',
      'cpu',
    ],
  ],
  ['distill', () => tinyDistillArgs(fx.opt, fx.ids, path.join(root, 'run'), '--steps', '4')],
  [
    'attention-map',
    () => [
      'attention-map',
      '--model',
      fx.opt,
      '--text',
      'The tower is tall.',
      '--out',
      path.join(root, 'am'),
      '--backend',
      'cpu',
    ],
  ],
  ['tokenize', () => ['tokenize', fx.text, '--out', path.join(root, 'ids-out.json')]],
];

describe('each command exits within a second of an injected failure', () => {
  it.each(cases)(
    '%s',
    async (name, args) => {
      const r = await runProcess(args(), { inject: name, timeoutMs: 90_000 });
      expect(r.hung, r.stderr).toBe(false);
      expect(r.stderr).toMatch(/sea-inject: thrown at/);
      expect(
        cleanErrorProblem({ ...r, stderr: r.stderr.replace(/sea: internal error/, 'sea: error') }),
        r.stderr,
      ).toBeUndefined();
      expect(r.stderr).toMatch(/sea: internal error: injected failure in \w+ \(call \d\)/);
      expect(r.exitAfterThrowMs, r.stderr).toBeLessThan(1000);
    },
    120_000,
  );

  it.each([
    [
      'make-model',
      () => ['make-model', '--out', path.join(fx.text, 'below-a-file')],
      /sea: cannot mkdir .*below-a-file: ENOTDIR/,
    ],
    ['info', () => ['info', '--bogus'], /sea: unknown option '--bogus'/],
  ] as const)(
    '%s fails on bad input with one line, exit 1',
    async (_, args, re) => {
      const r = await runProcess(args(), { timeoutMs: 90_000 });
      expect(cleanErrorProblem(r), r.stderr).toBeUndefined();
      expect(r.stderr).toMatch(re);
    },
    120_000,
  );
});
