#!/usr/bin/env bash
# Starts the Graph sandbox (Microsoft Graph + identity platform emulator) in the background on
# https://127.0.0.1:${SANDBOX_GRAPH_PORT:-8443} and writes .sandbox/graph.env (export lines).
# Idempotent: an emulator whose pid is alive and that answers is reused.
# Options through the environment: PYTHON (default .venv/bin/python, else python3),
# SANDBOX_GRAPH_PORT, SANDBOX_GRAPH_CONFIG (JSON settings file), SANDBOX_GRAPH_ARGS (extra flags).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
port=${SANDBOX_GRAPH_PORT:-8443}
state=$repo/.sandbox/graph
ca=$repo/.sandbox/ca
env_file=$repo/.sandbox/graph.env
pid_file=$state/graph.pid
python=${PYTHON:-.venv/bin/python}
if [ -z "${PYTHON:-}" ] && [ ! -x "$python" ]; then
  python=python3
fi
python=$(command -v "$python" || true)
python=${python:+$(realpath -s "$python")}  # absolute: the emulator runs from sandbox/graph
if [ -z "$python" ]; then
  echo "graph-up: no Python found (${PYTHON:-.venv/bin/python}, python3)" >&2
  exit 1
fi

mkdir -p "$state"
chmod 700 "$state"
bash sandbox/make-ca.sh "$ca"

if ! "$python" -c 'import PIL, cryptography, jwt' 2>/dev/null; then
  echo "graph-up: $python lacks Pillow, cryptography or PyJWT (pip install -r requirements.txt)" >&2
  exit 1
fi

# 0 = answers over HTTPS with the sandbox CA, 1 = port free, 2 = port taken by something else
probe() {
  "$python" - "$port" "$ca/ca.pem" <<'PY'
import socket, ssl, sys, urllib.request
port, cafile = int(sys.argv[1]), sys.argv[2]
try:
    urllib.request.urlopen(f"https://127.0.0.1:{port}/_sandbox/health", timeout=2,
                           context=ssl.create_default_context(cafile=cafile)).read()
    sys.exit(0)
except Exception:
    pass
with socket.socket() as s:
    sys.exit(2 if s.connect_ex(("127.0.0.1", port)) == 0 else 1)
PY
}

running_pid() {
  [ -s "$pid_file" ] && kill -0 "$(cat "$pid_file")" 2>/dev/null && cat "$pid_file"
}

samba_env=$repo/.sandbox/samba.env
if pid=$(running_pid); then
  if [ -s "$env_file" ] && [ "$samba_env" -nt "$env_file" ]; then
    reason="$samba_env changed since it started (users are seeded from it)"
  elif probe && [ -s "$env_file" ]; then
    echo "graph-up: reusing the Graph sandbox (pid $pid) on https://127.0.0.1:$port; env in $env_file"
    exit 0
  else
    reason="pid $pid does not answer"
  fi
  echo "graph-up: $reason; restarting the Graph sandbox" >&2
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 40); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.25
  done
fi

status=0
probe || status=$?
if [ "$status" -ne 1 ]; then
  echo "graph-up: port $port is already in use by another process (set SANDBOX_GRAPH_PORT)" >&2
  exit 1
fi

args=(--host 127.0.0.1 --port "$port" --state-dir "$state" --ca-dir "$ca" --env-file "$env_file"
      --samba-env "$samba_env")
if [ -n "${SANDBOX_GRAPH_CONFIG:-}" ]; then
  args+=(--config "$(realpath "$SANDBOX_GRAPH_CONFIG")")
fi
# shellcheck disable=SC2206  # deliberate word splitting of extra flags
args+=(${SANDBOX_GRAPH_ARGS:-})
rm -f "$env_file"
cd sandbox/graph
nohup "$python" -m emulator "${args[@]}" >>"$state/log" 2>&1 </dev/null &
echo $! >"$pid_file"
cd "$repo"

for _ in $(seq 1 80); do
  if probe && [ -s "$env_file" ]; then
    echo "graph-up: Graph sandbox (pid $(cat "$pid_file")) on https://127.0.0.1:$port; env in $env_file"
    exit 0
  fi
  if ! kill -0 "$(cat "$pid_file")" 2>/dev/null; then
    break
  fi
  sleep 0.25
done
echo "graph-up: the Graph sandbox did not answer within 20 s; last log lines:" >&2
tail -n 20 "$state/log" >&2 || true
kill "$(cat "$pid_file")" 2>/dev/null || true
rm -f "$pid_file"
exit 1
