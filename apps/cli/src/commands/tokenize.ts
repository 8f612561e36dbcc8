/** `sea tokenize`: text, GLUE TSV or WikiText files → OPT token ids (JSON array) for `sea distill`. */
import { tokenizeFiles, writeIds } from '../corpus.js';

export async function tokenizeCommand(files: string[], o: { out: string; json?: boolean }): Promise<void> {
  const t0 = performance.now();
  const { ids, chars } = await tokenizeFiles(files);
  writeIds(o.out, ids);
  const ms = performance.now() - t0;
  if (o.json)
    process.stdout.write(`${JSON.stringify({ files, out: o.out, chars, tokens: ids.length, ms })}\n`);
  else
    process.stdout.write(
      `wrote ${o.out}: ${ids.length.toLocaleString('en')} OPT tokens from ${files.length} file(s), ${chars.toLocaleString('en')} characters (${(ms / 1000).toFixed(1)} s)\n`,
    );
}
