#!/usr/bin/env python3
"""Seed and probe the sandbox Samba AD domain controller over LDAPS (ldap3).

Called by sandbox/samba-up.sh; usable by hand:

    python sandbox/ldap_seed.py wait  --host 127.0.0.1 --port 636 --ca-file .sandbox/ca/ca.pem
    python sandbox/ldap_seed.py seed  --host 127.0.0.1 --port 636 --ca-file .sandbox/ca/ca.pem \
        --bind-dn CN=Administrator,CN=Users,DC=test,DC=example --password-file F \
        --base-dn DC=test,DC=example --domain test.example --count 50 \
        [--reader-password-file F2]

`seed` makes the directory hold exactly users user0001 .. userNNNN (N = --count) under
OU=PhotoUsers,<base DN>: it adds the missing ones and deletes seeded users numbered above N, so
the count always equals --count. Users have no password and are disabled (userAccountControl 514),
which is the fastest thing AD accepts. Up to --bulk-min changes go as one LDAP operation per user on
two parallel connections: about 2 ms per add on an empty domain, growing with the directory's size.
More changes, when --samdb-conf is given (samba-up.sh gives it), go straight into the DC's database
through sandbox/samdb_bulk.py, run with samba-tool's Python: about 1.5 ms per user whatever the size
(see docs/sandbox.md).

With --reader-password-file it also makes sure the low-privilege account CN=photo-reader,CN=Users
exists (enabled, password from that file): it can bind and read, but not write other users'
thumbnailPhoto (insufficientAccessRights) - useful for negative tests.

Passwords are read from files, never from the command line, and never printed.
"""

import argparse
import json
import os
import queue
import re
import shutil
import ssl
import subprocess
import sys
import threading
import time

try:
    import ldap3
    from ldap3.core.exceptions import LDAPException
except ImportError:  # pragma: no cover - message for the operator
    sys.exit(
        "ldap_seed.py: the Python package 'ldap3' is missing for %s. Install it "
        "(pip install -r requirements.txt) or point PYTHON at a Python that has it." % sys.executable
    )

USERS_OU = "OU=PhotoUsers"
USER_RE = re.compile(r"^user(\d{4,})$")
READER = "photo-reader"
WORKERS = 2  # connections adding at once; more do not help (Samba runs as one process)
USER_CLASSES = ["top", "person", "organizationalPerson", "user"]
BULK_MIN = 1000  # changes from which a seed goes through samdb_bulk.py (when it can)


def user_name(i):
    return "user%04d" % i


def tls(ca_file):
    return ldap3.Tls(
        ca_certs_file=ca_file,
        validate=ssl.CERT_REQUIRED,
        version=ssl.PROTOCOL_TLS_CLIENT,
    )


def server(args):
    return ldap3.Server(
        args.host, port=args.port, use_ssl=True, tls=tls(args.ca_file), get_info=ldap3.NONE, connect_timeout=5
    )


def read_secret(path):
    with open(path, encoding="utf-8") as handle:
        return handle.read().strip()


def cmd_wait(args):
    """Poll until LDAPS answers with a validated certificate (anonymous rootDSE read)."""
    deadline = time.monotonic() + args.timeout
    last = "no attempt"
    while True:
        try:
            conn = ldap3.Connection(server(args), auto_bind=False, receive_timeout=5)
            conn.open()
            conn.search("", "(objectClass=*)", search_scope=ldap3.BASE, attributes=["defaultNamingContext"])
            conn.unbind()
            return 0
        except (LDAPException, OSError) as exc:
            last = "%s: %s" % (type(exc).__name__, exc)
        if time.monotonic() >= deadline:
            print(
                "LDAPS on %s:%s did not answer within %ss (last error: %s)"
                % (args.host, args.port, args.timeout, last),
                file=sys.stderr,
            )
            return 1
        time.sleep(0.25)


def bind(args):
    conn = ldap3.Connection(
        server(args),
        user=args.bind_dn,
        password=read_secret(args.password_file),
        authentication=ldap3.SIMPLE,
        raise_exceptions=False,
        receive_timeout=60,
    )
    if not conn.bind():
        sys.exit("bind as %s failed: %s" % (args.bind_dn, conn.result))
    return conn


def check(conn, what, ok=(0,)):
    if conn.result["result"] not in ok:
        sys.exit("%s failed: %s %s" % (what, conn.result["description"], conn.result.get("message", "")))


def ensure_ou(conn, dn):
    conn.search(dn, "(objectClass=*)", search_scope=ldap3.BASE, attributes=["ou"])
    if conn.result["result"] == 32:  # noSuchObject
        conn.add(dn, ["top", "organizationalUnit"], {"ou": dn.split(",", 1)[0].split("=", 1)[1]})
        check(conn, "adding %s" % dn)


def existing_users(conn, ou_dn):
    """sAMAccountName -> DN of the seeded users (userNNNN) below the OU."""
    found = {}
    entries = conn.extend.standard.paged_search(
        ou_dn,
        "(&(objectClass=user)(sAMAccountName=user*))",
        search_scope=ldap3.SUBTREE,
        attributes=["sAMAccountName"],
        paged_size=1000,
        generator=True,
    )
    for entry in entries:
        if entry.get("type") != "searchResEntry":
            continue
        name = entry["attributes"]["sAMAccountName"]
        if isinstance(name, list):
            name = name[0]
        if USER_RE.match(name):
            found[name] = entry["dn"]
    check(conn, "listing users below %s" % ou_dn, ok=(0, 32))
    return found


def user_attributes(name, domain):
    number = USER_RE.match(name).group(1)
    upn = "%s@%s" % (name, domain)
    return {
        "cn": name,
        "sAMAccountName": name,
        "userPrincipalName": upn,
        "mail": upn,
        "givenName": "User",
        "sn": number,
        "displayName": "User %s" % number,
        "userAccountControl": "514",  # normal account, disabled: no password needed
    }


def run_parallel(args, operations):
    """Run operations (functions taking a bound connection and returning a failure text or None)
    on WORKERS connections at once; return the failures.

    Samba (one process) does the work; a second connection keeps it busy while the client encodes
    the next request. ldap3's ASYNC strategy is not used: over TLS it loses responses that arrive
    in one TLS record and hangs until its receive timeout (seen here with 10,000 pipelined adds).
    """
    work = queue.Queue()
    for operation in operations:
        work.put(operation)
    failures = []

    def worker():
        conn = bind(args)
        try:
            while True:
                try:
                    operation = work.get_nowait()
                except queue.Empty:
                    return
                failure = operation(conn)
                if failure:
                    failures.append(failure)
        finally:
            conn.unbind()

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(WORKERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return failures


def add_user(name, ou_dn, domain):
    def operation(conn):
        conn.add("CN=%s,%s" % (name, ou_dn), USER_CLASSES, user_attributes(name, domain))
        if conn.result["result"] not in (0, 68):  # 68 entryAlreadyExists: a concurrent seeder got there first
            return "add %s: %s %s" % (name, conn.result["description"], conn.result.get("message", ""))
        return None

    return operation


def samba_python():
    """The interpreter samba-tool runs with (it has Samba's Python bindings); None without samba-tool."""
    tool = shutil.which("samba-tool")
    if tool is None:
        return None
    with open(tool, encoding="utf-8") as handle:
        words = handle.readline()[2:].split()
    if words and words[0].endswith("/env"):  # "#!/usr/bin/env python3"
        words = words[1:]
    return words[0] if words else None


def run_bulk(args, ou_dn, names, dns, python):
    """Add users names and delete entries dns in the DC's database (samdb_bulk.py); the failures."""
    lines = [json.dumps({"add": "CN=%s,%s" % (name, ou_dn),
                         "attributes": dict(user_attributes(name, args.domain), objectClass=USER_CLASSES)})
             for name in names]
    lines += [json.dumps({"delete": dn}) for dn in dns]
    bulk = subprocess.run(
        [python, os.path.join(os.path.dirname(os.path.abspath(__file__)), "samdb_bulk.py"),
         "--conf", args.samdb_conf],
        input="\n".join(lines), capture_output=True, text=True, check=False,
    )
    print(bulk.stdout.strip())
    return [bulk.stderr.strip() or "samdb_bulk.py exited with %d" % bulk.returncode] if bulk.returncode else []


def delete_user(name, dn):
    def operation(conn):
        conn.delete(dn)
        if conn.result["result"] not in (0, 32):  # 32 noSuchObject: already gone
            return "delete %s: %s %s" % (name, conn.result["description"], conn.result.get("message", ""))
        return None

    return operation


def ensure_reader(args, sync_conn):
    dn = "CN=%s,CN=Users,%s" % (READER, args.base_dn)
    sync_conn.search(dn, "(objectClass=user)", search_scope=ldap3.BASE, attributes=["cn"])
    if sync_conn.result["result"] == 0 and sync_conn.entries:
        return "kept"
    password = read_secret(args.reader_password_file)
    sync_conn.add(
        dn,
        ["top", "person", "organizationalPerson", "user"],
        {
            "cn": READER,
            "sAMAccountName": READER,
            "userPrincipalName": "%s@%s" % (READER, args.domain),
            "displayName": "Photo reader (no write rights)",
            "unicodePwd": ('"%s"' % password).encode("utf-16-le"),
            "userAccountControl": "66048",  # normal account, enabled, password never expires
        },
    )
    check(sync_conn, "adding %s" % dn)
    return "added"


def cmd_seed(args):
    ou_dn = "%s,%s" % (USERS_OU, args.base_dn)
    started = time.monotonic()

    conn = bind(args)
    ensure_ou(conn, ou_dn)
    have = existing_users(conn, ou_dn)
    reader = ensure_reader(args, conn) if args.reader_password_file else "not requested"
    conn.unbind()

    wanted = {user_name(i) for i in range(1, args.count + 1)}
    missing = sorted(wanted - set(have))
    extra = sorted(name for name in have if int(USER_RE.match(name).group(1)) > args.count)

    python = samba_python() if args.samdb_conf and len(missing) + len(extra) >= args.bulk_min else None
    if python:
        failures = run_bulk(args, ou_dn, missing, [have[name] for name in extra], python)
    else:
        operations = [add_user(name, ou_dn, args.domain) for name in missing]
        operations += [delete_user(name, have[name]) for name in extra]
        failures = run_parallel(args, operations) if operations else []

    elapsed = time.monotonic() - started
    print(
        "seed: %d users wanted, %d already there, %d added, %d removed, photo-reader %s, %.1fs"
        % (args.count, len(have) - len(extra), len(missing), len(extra), reader, elapsed)
    )
    if failures:
        print("seed: %d operations failed, first ones:" % len(failures), file=sys.stderr)
        for line in failures[:10]:
            print("  " + line, file=sys.stderr)
        return 1
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)

    def common(p):
        p.add_argument("--host", default="127.0.0.1")
        p.add_argument("--port", type=int, default=636)
        p.add_argument("--ca-file", required=True)

    p_wait = sub.add_parser("wait", help="wait until LDAPS answers with a valid certificate")
    common(p_wait)
    p_wait.add_argument("--timeout", type=float, default=30)

    p_seed = sub.add_parser("seed", help="make exactly --count seeded users exist")
    common(p_seed)
    p_seed.add_argument("--bind-dn", required=True)
    p_seed.add_argument("--password-file", required=True)
    p_seed.add_argument("--base-dn", required=True)
    p_seed.add_argument("--domain", required=True, help="UPN suffix, e.g. test.example")
    p_seed.add_argument("--count", type=int, required=True)
    p_seed.add_argument("--reader-password-file", help="also ensure the photo-reader account")
    p_seed.add_argument("--samdb-conf", help="the DC's smb.conf: many changes go into its database directly")
    p_seed.add_argument("--bulk-min", type=int, default=BULK_MIN,
                        help="changes from which --samdb-conf is used (default %d)" % BULK_MIN)

    args = parser.parse_args(argv)
    if args.command == "seed" and args.count < 0:
        parser.error("--count must be >= 0")
    return {"wait": cmd_wait, "seed": cmd_seed}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
