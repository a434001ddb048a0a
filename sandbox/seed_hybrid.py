#!/usr/bin/env python3
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Put the sandbox in the state Microsoft's hybrid photo article describes, for `make demo` (docs/hybrid-photo-problem.md).

Users user0051 to user0062 of test.example, in both the Samba DC and the Graph emulator's contoso tenant:

  user0051-0054  an AD photo of 30-100 KB, set on-premises, that never reached the cloud (no cloud photo)
  user0055-0057  an AD photo of 30-100 KB, and in the cloud an older, different picture
  user0058-0060  a photo in the cloud only (set in Teams)
  user0061-0062  no photo anywhere

and the AD group CN=Photo demo,OU=PhotoUsers (user0051-0056 and the nested group CN=Photo demo more, user0057-0062).
Running it again puts the same state back. Reads the settings from the environment (.sandbox/env exported).

    .venv/bin/python sandbox/seed_hybrid.py
"""

from __future__ import annotations

import json
import os
import ssl
import sys
import urllib.error
import urllib.request

import ldap3

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "hacking"))
from make_demo_photos import Portrait, encode  # noqa: E402  pylint: disable=wrong-import-position

FIRST, LAST = 51, 62
AD_ONLY, STALE_CLOUD, CLOUD_ONLY = range(51, 55), range(55, 58), range(58, 61)
AD_SCHEMA_LIMIT = 102400
HAIR = ("short", "long", "bun", "curly", "bald")
SHIRTS = ("collar", "stripes", "hoodie", "plain")


def setting(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        sys.exit("seed_hybrid: %s is not set: export .sandbox/env first (set -a; source .sandbox/env; set +a)" % name)
    return value


def upn(number: int) -> str:
    return "user%04d@%s" % (number, setting("SANDBOX_DOMAIN"))


def portrait(number: int, version: int) -> bytes:
    """A distinct portrait per user and version (version 0: the current picture, 1: an older one), 30-100 KB."""
    key = number * 7 + version * 3
    for quality in (92, 88, 84, 80):
        spec = Portrait(upn(number), "contoso", (720, 720),
                        ((60 + key * 13 % 150, 90 + key * 29 % 120, 120 + key * 7 % 120), (30, 40 + key % 60, 70)),
                        (200 + key % 50, 160 + key * 3 % 60, 130 + key * 5 % 50),
                        (key * 37 % 200, key * 17 % 120, key * 11 % 90), HAIR[key % 5], ("left", "right")[key % 2],
                        (key * 53 % 255, key * 19 % 255, key * 31 % 255), SHIRTS[key % 4], glasses=key % 3 == 0,
                        earring=("", "left", "right")[key % 3], pocket=("left", "right")[version], noise=14,
                        quality=quality, seed=key)
        data = encode(spec)
        if 30 * 1024 <= len(data) <= AD_SCHEMA_LIMIT:
            return data
    raise SystemExit("seed_hybrid: the portrait of user %d is %d bytes, outside 30-100 KB" % (number, len(data)))


class Directory:
    def __init__(self) -> None:
        tls = ldap3.Tls(validate=ssl.CERT_REQUIRED, ca_certs_file=setting("SANDBOX_LDAP_CA_FILE"))
        server = ldap3.Server("localhost", port=int(setting("SANDBOX_LDAP_PORT")), use_ssl=True, tls=tls)
        self.connection = ldap3.Connection(server, setting("SANDBOX_LDAP_BIND_DN"), setting("SANDBOX_LDAP_BIND_PASSWORD"),
                                           auto_bind=True)
        self.users_dn = setting("SANDBOX_LDAP_USERS_DN")

    def dn(self, number: int) -> str:
        self.connection.search(self.users_dn, "(userPrincipalName=%s)" % upn(number), attributes=["cn"])
        if len(self.connection.response) != 1:
            sys.exit("seed_hybrid: the DC has no user %s: start the sandbox with SANDBOX_USERS >= %d" % (upn(number), LAST))
        return self.connection.response[0]["dn"]

    def set_photo(self, number: int, photo: bytes | None) -> None:
        self._ok(self.connection.modify(self.dn(number), {"thumbnailPhoto": [(ldap3.MODIFY_REPLACE, [photo] if photo else [])]}))

    def group(self, name: str, members: list) -> str:
        dn = "CN=%s,%s" % (name, self.users_dn)
        self.connection.delete(dn)
        self._ok(self.connection.add(dn, ["top", "group"], {"sAMAccountName": name.replace(" ", "-"), "member": members}))
        return dn

    def _ok(self, done: bool) -> None:
        if not done:
            sys.exit("seed_hybrid: the DC refused: %s" % self.connection.result)


def cloud(method: str, path: str, body: bytes | None = None) -> None:
    context = ssl.create_default_context(cafile=setting("SANDBOX_CA_FILE"))
    request = urllib.request.Request(setting("SANDBOX_GRAPH_ADMIN_URL") + path, data=body, method=method)
    try:
        with urllib.request.urlopen(request, context=context, timeout=30):
            pass
    except urllib.error.HTTPError as error:
        sys.exit("seed_hybrid: the Graph emulator answered %s %s with %d %s" % (method, path, error.code, error.read()))


def main() -> None:
    directory = Directory()
    for number in range(FIRST, LAST + 1):
        has_ad = number in AD_ONLY or number in STALE_CLOUD
        directory.set_photo(number, portrait(number, 0) if has_ad else None)
        path = "/tenants/contoso/users/%s/photo" % upn(number)
        if number in STALE_CLOUD or number in CLOUD_ONLY:
            cloud("PUT", path, portrait(number, 1 if number in STALE_CLOUD else 0))
        else:
            cloud("DELETE", path)
    nested = directory.group("Photo demo more", [directory.dn(number) for number in range(57, LAST + 1)])
    group = directory.group("Photo demo", [directory.dn(number) for number in range(FIRST, 57)] + [nested])
    print(json.dumps({"group": group, "ad_only": [upn(n) for n in AD_ONLY], "stale_cloud": [upn(n) for n in STALE_CLOUD],
                      "cloud_only": [upn(n) for n in CLOUD_ONLY], "none": [upn(n) for n in range(61, LAST + 1)]}))


if __name__ == "__main__":
    main()
