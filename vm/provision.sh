#!/usr/bin/env bash
# Turns a plain Debian 12 machine into a lab host; run as root by `vagrant up` (and by
# vm/build-box.sh inside the image it builds). Idempotent: a rerun changes only what differs.
#
# What a lab host needs, and why:
#   - cgroup v2 ("unified hierarchy", one tree at /sys/fs/cgroup): the lab teaches memory.max,
#     cpu.max and pids.max, the v2 files. Debian 12 boots with it; we check instead of assuming.
#   - Node.js >= 18: the agent is TypeScript bundled to one file, run by the VM's own Node.
#   - busybox-static: one static binary that is a whole userland — the lab's container image.
#   - iproute2: `ip` to look at the veth pairs and bridges the agent makes, as an independent witness.
#   - nftables: `nft`, which the agent uses for published ports (run -p) and its bridges' way out
#     (masquerade) — in a table of its own, `table ip containers_lab`.
#   - strace: the syscall-layer lab (level 24) traces `containers-lab run` with it.
#   - the agent as a systemd service. KillMode=process: stopping the agent must not kill the
#     containers it started (they are its children). Delegate=yes: systemd hands the service's cgroup
#     subtree to the agent, which places each container in a child cgroup of its own.
#
# Environment: LAB_AGENT_SOURCE (default /vagrant/dist/agent, the synced repository's build),
# LAB_IN_IMAGE=1 when run inside an image being built (no running systemd, the host's cgroups).
set -euo pipefail

AGENT_SOURCE=${LAB_AGENT_SOURCE:-/vagrant/dist/agent}
AGENT_DIR=/opt/containers-lab/agent
UNIT=/etc/systemd/system/containers-lab.service
WRAPPER=/usr/local/bin/containers-lab
# containerd (ctr, its runc shim): containers-lab-runc is an OCI runtime containerd drives
# strace: the syscall-layer lab (level 24) traces a run with it
# iputils-ping: `ping -M do` (don't fragment) proves the overlay's MTU; busybox's ping cannot set DF
# docker-registry + apache2-utils (htpasswd): exercise 43 starts a private registry with Basic auth on 127.0.0.1
PACKAGES=(nodejs busybox-static iproute2 iputils-ping nftables strace ca-certificates containerd docker-registry apache2-utils tcpdump)
IN_IMAGE=${LAB_IN_IMAGE:-0}

log() { printf '==> provision: %s\n' "$*"; }
fail() { printf 'provision: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || fail "run as root (vagrant runs provisioners with sudo)"

# 1. cgroup v2. In an image build /sys/fs/cgroup belongs to the build host, so the check waits for boot.
if [ "$IN_IMAGE" != 1 ]; then
  fs_type=$(stat -fc %T /sys/fs/cgroup 2>/dev/null || echo missing)
  if [ "$fs_type" != cgroup2fs ]; then
    fail "this VM does not run cgroup v2 (/sys/fs/cgroup is \"$fs_type\", expected cgroup2fs): remove systemd.unified_cgroup_hierarchy=0 from the kernel command line (/etc/default/grub), run update-grub and reboot"
  fi
  log "cgroup v2: yes ($(tr '\n' ' ' </sys/fs/cgroup/cgroup.controllers))"
fi

# 2. The node's name (lab, lab1, lab2…) as its hostname. Set here, once: Vagrant's own
# config.vm.hostname redoes it over SSH on every `vagrant up`, ~45 s per boot under emulation.
# /etc/hostname keeps it across reboots; 127.0.1.1 names it so that sudo can resolve it.
if [ "$IN_IMAGE" != 1 ] && [ -n "${LAB_NODE_NAME:-}" ]; then
  [[ "$LAB_NODE_NAME" =~ ^[a-z][a-z0-9-]{0,62}$ ]] || fail "LAB_NODE_NAME must be a host name like lab1, got \"$LAB_NODE_NAME\""
  if [ "$(hostname)" != "$LAB_NODE_NAME" ]; then
    echo "$LAB_NODE_NAME" >/etc/hostname
    hostname "$LAB_NODE_NAME"
    sed -i '/^127\.0\.1\.1[[:space:]]/d' /etc/hosts
    echo "127.0.1.1 $LAB_NODE_NAME" >>/etc/hosts
    log "hostname: $LAB_NODE_NAME"
  fi
fi

# 3. Debian packages, only the missing ones: a box that has them already needs no network.
missing=()
for package in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing+=("$package")
done
if [ "${#missing[@]}" -gt 0 ]; then
  log "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# Debian's docker-registry package starts one on :5000, all interfaces: the labs start their own on 127.0.0.1.
if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
  systemctl disable --now docker-registry.service >/dev/null 2>&1 || true
fi
# `node --version` answers before the JavaScript engine starts: cheap even in an emulated VM
node_major=$(node --version 2>/dev/null | sed -n 's/^v\([0-9][0-9]*\)\..*/\1/p')
node_major=${node_major:-0}
[ "$node_major" -ge 18 ] || fail "Node.js 18 or newer is needed, found $(node --version 2>/dev/null || echo none)"

# 4. The agent: copied only when the build differs, into a fresh directory swapped in whole,
#    so a half-copied agent never runs.
changed=0
if [ -f "$AGENT_SOURCE/containers-lab.js" ]; then
  if ! cmp -s "$AGENT_SOURCE/containers-lab.js" "$AGENT_DIR/containers-lab.js" || ! cmp -s "$AGENT_SOURCE/containers-lab-runc.js" "$AGENT_DIR/containers-lab-runc.js"; then
    log "installing the agent from $AGENT_SOURCE into $AGENT_DIR"
    mkdir -p "$(dirname "$AGENT_DIR")"
    rm -rf "$AGENT_DIR.new"
    cp -a "$AGENT_SOURCE" "$AGENT_DIR.new"
    rm -rf "$AGENT_DIR.old"
    [ -d "$AGENT_DIR" ] && mv "$AGENT_DIR" "$AGENT_DIR.old"
    mv "$AGENT_DIR.new" "$AGENT_DIR"
    rm -rf "$AGENT_DIR.old"
    changed=1
  else
    log "agent already up to date in $AGENT_DIR"
  fi
elif [ -f "$AGENT_DIR/containers-lab.js" ]; then
  log "no agent build at $AGENT_SOURCE (run \"npm run build\" on the host, then \"vagrant rsync\"); keeping the installed one"
else
  fail "no agent build at $AGENT_SOURCE: run \"npm run build\" in the repository on the host, then \"vagrant rsync && vagrant provision\""
fi

# 5. The `containers-lab` command for a shell in the VM (`sudo containers-lab ps`).
wrapper_text=$(printf '%s\n' '#!/bin/sh' \
  '# The Containers Lab CLI: the agent installed by vm/provision.sh, run with the VM'"'"'s Node.' \
  "exec node $AGENT_DIR/containers-lab.js \"\$@\"")
if [ "$(cat "$WRAPPER" 2>/dev/null)" != "$wrapper_text" ]; then
  printf '%s\n' "$wrapper_text" >"$WRAPPER"
  chmod 755 "$WRAPPER"
  log "installed $WRAPPER"
fi
# containers-lab-runc for containerd (`sudo ctr run --runc-binary containers-lab-runc …`).
runc_wrapper_text=$(printf '%s\n' '#!/bin/sh' \
  '# containers-lab-runc: the OCI runtime installed by vm/provision.sh, run with the VM'"'"'s Node.' \
  '# No NODE_EXTRA_CA_CERTS: Node would parse those certificates at every start (~50 ms); the runtime makes no TLS connection.' \
  'unset NODE_EXTRA_CA_CERTS' \
  "exec node $AGENT_DIR/containers-lab-runc.js \"\$@\"")
if [ "$(cat /usr/local/bin/containers-lab-runc 2>/dev/null)" != "$runc_wrapper_text" ]; then
  printf '%s\n' "$runc_wrapper_text" >/usr/local/bin/containers-lab-runc
  chmod 755 /usr/local/bin/containers-lab-runc
  log "installed /usr/local/bin/containers-lab-runc"
fi

# 6. The service (the same unit the extension writes when it installs an agent itself).
unit_text=$(cat <<EOF
[Unit]
Description=Containers Lab agent (namespaces, overlay, cgroups, veth as a service)
After=network.target

[Service]
ExecStart=$(command -v node) $AGENT_DIR/containers-lab.js serve
KillMode=process
Delegate=yes
Restart=on-failure

[Install]
WantedBy=multi-user.target
EOF
)
if [ "$(cat "$UNIT" 2>/dev/null)" != "$unit_text" ]; then
  printf '%s\n' "$unit_text" >"$UNIT"
  changed=1
  log "installed $UNIT"
fi
# Several nodes: each its own container subnet (Kubernetes' per-node pod CIDR), so that an address
# names one container on one node — lab1 10.77.1.0/24, lab2 10.77.2.0/24, … A drop-in, not the unit:
# the extension rewrites the unit when it installs an agent of its own, and the subnet must stay.
DROP_IN=/etc/systemd/system/containers-lab.service.d/node-subnet.conf
node_index=
if [ "${LAB_NODES:-1}" -gt 1 ] && [[ "${LAB_NODE_NAME:-}" =~ ^lab([0-9]+)$ ]]; then
  node_index=${BASH_REMATCH[1]}
  drop_in_text=$(printf '%s\n' '# This node'"'"'s container subnet (vm/provision.sh): no two nodes of the lab share one.' \
    '# Its routes to the peers go via the private network: started once that network is up.' \
    '[Unit]' 'Wants=network-online.target' 'After=network-online.target' \
    '[Service]' "Environment=CONTAINERS_LAB_SUBNET=10.77.$node_index.0/24")
  if [ "$(cat "$DROP_IN" 2>/dev/null)" != "$drop_in_text" ]; then
    mkdir -p "$(dirname "$DROP_IN")"
    printf '%s\n' "$drop_in_text" >"$DROP_IN"
    changed=1
    log "container subnet of $LAB_NODE_NAME: 10.77.$node_index.0/24 ($DROP_IN)"
  fi
fi
# `systemctl enable` only makes symlinks, so it works in an image too; starting needs a running systemd.
systemctl enable containers-lab.service >/dev/null 2>&1
if [ "$IN_IMAGE" != 1 ] && [ -d /run/systemd/system ]; then
  systemctl daemon-reload
  if [ "$changed" = 1 ] || ! systemctl is-active --quiet containers-lab.service; then
    systemctl restart containers-lab.service
  fi
  systemctl is-active --quiet containers-lab.service || fail "the agent service did not start: journalctl -u containers-lab"
  log "agent service running (pid $(systemctl show -p MainPID --value containers-lab.service), $AGENT_DIR)"
fi
# 7. Several nodes: every other node is a peer, joined in routed mode (a route to its subnet via its
#    address on the private network), so a container on lab1 reaches one on lab2 by its own address.
#    `containers-lab node mode overlay` switches to VXLAN; `containers-lab node ls` shows them.
if [ -n "$node_index" ] && [ "$IN_IMAGE" != 1 ] && [ -d /run/systemd/system ]; then
  prefix=${LAB_NETWORK_PREFIX:-192.168.56}
  # through the service (it announces the change to connected clients): wait for its socket
  for _ in $(seq 1 30); do [ -S /run/containers-lab/agent.sock ] && break; sleep 1; done
  known=$(containers-lab node ls --json)
  for ((peer = 1; peer <= LAB_NODES; peer++)); do
    [ "$peer" = "$node_index" ] && continue
    grep -q "\"name\": *\"lab$peer\"" <<<"$known" && continue
    containers-lab node add "lab$peer" "$prefix.$((10 + peer))" "10.77.$peer.0/24" >/dev/null
    log "peer lab$peer: $prefix.$((10 + peer)), containers 10.77.$peer.0/24"
  done
  grep -q '"mode": *"routed"' <<<"$known" || grep -q '"mode": *"overlay"' <<<"$known" || containers-lab node mode routed >/dev/null
fi
log "done: $(hostname) is a lab host${LAB_NODE_NAME:+ (node $LAB_NODE_NAME of ${LAB_NODES:-1})}"
