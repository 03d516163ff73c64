# shellcheck shell=bash
# One libvirt per machine — sourced by scripts/vm-e2e.sh (the CI job) and scripts/vm-up.sh (the
# README's lab command in VM mode), which both run libvirtd themselves where no systemd does.
#
# Why a lock: libvirtd's sockets are fixed paths — /run/libvirt/libvirt-sock (and -ro, -admin),
# virtlogd's /run/libvirt/virtlogd-sock — whatever --pid-file says and whatever network namespace
# it runs in, and its state (/run/libvirt/network/driver.pid, /var/lib/libvirt, /etc/libvirt) is one
# per machine. A second libvirtd unlinks the first one's socket, binds its own, then fails ("Failed
# to acquire pid file '/run/libvirt/network/driver.pid'") and removes the socket as it exits: the
# first daemon keeps running with its VMs, but nothing can reach it any more — not even the
# teardown that should destroy them (seen as "teardown could not reach libvirtd" when two VM jobs
# overlapped). So: one lab VM job at a time on a machine (an flock held for the whole job, waited
# for with a bound), and never start a libvirtd while another one runs.
#
#   lab_vm_lock WHAT          take the lock on fd 9 (kept until this process and its children close it)
#   libvirt_daemons           "libvirtd pid 123 (network namespace cl-vm-e2e-45)" lines, one per daemon running
#   libvirt_answers           whether something answers on qemu:///system
#   daemon_in_our_netns PID   whether that process shares this shell's network namespace
#   lab_libvirt_driver        kvm (the CPU has VT-x/AMD-V and /dev/kvm is there) or qemu; LAB_LIBVIRT_DRIVER wins
#   launch_libvirtd ARGS…     libvirtd --daemon ARGS…, with /dev/kvm hidden from it when the driver is qemu

LAB_VM_LOCK=${LAB_VM_LOCK:-/run/lock/containers-lab-vm.lock}

# The lock is fd 9. A child of the holder (scripts/vm-e2e.sh runs scripts/lab, which runs
# scripts/vm-up.sh) inherits fd 9 on the same open file, and flock on it succeeds at once. Daemons
# that outlive the job must be started with `9>&-`, or they would keep the lock after it ends.
lab_vm_lock() {
  local what=$1 wait=${LAB_VM_LOCK_WAIT:-1200} waited=0 step
  if [ "$(readlink "/proc/$$/fd/9" 2>/dev/null)" = "$LAB_VM_LOCK" ] && flock -n 9; then
    return 0
  fi
  mkdir -p "$(dirname "$LAB_VM_LOCK")"
  exec 9>>"$LAB_VM_LOCK"
  if ! flock -n 9; then
    printf '%s: another lab VM job holds %s (%s): one at a time, libvirtd is one per machine; waiting up to %s s (LAB_VM_LOCK_WAIT)\n' \
      "$what" "$LAB_VM_LOCK" "$(lab_vm_lock_holder)" "$wait" >&2
    while :; do
      step=$((wait - waited < 30 ? wait - waited : 30))
      if [ "$step" -le 0 ]; then
        printf '%s: gave up after %s s: the lab VM lock %s is still held by %s\n' "$what" "$wait" "$LAB_VM_LOCK" "$(lab_vm_lock_holder)" >&2
        exec 9>&-
        return 1
      fi
      flock -w "$step" 9 && break
      waited=$((waited + step))
      [ "$waited" -lt "$wait" ] && printf '%s: still waiting for the lab VM lock (%s s)\n' "$what" "$waited" >&2
    done
  fi
  printf 'pid %s, %s, since %s UTC\n' "$$" "$what" "$(date -u '+%F %T')" >"$LAB_VM_LOCK"
}

lab_vm_lock_holder() {
  local holder
  holder=$(head -1 "$LAB_VM_LOCK" 2>/dev/null)
  printf '%s' "${holder:-a process that wrote no name}"
}

# Which network namespace a process is in, in words.
netns_name() {
  local pid=$1 name
  name=$(ip netns identify "$pid" 2>/dev/null)
  if [ -n "$name" ]; then printf 'network namespace %s' "$name"
  elif [ "$(readlink "/proc/$pid/ns/net")" = "$(readlink /proc/1/ns/net)" ]; then printf "the machine's own network namespace"
  else printf 'an unnamed network namespace'
  fi
}

daemon_in_our_netns() {
  [ "$(readlink "/proc/$1/ns/net" 2>/dev/null)" = "$(readlink "/proc/$$/ns/net")" ]
}

# Every libvirtd and virtlogd running on this machine, found by process name (not by pid file:
# a --pid-file of its own hides a daemon from /run/libvirtd.pid).
libvirt_daemons() {
  local comm pid
  for comm in /proc/[0-9]*/comm; do
    pid=${comm#/proc/}
    pid=${pid%/comm}
    case "$(cat "$comm" 2>/dev/null)" in
      libvirtd | virtlogd) printf '%s pid %s (%s)\n' "$(cat "$comm")" "$pid" "$(netns_name "$pid")" ;;
    esac
  done
}

libvirt_answers() {
  timeout 20 virsh -q -c qemu:///system version >/dev/null 2>&1
}

# KVM needs the CPU's VT-x/AMD-V. A /dev/kvm without them — the paravirtual kvm_pvm of some cloud
# VMs, which boots only its own kind of guest kernel — cannot run the lab's VM: software emulation.
# vm/Vagrantfile makes the same choice for libvirt_driver "auto" (its default).
lab_libvirt_driver() {
  if [ -n "${LAB_LIBVIRT_DRIVER:-}" ] && [ "$LAB_LIBVIRT_DRIVER" != auto ]; then printf '%s' "$LAB_LIBVIRT_DRIVER"
  elif [ -e /dev/kvm ] && grep -qwE 'vmx|svm' /proc/cpuinfo; then printf kvm
  else printf qemu
  fi
}

# Why hide /dev/kvm from a libvirtd whose VMs are emulated: libvirt probes QEMU's abilities as root
# (KVM opens) but checks /dev/kvm as the user QEMU runs as (it cannot open it), finds the two
# disagree ("KVM was enabled when probing …, but it is not available now") and probes QEMU again on
# every call that needs it — seconds each, about 100 s of every `vagrant up` on this kind of machine.
# In a mount namespace of its own, /dev/kvm is a root-only null device for libvirtd and the QEMUs it
# starts: probe and check agree on "no KVM", and the probe stays cached. libvirt cannot carry a
# file mounted on /dev/kvm into the private /dev it gives each QEMU ("Unable to move /dev/kvm
# mount"), so that namespace's qemu.conf says `namespaces = []` (QEMU still runs as its own
# unprivileged user). The machine's /dev/kvm and /etc/libvirt/qemu.conf are untouched (the
# namespace's mounts are private), and the files are removed once mounted.
launch_libvirtd() {
  if [ "$(lab_libvirt_driver)" != qemu ] || [ ! -e /dev/kvm ]; then
    libvirtd --daemon "$@"
    return
  fi
  local dir
  dir=$(mktemp -d /tmp/cl-no-kvm.XXXXXX) && mknod -m 600 "$dir/kvm" c 1 3 &&
    { sed 's/^\s*namespaces\s*=/#&/' /etc/libvirt/qemu.conf && echo 'namespaces = []'; } >"$dir/qemu.conf" || return 1
  # shellcheck disable=SC2016 # $0 and $@ belong to the inner shell
  unshare --mount sh -c 'mount --bind "$0/kvm" /dev/kvm && mount --bind "$0/qemu.conf" /etc/libvirt/qemu.conf &&
    rm -rf "$0" && exec libvirtd --daemon "$@"' "$dir" "$@"
  local status=$?
  rm -rf "$dir"
  return "$status"
}
