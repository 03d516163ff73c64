#!/usr/bin/env bash
# Builds the lab's Vagrant box for libvirt from Debian packages only, so `vagrant up` works with no
# internet (and CI never downloads a box). A Vagrant box is just a tarball: a disk image
# (box.img, qcow2), metadata.json saying which provider and format, and an optional Vagrantfile.
# A bootable disk is made by hand, step by step, each step reused by a rerun:
#
#   1. rootfs/     debootstrap: a Debian 12 root file system in a directory, with the kernel,
#                  sshd, sudo, Node, busybox-static, iproute2, nftables, strace and containerd installed by apt inside it
#   2. configure   the `vagrant` user (password-less sudo, Vagrant's well-known insecure key, which
#                  `vagrant up` replaces with a fresh key on first boot), DHCP networking, the agent
#                  and its service installed by vm/provision.sh run inside the root file system
#   3. disk.raw    one MBR partition with ext4 and extlinux (a small BIOS boot loader). The kernel
#                  here cannot scan partition tables of loop devices, so the partition is reached
#                  with `losetup --offset` instead of `losetup -P`
#   4. box.img     the raw disk converted to qcow2 (sparse, grows on write)
#   5. the .box    tar of box.img + metadata.json + Vagrantfile, then `vagrant box add`
#
# Output goes to a cache directory, never into the repository (kept between runs: a rerun is fast):
#   ${LAB_BOX_CACHE:-/var/cache/containers-lab/box}
# Usage: sudo vm/build-box.sh [--no-add]      (x86-64 only: extlinux boots BIOS machines)
# Needs: debootstrap qemu-utils extlinux syslinux-common fdisk e2fsprogs (Debian packages), root.
set -euo pipefail

REPO_DIR=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${LAB_BOX_CACHE:-/var/cache/containers-lab/box}
SUITE=bookworm
MIRROR=${LAB_DEBIAN_MIRROR:-http://deb.debian.org/debian}
DISK_GIB=${LAB_BOX_DISK_GIB:-8}
BOX_NAME=containers-lab/debian12
BOX_FILE=$CACHE/containers-lab-debian12-libvirt.box
ROOTFS=$CACHE/rootfs
PACKAGES=linux-image-amd64,systemd-sysv,openssh-server,sudo,nodejs,busybox-static,iproute2,iputils-ping,nftables,strace,containerd,docker-registry,apache2-utils,tcpdump,ca-certificates,rsync,ifupdown,isc-dhcp-client,dbus,procps,zstd
ADD_BOX=1
[ "${1:-}" = "--no-add" ] && ADD_BOX=0

step() { printf '\033[1m==> [%s] %s\033[0m\n' "$1" "$2"; }
fail() { printf 'build-box: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || fail "run as root (debootstrap, loop devices and mounts need it)"
[ "$(uname -m)" = x86_64 ] || fail "only x86-64 boxes can be built here (extlinux is a BIOS boot loader); arm64 hosts use the public box (vm/lab.yml box_arm64)"
for tool in debootstrap qemu-img extlinux sfdisk mkfs.ext4 losetup; do
  command -v "$tool" >/dev/null 2>&1 || fail "\"$tool\" is missing: apt-get install debootstrap qemu-utils extlinux syslinux-common fdisk e2fsprogs"
done
MBR=/usr/lib/syslinux/mbr/mbr.bin
[ -f "$MBR" ] || fail "$MBR is missing: apt-get install syslinux-common"
[ -f "$REPO_DIR/dist/agent/containers-lab.js" ] || fail "no agent build in $REPO_DIR/dist/agent: run \"npm run build\" first"
mkdir -p "$CACHE"

# Undo mounts and loop devices whatever happens, innermost first.
MOUNTED=()
LOOP=
cleanup() {
  local index
  for ((index = ${#MOUNTED[@]} - 1; index >= 0; index--)); do umount "${MOUNTED[index]}" 2>/dev/null || umount -l "${MOUNTED[index]}" || true; done
  if [ -n "$LOOP" ]; then losetup -d "$LOOP" 2>/dev/null || true; fi
}
trap cleanup EXIT
mount_at() { mount "$@"; MOUNTED+=("${*: -1}"); }
unmount_all() { cleanup; MOUNTED=(); LOOP=; }

# --- 1. the root file system -------------------------------------------------------------------
if [ -f "$ROOTFS/.stage-debootstrap" ]; then
  step 1/5 "root file system: reusing $ROOTFS"
else
  step 1/5 "root file system: debootstrap $SUITE (a few minutes; packages are cached in $CACHE/debs)"
  rm -rf "$ROOTFS"
  mkdir -p "$CACHE/debs"
  debootstrap --variant=minbase --include="$PACKAGES" --cache-dir="$CACHE/debs" "$SUITE" "$ROOTFS" "$MIRROR"
  touch "$ROOTFS/.stage-debootstrap"
fi

# --- 2. configuration and the agent (redone when the agent build changes) ------------------------
agent_hash=$(sha256sum "$REPO_DIR/dist/agent/containers-lab.js" "$REPO_DIR/vm/provision.sh" "$0" | sha256sum | cut -c1-16)
if [ "$(cat "$ROOTFS/.stage-configure" 2>/dev/null)" = "$agent_hash" ]; then
  step 2/5 "configuration: reusing (agent build $agent_hash)"
else
  step 2/5 "configuration: vagrant user, network, agent build $agent_hash"
  chroot "$ROOTFS" /bin/sh -c 'id vagrant >/dev/null 2>&1 || useradd --create-home --shell /bin/bash vagrant'
  echo 'vagrant ALL=(ALL) NOPASSWD: ALL' >"$ROOTFS/etc/sudoers.d/vagrant"
  chmod 440 "$ROOTFS/etc/sudoers.d/vagrant"
  # Vagrant's published insecure key: anyone may know it, which is why `vagrant up` swaps it
  # for a key of its own on first boot (config.ssh.insert_key, on by default).
  insecure_key=$(find /usr/share/rubygems-integration /usr/lib/ruby /opt/vagrant -path '*/keys/vagrant.pub' 2>/dev/null | head -1 || true)
  [ -n "$insecure_key" ] || fail "Vagrant's insecure public key (keys/vagrant.pub) was not found: apt-get install vagrant"
  vagrant_uid=$(chroot "$ROOTFS" id -u vagrant)
  install -d -m 700 -o "$vagrant_uid" -g "$vagrant_uid" "$ROOTFS/home/vagrant/.ssh"
  install -m 600 -o "$vagrant_uid" -g "$vagrant_uid" "$insecure_key" "$ROOTFS/home/vagrant/.ssh/authorized_keys"
  echo lab >"$ROOTFS/etc/hostname"
  printf '127.0.0.1 localhost\n127.0.1.1 lab\n' >"$ROOTFS/etc/hosts"
  # fsck pass 0: a disposable VM's root is not checked at boot (seconds saved under emulation)
  printf 'LABEL=lab-root / ext4 errors=remount-ro 0 0\n' >"$ROOTFS/etc/fstab"
  # DHCP on the first NIC, which the kernel calls eth0 with net.ifnames=0 (see extlinux.conf);
  # Vagrant adds eth1… for private networks itself, through ifupdown.
  cat >"$ROOTFS/etc/network/interfaces" <<'EOF'
auto lo
iface lo inet loopback
allow-hotplug eth0
iface eth0 inet dhcp
EOF
  # Each VM must make its own host keys (first boot), not share the image's. Ed25519 and ECDSA
  # only: an RSA key takes ~15 s to generate in a software-emulated VM, and no client needs it.
  printf 'UseDNS no\nHostKey /etc/ssh/ssh_host_ed25519_key\nHostKey /etc/ssh/ssh_host_ecdsa_key\n' >"$ROOTFS/etc/ssh/sshd_config.d/vagrant.conf"
  rm -f "$ROOTFS"/etc/ssh/ssh_host_*
  cat >"$ROOTFS/etc/systemd/system/ssh-host-keys.service" <<'EOF'
[Unit]
Description=Generate this machine's SSH host keys on first boot
Before=ssh.service
ConditionPathExists=!/etc/ssh/ssh_host_ed25519_key

[Service]
Type=oneshot
ExecStart=/usr/bin/ssh-keygen -q -t ed25519 -N "" -f /etc/ssh/ssh_host_ed25519_key
ExecStart=/usr/bin/ssh-keygen -q -t ecdsa -N "" -f /etc/ssh/ssh_host_ecdsa_key

[Install]
WantedBy=multi-user.target
EOF
  chroot "$ROOTFS" systemctl enable ssh-host-keys.service ssh.service >/dev/null 2>&1
  : >"$ROOTFS/etc/machine-id"   # a fresh machine id per VM, made on first boot
  rm -rf "$ROOTFS/tmp/lab-agent"
  cp -a "$REPO_DIR/dist/agent" "$ROOTFS/tmp/lab-agent"
  cp "$REPO_DIR/vm/provision.sh" "$ROOTFS/tmp/provision.sh"
  mount_at -t proc proc "$ROOTFS/proc"
  chroot "$ROOTFS" env LAB_IN_IMAGE=1 LAB_AGENT_SOURCE=/tmp/lab-agent bash /tmp/provision.sh
  # A smaller box uploads and boots faster. Out go the package lists (provision.sh runs
  # apt-get update itself when it has to install), documentation, and the kernel's drivers for
  # hardware a VM never has (graphics, sound, radio, cameras…).
  rm -rf "$ROOTFS"/var/lib/apt/lists/* "$ROOTFS"/usr/share/doc/* "$ROOTFS"/usr/share/man/*
  for kernel_dir in "$ROOTFS"/lib/modules/*/; do
    version=$(basename "$kernel_dir")
    for unneeded in drivers/gpu drivers/media drivers/infiniband drivers/iio drivers/staging drivers/net/wireless \
      drivers/bluetooth drivers/isdn drivers/hid sound net/wireless net/mac80211 net/bluetooth; do
      rm -rf "$kernel_dir/kernel/$unneeded"
    done
    chroot "$ROOTFS" depmod -a "$version"
  done
  # The initramfs only has to find a virtio (or SATA/IDE) disk with ext4 on it: a list of modules
  # instead of "most" makes it a few MiB instead of ~30, which a software-emulated VM unpacks faster.
  printf 'MODULES=list\n' >"$ROOTFS/etc/initramfs-tools/conf.d/lab-vm.conf"
  printf '%s\n' virtio_pci virtio_blk virtio_scsi virtio_net ahci ata_piix sd_mod ext4 >"$ROOTFS/etc/initramfs-tools/modules"
  chroot "$ROOTFS" update-initramfs -u -k all
  unmount_all
  rm -rf "$ROOTFS/tmp/lab-agent" "$ROOTFS/tmp/provision.sh" "$ROOTFS"/var/cache/apt/archives/*.deb
  echo "$agent_hash" >"$ROOTFS/.stage-configure"
  rm -f "$CACHE/disk.raw" "$CACHE/box.img" "$BOX_FILE"
fi

# --- 3. a bootable raw disk ---------------------------------------------------------------------
if [ -f "$CACHE/disk.raw" ]; then
  step 3/5 "disk: reusing $CACHE/disk.raw"
else
  step 3/5 "disk: ${DISK_GIB} GiB, one ext4 partition, extlinux"
  rm -f "$CACHE/disk.raw.partial"
  truncate -s "${DISK_GIB}G" "$CACHE/disk.raw.partial"
  # One bootable Linux partition from 1 MiB (sector 2048) to the end.
  printf 'label: dos\nstart=2048, type=83, bootable\n' | sfdisk --quiet "$CACHE/disk.raw.partial"
  LOOP=$(losetup --find --show --offset $((2048 * 512)) "$CACHE/disk.raw.partial")
  mkfs.ext4 -q -L lab-root "$LOOP"
  mkdir -p "$CACHE/mnt"
  mount_at "$LOOP" "$CACHE/mnt"
  cp -a "$ROOTFS/." "$CACHE/mnt/"
  rm -f "$CACHE/mnt/.stage-debootstrap" "$CACHE/mnt/.stage-configure"
  kernel=$(cd "$CACHE/mnt" && find boot -maxdepth 1 -name 'vmlinuz-*' | sort -V | tail -1)
  [ -n "$kernel" ] || fail "no kernel in the root file system's /boot (linux-image-amd64 missing?)"
  initrd=boot/initrd.img-${kernel#boot/vmlinuz-}
  [ -f "$CACHE/mnt/$initrd" ] || fail "no $initrd in the root file system (initramfs-tools did not run?)"
  mkdir -p "$CACHE/mnt/boot/extlinux"
  cat >"$CACHE/mnt/boot/extlinux/extlinux.conf" <<EOF
DEFAULT lab
TIMEOUT 1
LABEL lab
  LINUX /$kernel
  INITRD /$initrd
  APPEND root=LABEL=lab-root ro console=ttyS0 net.ifnames=0 quiet loglevel=3
EOF
  extlinux --install "$CACHE/mnt/boot/extlinux" >/dev/null
  unmount_all
  # The boot code in the first 440 bytes of the disk jumps to the bootable partition's extlinux.
  dd if="$MBR" of="$CACHE/disk.raw.partial" bs=440 count=1 conv=notrunc status=none
  mv "$CACHE/disk.raw.partial" "$CACHE/disk.raw"
  rm -f "$CACHE/box.img" "$BOX_FILE"
fi

# --- 4. qcow2 ----------------------------------------------------------------------------------
if [ -f "$CACHE/box.img" ]; then
  step 4/5 "qcow2: reusing $CACHE/box.img"
else
  # -c: compressed clusters (read by qemu on the host, natively): a third of the size, so
  # `vagrant up` uploads it into libvirt's pool three times faster. The VM writes to an overlay.
  step 4/5 "qcow2: converting (compressed)"
  qemu-img convert -p -c -O qcow2 "$CACHE/disk.raw" "$CACHE/box.img.partial"
  mv "$CACHE/box.img.partial" "$CACHE/box.img"
  rm -f "$BOX_FILE"
fi

# --- 5. the box --------------------------------------------------------------------------------
if [ -f "$BOX_FILE" ]; then
  step 5/5 "box: reusing $BOX_FILE"
else
  step 5/5 "box: packing $BOX_FILE"
  printf '{"provider":"libvirt","format":"qcow2","virtual_size":%s}\n' "$DISK_GIB" >"$CACHE/metadata.json"
  cat >"$CACHE/Vagrantfile" <<'EOF'
# Defaults of the containers-lab/debian12 box (vm/Vagrantfile sets the rest).
Vagrant.configure('2') do |config|
  config.vm.provider 'libvirt' do |libvirt|
    libvirt.disk_bus = 'virtio'
  end
end
EOF
  # Not gzipped: box.img is compressed already, and `vagrant box add` then only copies.
  tar -C "$CACHE" -cf "$BOX_FILE.partial" metadata.json Vagrantfile box.img
  mv "$BOX_FILE.partial" "$BOX_FILE"
fi
echo "box: $BOX_FILE ($(du -h "$BOX_FILE" | cut -f1))"

if [ "$ADD_BOX" = 1 ]; then
  if ! command -v vagrant >/dev/null 2>&1; then
    echo "vagrant is not installed: add the box later with: vagrant box add --force --name $BOX_NAME $BOX_FILE"
  else
    vagrant box add --force --name "$BOX_NAME" "$BOX_FILE"
  fi
fi
