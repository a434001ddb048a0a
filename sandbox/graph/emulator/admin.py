"""The sandbox's own control API under /_sandbox (loopback only, no auth): config, log, state, faults."""
import ipaddress
import json
import urllib.parse
import uuid

from . import credentials, variants
from .config import ConfigError
from .directory import FEDERATION_AUDIENCE, FEDERATION_SUBJECT, Group
from .errors import GraphError, json_response
from .graph import OBJECT_ID, photo_source
from .httpserver import Response


class AdminError(Exception):
    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


def is_loopback(peer):
    try:
        return ipaddress.ip_address(str(peer[0]).split("%")[0]).is_loopback
    except ValueError:
        return False


class Admin:
    def __init__(self, emulator):
        self.emulator = emulator
        self.routes = [
            ("GET", "/health", self.health),
            ("GET", "/log", self.get_log),
            ("POST", "/log/reset", self.reset_log),
            ("GET", "/config", self.get_config),
            ("PUT", "/config", self.update_config),
            ("GET", "/faults", self.list_faults),
            ("POST", "/faults", self.add_fault),
            ("DELETE", "/faults", self.clear_faults),
            ("POST", "/reset", self.reset),
            ("GET", "/tenants", self.list_tenants),
            ("PUT", "/tenants/{tenant}/photoUpdateSettings", self.set_photo_settings),
            ("DELETE", "/tenants/{tenant}/photos", self.delete_photos),
            ("GET", "/tenants/{tenant}/users/{user}/photo", self.get_stored_photo),
            ("PUT", "/tenants/{tenant}/users/{user}/photo", self.put_stored_photo),
            ("DELETE", "/tenants/{tenant}/users/{user}/photo", self.delete_stored_photo),
            ("PUT", "/tenants/{tenant}/users/{user}/mailbox", self.set_mailbox),
            ("PUT", "/tenants/{tenant}/apps/{client_id}/roles", self.set_app_roles),
            ("GET", "/tenants/{tenant}/groups", self.list_groups),
            ("PUT", "/tenants/{tenant}/groups/{group_id}", self.put_group),
            ("DELETE", "/tenants/{tenant}/groups/{group_id}", self.delete_group),
            ("POST", "/tenants/{tenant}/tokens", self.mint_access_token),
            ("POST", "/oidc/token", self.mint_federated_token),
            ("GET", "/oidc/.well-known/openid-configuration", self.oidc_configuration),
            ("GET", "/oidc/jwks", self.oidc_jwks),
        ]

    async def handle(self, request, subpath):
        if not is_loopback(request.peer):
            return json_response(403, {"error": "the sandbox admin API answers on loopback only"})
        segments = [urllib.parse.unquote(s) for s in subpath.strip("/").split("/")]
        for method, pattern, handler in self.routes:
            template = pattern.strip("/").split("/")
            if method != request.method or len(template) != len(segments):
                continue
            params = {}
            for expected, actual in zip(template, segments):
                if expected.startswith("{"):
                    params[expected[1:-1]] = actual
                elif expected != actual:
                    break
            else:
                try:
                    return await handler(request, **params)
                except AdminError as error:
                    return json_response(error.status, {"error": str(error)})
        return json_response(404, {"error": f"no admin endpoint {request.method} /_sandbox/{subpath.strip('/')}",
                                   "endpoints": [f"{m} /_sandbox{p}" for m, p, _ in self.routes]})

    # -- helpers -----------------------------------------------------------------------------
    @staticmethod
    def _json_body(request):
        try:
            return json.loads(request.body or b"{}")
        except ValueError:
            raise AdminError(400, "body must be JSON") from None

    def _tenant(self, name):
        tenant = self.emulator.directory.find_tenant(name, allow_short_name=True)
        if tenant is None:
            raise AdminError(404, f"no tenant '{name}'")
        return tenant

    def _user(self, tenant, key):
        user = tenant.find_user(key)
        if user is None:
            raise AdminError(404, f"no user '{key}' in tenant {tenant.name}")
        return user

    # -- endpoints ---------------------------------------------------------------------------
    async def health(self, request):
        return json_response(200, {"status": "ok", "tenants": sorted(self.emulator.directory.tenants)})

    async def get_log(self, request):
        return json_response(200, self.emulator.log.snapshot())

    async def reset_log(self, request):
        self.emulator.log.reset()
        return json_response(200, {"reset": True})

    async def get_config(self, request):
        return json_response(200, self.emulator.config.values)

    async def update_config(self, request):
        changes = self._json_body(request)
        for key, allowed in (("photo_store", variants.PHOTO_STORES), ("no_photo_answer", variants.NO_PHOTO_ANSWERS)):
            if key in changes and changes[key] not in allowed:
                raise AdminError(400, f"{key} must be one of {', '.join(allowed)}")
        try:
            self.emulator.config.update(changes)
        except ConfigError as error:
            raise AdminError(400, str(error)) from None
        if "seed" in changes:
            self.emulator.faults.reseed()
        return json_response(200, self.emulator.config.values)

    async def list_faults(self, request):
        return json_response(200, {"scripted": self.emulator.faults.scripted})

    async def add_fault(self, request):
        """Body: {"status": 429|503|504|..."drop", "match": "/photo/$value", "method": "PUT", "count": 1,
        "retry_after": 1, "code": ..., "message": ...}: the next `count` matching operations fail."""
        try:
            rule = self.emulator.faults.add_scripted(self._json_body(request))
        except ValueError as error:
            raise AdminError(400, str(error)) from None
        return json_response(201, rule)

    async def clear_faults(self, request):
        self.emulator.faults.scripted.clear()
        return json_response(200, {"scripted": []})

    async def reset(self, request):
        self.emulator.reset()
        return json_response(200, {"reset": True})

    async def list_tenants(self, request):
        tenants = []
        for tenant in self.emulator.directory.tenants.values():
            tenants.append({"name": tenant.name, "id": tenant.id, "domain": tenant.domain,
                            "users": len(tenant.users), "groups": len(tenant.groups), "photoUpdateSettings": {"source": tenant.photo_update_source},
                            "first_user": tenant.users[0].user_principal_name if tenant.users else None,
                            "apps": [{"client_id": a.client_id, "display_name": a.display_name, "roles": a.roles}
                                     for a in tenant.apps.values()]})
        return json_response(200, {"tenants": tenants})

    async def set_photo_settings(self, request, tenant):
        tenant = self._tenant(tenant)
        body = self._json_body(request)
        if "source" in body:
            try:
                tenant.set_photo_source(photo_source(body["source"]))  # at once, unlike a Graph PATCH
            except ValueError as error:
                raise AdminError(400, str(error)) from None
        tenant.allowed_roles = list(body.get("allowedRoles", tenant.allowed_roles))
        return json_response(200, {"source": tenant.photo_update_source, "allowedRoles": tenant.allowed_roles})

    async def delete_photos(self, request, tenant):
        tenant = self._tenant(tenant)
        self.emulator.photos.forget(tenant.id)
        return json_response(200, {"deleted_photos_of": tenant.name})

    async def get_stored_photo(self, request, tenant, user):
        """The largest stored size as Graph would serve it, with its metadata in X-Sandbox-* headers."""
        tenant = self._tenant(tenant)
        user = self._user(tenant, user)
        photo = self.emulator.photos.stored(tenant.id, user.id)
        if photo is None:
            raise AdminError(404, f"no photo stored for {user.user_principal_name}")
        content = await self.emulator.photos.content(photo)
        return Response(200, content, {
            "Content-Type": "image/jpeg", "X-Sandbox-Photo-Etag": photo.etag,
            "X-Sandbox-Photo-Sizes": ",".join(str(s) for s in photo.sizes),
            "X-Sandbox-Photo-Width": str(photo.width), "X-Sandbox-Photo-Height": str(photo.height),
            "X-Sandbox-Photo-Uploaded-At": f"{photo.uploaded_at:.3f}"})

    async def put_stored_photo(self, request, tenant, user):
        """Store a photo directly (bypasses Graph, its policy and throttling): for test fixtures."""
        tenant = self._tenant(tenant)
        user = self._user(tenant, user)
        try:
            photo = await self.emulator.photos.put(tenant.id, user.id, request.body, visible_now=True)
        except GraphError as error:
            raise AdminError(error.status, f"{error.code}: {error.message}") from None
        return json_response(200, photo.metadata())

    async def delete_stored_photo(self, request, tenant, user):
        """Remove a user's photo directly (a fixture's "no photo"); 204 whether or not there was one."""
        tenant = self._tenant(tenant)
        user = self._user(tenant, user)
        self.emulator.photos.forget(tenant.id, user.id)
        return Response(204, b"", {})

    async def set_mailbox(self, request, tenant, user):
        """Body: {"kind": "exchange_online" | "none" | "on_premises" | "unlicensed"}: what the user's photo calls
        answer (variants.mailbox_error); back to exchange_online on reset."""
        user = self._user(self._tenant(tenant), user)
        kind = self._json_body(request).get("kind")
        if kind not in variants.MAILBOX_KINDS:
            raise AdminError(400, f"kind must be one of {', '.join(variants.MAILBOX_KINDS)}")
        user.mailbox = kind
        return json_response(200, {"user": user.user_principal_name, "kind": kind})

    async def set_app_roles(self, request, tenant, client_id):
        """Change an app's application permissions; like the real service, only new tokens carry them."""
        tenant = self._tenant(tenant)
        app = tenant.apps.get(client_id.lower())
        if app is None:
            raise AdminError(404, f"no app '{client_id}' in tenant {tenant.name}")
        app.roles = list(self._json_body(request).get("roles", []))
        return json_response(200, {"client_id": app.client_id, "roles": app.roles})

    @staticmethod
    def _group_json(group):
        return {"id": group.id, "displayName": group.display_name, "members": list(group.user_ids),
                "groups": list(group.group_ids), "devices": [device["displayName"] for device in group.devices]}

    async def list_groups(self, request, tenant):
        tenant = self._tenant(tenant)
        return json_response(200, {"groups": [self._group_json(g) for g in tenant.groups.values()]})

    async def put_group(self, request, tenant, group_id):
        """Body: {"displayName": ..., "members": [upn or id, ...], "groups": [group id, ...], "devices": [name, ...]}:
        create or replace a group. Nested groups must exist; devices are made up, with ids derived from their names."""
        tenant = self._tenant(tenant)
        if not OBJECT_ID.match(group_id):
            raise AdminError(400, f"a group id is a GUID, not '{group_id}'")
        body = self._json_body(request)
        group_id = group_id.lower()
        nested = [str(g).lower() for g in body.get("groups", [])]
        missing = [g for g in nested if g not in tenant.groups and g != group_id]
        if missing:
            raise AdminError(404, f"no group {', '.join(missing)} in tenant {tenant.name}: create nested groups first")
        devices = [{"id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{tenant.id}/device/{name}")), "displayName": str(name)}
                   for name in body.get("devices", [])]
        group = Group(id=group_id, display_name=str(body.get("displayName") or group_id),
                      user_ids=[self._user(tenant, str(key)).id for key in body.get("members", [])],
                      group_ids=nested, devices=devices)
        tenant.groups[group_id] = group
        return json_response(200, self._group_json(group))

    async def delete_group(self, request, tenant, group_id):
        tenant = self._tenant(tenant)
        if tenant.groups.pop(group_id.lower(), None) is None:
            raise AdminError(404, f"no group '{group_id}' in tenant {tenant.name}")
        return json_response(200, {"deleted": group_id.lower()})

    async def mint_access_token(self, request, tenant):
        """Body: {"client_id": ..., "lifetime_s": -60}: a Graph token without the token endpoint (e.g. expired)."""
        tenant = self._tenant(tenant)
        body = self._json_body(request)
        app = tenant.apps.get(str(body.get("client_id", "")).lower())
        if app is None:
            raise AdminError(404, "client_id must name an app of the tenant")
        lifetime = int(body.get("lifetime_s", self.emulator.config["token_lifetime_s"]))
        return json_response(200, {"access_token": self.emulator.authority.issue_access_token(tenant, app, lifetime)})

    async def mint_federated_token(self, request):
        """Body (all optional): {"subject", "audience", "lifetime_s", "issuer"}: a workload identity token."""
        body = self._json_body(request)
        directory = self.emulator.directory
        token = credentials.mint_federated_token(
            directory.issuer_key, body.get("issuer", directory.federation_issuer),
            body.get("subject", FEDERATION_SUBJECT), body.get("audience", FEDERATION_AUDIENCE),
            int(body.get("lifetime_s", 3600)), int(body.get("not_before_offset_s", 0)))
        return json_response(200, {"token": token})

    async def oidc_configuration(self, request):
        issuer = self.emulator.directory.federation_issuer
        return json_response(200, {"issuer": issuer, "jwks_uri": f"https://{request.header('host')}/_sandbox/oidc/jwks",
                                   "id_token_signing_alg_values_supported": ["RS256"],
                                   "response_types_supported": ["id_token"], "subject_types_supported": ["public"]})

    async def oidc_jwks(self, request):
        return json_response(200, {"keys": [credentials.public_jwk(self.emulator.directory.issuer_key.public_key())]})
