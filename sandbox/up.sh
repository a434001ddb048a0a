#!/usr/bin/env bash
# Starts the whole local sandbox (Samba AD DC and Microsoft Graph emulator, one CA) and writes
# .sandbox/env, which a shell can source. Idempotent: running parts are reused.
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHON=${PYTHON:-$PWD/.venv/bin/python}

sandbox/make-ca.sh .sandbox/ca
sandbox/samba-up.sh
sandbox/graph-up.sh
sandbox/sshd-up.sh
cat .sandbox/samba.env .sandbox/graph.env .sandbox/sshd.env > .sandbox/env.tmp
chmod 600 .sandbox/env.tmp
mv .sandbox/env.tmp .sandbox/env
echo "sandbox is up; settings in $PWD/.sandbox/env"
