# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to the m365.photos collection: not a public API, may change without notice.
"""Microsoft Graph connection options: national clouds, endpoints and one credential builder per auth method."""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass

from ansible.module_utils.basic import env_fallback

AUTH_METHODS = ("auto", "client_secret", "certificate", "workload_identity", "managed_identity", "azure_cli")
GRAPH_API_VERSION = "v1.0"
# Authority hosts that MSAL knows; any other host (a sovereign proxy, a test emulator) skips instance discovery.
MICROSOFT_AUTHORITY_HOSTS = frozenset(("login.microsoftonline.com", "login.microsoftonline.us",
                                       "login.chinacloudapi.cn", "login.microsoft.com", "login.windows.net"))


@dataclass(frozen=True)
class Cloud:
    graph: str
    authority: str
    scope: str


# Tokens of one cloud do not work in another: authority, scope and Graph URL change together.
CLOUDS = {
    "global": Cloud("https://graph.microsoft.com", "https://login.microsoftonline.com",
                    "https://graph.microsoft.com/.default"),
    "usgov": Cloud("https://graph.microsoft.us", "https://login.microsoftonline.us",
                   "https://graph.microsoft.us/.default"),
    "usgovdod": Cloud("https://dod-graph.microsoft.us", "https://login.microsoftonline.us",
                      "https://dod-graph.microsoft.us/.default"),
    "china": Cloud("https://microsoftgraph.chinacloudapi.cn", "https://login.chinacloudapi.cn",
                   "https://microsoftgraph.chinacloudapi.cn/.default"),
}


class GraphConfigError(Exception):
    """The connection options cannot work; the message says which option to fix."""


def graph_argument_spec() -> dict:
    """The connection options documented by the m365.photos._graph doc fragment."""
    return dict(
        tenant_id=dict(type="str", fallback=(env_fallback, ["AZURE_TENANT_ID"])),
        client_id=dict(type="str", fallback=(env_fallback, ["AZURE_CLIENT_ID"])),
        client_secret=dict(type="str", no_log=True, fallback=(env_fallback, ["AZURE_CLIENT_SECRET"])),
        client_certificate_path=dict(type="path", fallback=(env_fallback, ["AZURE_CLIENT_CERTIFICATE_PATH"])),
        client_certificate_password=dict(type="str", no_log=True,
                                         fallback=(env_fallback, ["AZURE_CLIENT_CERTIFICATE_PASSWORD"])),
        federated_token_file=dict(type="path", fallback=(env_fallback, ["AZURE_FEDERATED_TOKEN_FILE"])),
        auth_method=dict(type="str", default="auto", choices=list(AUTH_METHODS)),
        cloud=dict(type="str", default="global", choices=sorted(CLOUDS)),
        graph_url=dict(type="str"),
        authority_url=dict(type="str", fallback=(env_fallback, ["AZURE_AUTHORITY_HOST"])),
        ca_file=dict(type="path"),
        timeout=dict(type="int", default=30),
    )


@dataclass(frozen=True)
class Endpoints:
    graph_url: str  # API root with version, no trailing slash: https://graph.microsoft.com/v1.0
    authority: str  # scheme and host (and port): https://login.microsoftonline.com
    scope: str

    @property
    def authority_is_microsoft(self) -> bool:
        return urllib.parse.urlsplit(self.authority).hostname in MICROSOFT_AUTHORITY_HOSTS

    @property
    def beta_url(self) -> str:
        root, _slash, version = self.graph_url.rpartition("/")
        return root + "/beta" if version == GRAPH_API_VERSION else self.graph_url


def _https_root(value: str, option: str) -> urllib.parse.SplitResult:
    parts = urllib.parse.urlsplit(value.strip())
    if parts.scheme != "https" or not parts.hostname:
        raise GraphConfigError("%s must be an https:// URL, not '%s'." % (option, value))
    return parts


def endpoints(params: dict) -> Endpoints:
    """Graph root, authority and token scope of the chosen cloud, with graph_url and authority_url applied."""
    cloud = CLOUDS[params["cloud"]]
    graph = _https_root(params["graph_url"] or cloud.graph, "graph_url")
    path = graph.path.rstrip("/") or "/" + GRAPH_API_VERSION
    authority = _https_root(params["authority_url"] or cloud.authority, "authority_url")
    return Endpoints(graph_url="https://%s%s" % (graph.netloc, path),
                     authority="https://%s" % authority.netloc, scope=cloud.scope)


def chosen_auth_method(params: dict) -> str:
    """auth_method, with auto resolved from the credentials given: secret, certificate, federated token file.

    auto never picks managed identity or the Azure CLI: on a host that has neither, their probes fail
    slowly and confusingly, so they must be asked for by name.
    """
    if params["auth_method"] != "auto":
        return params["auth_method"]
    if params["client_secret"]:
        return "client_secret"
    if params["client_certificate_path"]:
        return "certificate"
    if params["federated_token_file"]:
        return "workload_identity"
    raise GraphConfigError(
        "No credential to sign in to Microsoft Graph: set client_secret, client_certificate_path or "
        "federated_token_file (or AZURE_CLIENT_SECRET, AZURE_CLIENT_CERTIFICATE_PATH, AZURE_FEDERATED_TOKEN_FILE), "
        "or choose auth_method: managed_identity or azure_cli.")


def _require(params: dict, method: str, *names: str) -> None:
    missing = [name for name in names if not params[name]]
    if missing:
        raise GraphConfigError("auth_method %s needs %s (or the matching AZURE_* environment variables)."
                               % (method, " and ".join(missing)))


def _common_options(params: dict, where: Endpoints) -> dict:
    return dict(authority=where.authority, disable_instance_discovery=not where.authority_is_microsoft,
                connection_verify=params["ca_file"] or True, connection_timeout=params["timeout"],
                read_timeout=params["timeout"], retry_total=2)


def client_secret_credential(identity, params: dict, where: Endpoints):
    _require(params, "client_secret", "tenant_id", "client_id", "client_secret")
    return identity.ClientSecretCredential(params["tenant_id"], params["client_id"], params["client_secret"],
                                           **_common_options(params, where))


def certificate_credential(identity, params: dict, where: Endpoints):
    _require(params, "certificate", "tenant_id", "client_id", "client_certificate_path")
    password = params["client_certificate_password"]
    path = params["client_certificate_path"]
    try:
        return identity.CertificateCredential(params["tenant_id"], params["client_id"], certificate_path=path,
                                              password=password.encode("utf-8") if password else None,
                                              **_common_options(params, where))
    except TypeError as error:
        # cryptography's words for a password given to an unencrypted key, or none given to an encrypted one.
        if password:
            raise ValueError("client_certificate_password is set, but the private key in %s is not encrypted: "
                             "leave client_certificate_password out (%s)" % (path, error)) from None
        raise ValueError("the private key in %s is encrypted: give its password in client_certificate_password (%s)"
                         % (path, error)) from None


def workload_identity_credential(identity, params: dict, where: Endpoints):
    _require(params, "workload_identity", "tenant_id", "client_id", "federated_token_file")
    return identity.WorkloadIdentityCredential(tenant_id=params["tenant_id"], client_id=params["client_id"],
                                               token_file_path=params["federated_token_file"],
                                               **_common_options(params, where))


def managed_identity_credential(identity, params: dict, where: Endpoints):
    # client_id selects a user-assigned identity; without it the system-assigned one signs in.
    return identity.ManagedIdentityCredential(client_id=params["client_id"] or None)


def azure_cli_credential(identity, params: dict, where: Endpoints):
    return identity.AzureCliCredential(tenant_id=params["tenant_id"] or "", process_timeout=params["timeout"])


CREDENTIAL_BUILDERS = {
    "client_secret": client_secret_credential,
    "certificate": certificate_credential,
    "workload_identity": workload_identity_credential,
    "managed_identity": managed_identity_credential,
    "azure_cli": azure_cli_credential,
}


def build_credential(identity, params: dict, where: Endpoints):
    """An async azure-identity credential for the chosen method; identity is the azure.identity.aio module."""
    return CREDENTIAL_BUILDERS[chosen_auth_method(params)](identity, params, where)
