#!/usr/bin/env bash
# Runs a command with the sandbox up and .sandbox/env exported; stops the sandbox afterwards
# only when this script was the one that started it.
set -euo pipefail
cd "$(dirname "$0")/.."

started_here=0
if ! sandbox/status.sh >/dev/null 2>&1; then
  started_here=1
fi
sandbox/up.sh
set -a
# shellcheck disable=SC1091
source .sandbox/env
set +a

status=0
"$@" || status=$?
if [ "$started_here" = 1 ]; then
  sandbox/down.sh
fi
exit "$status"
