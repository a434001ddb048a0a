#!/usr/bin/env bash
# Creates the sandbox's own certificate authority and one server certificate for loopback
# (SAN 127.0.0.1, ::1, localhost), shared by the sandbox DC and the Graph emulator.
# Idempotent: existing files are kept (a server certificate from before DNS:127.0.0.1 is remade).
#
# Why 127.0.0.1 is also a DNS name: on Python 3.12+ ssl.match_hostname is gone and ldap3 (2.9.1, its
# last release) falls back to its own copy of Python 3.4's, which compares the host only with DNS
# subjectAltNames, never with IP ones. The sandbox's own LDAP clients (ldap_seed.py, the integration
# targets' ldap_photos.py) connect to 127.0.0.1 with ldap3's name check, so on Python 3.13 they failed
# with "certificate ... doesn't match any name in ['127.0.0.1']". The IP SAN stays for everything that
# checks names properly (ssl with check_hostname, which the collection's modules use); verification is
# not loosened anywhere.
set -euo pipefail
dir=${1:?usage: make-ca.sh DIR}
mkdir -p "$dir"
cd "$dir"
if [ ! -s ca.pem ]; then
  openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -sha256 \
    -subj "/CN=m365.photos sandbox CA" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -keyout ca.key -out ca.pem 2>/dev/null
  rm -f server.pem server.key
fi
if [ -s server.pem ] && ! openssl x509 -in server.pem -noout -ext subjectAltName 2>/dev/null | grep -q 'DNS:127.0.0.1'; then
  rm -f server.pem server.key
fi
if [ ! -s server.pem ]; then
  openssl req -newkey rsa:2048 -nodes -sha256 -subj "/CN=localhost" \
    -keyout server.key -out server.csr 2>/dev/null
  printf '%s\n' "basicConstraints=CA:FALSE" "keyUsage=critical,digitalSignature,keyEncipherment" \
    "extendedKeyUsage=serverAuth" "subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost,DNS:127.0.0.1" > server.ext
  openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 3650 -sha256 \
    -extfile server.ext -out server.pem 2>/dev/null
  rm -f server.csr server.ext ca.srl
fi
chmod 600 ca.key server.key
