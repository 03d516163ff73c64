#!/usr/bin/env bash
# Brings the lab VM up (what `scripts/lab` does in VM mode; scripts/lab then opens VS Code), offline
# where it can:
#   - VirtualBox installed: `vagrant up --provider=virtualbox` with the public box (downloaded once).
#   - otherwise libvirt: installs what is missing from Debian packages (scripts/vm-install.sh),
#     starts virtlogd and libvirtd when nothing runs them (a machine without systemd as PID 1),
#     builds and adds the offline box when it is not there (vm/build-box.sh, ~2 min once), then
#     `vagrant up --provider=libvirt`.
# The libvirt path holds the machine's lab VM lock while it works (vm/host-libvirt.sh: one libvirtd
# per machine, so one lab VM job at a time — a CI VM job running here makes this wait, bounded by
# LAB_VM_LOCK_WAIT seconds) and refuses a libvirtd it cannot use: one that does not answer, or one
# running in another network namespace (a VM made through it would be out of reach from here).
# KVM is used when the CPU has hardware virtualisation (VT-x/AMD-V); otherwise — no /dev/kvm, or a
# /dev/kvm that is not hardware virtualisation, like the paravirtual kvm_pvm of some cloud VMs,
# which boots only PVM guest kernels — the qemu driver (software emulation, slower). Choose yourself
# with LAB_LIBVIRT_DRIVER=kvm|qemu. LAB_NODES=N brings up N VMs (lab1..labN).
# The VM's state (vm/.vagrant) and Vagrant's boxes belong to the user who runs this (root with sudo).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=vm/host-libvirt.sh
. vm/host-libvirt.sh

log() { printf '\033[1m==> %s\033[0m\n' "$*"; }
fail() { printf 'vm-up: %s\n' "$*" >&2; exit 1; }

# `vagrant up` in vm/, timed: how long a lab takes to come up is worth knowing.
vagrant_up() {
  local started
  started=$(date +%s)
  log "vagrant up --provider=$1 (in vm/)"
  (cd vm && vagrant up --provider="$1")
  log "the lab VM is up: vagrant up took $(($(date +%s) - started)) s"
}

command -v vagrant >/dev/null 2>&1 || [ "$(id -u)" -eq 0 ] ||
  fail "Vagrant is not installed: install Vagrant with VirtualBox, or run this as root on Debian to get vagrant + libvirt"

if command -v VBoxManage >/dev/null 2>&1 && [ "${VAGRANT_DEFAULT_PROVIDER:-virtualbox}" = virtualbox ]; then
  log "VirtualBox found: vagrant up --provider=virtualbox"
  vagrant_up virtualbox
  exit 0
fi

[ "$(id -u)" -eq 0 ] || fail "the libvirt lab VM needs root here (Debian packages, libvirtd, the box build): sudo $0"
command -v apt-get >/dev/null 2>&1 || command -v libvirtd >/dev/null 2>&1 ||
  fail "no VirtualBox and no apt-get to install libvirt: install VirtualBox or libvirt + vagrant-libvirt"

lab_vm_lock "scripts/vm-up.sh (lab VM for $(id -un))" ||
  fail "another lab VM job kept the machine's libvirt for over ${LAB_VM_LOCK_WAIT:-1200} s; run this again when it has finished"
bash scripts/vm-install.sh

if [ ! -f dist/agent/containers-lab.js ]; then
  log "building the agent the box carries (npm run build)"
  [ -d node_modules ] || npm ci --no-audit --no-fund --loglevel=error
  npm run --silent build
fi

# libvirt: use the one that answers here, or start ours — never a second one beside another.
daemons=$(libvirt_daemons)
libvirtd_pids=$(awk '$1 == "libvirtd" { print $3 }' <<<"$daemons")
if libvirt_answers; then
  for pid in $libvirtd_pids; do
    daemon_in_our_netns "$pid" ||
      fail "libvirtd (pid $pid) answers on qemu:///system but runs in $(netns_name "$pid"): a VM made through it would be on a network out of reach from here; run this in that namespace (ip netns exec), or stop that libvirtd if it is a leftover (kill $pid)"
  done
  log "libvirtd answers on qemu:///system: using it"
elif [ -n "$libvirtd_pids" ]; then
  pid=${libvirtd_pids%%$'\n'*}
  fail "libvirtd (pid $pid, $(netns_name "$pid")) runs but does not answer on /run/libvirt/libvirt-sock (its socket is gone: a second libvirtd started beside it removes it): stop it (kill $pid) and run this again"
elif [ -d /run/systemd/system ]; then
  log "starting libvirtd (systemd)"
  systemctl start virtlogd libvirtd
else
  log "starting virtlogd and libvirtd (no systemd here; they keep running for the VM)"
  # 9>&-: they outlive this script and must not keep the lab VM lock (fd 9)
  if ! grep -q '^virtlogd ' <<<"$daemons"; then virtlogd --daemon 9>&-; fi
  launch_libvirtd --pid-file /run/libvirtd.pid 9>&-
fi
for _ in $(seq 1 100); do libvirt_answers && break; sleep 0.2; done
libvirt_answers || fail "libvirtd does not answer on qemu:///system"

# The Vagrantfile makes this choice itself (libvirt_driver "auto" in vm/lab.yml): said here so the
# learner knows why the boot takes minutes.
if [ "${LAB_LIBVIRT_DRIVER:-auto}" = auto ] && [ "$(lab_libvirt_driver)" = qemu ]; then
  reason="no /dev/kvm"
  [ -e /dev/kvm ] && reason="/dev/kvm is there but the CPU has no VT-x/AMD-V (a paravirtual KVM such as kvm_pvm boots only its own guest kernels)"
  log "$reason: the VM runs under software emulation (LAB_LIBVIRT_DRIVER=qemu; slower, a few minutes to boot)"
fi

if ! vagrant box list --machine-readable 2>/dev/null | grep -q ',box-name,containers-lab/debian12$'; then
  log "building the offline box containers-lab/debian12 (vm/build-box.sh)"
  bash vm/build-box.sh
fi

vagrant_up libvirt
