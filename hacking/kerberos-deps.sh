#!/usr/bin/env bash
# Installs what auth: kerberos needs on this machine, for the integration tests: Debian's krb5-user (kinit) and
# libkrb5-dev (krb5-config, which the Python package gssapi compiles against: it has no Linux wheels), then
# gssapi into the Python given.
#
#   hacking/kerberos-deps.sh .venv/bin/python
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${1:?usage: hacking/kerberos-deps.sh PYTHON}
PACKAGES=(krb5-user libkrb5-dev)

missing=()
for package in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "kerberos-deps: installing ${missing[*]}"
  apt=(env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}")
  "${apt[@]}" >/tmp/m365-photos-kerberos-apt.log 2>&1 ||
    { apt-get update >>/tmp/m365-photos-kerberos-apt.log 2>&1 && "${apt[@]}" >>/tmp/m365-photos-kerberos-apt.log 2>&1; } ||
    { echo "kerberos-deps: apt-get install ${missing[*]} failed, see /tmp/m365-photos-kerberos-apt.log" >&2; exit 1; }
fi
"$PY" -m pip install --quiet -r requirements-kerberos.txt 2>&1 | grep -v '^WARNING: Location' || true
"$PY" -c 'import gssapi' || { echo "kerberos-deps: $PY cannot import gssapi after installing it" >&2; exit 1; }
