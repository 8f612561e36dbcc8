// Prints the hottest functions of a V8 CPU profile (node --cpu-prof): self time and, for the top
// entries, total time (self + callees), aggregated by function name and source location.
// Usage: node top.mjs <file.cpuprofile> [rows=40]
import fs from 'node:fs';

const prof = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const N = Number(process.argv[3] ?? 40);
const byId = new Map(prof.nodes.map((n) => [n.id, n]));
const self = new Map();
const dt = new Map();
for (let i = 0; i < prof.samples.length; i++) {
  const id = prof.samples[i];
  dt.set(id, (dt.get(id) ?? 0) + (prof.timeDeltas[i] ?? 0));
}
const key = (n) => {
  const f = n.callFrame;
  const file = f.url.replace(/^.*\/packages\//, '').replace(/^file:\/\//, '');
  return `${f.functionName || '(anon)'} ${file}:${f.lineNumber + 1}`;
};
const parent = new Map();
for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const total = new Map();
let all = 0;
for (const [id, t] of dt) {
  all += t;
  const k = key(byId.get(id));
  self.set(k, (self.get(k) ?? 0) + t);
  // total: each distinct function on the stack once
  const seen = new Set();
  for (let p = id; p !== undefined; p = parent.get(p)) {
    const kk = key(byId.get(p));
    if (seen.has(kk)) continue;
    seen.add(kk);
    total.set(kk, (total.get(kk) ?? 0) + t);
  }
}
const pct = (t) => `${((100 * t) / all).toFixed(1).padStart(5)}%`;
console.log(`total ${(all / 1000).toFixed(0)} ms sampled\n-- self, by package`);
const pkg = new Map();
for (const [k, t] of self) {
  const m = k.match(/ ([\w-]+)\/src\//);
  const p = m ? `@sea/${m[1]}` : k.startsWith('(') ? k.split(' ')[0] : 'native / node';
  pkg.set(p, (pkg.get(p) ?? 0) + t);
}
for (const [k, t] of [...pkg].sort((a, b) => b[1] - a[1])) console.log(pct(t), k);
console.log('-- self');
for (const [k, t] of [...self].sort((a, b) => b[1] - a[1]).slice(0, N)) console.log(pct(t), k);
console.log('-- total (self + callees)');
for (const [k, t] of [...total].sort((a, b) => b[1] - a[1]).slice(0, N)) console.log(pct(t), k);
