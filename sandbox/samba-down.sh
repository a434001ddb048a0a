#!/usr/bin/env bash
# Stops the sandbox Samba AD DC started by sandbox/samba-up.sh.
#
#   sandbox/samba-down.sh           # stop; keep the provisioned domain so the next up is fast
#   sandbox/samba-down.sh --purge   # stop and delete .sandbox/samba and .sandbox/samba.env
#
# Only the process recorded in .sandbox/samba/samba.pid (and its process group) is stopped.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DIR=$ROOT/.sandbox/samba
PIDFILE=$DIR/samba.pid
ENV_FILE=$ROOT/.sandbox/samba.env
STOP_TIMEOUT=${SANDBOX_SAMBA_STOP_TIMEOUT:-15}

log() { printf 'samba-down: %s\n' "$*"; }
die() {
  printf 'samba-down: ERROR: %s\n' "$*" >&2
  exit 1
}

purge=""
case "${1:-}" in
  "") ;;
  --purge) purge=1 ;;
  -h | --help)
    sed -n '2,8p' "$0"
    exit 0
    ;;
  *) die "unknown argument '$1' (usage: samba-down.sh [--purge])" ;;
esac

group_alive() { # any process left in process group $1?
  pgrep -g "$1" >/dev/null 2>&1
}

stop() {
  local pid
  if [ ! -s "$PIDFILE" ]; then
    log "samba not running (no pid file)"
    return
  fi
  pid=$(cat "$PIDFILE")
  [[ $pid =~ ^[0-9]+$ ]] || die "pid file $PIDFILE does not hold a pid; remove it by hand"
  # samba-up.sh starts samba with setsid, so its pid is also its process-group id.
  if ! group_alive "$pid"; then
    log "samba not running (stale pid $pid)"
    rm -f "$PIDFILE"
    return
  fi
  if [ "$(cat "/proc/$pid/comm" 2>/dev/null || true)" != samba ] && [ -d "/proc/$pid" ]; then
    die "pid $pid from $PIDFILE is not samba ($(cat "/proc/$pid/comm")); not killing it. Remove the pid file if samba is gone"
  fi
  kill -TERM -- "-$pid" 2>/dev/null || true
  local waited=0
  while group_alive "$pid"; do
    if [ "$waited" -ge $((STOP_TIMEOUT * 10)) ]; then
      log "samba (pid $pid) still there after ${STOP_TIMEOUT}s, sending KILL"
      kill -KILL -- "-$pid" 2>/dev/null || true
      sleep 0.5
      group_alive "$pid" && die "could not stop process group $pid"
      break
    fi
    sleep 0.1
    waited=$((waited + 1))
  done
  rm -f "$PIDFILE"
  log "stopped samba (pid $pid)"
}

stop
if [ -n "$purge" ]; then
  rm -rf "$DIR" "$ENV_FILE"
  log "purged ${DIR#"$ROOT"/} and ${ENV_FILE#"$ROOT"/}"
else
  log "kept the provisioned domain in ${DIR#"$ROOT"/} (use --purge to delete it)"
fi
