#!/usr/bin/env bash
# The demo: run the photo_sync role against the sandbox directory and all three sandbox tenants, then run it
# again, which must change nothing. Expects .sandbox/env exported (make demo does that).
# First the hybrid case (playbooks/hybrid.yml, AD as the source) from the broken state sandbox/seed_hybrid.py
# seeds, twice; then the folder source (playbooks/demo.yml), twice. Every second run must change nothing.
# Usage: hacking/demo.sh [PLAYBOOK [INVENTORY [HYBRID_PLAYBOOK]]] - defaults: the checkout's playbooks/demo.yml, its
# inventory and playbooks/hybrid.yml; `make test` passes the installed collection's (m365.photos.demo,
# m365.photos.hybrid) to prove the built tarball works. DEMO_WAIT_S (default 0) waits that long before each second
# run: against an emulator with write_visibility_delay_s set, a second run inside the delay writes again.
set -euo pipefail
cd "$(dirname "$0")/.."
playbook=${1:-playbooks/demo.yml}
inventory=${2:-playbooks/sandbox/inventory.yml}
hybrid=${3:-playbooks/hybrid.yml}
wait_s=${DEMO_WAIT_S:-0}
PY=${PYTHON:-$PWD/.venv/bin/python}
export PHOTO_SYNC_REPORT_DIR=${PHOTO_SYNC_REPORT_DIR:-$PWD/.sandbox/demo-reports}
export ANSIBLE_NOCOLOR=1
log=$(mktemp -d)
trap 'rm -rf "$log"' EXIT

run() { # run NAME PLAYBOOK
  ansible-playbook -i "$inventory" "$2" > "$log/$1.log" 2>&1 || {
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

report_of() { grep -o 'Photo sync report: [^ ]*' "$log/$1.log" | head -1 | cut -d' ' -f4; }
unchanged() {
  if grep -E '^[a-z]+ +: .*changed=[1-9]' "$log/$1.log"; then
    echo "demo: the $1 run changed something; it must not" >&2
    exit 1
  fi
}

echo "demo: seeding the hybrid case: AD photos of 30-100 KB that never reached the cloud, stale cloud photos,"
echo "demo: photos only in the cloud, users with none (sandbox/seed_hybrid.py)"
"$PY" sandbox/seed_hybrid.py >/dev/null
echo "demo: hybrid, first run (AD is the source: the cloud gets each AD photo, AD photos over 10 KB are refitted)"
run hybrid-first "$hybrid"
sleep "$wait_s"
echo "demo: hybrid, second run (must change nothing)"
run hybrid-second "$hybrid"
unchanged hybrid-second
echo "demo: hybrid report (user0055 shows the stale cloud photo before, the AD picture after): $(report_of hybrid-first)"

echo "demo: folder, first run (converges photos in AD and in the contoso, fabrikam and tailspin tenants)"
run first "$playbook"
sleep "$wait_s"
echo "demo: folder, second run (must change nothing)"
run second "$playbook"
unchanged second
echo "demo: second run changed nothing"
echo "demo: summary of the second run:"
head -20 "$(dirname "$(report_of second)")/summary.md"
echo "demo: HTML reports (before and after pictures): hybrid $(report_of hybrid-first), folder $(report_of first)"
