# Shared by the pack-*.sh scripts (source it): what every GPU-machine run needs beside the code.

# copy_koffi DEST_NODE_MODULES: koffi and its linux-x64 binary, from the CUDA backend's dependency.
copy_koffi() {
  local dest="$1" koffi kx
  koffi="$(readlink -f "$ROOT/packages/backend-cuda/node_modules/koffi")"
  mkdir -p "$dest/@koromix/koffi-linux-x64"
  cp -r "$koffi" "$dest/koffi"
  rm -rf "$dest/koffi/doc"
  kx="$(readlink -f "$koffi/../@koromix/koffi-linux-x64")"
  cp "$kx/package.json" "$kx/index.js" "$dest/@koromix/koffi-linux-x64/" 2>/dev/null || true
  cp -r "$kx/linux_x64" "$dest/@koromix/koffi-linux-x64/"
}

# pack_node DEST: this machine's Node as DEST/node-<version>-linux-x64.tar.xz (kept when present).
pack_node() {
  local dest="$1" bin ver tmp
  bin="$(command -v node)"
  ver="$("$bin" --version)"
  [ -f "$dest/node-$ver-linux-x64.tar.xz" ] && return 0
  tmp="$(mktemp -d)"
  mkdir -p "$tmp/node/bin"
  cp "$bin" "$tmp/node/bin/node"
  tar -C "$tmp" -cJf "$dest/node-$ver-linux-x64.tar.xz" node
  rm -rf "$tmp"
}
