#!/usr/bin/env bash
# Installs what building and booting the lab VM needs on a Debian host, from Debian packages only:
#   debootstrap, extlinux/syslinux-common, fdisk, e2fsprogs   build the box (vm/build-box.sh)
#   qemu-utils                                               raw disk → qcow2
#   qemu-system-x86, libvirt-daemon-system, libvirt-clients  run it (libvirtd + virtlogd, by hand)
#   dnsmasq-base                                             libvirt's DHCP for the VM's management network
#   vagrant, vagrant-libvirt                                 `vagrant up --provider=libvirt`
# Idempotent: installs only what is missing. Used by scripts/vm-e2e.sh; run it yourself before
# `sudo vm/build-box.sh` on a fresh Debian machine.
set -euo pipefail

PACKAGES=(debootstrap extlinux syslinux-common fdisk e2fsprogs qemu-utils qemu-system-x86
  libvirt-daemon-system libvirt-daemon-driver-qemu libvirt-clients dnsmasq-base iptables
  vagrant vagrant-libvirt rsync openssh-client)

[ "$(id -u)" -eq 0 ] || { echo "vm-install: run as root (apt-get install)" >&2; exit 1; }
missing=()
for package in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing+=("$package")
done
if [ "${#missing[@]}" -gt 0 ]; then
  printf '\033[1m==> installing Debian packages: %s\033[0m\n' "${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # No daemon may start on its own here: we start libvirtd/virtlogd ourselves, in a network namespace.
  policy=/usr/sbin/policy-rc.d
  created_policy=0
  if [ ! -e "$policy" ]; then printf '#!/bin/sh\nexit 101\n' >"$policy"; chmod 755 "$policy"; created_policy=1; fi
  status=0
  # One apt at a time: scripts/test runs this in the background while install-code-server.sh may install too.
  exec 8>/run/containers-lab-apt.lock && flock 8
  { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; } || status=$?
  exec 8>&-
  [ "$created_policy" = 1 ] && rm -f "$policy"
  exit "$status"
fi
