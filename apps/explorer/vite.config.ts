/**
 * The explorer page. Workspace packages resolve to their TypeScript sources (the `source`
 * condition). Node-only code that the shared packages import for their file readers (`node:fs`,
 * `node:path`, …) becomes a stub whose functions throw if called; the page never calls them.
 * Dawn (`webgpu`) is loaded by @sea/backend-webgpu through a non-literal import that only runs where
 * `navigator.gpu` is missing, so it is never bundled; koffi is only in @sea/backend-cuda, which the
 * page does not import. The OPT tokenizer's vocab.json and merges.txt come from the repository's
 * data folder (`<repo>/data`, or `$SEA_DATA`), and the distilled model kept in the repository (models/opt-small-wt2-sea) comes from there:
 * both served in dev, emitted as assets in the build.
 */
import { existsSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultClientConditions, defineConfig, type Plugin } from 'vite';

const here = dirname(fileURLToPath(import.meta.url));

/** The repository's data folder (`<repo>/data`), or `$SEA_DATA` (see @sea/data). */
function dataDir(): string {
  return process.env.SEA_DATA || resolve(here, '../../data');
}

/** Page path → file under the data folder. */
const TOKENIZER_FILES: Record<string, string> = {
  'tokenizer/opt/vocab.json': 'tokenizers/opt/vocab.json',
  'tokenizer/gpt2/merges.txt': 'tokenizers/gpt2/merges.txt',
};

/** Page path → file of the repository: the distilled model the page offers. */
const DISTILLED = 'opt-small-wt2-sea';
const MODEL_FILES: Record<string, string> = Object.fromEntries(
  ['config.json', 'model.safetensors', 'sea.safetensors'].map((f) => [
    `model/${DISTILLED}/${f}`,
    resolve(here, '../../models', DISTILLED, f),
  ]),
);

function tokenizerAssets(): Plugin {
  const read = (rel: string): Buffer => {
    if (MODEL_FILES[rel]) {
      if (!existsSync(MODEL_FILES[rel])) throw new Error(`explorer: ${MODEL_FILES[rel]} not found`);
      return readFileSync(MODEL_FILES[rel]);
    }
    const file = join(dataDir(), rel);
    if (!existsSync(file)) {
      throw new Error(`explorer: ${file} not found (the data folder is <repo>/data, or $SEA_DATA when set)`);
    }
    return readFileSync(file);
  };
  return {
    name: 'sea-explorer-tokenizer-assets',
    configureServer(server) {
      server.middlewares.use((req, res, next) => {
        const path = (req.url ?? '').split('?')[0].replace(/^\/+/, '');
        const rel = TOKENIZER_FILES[path] ?? (MODEL_FILES[path] ? path : undefined);
        if (!rel) return next();
        const type = path.endsWith('.json')
          ? 'application/json'
          : path.endsWith('.safetensors')
            ? 'application/octet-stream'
            : 'text/plain';
        res.setHeader('content-type', type);
        res.end(read(rel));
      });
    },
    generateBundle() {
      for (const [fileName, rel] of Object.entries(TOKENIZER_FILES)) {
        this.emitFile({ type: 'asset', fileName, source: read(rel) });
      }
      for (const fileName of Object.keys(MODEL_FILES)) {
        this.emitFile({ type: 'asset', fileName, source: read(fileName) });
      }
    },
  };
}

const STUB = '\0sea-node-stub:';
const builtins = new Set([...builtinModules, ...builtinModules.map((m) => `node:${m}`)]);

/** Node built-ins → modules with the same export names whose functions throw when called. */
function nodeStubs(): Plugin {
  return {
    name: 'sea-explorer-node-stubs',
    enforce: 'pre',
    resolveId(id) {
      return builtins.has(id) ? STUB + id.replace(/^node:/, '') : null;
    },
    async load(id) {
      if (!id.startsWith(STUB)) return null;
      const name = id.slice(STUB.length);
      const mod = (await import(`node:${name}`)) as Record<string, unknown>;
      const names = Object.keys(mod).filter((k) => k !== 'default' && /^[A-Za-z_$][\w$]*$/.test(k));
      const fail = `() => { throw new Error('node:${name} is not available in the browser'); }`;
      return [
        `const fail = ${fail};`,
        `const stub = new Proxy(fail, { get: () => fail });`,
        ...names.map((k) => `export const ${k} = fail;`),
        'export default stub;',
      ].join('\n');
    },
  };
}

export default defineConfig({
  root: here,
  base: './',
  plugins: [nodeStubs(), tokenizerAssets()],
  resolve: { conditions: ['source', ...defaultClientConditions] },
  // scan only the page for dependencies (not a previous build under dist/)
  optimizeDeps: { entries: ['index.html'] },
  build: {
    outDir: resolve(here, 'dist/page'),
    emptyOutDir: true,
    target: 'es2022',
    chunkSizeWarningLimit: 2048,
  },
  server: { host: '127.0.0.1' },
  preview: { host: '127.0.0.1' },
});
