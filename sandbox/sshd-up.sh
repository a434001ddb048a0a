#!/usr/bin/env bash
# Starts an OpenSSH server on loopback for the sandbox: a "managed host" for the tests that run the modules
# over ansible_connection=ssh (see docs/sandbox.md). Idempotent: a running one is reused.
#
# 1. installs the Debian package openssh-server if sshd is missing (no system service is started by us);
# 2. makes a host key and a client key (ed25519, no passphrase) under .sandbox/sshd/, once;
# 3. starts sshd on 127.0.0.1:$SANDBOX_SSH_PORT (default 2222) for the current user, keys only;
# 4. writes .sandbox/sshd.env (source it). Stop with sandbox/sshd-down.sh.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DIR=$ROOT/.sandbox/sshd
PORT=${SANDBOX_SSH_PORT:-2222}
PIDFILE=$DIR/sshd.pid
SSHD=/usr/sbin/sshd

log() { printf 'sshd-up: %s\n' "$*"; }
die() {
  printf 'sshd-up: ERROR: %s\n' "$*" >&2
  exit 1
}

if [ ! -x "$SSHD" ]; then
  log "installing openssh-server ..."
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q openssh-server >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q openssh-server >/dev/null; } \
    || die "cannot install openssh-server (apt-get install openssh-server)"
  # The package enables the system's own sshd on port 22; the sandbox needs none of it.
  systemctl disable --now ssh >/dev/null 2>&1 || true
fi

mkdir -p "$DIR"
chmod 700 "$DIR"
[ -s "$DIR/host_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -C m365-photos-sandbox-host -f "$DIR/host_ed25519"
[ -s "$DIR/client_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -C m365-photos-sandbox-client -f "$DIR/client_ed25519"
cp "$DIR/client_ed25519.pub" "$DIR/authorized_keys"
chmod 600 "$DIR/authorized_keys"
printf '[127.0.0.1]:%s %s\n' "$PORT" "$(cut -d' ' -f1,2 "$DIR/host_ed25519.pub")" >"$DIR/known_hosts"

cat >"$DIR/sshd_config" <<CONF
ListenAddress 127.0.0.1
Port $PORT
HostKey $DIR/host_ed25519
PidFile $PIDFILE
AuthorizedKeysFile $DIR/authorized_keys
AllowUsers $(id -un)
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
Subsystem sftp internal-sftp
CONF

if [ -s "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; then
  log "reused: sshd (pid $(cat "$PIDFILE")) on 127.0.0.1:$PORT"
else
  mkdir -p /run/sshd # privilege separation directory sshd insists on
  "$SSHD" -t -f "$DIR/sshd_config" || die "sshd refused its configuration $DIR/sshd_config"
  "$SSHD" -f "$DIR/sshd_config" -E "$DIR/sshd.log"
  for _ in $(seq 1 50); do
    [ -s "$PIDFILE" ] && break
    sleep 0.1
  done
  [ -s "$PIDFILE" ] || die "sshd did not start; see $DIR/sshd.log"
  log "started sshd (pid $(cat "$PIDFILE")) on 127.0.0.1:$PORT"
fi

cat >"$ROOT/.sandbox/sshd.env" <<ENV
export SANDBOX_SSH_HOST='127.0.0.1'
export SANDBOX_SSH_PORT='$PORT'
export SANDBOX_SSH_USER='$(id -un)'
export SANDBOX_SSH_KEY='$DIR/client_ed25519'
export SANDBOX_SSH_KNOWN_HOSTS='$DIR/known_hosts'
export SANDBOX_SSH_LOG='$DIR/sshd.log'
ENV
