#!/usr/bin/env bash
# Installs Mesa 25's lavapipe (Vulkan on the CPU) into <repo>/.lavapipe so that Dawn (the `webgpu`
# package) finds an adapter on a machine with no GPU. Debian 12's own Mesa 22.3 is too old for Dawn;
# the bookworm-backports packages are unpacked into the project folder without touching the system.
# Idempotent: does nothing when .lavapipe/env.sh already exists. Also installs Debian's chromium
# (for the headless browser WebGPU test) when running as root and it is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
DEST=$PWD/.lavapipe

as_root() { [ "$(id -u)" = 0 ]; }

if ! dpkg -s mesa-vulkan-drivers libvulkan1 >/dev/null 2>&1; then
  if as_root; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mesa-vulkan-drivers libvulkan1 >/dev/null
  else
    echo "setup-lavapipe: mesa-vulkan-drivers/libvulkan1 missing and not root; WebGPU tests will skip" >&2
    exit 0
  fi
fi

if [ ! -f "$DEST/env.sh" ]; then
  W=$(mktemp -d)
  trap 'rm -rf "$W"' EXIT
  mkdir -p "$W/lists/partial" "$W/cache/archives/partial" "$W/sl.d" "$W/pref.d" "$DEST"
  URI=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
  URI=${URI:-http://deb.debian.org/debian}
  printf 'deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] %s %s main\n' \
    "$URI" bookworm "$URI" bookworm-backports >"$W/sources.list"
  O="-o Dir::Etc::sourcelist=$W/sources.list -o Dir::Etc::sourceparts=$W/sl.d -o Dir::Etc::preferencesparts=$W/pref.d -o Dir::State::Lists=$W/lists -o Dir::Cache=$W/cache -o APT::Sandbox::User=root"
  # shellcheck disable=SC2086
  apt-get $O update -qq
  # shellcheck disable=SC2086
  (cd "$W" && apt-get $O download -qq mesa-vulkan-drivers/bookworm-backports libdrm2/bookworm-backports libdrm-amdgpu1/bookworm-backports)
  for d in "$W"/*.deb; do dpkg -x "$d" "$DEST"; done
  sed "s#\"library_path\": \"[^\"]*\"#\"library_path\": \"$DEST/usr/lib/x86_64-linux-gnu/libvulkan_lvp.so\"#" \
    "$DEST/usr/share/vulkan/icd.d/lvp_icd.json" >"$DEST/lvp_icd.json"
  cat >"$DEST/env.sh" <<ENV
export VK_ICD_FILENAMES=$DEST/lvp_icd.json
export LD_LIBRARY_PATH=$DEST/usr/lib/x86_64-linux-gnu\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}
ENV
  echo "setup-lavapipe: lavapipe installed in $DEST (source .lavapipe/env.sh)"
fi

if [ ! -x /usr/bin/chromium ] && as_root; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null || \
    echo "setup-lavapipe: chromium could not be installed; the browser test will skip" >&2
fi
