"""The private Graph emulator an integration test file starts for itself: admin API helpers, task settings."""

from __future__ import annotations

import json
import os
import sys
import uuid

from playbook_runner import REPO

sys.path.insert(0, os.path.join(REPO, "sandbox", "graph"))
from emulator.testing import start_emulator  # noqa: E402,F401  pylint: disable=wrong-import-position,unused-import

TENANTS = ("", "_FABRIKAM", "_TAILSPIN")


class Sandbox:
    """The private emulator: admin API helpers and the settings tasks need."""

    def __init__(self, emulator, photo_store: str = "exchange") -> None:
        self.emulator = emulator
        self.env = emulator.env
        self.photo_store = photo_store

    def admin(self, method: str, path: str, body=None, raw: bool = False):
        return self.emulator.admin(method, path, body, raw)

    def user_id(self, number: int) -> str:
        """The object id of contoso's user number: the emulator derives it from the tenant id and the number."""
        return str(uuid.uuid5(uuid.NAMESPACE_URL, "%s/%d" % (self.env["SANDBOX_TENANT_ID"], number)))

    def stored(self, user: str, tenant: str = "contoso") -> bytes | None:
        try:
            return self.admin("GET", "/tenants/%s/users/%s/photo" % (tenant, user), raw=True)[0]
        except AssertionError as error:
            if " 404 " in str(error):
                return None
            raise

    def etag(self, user: str, tenant: str = "contoso") -> str:
        return self.admin("GET", "/tenants/%s/users/%s/photo" % (tenant, user), raw=True)[1]["X-Sandbox-Photo-Etag"]

    def store(self, user: str, photo: bytes, tenant: str = "contoso") -> None:
        self.admin("PUT", "/tenants/%s/users/%s/photo" % (tenant, user), photo)

    def forget(self, tenant: str = "contoso") -> None:
        self.admin("DELETE", "/tenants/%s/photos" % tenant)

    def requests(self) -> list:
        return self.admin("GET", "/log")["recent"]

    def defaults(self, suffix: str = "", **changes) -> dict:
        settings = dict(tenant_id=self.env["SANDBOX_TENANT_ID" + suffix], client_id=self.env["SANDBOX_CLIENT_ID" + suffix],
                        client_secret=self.env["SANDBOX_CLIENT_SECRET" + suffix],
                        graph_url=self.env["SANDBOX_GRAPH_URL"], authority_url=self.env["SANDBOX_AUTHORITY_URL"],
                        ca_file=self.env["SANDBOX_CA_FILE"], timeout=10)
        settings.update(changes)
        return {"group/m365.photos.graph": {key: value for key, value in settings.items() if value is not None}}


def paged_emulator(workdir, domain: str, users: int, page: int):
    """A private emulator whose contoso tenant has users in domain, and whose lists hold at most page a page."""
    config = workdir / "config.json"
    config.write_text(json.dumps({"page_size_max": page}))
    return start_emulator(str(workdir), extra_args=("--domain", domain, "--users", str(users), "--config", str(config)))
