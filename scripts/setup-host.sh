#!/usr/bin/env bash
# Installs what a Linux host needs to be a Containers Lab host and to run the tests:
# Debian packages (busybox-static for the image, iproute2/util-linux as test witnesses,
# nftables for published ports and the way out, runc/crun for the benchmark) and the npm
# dependencies, then builds the agent.
# Idempotent: it skips what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\033[1m==> %s\033[0m\n' "$*"; }

if [ "$(id -u)" -ne 0 ]; then
  echo "setup-host: run as root (the lab creates namespaces, mounts and cgroups)" >&2
  exit 1
fi

# qemu-user + arm64 C libraries: the aarch64 child-program test runs an arm64 Node under emulation
# vagrant + vagrant-libvirt + shellcheck: the VM configuration is validated and linted by the tests
# docker-registry + skopeo + apache2-utils (htpasswd) + openssl: the image tests run a real registry,
# push the images they build to it, and sign its bearer tokens
# attr (getfattr/setfattr): the layer-unpack tests give files xattrs and read them back
# umoci: `npm run bench -- --only images` times skopeo copy + umoci unpack against the agent's pull
# containerd (with ctr and its runc shim): the containers-lab-runc and host-containers tests start a private containerd
# strace: the syscall-layer lab (level 24) traces a run with it
# tcpdump: levels 26 and 27 follow a packet between two lab nodes with it
PACKAGES=(busybox-static iproute2 iputils-ping util-linux procps nftables strace runc crun openssh-server
  qemu-user-static libc6-arm64-cross libstdc++6-arm64-cross
  vagrant vagrant-libvirt shellcheck
  docker-registry skopeo apache2-utils openssl attr umoci containerd conntrack tcpdump)
missing=()
for package in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing+=("$package")
done
if [ "${#missing[@]}" -gt 0 ]; then
  log "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # Debian's docker-registry package starts a registry on :5000 (all interfaces) under systemd; the
  # tests start their own on 127.0.0.1, so the one this install just started is stopped again.
  if [[ " ${missing[*]} " == *" docker-registry "* ]] && command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
    systemctl disable --now docker-registry.service >/dev/null 2>&1 || true
  fi
  # Likewise containerd: the tests start their own, with their own socket and state.
  if [[ " ${missing[*]} " == *" containerd "* ]] && command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
    systemctl disable --now containerd.service >/dev/null 2>&1 || true
  fi
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  log "installing npm dependencies (npm ci)"
  if ! npm ci --no-audit --no-fund --loglevel=error; then
    # A registry that serves only this platform's builds makes npm ci refuse a lock file that
    # lists every platform's optional packages (rollup's, esbuild's); npm install skips them.
    log "npm ci refused the lock file here; installing with npm install instead"
    npm install --no-audit --no-fund --loglevel=error
  fi
fi

log "building the agent"
npm run --silent build

# The `containers-lab` command every task, hint and message uses (in the lab VM vm/provision.sh
# installs the same): this checkout's build, run with this machine's Node.
WRAPPER=/usr/local/bin/containers-lab
wrapper_text=$(printf '%s\n' '#!/bin/sh' \
  '# The Containers Lab CLI: this checkout'"'"'s build (scripts/setup-host.sh), run with this machine'"'"'s Node.' \
  "exec node $PWD/dist/agent/containers-lab.js \"\$@\"")
if [ "$(cat "$WRAPPER" 2>/dev/null)" != "$wrapper_text" ]; then
  printf '%s\n' "$wrapper_text" >"$WRAPPER"
  chmod 755 "$WRAPPER"
  log "installed $WRAPPER (the containers-lab command)"
fi
# containers-lab-runc, the OCI runtime with runc's command line (ctr run --runc-binary containers-lab-runc …).
RUNC_WRAPPER=/usr/local/bin/containers-lab-runc
runc_wrapper_text=$(printf '%s\n' '#!/bin/sh' \
  '# containers-lab-runc: this checkout'"'"'s build (scripts/setup-host.sh), run with this machine'"'"'s Node.' \
  '# No NODE_EXTRA_CA_CERTS: Node would parse those certificates at every start (~50 ms); the runtime makes no TLS connection.' \
  'unset NODE_EXTRA_CA_CERTS' \
  "exec node $PWD/dist/agent/containers-lab-runc.js \"\$@\"")
if [ "$(cat "$RUNC_WRAPPER" 2>/dev/null)" != "$runc_wrapper_text" ]; then
  printf '%s\n' "$runc_wrapper_text" >"$RUNC_WRAPPER"
  chmod 755 "$RUNC_WRAPPER"
  log "installed $RUNC_WRAPPER (the OCI runtime containerd can drive)"
fi
