"""Users a test file owns in the sandbox DC: an OU of their own, created for the file and removed after it.

Read and written over a connection independent of the code under test. Each user's sAMAccountName is the OU's
prefix and the user's number; their userPrincipalName is the name the test gives.
"""

from __future__ import annotations

import ldap3

from playbook_runner import sandbox_setting


class OwnUsers:
    def __init__(self, ou_name: str, upns: list) -> None:
        self.connection = self.reconnect()
        self.ou = "OU=%s,%s" % (ou_name, sandbox_setting("SANDBOX_LDAP_BASE_DN"))
        self.prefix = ou_name[:4].lower()
        self.names = {upn: "%s%04d" % (self.prefix, number) for number, upn in enumerate(upns, start=1)}

    def reconnect(self) -> "ldap3.Connection":
        """A new connection (after the DC restarted, say), which the other methods use from now on."""
        tls = ldap3.Tls(ca_certs_file=sandbox_setting("SANDBOX_LDAP_CA_FILE"))
        server = ldap3.Server("localhost", port=int(sandbox_setting("SANDBOX_LDAP_PORT")), use_ssl=True, tls=tls)
        self.connection = ldap3.Connection(server, sandbox_setting("SANDBOX_LDAP_BIND_DN"),
                                           sandbox_setting("SANDBOX_LDAP_BIND_PASSWORD"), auto_bind=True)
        return self.connection

    def dn(self, upn: str) -> str:
        return "CN=%s,%s" % (self.names[upn], self.ou)

    def create(self) -> None:
        self.remove()
        self.connection.add(self.ou, ["top", "organizationalUnit"], {"ou": self.ou.split(",")[0][3:]})
        for upn, name in self.names.items():
            self.connection.add(self.dn(upn), ["top", "person", "organizationalPerson", "user"], {
                "sAMAccountName": name, "userPrincipalName": upn, "userAccountControl": 514})
            assert self.connection.result["result"] == 0, self.connection.result

    def remove(self) -> None:
        self.connection.search(self.ou, "(objectClass=user)", attributes=["cn"])
        for entry in list(self.connection.response or []):
            if entry.get("type") == "searchResEntry":
                self.connection.delete(entry["dn"])
        self.connection.delete(self.ou)

    def set(self, upn: str, photo: bytes | None) -> None:
        self.connection.modify(self.dn(upn), {"thumbnailPhoto": [(ldap3.MODIFY_REPLACE, [photo] if photo else [])]})
        assert self.connection.result["result"] == 0, self.connection.result

    def photo(self, upn: str) -> bytes | None:
        self.connection.search(self.dn(upn), "(objectClass=user)", search_scope=ldap3.BASE, attributes=["thumbnailPhoto"])
        return (self.connection.response[0]["raw_attributes"].get("thumbnailPhoto") or [None])[0]
