#!/usr/bin/env bash
# Brings the lab VM up (what `scripts/lab` does in VM mode), offline where it can:
#   - VirtualBox installed: `vagrant up --provider=virtualbox` with the public box (downloaded once).
#   - otherwise libvirt: installs what is missing from Debian packages (scripts/vm-install.sh),
#     starts virtlogd and libvirtd when nothing runs them (a machine without systemd as PID 1),
#     builds and adds the offline box when it is not there (vm/build-box.sh, ~3 min once), then
#     `vagrant up --provider=libvirt`.
# No /dev/kvm means no hardware virtualisation: the qemu driver (software emulation) is chosen.
# Inside another VM whose nested KVM cannot boot a kernel, say so yourself: LAB_LIBVIRT_DRIVER=qemu.
# The VM's state (vm/.vagrant) and Vagrant's boxes belong to the user who runs this (root with sudo).
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\033[1m==> %s\033[0m\n' "$*"; }
fail() { printf 'vm-up: %s\n' "$*" >&2; exit 1; }

command -v vagrant >/dev/null 2>&1 || [ "$(id -u)" -eq 0 ] ||
  fail "Vagrant is not installed: install Vagrant with VirtualBox, or run this as root on Debian to get vagrant + libvirt"

if command -v VBoxManage >/dev/null 2>&1 && [ "${VAGRANT_DEFAULT_PROVIDER:-virtualbox}" = virtualbox ]; then
  log "VirtualBox found: vagrant up --provider=virtualbox"
  cd vm && exec vagrant up --provider=virtualbox
fi

[ "$(id -u)" -eq 0 ] || fail "the libvirt lab VM needs root here (Debian packages, libvirtd, the box build): sudo $0"
command -v apt-get >/dev/null 2>&1 || command -v libvirtd >/dev/null 2>&1 ||
  fail "no VirtualBox and no apt-get to install libvirt: install VirtualBox or libvirt + vagrant-libvirt"
bash scripts/vm-install.sh

if [ ! -f dist/agent/containers-lab.js ]; then
  log "building the agent the box carries (npm run build)"
  [ -d node_modules ] || npm ci --no-audit --no-fund --loglevel=error
  npm run --silent build
fi

if [ ! -S /run/libvirt/libvirt-sock ]; then
  if [ -d /run/systemd/system ]; then
    log "starting libvirtd (systemd)"
    systemctl start virtlogd libvirtd
  else
    log "starting virtlogd and libvirtd (no systemd here; they keep running for the VM)"
    virtlogd --daemon
    libvirtd --daemon
  fi
  for _ in $(seq 1 100); do virsh -q -c qemu:///system version >/dev/null 2>&1 && break; sleep 0.2; done
  virsh -q -c qemu:///system version >/dev/null 2>&1 || fail "libvirtd does not answer on qemu:///system"
fi

if [ -z "${LAB_LIBVIRT_DRIVER:-}" ] && [ ! -e /dev/kvm ]; then
  log "no /dev/kvm: the VM runs under software emulation (LAB_LIBVIRT_DRIVER=qemu; slower, a few minutes to boot)"
  export LAB_LIBVIRT_DRIVER=qemu
fi

if ! vagrant box list --machine-readable 2>/dev/null | grep -q ',box-name,containers-lab/debian12$'; then
  log "building the offline box containers-lab/debian12 (vm/build-box.sh)"
  bash vm/build-box.sh
fi

log "vagrant up --provider=libvirt (in vm/)"
cd vm && exec vagrant up --provider=libvirt
