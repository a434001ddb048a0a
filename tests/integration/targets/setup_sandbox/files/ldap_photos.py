"""Read and write thumbnailPhoto in the sandbox directory over its own ldap3 connection.

The targets arrange state and learn the truth through this script rather than through the modules under
test. Connection settings come from the environment (SANDBOX_LDAP_PORT, SANDBOX_LDAP_CA_FILE,
SANDBOX_LDAP_BIND_DN, SANDBOX_LDAP_BIND_PASSWORD, SANDBOX_LDAP_BASE_DN), never from the command line.

    ldap_photos.py clear SAM...      remove the photos of these users
    ldap_photos.py set SAM FILE      store FILE's bytes as they are
    ldap_photos.py audit             JSON: every user's photo (DN to SHA-256, null without) and the counts
"""
import hashlib
import json
import os
import ssl
import sys

import ldap3

EXCHANGE_ONLINE_LIMIT = 10240
USERS = "(&(objectCategory=person)(objectClass=user))"


def connect() -> ldap3.Connection:
    tls = ldap3.Tls(validate=ssl.CERT_REQUIRED, ca_certs_file=os.environ["SANDBOX_LDAP_CA_FILE"])
    # "localhost", which the sandbox certificate names: ldap3's host name check cannot match IP addresses.
    server = ldap3.Server("localhost", port=int(os.environ["SANDBOX_LDAP_PORT"]), use_ssl=True, tls=tls)
    return ldap3.Connection(server, os.environ["SANDBOX_LDAP_BIND_DN"], os.environ["SANDBOX_LDAP_BIND_PASSWORD"],
                            auto_bind=True, raise_exceptions=True)


def user_dn(connection: ldap3.Connection, sam: str) -> str:
    connection.search(os.environ["SANDBOX_LDAP_BASE_DN"], "(sAMAccountName=%s)" % ldap3.utils.conv.escape_filter_chars(sam))
    entries = [entry for entry in connection.response if entry["type"] == "searchResEntry"]
    if len(entries) != 1:
        sys.exit("ldap_photos.py: no single user %s in the sandbox directory" % sam)
    return entries[0]["dn"]


def replace_photo(connection: ldap3.Connection, sam: str, photo: bytes | None) -> None:
    values = [photo] if photo is not None else []
    connection.modify(user_dn(connection, sam), {"thumbnailPhoto": [(ldap3.MODIFY_REPLACE, values)]})


def audit(connection: ldap3.Connection) -> dict:
    photos = {}
    for entry in connection.extend.standard.paged_search(os.environ["SANDBOX_LDAP_BASE_DN"], USERS,
                                                         attributes=["thumbnailPhoto"], paged_size=500, generator=True):
        if entry["type"] == "searchResEntry":
            photos[entry["dn"]] = (entry["raw_attributes"].get("thumbnailPhoto") or [None])[0]
    held = [photo for photo in photos.values() if photo is not None]
    return dict(
        photos={dn: None if photo is None else hashlib.sha256(photo).hexdigest() for dn, photo in photos.items()},
        summary=dict(users=len(photos), with_photo=len(held), without_photo=len(photos) - len(held),
                     too_large_to_sync=sum(1 for photo in held if len(photo) > EXCHANGE_ONLINE_LIMIT)))


def main() -> None:
    command, arguments = sys.argv[1], sys.argv[2:]
    connection = connect()
    if command == "clear":
        for sam in arguments:
            replace_photo(connection, sam, None)
    elif command == "set":
        with open(arguments[1], "rb") as handle:
            replace_photo(connection, arguments[0], handle.read())
    elif command == "audit":
        json.dump(audit(connection), sys.stdout)
    else:
        sys.exit("ldap_photos.py: unknown command %s" % command)


if __name__ == "__main__":
    main()
