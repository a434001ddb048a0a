#!/usr/bin/env bash
# Prints the path of the newest usable Python among the versions given (newest first), e.g.
#   hacking/pick-python.sh 3.13 3.12 3.11
# "Usable" means it runs and can create a virtualenv. Looks for pythonX.Y on PATH (a pyenv shim that
# is not activated does not run, so it is skipped), then under $PYENV_ROOT/versions (newest patch first).
# Prints nothing and exits 1 when none is found.
set -uo pipefail
pyenv_root=${PYENV_ROOT:-$HOME/.pyenv}

usable() {
  [ -x "$1" ] && "$1" -c 'import ensurepip, sys, venv; sys.exit(0)' >/dev/null 2>&1
}

for version in "$@"; do
  candidates=()
  found=$(command -v "python$version" 2>/dev/null) && candidates+=("$found")
  while IFS= read -r path; do
    candidates+=("$path")
  done < <(ls -d "$pyenv_root/versions/$version".*/bin/"python$version" 2>/dev/null | sort -t. -k3,3nr)
  for candidate in "${candidates[@]}"; do
    if usable "$candidate"; then
      # The real interpreter, not a shim or a symlink chain that depends on the environment.
      "$candidate" -c 'import sys; print(sys.executable)'
      exit 0
    fi
  done
done
exit 1
