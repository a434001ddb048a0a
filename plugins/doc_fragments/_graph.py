# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to the m365.photos collection: not a public API, may change without notice.

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  tenant_id:
    description:
      - Directory (tenant) id or a verified domain of the tenant, such as C(contoso.onmicrosoft.com).
      - Defaults to the E(AZURE_TENANT_ID) environment variable.
      - Required by every O(auth_method) but V(managed_identity) and V(azure_cli).
    type: str
  client_id:
    description:
      - Application (client) id of the app registration.
      - With O(auth_method=managed_identity), the client id of a user-assigned identity (omit it for the
        system-assigned one).
      - Defaults to the E(AZURE_CLIENT_ID) environment variable.
    type: str
  client_secret:
    description:
      - A client secret's value (not its id) for O(auth_method=client_secret).
      - Defaults to the E(AZURE_CLIENT_SECRET) environment variable.
    type: str
  client_certificate_path:
    description:
      - A certificate with its private key for O(auth_method=certificate), on the host running the module,
        as PEM or as PKCS#12 (C(.pfx)). The public certificate must be uploaded to the app registration.
      - Defaults to the E(AZURE_CLIENT_CERTIFICATE_PATH) environment variable.
    type: path
  client_certificate_password:
    description:
      - Password of the private key in O(client_certificate_path), when it has one.
      - Defaults to the E(AZURE_CLIENT_CERTIFICATE_PASSWORD) environment variable.
    type: str
  federated_token_file:
    description:
      - A file holding a token from an external identity provider (GitHub Actions, Kubernetes, any OIDC
        issuer) that the app registration trusts through a federated credential, for
        O(auth_method=workload_identity). It is read again for every run, so a rotated token is picked up.
      - Defaults to the E(AZURE_FEDERATED_TOKEN_FILE) environment variable.
    type: path
  auth_method:
    description:
      - How to sign in to Microsoft Graph. Every method gets an application token (no user signs in).
      - V(auto) uses O(client_secret) when set, else O(client_certificate_path), else O(federated_token_file),
        and fails when none is set. It never picks V(managed_identity) or V(azure_cli), because on a host without
        them their probes fail slowly and confusingly, so ask for them by name.
      - V(managed_identity) uses the Azure managed identity of the host running the module.
      - V(azure_cli) uses the account signed in with C(az login) on the host running the module.
    type: str
    choices: [auto, client_secret, certificate, workload_identity, managed_identity, azure_cli]
    default: auto
  cloud:
    description:
      - The Microsoft cloud the tenant lives in. It sets the sign-in authority, the token scope and the
        Graph URL together, since tokens of one cloud do not work in another.
      - V(global) (also GCC) uses C(login.microsoftonline.com) and C(graph.microsoft.com);
        V(usgov) (GCC High) C(login.microsoftonline.us) and C(graph.microsoft.us);
        V(usgovdod) (DoD) C(login.microsoftonline.us) and C(dod-graph.microsoft.us);
        V(china) (21Vianet) C(login.chinacloudapi.cn) and C(microsoftgraph.chinacloudapi.cn).
    type: str
    choices: [global, usgov, usgovdod, china]
    default: global
  graph_url:
    description:
      - Microsoft Graph API root to use instead of the O(cloud)'s, such as C(https://graph.microsoft.com/v1.0)
        (a proxy or a test emulator). C(/v1.0) is added when the URL has no path. Must be https.
      - The token scope stays the O(cloud)'s.
    type: str
  authority_url:
    description:
      - Sign-in authority to use instead of the O(cloud)'s, such as C(https://login.microsoftonline.com).
        Must be https. Instance discovery is skipped for hosts that are not Microsoft's.
      - Defaults to the E(AZURE_AUTHORITY_HOST) environment variable.
    type: str
  ca_file:
    description:
      - PEM file with the CA certificate(s) to trust for Graph and the authority, when the system's trust
        store does not hold them (a TLS-inspecting proxy, for example).
    type: path
  timeout:
    description:
      - Seconds to wait for a connection and for each answer.
    type: int
    default: 30
notes:
  - Set the connection options once for all Graph modules of this collection with C(module_defaults) and the
    action group C(group/m365.photos.graph).
  - Throttled (429) and unavailable (503, 504) answers are retried up to three times, honouring C(Retry-After),
    and without it after an exponential backoff with jitter; dropped connections twice.
  - The app needs Microsoft Graph application permissions with admin consent, the least privileged ones
    Microsoft lists. C(User.Read.All) to look users up (user-get; C(User.ReadBasic.All) is listed for delegated
    access only). C(ProfilePhoto.ReadWrite.All) to change photos (profilephoto-update), or
    C(ProfilePhoto.Read.All) to read them (profilephoto-get). Optionally C(PeopleSettings.Read.All), so that a
    refused write can be explained by the tenant's photoUpdateSettings.
requirements:
  - msgraph-sdk >= 1.20.0
  - azure-identity >= 1.19.0
  - aiohttp (for azure-identity's asynchronous credentials)
  - sniffio (recommended, in requirements.txt; without it httpx retries a failed import on every request, which costs bulk runs CPU)
"""
