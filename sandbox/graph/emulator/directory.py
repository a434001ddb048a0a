"""Tenants, their users and app registrations; credentials are made once and kept in the state dir."""
import datetime
import json
import os
import time
import uuid
from dataclasses import dataclass, field

from . import credentials

FEDERATION_AUDIENCE = "api://AzureADTokenExchange"
FEDERATION_SUBJECT = "repo:m365/photos:environment:sandbox"
WRITE_ROLES = ["ProfilePhoto.ReadWrite.All", "User.Read.All", "PeopleSettings.Read.All"]
# User.Read.All: GET /users/{id} needs it (user-get), and the photo read modules look users up.
READ_ONLY_ROLES = ["ProfilePhoto.Read.All", "User.Read.All"]
# Seeded apps' roles come from here, not state.json, so a state made before a change of them gets it.
SEEDED_ROLES = {"main": WRITE_ROLES, "readonly": READ_ONLY_ROLES, "expired": WRITE_ROLES}


@dataclass
class TenantSpec:
    """What a tenant looks like: names and how many users (user0001@domain ...)."""
    name: str
    domain: str
    user_prefix: str
    user_count: int

    @property
    def initial_domain(self):
        return f"{self.name}.onmicrosoft.com"


# Seeded users get one of these by their number (user0001: Engineering, user0002: Finance, ...), so that
# $filter=department eq '...' can be tested; every tenth user (user0010, user0020, ...) is disabled.
DEPARTMENTS = ("Engineering", "Finance", "Marketing", "Sales", "Support")
# What GET /users returns without $select (user-list: "a default set of properties"); the rest need $select.
DEFAULT_USER_PROPERTIES = ("id", "userPrincipalName", "displayName", "mail")


@dataclass
class User:
    id: str
    user_principal_name: str
    display_name: str
    department: str = None
    account_enabled: bool = True
    mailbox: str = "exchange_online"  # variants.MAILBOX_KINDS, set through the admin API

    def as_graph(self, every_property=False):
        document = {"id": self.id, "userPrincipalName": self.user_principal_name,
                    "displayName": self.display_name, "mail": self.user_principal_name,
                    "department": self.department, "accountEnabled": self.account_enabled}
        return document if every_property else {k: document[k] for k in DEFAULT_USER_PROPERTIES}


@dataclass
class Group:
    """An Entra group: direct members are users (by id), nested groups (by id) and devices (id and name)."""
    id: str
    display_name: str
    user_ids: list = field(default_factory=list)
    group_ids: list = field(default_factory=list)
    devices: list = field(default_factory=list)  # [{"id", "displayName"}]

    def as_graph(self):
        return {"id": self.id, "displayName": self.display_name}


@dataclass
class App:
    client_id: str
    display_name: str
    roles: list
    secrets: list = field(default_factory=list)  # [{"value", "expires"}] expires = epoch seconds
    certificates: list = field(default_factory=list)  # [{"x5t", "x5t#S256", "pem"}]
    federated: list = field(default_factory=list)  # [{"issuer", "subject", "audience"}]
    object_id: str = field(default_factory=lambda: str(uuid.uuid4()))


@dataclass
class Tenant:
    name: str
    id: str
    domain: str
    users: list
    apps: dict  # client_id -> App
    photo_update_source: str = None  # photoUpdateSettings as configured; unset (null) by default
    allowed_roles: list = field(default_factory=list)
    enforced_source: str = None  # the source writes are checked against; lags a PATCH by policy_delay_s
    source_pending: tuple = None  # (source, monotonic time it is enforced from)
    groups: dict = field(default_factory=dict)  # id (lower case) -> Group; none are seeded

    def __post_init__(self):
        self.users_by_key = {}
        for user in self.users:
            self.users_by_key[user.id] = user
            self.users_by_key[user.user_principal_name.lower()] = user

    @property
    def identifiers(self):
        return {self.id, self.domain.lower(), f"{self.name}.onmicrosoft.com"}

    def set_photo_source(self, source, delay_s=0.0):
        self.photo_update_source = source
        if delay_s > 0:
            self.source_pending = (source, time.monotonic() + delay_s)
        else:
            self.enforced_source, self.source_pending = source, None

    def photo_source_enforced(self):
        if self.source_pending is not None and time.monotonic() >= self.source_pending[1]:
            self.enforced_source, self.source_pending = self.source_pending[0], None
        return self.enforced_source

    def find_user(self, key):
        return self.users_by_key.get(key.lower())

    def find_group(self, group_id):
        return self.groups.get(group_id.lower())

    def transitive_members(self, group):
        """Users, groups and devices under group, nested membership included, each once, in a stable order."""
        members, seen, pending = [], {group.id}, [group]
        while pending:
            current = pending.pop(0)
            for user_id in current.user_ids:
                if user_id not in seen and user_id in self.users_by_key:
                    seen.add(user_id)
                    members.append(("user", self.users_by_key[user_id]))
            for device in current.devices:
                if device["id"] not in seen:
                    seen.add(device["id"])
                    members.append(("device", device))
            for group_id in current.group_ids:
                nested = self.find_group(group_id)
                if nested is not None and nested.id not in seen:
                    seen.add(nested.id)
                    members.append(("group", nested))
                    pending.append(nested)
        return members


def seed_users(tenant_id, spec):
    return [User(id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"{tenant_id}/{n}")),
                 user_principal_name=f"{spec.user_prefix}{n:04d}@{spec.domain}",
                 display_name=f"{spec.user_prefix.capitalize()} {n:04d}",
                 department=DEPARTMENTS[(n - 1) % len(DEPARTMENTS)], account_enabled=n % 10 != 0)
            for n in range(1, spec.user_count + 1)]


class Directory:
    """All tenants. Secrets, certificates and federated token files live in `state_dir` (0600)."""

    def __init__(self, state_dir, specs, federation_issuer):
        self.state_dir = state_dir
        self.specs = specs
        os.makedirs(state_dir, mode=0o700, exist_ok=True)
        self.signing_key = credentials.load_or_create_rsa_key(self.path("token-signing-key.pem"))
        self.issuer_key = credentials.load_or_create_rsa_key(self.path("oidc-issuer-key.pem"))
        self.state = self._load_or_create_state(federation_issuer)
        self.federation_issuer = self.state["federation_issuer"]
        self.tenants = {}
        self.reset()

    def path(self, name):
        return os.path.join(self.state_dir, name)

    # -- persisted registrations ------------------------------------------------------------
    def _load_or_create_state(self, federation_issuer):
        state_file = self.path("state.json")
        state = {"federation_issuer": federation_issuer, "tenants": {}}
        if os.path.exists(state_file):
            with open(state_file, encoding="utf-8") as handle:
                state = json.load(handle)
        changed = False
        for spec in self.specs:
            if spec.name not in state["tenants"]:
                state["tenants"][spec.name] = self._register_tenant(spec, state["federation_issuer"])
                changed = True
        if changed or not os.path.exists(state_file):
            credentials.write_private(state_file, json.dumps(state, indent=2))
        return state

    def _register_tenant(self, spec, federation_issuer):
        now = int(datetime.datetime.now(datetime.timezone.utc).timestamp())
        two_years, expired = now + 2 * 365 * 86400, now - 30 * 86400
        pem, pfx = self.path(f"client-{spec.name}.pem"), self.path(f"client-{spec.name}.pfx")
        password = credentials.new_password()
        cert = credentials.create_client_certificate(f"m365-photos-sandbox-{spec.name}", pem, pfx, password)
        x5t, x5t_s256 = credentials.thumbprints(cert)
        token_file = self.path(f"federated-token-{spec.name}.jwt")
        credentials.write_private(token_file, credentials.mint_federated_token(
            self.issuer_key, federation_issuer, FEDERATION_SUBJECT, FEDERATION_AUDIENCE, 10 * 365 * 86400))
        apps = {"main": {
            "client_id": str(uuid.uuid4()), "display_name": f"m365-photos {spec.name}", "roles": WRITE_ROLES,
            "secrets": [{"value": credentials.new_client_secret(), "expires": two_years}],
            "certificates": [{"x5t": x5t, "x5t#S256": x5t_s256, "pem": pem, "pfx": pfx, "password": password}],
            "federated": [{"issuer": federation_issuer, "subject": FEDERATION_SUBJECT,
                           "audience": FEDERATION_AUDIENCE}],
            "federated_token_file": token_file,
        }}
        if spec.name == "contoso":
            apps["readonly"] = {"client_id": str(uuid.uuid4()), "display_name": "m365-photos read-only",
                                "roles": READ_ONLY_ROLES,
                                "secrets": [{"value": credentials.new_client_secret(), "expires": two_years}]}
            apps["expired"] = {"client_id": str(uuid.uuid4()), "display_name": "m365-photos expired secret",
                               "roles": WRITE_ROLES,
                               "secrets": [{"value": credentials.new_client_secret(), "expires": expired}]}
        return {"id": str(uuid.uuid4()), "apps": apps}

    # -- live directory ----------------------------------------------------------------------
    def reset(self):
        """Back to seed state: users re-created, no groups, per-tenant policy back to unset, apps' roles as registered."""
        self.tenants = {}
        for spec in self.specs:
            saved = self.state["tenants"][spec.name]
            apps = {}
            for app_name, registration in saved["apps"].items():
                apps[registration["client_id"]] = App(
                    client_id=registration["client_id"], display_name=registration["display_name"],
                    roles=list(SEEDED_ROLES.get(app_name, registration["roles"])), secrets=registration.get("secrets", []),
                    certificates=registration.get("certificates", []),
                    federated=registration.get("federated", []))
            self.tenants[spec.name] = Tenant(name=spec.name, id=saved["id"], domain=spec.domain,
                                             users=seed_users(saved["id"], spec), apps=apps)

    def registration(self, tenant_name, app_name):
        return self.state["tenants"][tenant_name]["apps"].get(app_name)

    def find_tenant(self, identifier, allow_short_name=False):
        """By GUID or domain, as the authority accepts; the admin API also takes the short name."""
        identifier = (identifier or "").lower()
        for tenant in self.tenants.values():
            if identifier in tenant.identifiers or (allow_short_name and identifier == tenant.name):
                return tenant
        return None

    def tenant_by_id(self, tenant_id):
        return next((t for t in self.tenants.values() if t.id == tenant_id), None)
