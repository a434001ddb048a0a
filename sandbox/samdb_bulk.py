#!/usr/bin/env python3
"""Apply many adds and deletes to the sandbox DC's own database (sam.ldb), fast.

Called by sandbox/ldap_seed.py when a seed adds or removes many users; run it with the Python that
Samba's tools use (the interpreter of samba-tool, e.g. /usr/bin/python3), which has Samba's bindings:

    /usr/bin/python3 sandbox/samdb_bulk.py --conf .sandbox/samba/etc/smb.conf < operations.jsonl

Each line of stdin is one operation: {"add": DN, "attributes": {NAME: VALUE or [VALUES]}} or
{"delete": DN}. It prints how many it applied, and exits 1 with the first failure (nothing of the
failing chunk is kept).

Why not LDAP: Samba 4.17 runs every LDAP add in a nested transaction that copies each index record
it touches, so an add costs time in proportion to the users already there (seen here: 2.8 ms at
1,000 users, 10.9 ms at 6,000; 100,000 users would take well over an hour). The database opened with
batch_mode (what `samba-tool domain join` uses for large domains) skips those nested transactions:
1.5 ms per add whatever the size. The running DC sees the result (LMDB is shared between processes).
"""

import argparse
import json
import sys
import time

CHUNK = 2000  # operations per transaction: the DC waits for each commit, so keep them short


def open_samdb(conf):
    try:
        from samba.auth import system_session
        from samba.param import LoadParm
        from samba.samdb import SamDB
    except ImportError:
        sys.exit("samdb_bulk.py: %s has no Samba bindings; run it with samba-tool's Python" % sys.executable)
    parameters = LoadParm()
    parameters.load(conf)
    return SamDB(url=parameters.samdb_url(), session_info=system_session(), lp=parameters,
                 options=["batch_mode:1"])


def apply(samdb, operation):
    if "add" in operation:
        samdb.add(dict(operation["attributes"], dn=operation["add"]))
    else:
        samdb.delete(operation["delete"])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--conf", required=True, help="the DC's smb.conf")
    args = parser.parse_args(argv)
    operations = [json.loads(line) for line in sys.stdin if line.strip()]
    samdb = open_samdb(args.conf)
    started = time.monotonic()
    for first in range(0, len(operations), CHUNK):
        samdb.transaction_start()
        try:
            for operation in operations[first:first + CHUNK]:
                apply(samdb, operation)
        except Exception as error:  # pylint: disable=broad-except - any failure: report it, keep nothing
            samdb.transaction_cancel()
            print("samdb_bulk: %s: %s" % (json.dumps(operation)[:200], error), file=sys.stderr)
            return 1
        samdb.transaction_commit()
    print("samdb_bulk: %d operations in %.1fs" % (len(operations), time.monotonic() - started))
    return 0


if __name__ == "__main__":
    sys.exit(main())
