/**
 * Preloaded (`node --import`) by the exit tests: makes one call inside a command throw a plain Error
 * midway (after a first success, with any progress bar running), per SEA_TEST_INJECT, and notes
 * the time of the throw on stderr so the test can measure how soon the process exits.
 */
import { BertForSequenceClassification } from '@sea/bert';
import { OptForCausalLM } from '@sea/opt';
import { AttentionExplorer } from '@sea/pictures';
import { OptTokenizer } from '@sea/tokenizers';
import { Distiller } from '@sea/train';

const where = process.env.SEA_TEST_INJECT;

// biome-ignore lint/suspicious/noExplicitAny: patching prototypes of several classes
function failOnCall(proto: any, method: string, call: number): void {
  const real = proto[method];
  let n = 0;
  proto[method] = function (this: unknown, ...args: unknown[]) {
    n += 1;
    if (n === call) {
      process.stderr.write(`sea-inject: thrown at ${Date.now()}\n`);
      throw new Error(`injected failure in ${method} (call ${n})`);
    }
    return real.apply(this, args);
  };
}

if (where === 'eval') failOnCall(OptForCausalLM.prototype, 'forward', 2);
else if (where === 'glue') failOnCall(BertForSequenceClassification.prototype, 'forward', 2);
else if (where === 'distill') failOnCall(Distiller.prototype, 'trainStep', 2);
else if (where === 'attention-map') failOnCall(AttentionExplorer.prototype, 'run', 1);
else if (where === 'tokenize') failOnCall(OptTokenizer.prototype, 'encode', 1);
else if (where) throw new Error(`SEA_TEST_INJECT=${where}: no such injection`);
