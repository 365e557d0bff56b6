#!/usr/bin/env bash
# Idempotent setup: npm dependencies, the TypeScript build, Chromium (for the browser test)
# and a WebGPU adapter. Silent when there is nothing to do; `--adapter` prints the adapter Dawn
# finds as one JSON line on stdout. As root on Debian, installs Debian's chromium package when missing and,
# where Dawn finds no adapter, Mesa's lavapipe (software Vulkan) from bookworm-backports:
# bookworm's own Mesa 22 is too old for Dawn.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { echo "[kiln setup] $*" >&2; }
show_adapter=no
for arg in "$@"; do
  case "$arg" in
    --adapter) show_adapter=yes ;;
    *) say "unknown option '$arg' (setup takes --adapter)"; exit 2 ;;
  esac
done

# Mesa's software drivers warn without a private runtime directory.
if [ -z "${XDG_RUNTIME_DIR:-}" ] || [ ! -d "${XDG_RUNTIME_DIR}" ]; then
  export XDG_RUNTIME_DIR="${TMPDIR:-/tmp}/kiln-xdg-$(id -u)"
  mkdir -p "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR"
fi

# 1. npm dependencies, when missing or older than the lockfile.
# onnxruntime-node (a dev dependency: the reference in tests and benchmarks) downloads CUDA
# binaries from outside the npm registry at install unless told to skip; its bundled CPU
# provider is all kiln uses.
export ONNXRUNTIME_NODE_INSTALL="${ONNXRUNTIME_NODE_INSTALL:-skip}"
if [ ! -d node_modules ] || [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "installing npm dependencies"
  if [ -f package-lock.json ]; then npm ci --no-audit --no-fund >&2; else npm install --no-audit --no-fund >&2; fi
fi

# 2. The TypeScript build (dist/), when any source is newer than the last build (`npm run build`
# writes the same stamp, so a build there is not repeated here).
stamp=dist/.build-stamp
if [ ! -f "$stamp" ] || [ -n "$(find src examples bench tsconfig.json package.json -newer "$stamp" -type f 2>/dev/null | head -1)" ]; then
  say "building (tsc)"
  npx tsc -p tsconfig.json
  touch "$stamp"
fi

# System packages come from apt, only when we are root on Debian/Ubuntu.
can_apt=no
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null && [ -r /etc/os-release ]; then
  . /etc/os-release
  can_apt=yes
fi
apt_updated=no
apt_update() {
  if [ "$apt_updated" = no ]; then apt-get update -qq >&2; apt_updated=yes; fi
}
require_all() { [ -n "${KILN_REQUIRE_GPU:-}" ] && [ "${KILN_REQUIRE_GPU}" != 0 ]; }

# 3. Chromium, for the browser test (test/browser): Debian's own package, driven headless by
# playwright-core, which never downloads a browser of its own.
chromium_bin="${KILN_CHROMIUM:-/usr/bin/chromium}"
if [ -x "$chromium_bin" ]; then
  : # present
elif [ "$can_apt" = yes ]; then
  say "installing Chromium (Debian's chromium package) for the browser test"
  if ! { apt_update && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >&2; } || [ ! -x "$chromium_bin" ]; then
    say "could not install Chromium: 'apt-get install chromium' failed or gave no $chromium_bin; the browser test cannot run"
    if require_all; then exit 1; fi
  fi
else
  say "Chromium is not installed ($chromium_bin): the browser test needs it; as root: apt-get install chromium"
fi

# 4. A WebGPU adapter.
probe() { node scripts/probe-adapter.mjs 2>/dev/null; }
if adapter="$(probe)"; then
  if [ "$show_adapter" = yes ]; then echo "$adapter"; fi
  exit 0
fi

say "Dawn found no WebGPU adapter"
if [ "$can_apt" = yes ] && [ "${VERSION_CODENAME:-}" = bookworm ]; then
  say "installing Mesa lavapipe (software Vulkan) from bookworm-backports"
  if ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
    cat > /etc/apt/sources.list.d/kiln-bookworm-backports.sources <<'SRC'
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
  fi
  apt-get update -qq >&2 # again: the backports suite may be new
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -t bookworm-backports mesa-vulkan-drivers libvulkan1 >&2
elif [ "$can_apt" = yes ]; then
  say "installing Mesa lavapipe (software Vulkan) from ${PRETTY_NAME:-this distribution}"
  apt_update
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mesa-vulkan-drivers libvulkan1 >&2
fi

if adapter="$(probe)"; then
  say "installed a WebGPU adapter"
  if [ "$show_adapter" = yes ]; then echo "$adapter"; fi
  exit 0
fi
cat >&2 <<'MSG'
[kiln setup] No WebGPU adapter is available, so GPU tests and the demo cannot run.
  Install a Vulkan driver for your GPU, or Mesa's software driver (lavapipe) version 24 or newer:
    Debian 12:  add the bookworm-backports suite, then
                apt-get install -t bookworm-backports mesa-vulkan-drivers libvulkan1
    Ubuntu/Debian 13+: apt-get install mesa-vulkan-drivers libvulkan1
  then run `npm run setup` again.
MSG
if require_all; then exit 1; fi
exit 0
