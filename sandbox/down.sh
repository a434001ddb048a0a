#!/usr/bin/env bash
# Stops everything sandbox/up.sh started; the provisioned data stays for a fast next start.
set -euo pipefail
cd "$(dirname "$0")/.."
sandbox/sshd-down.sh
sandbox/graph-down.sh
sandbox/samba-down.sh
