#!/usr/bin/env bash
# The lab VM, end to end — what CI runs after the other suites (scripts/test):
#
#   0. the machine's lab VM lock (vm/host-libvirt.sh): libvirtd is one per machine whatever its
#      network namespace — its sockets under /run/libvirt are fixed paths — so one VM job at a time;
#      a second one waits (bounded: LAB_VM_LOCK_WAIT seconds, default 1200), then fails saying so.
#      A libvirtd or virtlogd already running (a user's lab VM, a leftover) is refused, not shared.
#   1. install what is missing (scripts/vm-install.sh: Debian packages only; scripts/setup-host.sh: the
#      registry, skopeo and busybox-static the images test builds and serves to the VM) and code-server
#   2. build the box from Debian packages (vm/build-box.sh; cached, a rerun reuses it)
#   3. a network namespace of this run's own, where libvirtd and virtlogd are started by hand
#      (PID 1 here is no systemd) and where everything that talks to the VM runs: vagrant, and the
#      vitest file that drives code-server + headless Chromium. The VM's network (libvirt's bridge,
#      its DHCP server) exists only inside that namespace: nothing in the machine's own network
#      namespace can reach the VM's private addresses.
#   4. the VM comes up the way a learner brings it up: `LAB_MODE=vm scripts/lab` (scripts/vm-up.sh:
#      `vagrant up --provider=libvirt`, the qemu driver where the CPU has no VT-x/AMD-V; then
#      scripts/open-vscode.sh starts code-server on 127.0.0.1 with the extension, its lab host the
#      VM), run inside the namespace with the run's own Vagrant home, code-server home and run
#      directory; then test/vm-e2e/*.vm.ts (vitest.vm.config.ts). Two nodes (lab1, lab2, 1 GiB each,
#      booted in parallel: ~4 min here) so the node switch and the private network are tested too;
#      LAB_VM_E2E_NODES=1 boots one ("lab", 2 GiB) and skips those tests. The last tests stop, start
#      and destroy the VM from VS Code's palette ("Stop/Start/Destroy Lab VM"), as a learner would.
#   5. whatever happens: code-server stopped, `vagrant destroy -f` (a no-op when the tests got that
#      far), the box removed from Vagrant and
#      from libvirt's pool, the networks libvirt made stopped, libvirtd/virtlogd stopped by the PIDs
#      we started, the namespace deleted. The built box file stays in its cache so the next run is fast.
#
# Results are vitest JSON in test/artifacts/vm-e2e-results.json (VM_E2E_RESULTS overrides). When
# this machine lacks something the job needs (not x86-64, no root, no network namespaces, too little
# memory or disk, no Debian mirror and nothing cached), it prints why and writes a result with one
# skipped test saying so: never a silent skip. CONTAINERS_LAB_VM_E2E=skip skips on purpose, also said.
# CONTAINERS_LAB_VM_E2E_PREFLIGHT=1 stops once this run's libvirtd answers (lock, tools, box,
# namespace, daemons, teardown — no VM): to check the job's set-up, e.g. two jobs at once.
# Exit status: 0 when the tests passed or were skipped for a reason printed, 1 otherwise.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
# shellcheck source=vm/host-libvirt.sh
. vm/host-libvirt.sh
REPO=$PWD
RESULTS=${VM_E2E_RESULTS:-$REPO/test/artifacts/vm-e2e-results.json}
CACHE=${LAB_BOX_CACHE:-/var/cache/containers-lab/box}
BOX_FILE=$CACHE/containers-lab-debian12-libvirt.box
BOX_NAME=containers-lab/debian12
MIRROR=${LAB_DEBIAN_MIRROR:-http://deb.debian.org/debian}
NETNS=cl-vm-e2e-$$
NODES=${LAB_VM_E2E_NODES:-2}
# Two nodes get 1 GiB each (plenty for busybox containers; the machine has 2 CPUs and no KVM).
[ "$NODES" = 2 ] && export LAB_MEMORY=${LAB_MEMORY:-1024}
GUEST_MIB=${LAB_MEMORY:-2048}
STARTED=$(date +%s)

log() { printf '\033[1m==> vm-e2e [%3ss] %s\033[0m\n' "$(($(date +%s) - STARTED))" "$*"; }

# A results file in vitest's JSON shape with one test that did not run: skipped (a reason this
# machine lacks) or failed (the job broke before its tests ran). scripts/test adds it up.
write_result() {
  local status=$1 reason=$2
  mkdir -p "$(dirname "$RESULTS")"
  node -e '
    const [file, status, reason] = process.argv.slice(1);
    const failed = status === "failed";
    const assertion = { title: "lab VM end to end", fullName: "lab VM end to end", status: failed ? "failed" : "pending", failureMessages: [reason] };
    const result = {
      numTotalTests: 1, numPassedTests: 0, numFailedTests: failed ? 1 : 0, numPendingTests: failed ? 0 : 1, numTodoTests: 0,
      success: !failed,
      testResults: [{ name: "scripts/vm-e2e.sh", status: failed ? "failed" : "skipped", message: reason, assertionResults: [assertion] }],
    };
    require("fs").writeFileSync(file, JSON.stringify(result, null, 2) + "\n");
  ' "$RESULTS" "$status" "$reason"
}
skip() { printf 'vm-e2e: SKIPPED (the lab VM cannot run here): %s\n' "$*" >&2; write_result skipped "$*"; exit 0; }
broken() { printf 'vm-e2e: FAILED before the tests ran: %s\n' "$*" >&2; write_result failed "$*"; exit 1; }

# --prepare: only steps 1 (the Debian packages a VM needs) and 2 (the box), no lock, no results
# file. scripts/test runs it in the background, at the lowest CPU priority, while the other
# suites run: the box's download and build then no longer sit on the job's critical path, and the
# VM job later finds both done.
PREPARE_ONLY=0
[ "${1:-}" = --prepare ] && PREPARE_ONLY=1
if [ "$PREPARE_ONLY" = 1 ]; then
  skip() { printf 'vm-e2e --prepare: nothing to prepare (the lab VM cannot run here): %s\n' "$*" >&2; exit 0; }
  broken() { printf 'vm-e2e --prepare: %s (the VM job will try again and say so)\n' "$*" >&2; exit 1; }
else
  rm -f "$RESULTS"
fi
[ "${CONTAINERS_LAB_VM_E2E:-}" = skip ] && skip "CONTAINERS_LAB_VM_E2E=skip was set"
case "$NODES" in 1 | 2) ;; *) broken "LAB_VM_E2E_NODES must be 1 or 2, got \"$NODES\"" ;; esac

# --- what the machine must have ------------------------------------------------------------------
[ "$(id -u)" -eq 0 ] || skip "not root (libvirtd, loop devices and network namespaces need it)"
[ "$(uname -m)" = x86_64 ] || skip "the box builder makes x86-64 (BIOS/extlinux) boxes; this is $(uname -m)"
command -v apt-get >/dev/null 2>&1 || skip "no apt-get: the VM's tools come from Debian packages"
mem_kib=$(awk '/^MemAvailable:/ { print $2 }' /proc/meminfo)
need_mib=$((NODES * (GUEST_MIB + 1024)))
[ "${mem_kib:-0}" -ge $((need_mib * 1024)) ] || skip "$((${mem_kib:-0} / 1024)) MiB of memory available, $NODES VM(s) need $need_mib MiB ($GUEST_MIB MiB guest + 1 GiB for qemu each)"
mkdir -p "$CACHE" /var/lib/libvirt 2>/dev/null
disk_kib=$(df -Pk "$CACHE" | awk 'NR == 2 { print $4 }')
[ "${disk_kib:-0}" -ge $((6 * 1024 * 1024)) ] || skip "$((${disk_kib:-0} / 1024)) MiB free in $CACHE, the box build needs 6 GiB"
ip netns add "$NETNS" 2>/dev/null || skip "cannot create a network namespace (ip netns add): the VM's network must stay inside one"
ip netns delete "$NETNS"
if [ ! -f "$BOX_FILE" ] && [ ! -f "$CACHE/rootfs/.stage-debootstrap" ]; then
  curl -sfI --max-time 20 "$MIRROR/dists/bookworm/Release" >/dev/null ||
    skip "the Debian mirror $MIRROR cannot be reached and no box is cached in $CACHE (the box is built from Debian packages)"
fi

if [ "$PREPARE_ONLY" = 1 ]; then
  log "preparing: the Debian packages a VM needs (scripts/vm-install.sh), then the box (vm/build-box.sh)"
  bash scripts/vm-install.sh || broken "installing the Debian packages failed"
  bash vm/build-box.sh --no-add || broken "vm/build-box.sh failed"
  log "prepared: box $BOX_FILE, $(du -m "$BOX_FILE" | cut -f1) MiB"
  exit 0
fi

# --- 0. one lab VM job at a time on this machine -------------------------------------------------
lab_vm_lock "scripts/vm-e2e.sh" ||
  broken "another lab VM job held this machine's libvirt for over ${LAB_VM_LOCK_WAIT:-1200} s (lock $LAB_VM_LOCK: $(lab_vm_lock_holder))"

# --- 1. tools ------------------------------------------------------------------------------------
log "installing what is missing (scripts/vm-install.sh, scripts/setup-host.sh, code-server)"
bash scripts/vm-install.sh || broken "installing the Debian packages failed (see above)"
bash scripts/setup-host.sh >/dev/null || broken "installing the test tools failed (scripts/setup-host.sh, see above)"
bash scripts/install-code-server.sh >/dev/null || broken "installing code-server failed (see above)"
if [ ! -f dist/agent/containers-lab.js ]; then npm run --silent build || broken "npm run build failed"; fi

# --- 2. the box ----------------------------------------------------------------------------------
log "building the box (vm/build-box.sh; cached in $CACHE: already built when scripts/test ran --prepare)"
bash vm/build-box.sh --no-add || broken "vm/build-box.sh failed (see above)"
log "box: $BOX_FILE, $(du -m "$BOX_FILE" | cut -f1) MiB"

# --- 3. the namespace, libvirt, and everything undone at exit ------------------------------------
STATE=$(mktemp -d /tmp/cl-vm-e2e.XXXXXX)
export VAGRANT_HOME=$STATE/vagrant.d VAGRANT_DOTFILE_PATH=$STATE/machines VAGRANT_CHECKPOINT_DISABLE=1
export VAGRANT_DEFAULT_PROVIDER=libvirt VAGRANT_NO_COLOR=1 LAB_NODES=$NODES
# scripts/lab's code-server (scripts/open-vscode.sh): its home, pid/URL files and log in this run's state
export CONTAINERS_LAB_RUN_DIR=$STATE/run CONTAINERS_LAB_LOG_DIR=$STATE/log \
  CONTAINERS_LAB_CODE_SERVER_HOME=$STATE/code-server CONTAINERS_LAB_NO_DESKTOP=1
in_netns() { ip netns exec "$NETNS" "$@"; }
virsh_() { virsh -q -c qemu:///system "$@"; }
pool_existed=0
LIBVIRTD_PID=
VIRTLOGD_PID=
networks_before=

# libvirtd in the namespace (again, if it went away during the run: the VM must still be destroyed)
start_libvirtd() {
  rm -f "$STATE/libvirtd.pid"
  # 9>&-: the daemon must not hold the lab VM lock (we stop it, but a stuck one would keep it)
  in_netns bash -c '. vm/host-libvirt.sh && launch_libvirtd "$@"' launch_libvirtd --pid-file "$STATE/libvirtd.pid" 9>&- || return 1
  for _ in $(seq 1 100); do [ -s "$STATE/libvirtd.pid" ] && virsh_ version >/dev/null 2>&1 && break; sleep 0.2; done
  LIBVIRTD_PID=$(cat "$STATE/libvirtd.pid" 2>/dev/null)
  [ -n "$LIBVIRTD_PID" ] && virsh_ version >/dev/null 2>&1
}

# shellcheck disable=SC2317 # run by the EXIT trap, which shellcheck does not follow
teardown() {
  local status=$?
  trap - EXIT INT TERM
  log "cleaning up"
  if [ -f "$CONTAINERS_LAB_RUN_DIR/code-server.pid" ]; then
    in_netns bash scripts/open-vscode.sh stop >/dev/null || echo "vm-e2e: could not stop scripts/lab's code-server" >&2
  fi
  if [ -n "$LIBVIRTD_PID" ]; then
    if ! kill -0 "$LIBVIRTD_PID" 2>/dev/null || ! virsh_ version >/dev/null 2>&1; then
      echo "vm-e2e: libvirtd (pid $LIBVIRTD_PID) went away during the run; starting it again to clean up" >&2
      start_libvirtd || echo "vm-e2e: libvirtd does not start again" >&2
    fi
    (cd vm && in_netns vagrant destroy -f) || echo "vm-e2e: vagrant destroy failed" >&2
    # whatever vagrant could not remove: this run's domain (named after vm/ and the machine)
    for domain in $(virsh_ list --all --name 2>/dev/null | grep -x 'vm_lab[0-9]*' || true); do
      virsh_ destroy "$domain" >/dev/null 2>&1; virsh_ undefine --remove-all-storage "$domain" >/dev/null 2>&1 || true
    done
    # the box's image as vagrant-libvirt uploaded it into libvirt's "default" pool
    for volume in $(virsh_ vol-list default 2>/dev/null | awk '{ print $1 }' | grep '^containers-lab-VAGRANTSLASH-debian12_vagrant_box_image' || true); do
      virsh_ vol-delete --pool default "$volume" >/dev/null || echo "vm-e2e: could not delete volume $volume" >&2
    done
    if [ "$pool_existed" = 0 ] && virsh_ pool-info default >/dev/null 2>&1; then
      virsh_ pool-destroy default >/dev/null 2>&1; virsh_ pool-undefine default >/dev/null 2>&1
    fi
    # active networks run a dnsmasq each: stop them before libvirtd; undefine the ones this run defined
    for network in $(virsh_ net-list --name 2>/dev/null); do virsh_ net-destroy "$network" >/dev/null || true; done
    for network in $(virsh_ net-list --all --name 2>/dev/null); do
      grep -qx "$network" <<<"$networks_before" || virsh_ net-undefine "$network" >/dev/null || true
    done
  fi
  for pid in $LIBVIRTD_PID $VIRTLOGD_PID; do
    kill -TERM "$pid" 2>/dev/null || continue
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  ip netns delete "$NETNS" 2>/dev/null
  rm -rf "$STATE"
  log "done in $(($(date +%s) - STARTED)) s"
  exit "$status"
}
trap teardown EXIT
trap 'exit 130' INT TERM

# Another libvirtd or virtlogd on this machine — found by process, whatever its pid file or network
# namespace — owns the sockets under /run/libvirt that ours would take over (vm/host-libvirt.sh).
# Refused, not shared: its VMs are someone else's.
running=$(libvirt_daemons | paste -sd ';' | sed 's/;/; /g')
[ -z "$running" ] || broken "libvirt already runs on this machine: $running. This job starts its own libvirtd in a network namespace, and a second libvirtd would cut the first one off its socket (/run/libvirt/libvirt-sock): stop those (a lab VM of yours: vagrant halt, then kill the PIDs) and run again"
libvirt_answers && broken "something already answers on qemu:///system (/run/libvirt/libvirt-sock) though no libvirtd process was found (systemd socket activation?): stop it (systemctl stop libvirtd libvirtd.socket) and run again"
ip netns add "$NETNS" || broken "ip netns add $NETNS failed"
ip -n "$NETNS" link set lo up
log "network namespace $NETNS: starting virtlogd and libvirtd in it"
in_netns virtlogd --daemon --pid-file "$STATE/virtlogd.pid" 9>&- || broken "virtlogd did not start"
for _ in $(seq 1 50); do [ -s "$STATE/virtlogd.pid" ] && break; sleep 0.1; done
VIRTLOGD_PID=$(cat "$STATE/virtlogd.pid" 2>/dev/null)
start_libvirtd || broken "libvirtd did not start, or does not answer on qemu:///system"
networks_before=$(virsh_ net-list --all --name)
virsh_ pool-info default >/dev/null 2>&1 && pool_existed=1
if [ "${CONTAINERS_LAB_VM_E2E_PREFLIGHT:-0}" = 1 ]; then
  log "preflight: libvirtd (pid $LIBVIRTD_PID) answers in $NETNS; stopping here (CONTAINERS_LAB_VM_E2E_PREFLIGHT=1)"
  write_result skipped "preflight only (CONTAINERS_LAB_VM_E2E_PREFLIGHT=1): no VM was booted"
  exit 0
fi

# --- 4. the VM and the tests ---------------------------------------------------------------------
log "vagrant box add $BOX_NAME (into this run's VAGRANT_HOME)"
vagrant box add --force --name "$BOX_NAME" "$BOX_FILE" >/dev/null || broken "vagrant box add failed"
log "LAB_MODE=vm scripts/lab, $NODES node(s): the README's lab command (vagrant up, then code-server)"
up_started=$(date +%s)
# Each line stamped with the seconds since scripts/lab started (where does the time go?); a
# progress bar's carriage-return updates are shown as their last state only. Its fd 9 is our lock:
# scripts/vm-up.sh sees it already held by its caller and goes on.
in_netns env LAB_MODE=vm bash scripts/lab 2>&1 | while IFS= read -r line; do
  printf '[%3ss] %s\n' "$(($(date +%s) - up_started))" "${line##*$'\r'}"
done
[ "${PIPESTATUS[0]}" -eq 0 ] || broken "LAB_MODE=vm scripts/lab failed (see above)"
[ -s "$CONTAINERS_LAB_RUN_DIR/code-server.url" ] || broken "scripts/lab printed no code-server URL (see above)"
up_seconds=$(($(date +%s) - up_started))
log "scripts/lab took $up_seconds s (its vagrant up time is printed above)"

log "the extension in code-server + headless Chromium against the VM (vitest.vm.config.ts)"
mkdir -p "$(dirname "$RESULTS")"
status=0
# LAB_HOST_NETNS_PID: a process (this script) in the machine's own network namespace, for the
# test that proves the VM's network is not reachable from there.
# LAB_VM_CODE_SERVER_URL: the code-server scripts/lab opened, as the learner would use it.
in_netns env LAB_VM_NETNS="$NETNS" LAB_HOST_NETNS_PID=$$ LAB_VM_UP_SECONDS="$up_seconds" \
  LAB_VM_CODE_SERVER_URL="$(cat "$CONTAINERS_LAB_RUN_DIR/code-server.url")" \
  npx vitest run -c vitest.vm.config.ts --reporter=default --reporter=json --outputFile.json="$RESULTS" || status=1
[ -f "$RESULTS" ] || broken "vitest wrote no results"
exit "$status"
