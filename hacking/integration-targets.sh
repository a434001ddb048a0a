#!/usr/bin/env bash
# Runs the ansible-test integration targets (tests/integration/targets) against the running sandbox:
#   hacking/with-sandbox.sh hacking/integration-targets.sh [TARGET...] [ansible-test options]
# Expects .sandbox/env exported (with-sandbox.sh does that) and the venv's ansible-test on PATH.
#
# ansible-test refuses a symlinked collection root, so the checkout's files, tests/integration included
# (build_ignore leaves it out of the tarball), are mirrored into a plain ansible_collections/m365/photos
# tree under .venv/targets. ansible-test runs the playbooks with a clean environment, so the SANDBOX_*
# settings reach them as tests/integration/integration_config.yml in that tree (ansible-test's vars file),
# one variable sandbox_<name> per SANDBOX_<NAME>.
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-$PWD/.venv/bin/python}
# The mirror lives in the venv of the Python that runs the tests (.venv, or a .venv-matrix cell).
tree=$(dirname "$(dirname "$python")")/targets/ansible_collections/m365/photos

if [ -z "${SANDBOX_LDAP_HOST:-}" ] || [ -z "${SANDBOX_GRAPH_ADMIN_URL:-}" ]; then
  echo "integration-targets: the sandbox settings are not exported; run hacking/with-sandbox.sh $0" >&2
  exit 2
fi

"$python" hacking/prepare_sanity.py --include tests/integration "$PWD" "$tree"

config=$tree/tests/integration/integration_config.yml
(umask 077 && "$python" - "$config" <<'PY'
import os
import sys

import yaml

settings = {name.lower(): value for name, value in sorted(os.environ.items()) if name.startswith("SANDBOX_")}
with open(sys.argv[1], "w", encoding="utf-8") as handle:
    handle.write("# Written by hacking/integration-targets.sh from .sandbox/env; contains secrets.\n")
    yaml.safe_dump(settings, handle, default_flow_style=False)
PY
)

version=$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
cd "$tree"
status=0
ansible-test integration --local --python "$version" --color no "$@" || status=$?
rm -f "$config"
exit "$status"
