#!/usr/bin/env bash
# The last step of `scripts/lab`: open VS Code with the Containers Lab extension, pointed at the lab
# host — the agent service running on this machine (host mode, containersLab.target "local"), or
# the lab VM (VM mode, CONTAINERS_LAB_TARGET=vagrant: the extension finds it with `vagrant
# ssh-config` in the workspace's vm/ folder, so the workspace is this repository).
#
#   desktop `code` installed  → install dist/containers-lab.vsix into it and open this repository;
#   otherwise                 → code-server (VS Code in the browser; scripts/install-code-server.sh)
#                               on 127.0.0.1 (port 8080, or the next free one), no password — it is
#                               reachable only from this machine (use `ssh -L 8080:127.0.0.1:8080`
#                               from yours) — with the .vsix installed and containersLab.target
#                               set to "local" (or "vagrant"); it runs in the background and its
#                               URL is printed.
#
#   scripts/open-vscode.sh          open (idempotent: an already running code-server is reused)
#   scripts/open-vscode.sh stop     stop the code-server it started
#
# Environment (defaults in brackets): CONTAINERS_LAB_SOCKET [/run/containers-lab/agent.sock],
# CONTAINERS_LAB_RUN_DIR [/run/containers-lab], CONTAINERS_LAB_LOG_DIR [/var/log/containers-lab],
# CONTAINERS_LAB_CODE_SERVER_HOME [/var/lib/containers-lab/code-server] (its settings and
# extensions), CONTAINERS_LAB_CODE_SERVER_PORT [8080] (first port tried),
# CONTAINERS_LAB_NO_DESKTOP=1 (use code-server even when desktop `code` is installed),
# CONTAINERS_LAB_TARGET [local] (the lab host: "local" = this machine's agent, "vagrant" = the lab VM).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT_DIR=$PWD
RUN_DIR=${CONTAINERS_LAB_RUN_DIR:-/run/containers-lab}
LOG_DIR=${CONTAINERS_LAB_LOG_DIR:-/var/log/containers-lab}
SOCKET=${CONTAINERS_LAB_SOCKET:-/run/containers-lab/agent.sock}
SERVER_HOME=${CONTAINERS_LAB_CODE_SERVER_HOME:-/var/lib/containers-lab/code-server}
FIRST_PORT=${CONTAINERS_LAB_CODE_SERVER_PORT:-8080}
PID_FILE=$RUN_DIR/code-server.pid
URL_FILE=$RUN_DIR/code-server.url
LOG_FILE=$LOG_DIR/code-server.log
VSIX=$ROOT_DIR/dist/containers-lab.vsix
TARGET=${CONTAINERS_LAB_TARGET:-local}
case "$TARGET" in
  # What code-server really does (containersLab.connectOnStartup, set below; the sidebar and the
  # walkthrough open on the extension's first start).
  local) CONNECT_HINT="the \"Containers Lab\" sidebar and its walkthrough open, and the extension connects by itself to this machine's agent" ;;
  vagrant) CONNECT_HINT="the \"Containers Lab\" sidebar and its walkthrough open, and the extension connects by itself to the lab VM (found with vagrant ssh-config in vm/; it asks once to trust the VM's host key)" ;;
  *) echo "open-vscode: CONTAINERS_LAB_TARGET must be local or vagrant, got \"$TARGET\"" >&2; exit 1 ;;
esac

log() { printf '\033[1m==> %s\033[0m\n' "$*"; }

server_pid() {
  [ -f "$PID_FILE" ] && kill -0 "$(cat "$PID_FILE")" 2>/dev/null && cat "$PID_FILE"
}

if [ "${1:-open}" = "stop" ]; then
  if pid=$(server_pid); then
    kill -TERM "$pid" && log "code-server (pid $pid) stopped"
  else
    log "no code-server started by scripts/open-vscode.sh is running"
  fi
  rm -f "$PID_FILE" "$URL_FILE"
  exit 0
fi

# The extension, packaged from the current sources when the .vsix is missing or older than them.
if [ ! -f "$VSIX" ] || [ -n "$(find extension agent package.json -newer "$VSIX" -print -quit 2>/dev/null)" ]; then
  log "packaging the extension (npm run package → dist/containers-lab.vsix)"
  npm run --silent package >/dev/null
fi

# --- desktop VS Code --------------------------------------------------------------------------------
if command -v code >/dev/null 2>&1 && [ "${CONTAINERS_LAB_NO_DESKTOP:-0}" != 1 ]; then
  # Open it as the user who ran sudo (their desktop session and settings), not as root.
  as_user=()
  if [ "$(id -u)" -eq 0 ] && [ -n "${SUDO_USER:-}" ] && [ "$SUDO_USER" != root ]; then
    as_user=(sudo -u "$SUDO_USER" -H)
  fi
  root_args=()
  # VS Code refuses to run as root without its own user-data dir.
  if [ "${#as_user[@]}" -eq 0 ] && [ "$(id -u)" -eq 0 ]; then
    root_args=(--no-sandbox --user-data-dir "$HOME/.vscode-root")
  fi
  log "installing the Containers Lab extension into VS Code"
  "${as_user[@]}" code "${root_args[@]}" --install-extension "$VSIX" --force >/dev/null
  log "opening VS Code on $ROOT_DIR"
  "${as_user[@]}" code "${root_args[@]}" "$ROOT_DIR"
  if [ "$TARGET" = vagrant ]; then
    cat <<EOT
In VS Code: the "Containers Lab" sidebar and its walkthrough open; its first step, Connect, finds the
lab VM with vagrant ssh-config in vm/. The VM was made by $(id -un): VS Code running as another user cannot read
its Vagrant state (vm/.vagrant); there, use "Containers Lab: Start Lab VM", or set containersLab.ssh.*
to the values \`vagrant ssh-config\` prints (copy the private key where that user can read it).
EOT
  else
    cat <<EOT
In VS Code: the "Containers Lab" sidebar and its walkthrough open; its first step, Connect, uses the
local agent ($SOCKET) as root; as another user set containersLab.target to "settings" (SSH to this host as root).
EOT
  fi
  exit 0
fi

# --- code-server --------------------------------------------------------------------------------------
mkdir -p "$RUN_DIR" "$LOG_DIR" "$SERVER_HOME/user-data/User" "$SERVER_HOME/extensions"
[ -f "$SERVER_HOME/config.yaml" ] || : >"$SERVER_HOME/config.yaml"   # never ~/.config/code-server
dirs=(--config "$SERVER_HOME/config.yaml" --user-data-dir "$SERVER_HOME/user-data" --extensions-dir "$SERVER_HOME/extensions")

# Settings: the lab host (this machine's agent, or the lab VM). Other keys in an existing
# settings.json are kept. Written before reusing a running server too: VS Code applies a changed
# settings.json at once, so switching between host and VM mode needs no restart.
node - "$SERVER_HOME/user-data/User/settings.json" "$SOCKET" "$TARGET" <<'EOF'
const fs = require('node:fs');
const [file, socket, target] = process.argv.slice(2);
let settings = {};
if (fs.existsSync(file)) {
  try {
    settings = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    console.error(`open-vscode: ${file} is not plain JSON (comments?); set containersLab.target to "${target}" there yourself`);
    process.exit(0);
  }
}
Object.assign(settings, {
  'containersLab.target': target,
  // the lab was just started: the extension connects to it by itself
  'containersLab.connectOnStartup': true,
  // the local agent's socket; for the VM the agent's own default inside it is right
  'containersLab.agent.socketPath': target === 'local' ? socket : undefined,
  'security.workspace.trust.enabled': settings['security.workspace.trust.enabled'] ?? false,
  'workbench.startupEditor': settings['workbench.startupEditor'] ?? 'none',
  // the lab's sidebar, not VS Code's chat panel, is what a learner should see first
  'workbench.secondarySideBar.defaultVisibility': settings['workbench.secondarySideBar.defaultVisibility'] ?? 'hidden',
});
fs.writeFileSync(file, JSON.stringify(settings, null, 2) + '\n');
EOF

if pid=$(server_pid) && [ -f "$URL_FILE" ]; then
  log "code-server already running (pid $pid)"
  echo "Open VS Code: $(cat "$URL_FILE")"
  echo "In VS Code: $CONNECT_HINT."
  exit 0
fi

CODE_SERVER=$(bash scripts/install-code-server.sh | tail -1)
log "installing the Containers Lab extension into code-server"
"$CODE_SERVER" "${dirs[@]}" --install-extension "$VSIX" --force >/dev/null

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
port=$FIRST_PORT
while port_in_use "$port"; do
  port=$((port + 1))
  [ "$port" -lt $((FIRST_PORT + 100)) ] || { echo "open-vscode: no free port in $FIRST_PORT..$((FIRST_PORT + 99))" >&2; exit 1; }
done

log "starting code-server on 127.0.0.1:$port (log: $LOG_FILE)"
# setsid: its own session, so it outlives this script and the terminal that ran scripts/lab.
nohup setsid "$CODE_SERVER" "${dirs[@]}" --bind-addr "127.0.0.1:$port" --auth none \
  --disable-telemetry --disable-update-check --disable-getting-started-override \
  "$ROOT_DIR" </dev/null >>"$LOG_FILE" 2>&1 &
echo $! >"$PID_FILE"
url="http://127.0.0.1:$port/?folder=$ROOT_DIR"
answers() { node -e 'fetch(process.argv[1]).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))' "http://127.0.0.1:$port/healthz"; }
for _ in $(seq 1 100); do
  if answers; then break; fi
  kill -0 "$(cat "$PID_FILE")" 2>/dev/null || { echo "open-vscode: code-server exited; see $LOG_FILE" >&2; tail -5 "$LOG_FILE" >&2; rm -f "$PID_FILE"; exit 1; }
  sleep 0.2
done
answers || { echo "open-vscode: code-server did not answer on port $port; see $LOG_FILE" >&2; exit 1; }
echo "$url" >"$URL_FILE"

cat <<EOT

VS Code (code-server) is running on this machine, only on 127.0.0.1:
  $url
From another machine: ssh -L $port:127.0.0.1:$port <this host>, then open that URL there.
In VS Code: $CONNECT_HINT.
Stop it with: scripts/open-vscode.sh stop
EOT
