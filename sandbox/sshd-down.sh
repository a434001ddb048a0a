#!/usr/bin/env bash
# Stops the sshd started by sshd-up.sh (by its pid file only).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
pid_file=$repo/.sandbox/sshd/sshd.pid
if [ ! -s "$pid_file" ]; then
  echo "sshd-down: not running (no pid file)"
  exit 0
fi
pid=$(cat "$pid_file")
if kill -0 "$pid" 2>/dev/null && grep -qa "sshd" "/proc/$pid/cmdline"; then
  kill "$pid"
  echo "sshd-down: stopped sshd (pid $pid)"
else
  echo "sshd-down: pid $pid is not a running sandbox sshd; removing the stale pid file"
fi
rm -f "$pid_file"
