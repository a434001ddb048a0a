#!/usr/bin/env bash
# Starts a real Samba AD domain controller on loopback for the sandbox (see docs/sandbox.md).
#
#   sandbox/samba-up.sh            # from the repository root (or anywhere: it finds the root)
#   SANDBOX_USERS=1000 sandbox/samba-up.sh
#
# 1. installs the Debian packages samba, samba-ad-provision, samba-dsdb-modules, samba-vfs-modules if missing
#    (no service is started by the install);
# 2. makes the sandbox CA (sandbox/make-ca.sh .sandbox/ca);
# 3. provisions the throwaway domain TEST.EXAMPLE into .sandbox/samba/ (once);
# 4. starts `samba` (LDAP/LDAPS and its Kerberos KDC, loopback only, our certificate) unless it already runs;
# 5. seeds user0001..userNNNN (NNNN = $SANDBOX_USERS, default 62) with sandbox/ldap_seed.py (over LDAPS;
#    1,000 changes or more straight into the DC's database with sandbox/samdb_bulk.py);
# 6. writes .sandbox/krb5/ (a krb5.conf for the realm, the Administrator's keytab) and registers the
#    service principal ldap/127.0.0.1 on the DC, so GSSAPI binds to the address the tests use work;
# 7. writes .sandbox/samba.env (source it).
# Everything but the installed packages stays under .sandbox/. Stop with sandbox/samba-down.sh.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SB=$ROOT/.sandbox
CA_DIR=$SB/ca
DIR=$SB/samba
CONF=$DIR/etc/smb.conf
PIDFILE=$DIR/samba.pid
LOG=$DIR/log
ENV_FILE=$SB/samba.env
ADMIN_PW_FILE=$DIR/admin.password
READER_PW_FILE=$DIR/reader.password

REALM=TEST.EXAMPLE
NETBIOS_DOMAIN=TEST
DNS_DOMAIN=test.example
BASE_DN=DC=test,DC=example
BIND_DN=CN=Administrator,CN=Users,$BASE_DN
USERS_DN=OU=PhotoUsers,$BASE_DN
HOST=127.0.0.1
LDAPS_PORT=636
LDAP_PORT=389
GC_PORTS="3268 3269" # the LDAP server also listens for the global catalog
KDC_PORT=88
KRB5_DIR=$SB/krb5
DC_ACCOUNT='DC1$'
USERS=${SANDBOX_USERS:-62} # 1-50 for the tests, 51-62 for the demo (sandbox/seed_hybrid.py)
START_TIMEOUT=${SANDBOX_SAMBA_START_TIMEOUT:-30}
PACKAGES=(samba samba-ad-provision samba-dsdb-modules samba-vfs-modules) # vfs: provisioning sets sysvol ACLs via acl_xattr

log() { printf 'samba-up: %s\n' "$*"; }
die() {
  printf 'samba-up: ERROR: %s\n' "$*" >&2
  exit 1
}
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1fs", b - a }'; }

[[ $USERS =~ ^[0-9]+$ ]] || die "SANDBOX_USERS must be a number, got '$USERS'"
[ "$(id -u)" -eq 0 ] || die "run as root (installs packages, binds ports 389/636)"

# Python with ldap3: $PYTHON, else the repository's .venv, else python3.
if [ -n "${PYTHON:-}" ]; then
  PY=$PYTHON
elif [ -x "$ROOT/.venv/bin/python" ]; then
  PY=$ROOT/.venv/bin/python
else
  PY=python3
fi
"$PY" -c 'import ldap3' 2>/dev/null ||
  die "'$PY' cannot import ldap3: set PYTHON to a Python that has it (e.g. PYTHON=.venv/bin/python after 'pip install -r requirements.txt')"
SEED=("$PY" "$ROOT/sandbox/ldap_seed.py")

# --- 1. packages --------------------------------------------------------------------------------
install_packages() {
  local missing=() p
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  if [ ${#missing[@]} -eq 0 ]; then
    log "reused: packages ${PACKAGES[*]} already installed"
    return
  fi
  local t0 policy_made=""
  t0=$(now)
  # Keep the package scripts from starting smbd/nmbd/samba-ad-dc (they would take port 389/636).
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    policy_made=1
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  log "installing ${missing[*]} ..."
  local apt=(env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}")
  if ! "${apt[@]}" >"$SB/apt.log" 2>&1; then
    log "install failed, running apt-get update and retrying"
    apt-get update >>"$SB/apt.log" 2>&1 || die "apt-get update failed, see $SB/apt.log"
    "${apt[@]}" >>"$SB/apt.log" 2>&1 || die "apt-get install ${missing[*]} failed, see $SB/apt.log"
  fi
  if [ -n "$policy_made" ]; then
    rm -f /usr/sbin/policy-rc.d
    trap - EXIT
  fi
  log "installed ${missing[*]} in $(since "$t0")"
}

# Any samba daemon we did not start (e.g. a system samba-ad-dc) would hold the LDAP ports.
check_foreign_samba() {
  local pid ours=""
  [ -s "$PIDFILE" ] && ours=$(cat "$PIDFILE")
  # A zombie (state Z) is a daemon that has exited and is only waiting to be reaped: it holds no port.
  for pid in $(ps -eo pid=,stat=,comm= | awk '$2 !~ /^Z/ && $3 ~ /^(samba|smbd|nmbd|winbindd)$/ { print $1 }'); do
    [ -n "$ours" ] && [ "$(ps -o sid= -p "$pid" | tr -d ' ')" = "$ours" ] && continue
    die "a samba daemon not started by this sandbox is running (pid $pid: $(ps -o args= -p "$pid")); stop it (e.g. 'systemctl stop samba-ad-dc smbd nmbd') and retry"
  done
}

port_owner() { # prints the listener on TCP port $1, if any
  ss -ltnpH "sport = :$1" 2>/dev/null | head -1
}

# --- 3. provisioning ----------------------------------------------------------------------------
gen_password() { # AD complexity: upper, lower, digit, symbol; no shell-special characters
  printf 'Sb-%s-%sx9Q' "$(openssl rand -hex 12)" "$(openssl rand -hex 4 | tr a-f A-F)"
}

path_options() { # every path samba would otherwise put under /etc, /var or /run
  printf '%s\n' \
    "log file=$DIR/log.samba" \
    "pid directory=$DIR/run" \
    "ncalrpc dir=$DIR/run/ncalrpc" \
    "winbindd socket directory=$DIR/run/winbindd" \
    "ntp signd socket directory=$DIR/run/ntp_signd" \
    "lock dir=$DIR/lock" \
    "state directory=$DIR/state" \
    "cache directory=$DIR/cache" \
    "private dir=$DIR/private" \
    "binddns dir=$DIR/bind-dns" \
    "ldb:nosync=true"
}

provision() {
  if [ -f "$DIR/.provisioned" ] && [ -s "$ADMIN_PW_FILE" ] && [ -f "$CONF" ]; then
    log "reused: domain $REALM provisioned in ${DIR#"$ROOT"/}"
    return
  fi
  [ -e "$DIR" ] && log "removing incomplete provisioning in ${DIR#"$ROOT"/}"
  rm -rf "$DIR"
  mkdir -p "$DIR"/{etc,run,lock,state,cache,private,bind-dns}
  mkdir -m 0750 "$DIR/run/ntp_signd"
  chmod 700 "$DIR"
  (umask 077 && gen_password >"$ADMIN_PW_FILE" && gen_password >"$READER_PW_FILE")
  : >"$CONF" # an empty config to start from, so /etc/samba/smb.conf is not read

  local opts=() line t0
  while IFS= read -r line; do opts+=("--option=$line"); done < <(path_options)
  t0=$(now)
  log "provisioning domain $REALM (log: ${DIR#"$ROOT"/}/provision.log) ..."
  # The throwaway password is visible in the process list for the few seconds of provisioning.
  # LMDB (mdb) instead of the default TDB: seeding 10,000 users over LDAP is about twice as fast.
  if ! samba-tool domain provision \
    --configfile="$CONF" \
    --targetdir="$DIR" \
    --realm="$REALM" --domain="$NETBIOS_DOMAIN" \
    --server-role=dc --dns-backend=NONE \
    --backend-store=mdb \
    --host-name=dc1 \
    --adminpass="$(cat "$ADMIN_PW_FILE")" \
    "${opts[@]}" >"$DIR/provision.log" 2>&1; then
    tail -n 20 "$DIR/provision.log" >&2
    die "provisioning failed (full log: $DIR/provision.log); run 'sandbox/samba-down.sh --purge' and retry"
  fi
  touch "$DIR/.provisioned"
  log "provisioned in $(since "$t0")"
}

# TLS with the sandbox CA, loopback only. Rewritten on every run so the settings stay right.
configure() {
  local begin='# --- m365.photos sandbox settings (managed by sandbox/samba-up.sh) ---'
  local end='# --- end of m365.photos sandbox settings ---'
  local tmp
  tmp=$(mktemp "$DIR/etc/smb.conf.XXXXXX")
  awk -v b="$begin" -v e="$end" 'index($0, b) { skip = 1 } !skip { print } index($0, e) { skip = 0 }' "$CONF" |
    awk -v b="$begin" -v e="$end" -v ca="$CA_DIR" '
      function block() {
        print "\t" b
        print "\tinterfaces = lo"
        print "\tbind interfaces only = yes"
        print "\tserver services = ldap, kdc"
        # What Active Directory does when LDAP signing is required: a bind over TLS counts as signed (ldap3
        # cannot sign or seal SASL traffic itself). Samba 4.17 would otherwise refuse GSSAPI over LDAPS too.
        print "\tldap server require strong auth = allow_sasl_over_tls"
        # A changed password stops working at once (default: the old one still binds for 60 minutes, as
        # Windows allows for NTLM), so a password changed mid-run is tested at its strictest.
        print "\told password allowed period = 0"
        print "\ttls enabled = yes"
        print "\ttls certfile = " ca "/server.pem"
        print "\ttls keyfile = " ca "/server.key"
        print "\ttls cafile = " ca "/ca.pem"
        print "\t" e
        done = 1
      }
      # at the end of [global], so these win over what provisioning wrote there
      /^\[/ && !/^\[global\]/ && !done { block() }
      { print }
      END { if (!done) block() }' >"$tmp"
  mv "$tmp" "$CONF"
}

# --- 4. the daemon ------------------------------------------------------------------------------
running_pid() { # prints our samba's pid if it is alive
  local pid
  [ -s "$PIDFILE" ] || return 1
  pid=$(cat "$PIDFILE")
  [ -d "/proc/$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = samba ] || return 1
  echo "$pid"
}

wait_ldaps() {
  "${SEED[@]}" wait --host "$HOST" --port "$LDAPS_PORT" --ca-file "$CA_DIR/ca.pem" --timeout "$1"
}

start() {
  local pid
  if pid=$(running_pid); then
    if wait_ldaps 3 2>/dev/null; then
      log "reused: samba already running (pid $pid), LDAPS answers"
      return
    fi
    die "our samba (pid $pid) runs but LDAPS on $HOST:$LDAPS_PORT does not answer; run sandbox/samba-down.sh and retry (log: $LOG)"
  fi
  rm -f "$PIDFILE"
  check_foreign_samba
  local port owner
  for port in $LDAP_PORT $LDAPS_PORT $GC_PORTS $KDC_PORT; do
    owner=$(port_owner "$port")
    [ -z "$owner" ] || die "TCP port $port is already in use, Samba needs it: $owner -- stop that service and retry"
  done

  local t0
  t0=$(now)
  # setsid: own process group (samba-down.sh kills the group); -i: foreground, log to stdout.
  nohup setsid samba --configfile="$CONF" -i -M single --debuglevel=1 </dev/null >"$LOG" 2>&1 &
  pid=$!
  echo "$pid" >"$PIDFILE"
  if ! wait_ldaps "$START_TIMEOUT"; then
    tail -n 20 "$LOG" >&2 || true
    kill -- "-$pid" 2>/dev/null || true
    rm -f "$PIDFILE"
    die "samba did not answer LDAPS on $HOST:$LDAPS_PORT within ${START_TIMEOUT}s (log: $LOG)"
  fi
  log "started samba (pid $pid) in $(since "$t0"); LDAPS $HOST:$LDAPS_PORT, LDAP $HOST:$LDAP_PORT"
}

# --- 5. users -----------------------------------------------------------------------------------
seed() {
  local t0
  t0=$(now)
  "${SEED[@]}" seed --host "$HOST" --port "$LDAPS_PORT" --ca-file "$CA_DIR/ca.pem" \
    --bind-dn "$BIND_DN" --password-file "$ADMIN_PW_FILE" --base-dn "$BASE_DN" \
    --domain "$DNS_DOMAIN" --count "$USERS" --reader-password-file "$READER_PW_FILE" --samdb-conf "$CONF" |
    sed 's/^/samba-up: /' || die "seeding users failed (see above)"
  log "users ready in $(since "$t0")"
}

# --- 6. Kerberos --------------------------------------------------------------------------------
kerberos() {
  local tmp
  mkdir -p "$KRB5_DIR"
  chmod 700 "$KRB5_DIR"
  tmp=$(mktemp "$KRB5_DIR/krb5.conf.XXXXXX")
  # No DNS here: the KDC is named, and host names are not canonicalised (ldap@127.0.0.1 stays ldap/127.0.0.1).
  cat >"$tmp" <<KRB5
[libdefaults]
    default_realm = $REALM
    dns_lookup_kdc = false
    dns_lookup_realm = false
    dns_canonicalize_hostname = false
    rdns = false
[realms]
    $REALM = {
        kdc = $HOST:$KDC_PORT
    }
KRB5
  chmod 644 "$tmp"
  mv "$tmp" "$KRB5_DIR/krb5.conf"
  if ! samba-tool spn list "$DC_ACCOUNT" --configfile="$CONF" | grep -qi "ldap/$HOST\$"; then
    samba-tool spn add "ldap/$HOST" "$DC_ACCOUNT" --configfile="$CONF" >/dev/null ||
      die "registering the service principal ldap/$HOST on $DC_ACCOUNT failed"
  fi
  rm -f "$KRB5_DIR/admin.keytab"
  (umask 077 && samba-tool domain exportkeytab "$KRB5_DIR/admin.keytab" --principal="Administrator@$REALM" \
    --configfile="$CONF" >"$KRB5_DIR/exportkeytab.log" 2>&1) || die "exporting the Administrator's keytab failed (see $KRB5_DIR/exportkeytab.log)"
  log "Kerberos: realm $REALM, KDC $HOST:$KDC_PORT, keytab ${KRB5_DIR#"$ROOT"/}/admin.keytab"
}

# --- 7. environment file ------------------------------------------------------------------------
sq() { # single-quote $1 for bash
  local s=${1//\'/\'\\\'\'}
  printf "'%s'" "$s"
}

write_env() {
  local tmp
  tmp=$(mktemp "$SB/samba.env.XXXXXX")
  {
    echo "# Written by sandbox/samba-up.sh; source it. Contains the sandbox Administrator password."
    echo "export SANDBOX_LDAP_HOST=$(sq "$HOST")"
    echo "export SANDBOX_LDAP_PORT=$(sq "$LDAPS_PORT")"
    echo "export SANDBOX_LDAP_PLAIN_PORT=$(sq "$LDAP_PORT")"
    echo "export SANDBOX_LDAP_CA_FILE=$(sq "$CA_DIR/ca.pem")"
    echo "export SANDBOX_LDAP_BIND_DN=$(sq "$BIND_DN")"
    echo "export SANDBOX_LDAP_BIND_PASSWORD=$(sq "$(cat "$ADMIN_PW_FILE")")"
    echo "export SANDBOX_LDAP_BASE_DN=$(sq "$BASE_DN")"
    echo "export SANDBOX_DOMAIN=$(sq "$DNS_DOMAIN")"
    echo "export SANDBOX_USERS=$(sq "$USERS")"
    echo "export SANDBOX_LDAP_USERS_DN=$(sq "$USERS_DN")"
    echo "export SANDBOX_KRB5_CONFIG=$(sq "$KRB5_DIR/krb5.conf")"
    echo "export SANDBOX_KRB5_KEYTAB=$(sq "$KRB5_DIR/admin.keytab")"
    echo "export SANDBOX_KRB5_PRINCIPAL=$(sq "Administrator@$REALM")"
  } >"$tmp"
  chmod 600 "$tmp"
  mv "$tmp" "$ENV_FILE"
  log "wrote ${ENV_FILE#"$ROOT"/}"
}

main() {
  local t0
  t0=$(now)
  mkdir -p "$SB"
  install_packages
  command -v samba >/dev/null || die "the samba binary is missing although the packages are installed"
  "$ROOT/sandbox/make-ca.sh" "$CA_DIR"
  provision
  configure
  start
  seed
  kerberos
  write_env
  log "done in $(since "$t0"): $USERS users in $USERS_DN; stop with sandbox/samba-down.sh"
}

main "$@"
