# Shared by the pack-*.sh scripts (source it): what every GPU-machine run needs beside the code.

# copy_koffi DEST_NODE_MODULES: koffi and its linux-x64 binary, from the CUDA backend's dependency.
copy_koffi() {
  local dest="$1" koffi kx
  koffi="$(readlink -f "$ROOT/packages/backend-cuda/node_modules/koffi")"
  mkdir -p "$dest/@koromix/koffi-linux-x64"
  cp -r "$koffi" "$dest/koffi"
  # what runs: the JavaScript and the prebuilt binary; not the C++ sources, headers and docs that
  # building koffi needs (1.5 MB: the bundle and the tree travel within 64 MiB)
  rm -rf "$dest/koffi/doc" "$dest/koffi/lib" "$dest/koffi/vendor" "$dest/koffi/CHANGELOG.md" "$dest/koffi/README.md"
  find "$dest/koffi/src" -type f \( -name '*.cc' -o -name '*.hh' -o -name '*.inc' -o -name '*.S' \
    -o -name '*.asm' -o -name '*.def' -o -name '*.txt' \) -delete
  kx="$(readlink -f "$koffi/../@koromix/koffi-linux-x64")"
  cp "$kx/package.json" "$kx/index.js" "$dest/@koromix/koffi-linux-x64/" 2>/dev/null || true
  cp -r "$kx/linux_x64" "$dest/@koromix/koffi-linux-x64/"
}

# pack_node DEST: this machine's Node, stripped, as DEST/node-<version>-linux-x64.tar.xz (kept when present).
pack_node() {
  local dest="$1" bin ver tmp
  bin="$(command -v node)"
  ver="$("$bin" --version)"
  [ -f "$dest/node-$ver-linux-x64.tar.xz" ] && return 0
  tmp="$(mktemp -d)"
  mkdir -p "$tmp/node/bin"
  cp "$bin" "$tmp/node/bin/node"
  # without its symbol table (2 MB less compressed: the bundle and the tree travel within 64 MiB)
  command -v strip >/dev/null && strip "$tmp/node/bin/node"
  tar -C "$tmp" -cJf "$dest/node-$ver-linux-x64.tar.xz" node
  rm -rf "$tmp"
}

# device_env BUNDLE: on the GPU machine, unpacks the bundle's Node into /tmp/sea-node (once), puts
# the CUDA libraries of Python's nvidia-* wheels (cuBLAS, NCCL) on LD_LIBRARY_PATH and sets the
# kernel cache; NODE names the node binary afterwards.
device_env() {
  local bundle="$1" tarball extra
  tarball="$(ls "$bundle"/node-*-linux-x64.tar.xz | head -1)"
  NODE_DIR=/tmp/sea-node
  if [ ! -x "$NODE_DIR/node/bin/node" ]; then
    mkdir -p "$NODE_DIR"
    if command -v xz >/dev/null; then tar -xJf "$tarball" -C "$NODE_DIR"
    else python3 -c 'import sys,tarfile; tarfile.open(sys.argv[1]).extractall(sys.argv[2])' "$tarball" "$NODE_DIR"; fi
  fi
  NODE="$NODE_DIR/node/bin/node"
  extra="$(python3 -c 'import glob,os,site
d=[]
for sp in site.getsitepackages()+[site.getusersitepackages()]:
    d+=sorted(glob.glob(os.path.join(sp,"nvidia","*","lib")))
print(":".join(d))' 2>/dev/null)"
  [ -n "$extra" ] && export LD_LIBRARY_PATH="$extra${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  export SEA_CUDA_CACHE=/tmp/sea-cuda-cache NCCL_NVLS_ENABLE=0
}
