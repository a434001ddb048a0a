"""Graph connection options for tests: the defaults of the spec, a tenant, an app, secrets never to show."""

from __future__ import annotations

from ansible_collections.m365.photos.plugins.module_utils import _graph_auth

SECRET = "abc8Q~s3cr3t-value-that-must-never-show"
PASSWORD = "pfx-password-never-shown"


def params(**changes) -> dict:
    values = {name: spec.get("default") for name, spec in _graph_auth.graph_argument_spec().items()}
    values.update(tenant_id="contoso.onmicrosoft.com", client_id="11111111-2222-3333-4444-555555555555")
    values.update(changes)
    return values
