#!/usr/bin/env bash
# The demo: run the photo_sync role against the sandbox directory and all three sandbox tenants, then run it
# again, which must change nothing. Expects .sandbox/env exported (make demo does that).
# Usage: hacking/demo.sh [PLAYBOOK [INVENTORY]] - defaults: the checkout's playbooks/demo.yml and its inventory;
# `make test` passes the installed collection's (m365.photos.demo) to prove the built tarball works.
set -euo pipefail
cd "$(dirname "$0")/.."
playbook=${1:-playbooks/demo.yml}
inventory=${2:-playbooks/sandbox/inventory.yml}
export PHOTO_SYNC_REPORT_DIR=${PHOTO_SYNC_REPORT_DIR:-$PWD/.sandbox/demo-reports}
export ANSIBLE_NOCOLOR=1
log=$(mktemp -d)
trap 'rm -rf "$log"' EXIT

run() {
  ansible-playbook -i "$inventory" "$playbook" > "$log/$1.log" 2>&1 || {
    cat "$log/$1.log"
    echo "demo: the $1 run failed (output above)" >&2
    exit 1
  }
  # ansible-core warns when meta/runtime.yml's requires_ansible excludes it: the supported range must be true.
  if grep -i 'does not support Ansible version' "$log/$1.log"; then
    echo "demo: ansible-core $(ansible --version | head -1) warned that the collection does not support it" >&2
    exit 1
  fi
  sed -n '/^PLAY RECAP/,$p' "$log/$1.log"
}

echo "demo: first run (converges photos in AD and in the contoso, fabrikam and tailspin tenants)"
run first
grep -o 'Photo sync report: [^ ]*' "$log/first.log" | head -1
echo "demo: second run (must change nothing)"
run second
if grep -E '^[a-z]+ +: .*changed=[1-9]' "$log/second.log"; then
  echo "demo: the second run changed something; it must not" >&2
  exit 1
fi
report=$(grep -o 'Photo sync report: [^ ]*' "$log/second.log" | head -1 | cut -d' ' -f4)
echo "demo: second run changed nothing"
echo "demo: summary of the second run:"
cat "$(dirname "$report")/summary.md" | head -20
echo "demo: first run's HTML report (before and after pictures): $(grep -o 'Photo sync report: [^ ]*' "$log/first.log" | head -1 | cut -d' ' -f4)"
