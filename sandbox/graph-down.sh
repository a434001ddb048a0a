#!/usr/bin/env bash
# Stops the Graph sandbox started by graph-up.sh (by its pid file only).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
pid_file=$repo/.sandbox/graph/graph.pid
if [ ! -s "$pid_file" ]; then
  echo "graph-down: not running (no pid file)"
  exit 0
fi
pid=$(cat "$pid_file")
if kill -0 "$pid" 2>/dev/null && grep -qa "emulator" "/proc/$pid/cmdline"; then
  kill "$pid"
  for _ in $(seq 1 40); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.25
  done
  if kill -0 "$pid" 2>/dev/null; then
    kill -9 "$pid"
  fi
  echo "graph-down: stopped the Graph sandbox (pid $pid)"
else
  echo "graph-down: pid $pid is not a running Graph sandbox; removing the stale pid file"
fi
rm -f "$pid_file"
