# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to the m365.photos collection: not a public API, may change without notice.
"""Microsoft Graph and sign-in failures, each worded as what failed, why, and what to do."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ansible_collections.m365.photos.plugins.module_utils._errors import PhotoError
from ansible_collections.m365.photos.plugins.module_utils._limits import GRAPH_RETRYABLE_STATUSES
from ansible_collections.m365.photos.plugins.module_utils._graph_photo_answers import mailbox_cause
from ansible_collections.m365.photos.plugins.module_utils._graph_auth import (
    Endpoints, GraphConfigError, chosen_auth_method,
)

READ_PERMISSION = "ProfilePhoto.Read.All"
WRITE_PERMISSION = "ProfilePhoto.ReadWrite.All"
# user-get lists User.Read.All as least privileged for apps (User.ReadBasic.All for delegated access only).
USER_PERMISSION = "User.Read.All"
SETTINGS_PERMISSION = "PeopleSettings.Read.All"
_SECRET_OPTIONS = ("client_secret", "client_certificate_password")
_AADSTS = re.compile(r"AADSTS(\d+)")


class GraphError(PhotoError):
    """A Microsoft Graph failure, worded for the person running the playbook; status is Graph's HTTP status."""

    def __init__(self, message: str, status: int | None = None, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.retryable = status in GRAPH_RETRYABLE_STATUSES
        self.retry_after = retry_after


@dataclass(frozen=True)
class Operation:
    """What a call was doing, so an error can say what to fix."""
    doing: str  # "reading the photo of alice@contoso.com"
    permission: str
    user: str | None = None
    write: bool = False
    group: str | None = None  # listing this group's members
    query_filter: str | None = None  # listing the users this $filter selects
    photo: bool = False  # a call on the user's photo: a 400/404 may say the photo cannot be reached at all


def scrub(text: str, params: dict) -> str:
    """text with every secret option's value masked, in case a library quoted one."""
    for name in _SECRET_OPTIONS:
        secret = params.get(name)
        if secret:
            text = text.replace(secret, "********")
    return text


def _graph_error_parts(error) -> tuple[int | None, str, str]:
    main = getattr(error, "error", None)
    code = getattr(main, "code", None) or ""
    message = getattr(main, "message", None) or getattr(error, "message", None) or ""
    return getattr(error, "response_status_code", None), code, message.strip()


def _retry_after_header(error) -> str | None:
    headers = getattr(error, "response_headers", None) or {}
    return next((str(v) for k, v in headers.items() if k.lower() == "retry-after"), None)


def retry_after_seconds(error) -> float | None:
    """The Retry-After of an error answer, in seconds, when it has one."""
    try:
        return float(_retry_after_header(error))
    except (TypeError, ValueError):
        return None


def _retry_after(error) -> str:
    value = _retry_after_header(error)
    return " (the last answer asked to wait %s s)" % value if value else ""


def explain_api_error(error, operation: Operation, where: Endpoints) -> str:
    """One sentence for a Graph error answer: what failed, why, and what to do."""
    status, code, message = _graph_error_parts(error)
    detail = "HTTP %s %s: %s" % (status, code or "error", message) if message else "HTTP %s %s" % (status, code)
    if status == 401:
        return ("Microsoft Graph at %s refused the access token while %s (%s). The token was issued for another "
                "cloud or tenant: check cloud, graph_url and authority_url." % (where.graph_url, operation.doing, detail))
    if status == 403:
        return ("The app may not do this: %s was refused (%s). Grant it the Microsoft Graph application permission "
                "%s with admin consent." % (operation.doing, detail, operation.permission))
    cause = mailbox_cause(status, code, message) if operation.photo else None
    if cause:
        return "Microsoft Graph cannot reach the photo while %s (%s): %s." % (operation.doing, detail, cause)
    if status == 404 and operation.user:
        return ("No user '%s' in the tenant (%s). Check the user principal name or object id, and that tenant_id "
                "names the right tenant." % (operation.user, detail))
    if status == 404 and operation.group:
        return ("No Entra group has the object id '%s' in the tenant (%s); check the group's object id and that "
                "tenant_id names its tenant." % (operation.group, detail))
    if status == 400 and operation.query_filter is not None:
        return ("Microsoft Graph refused the user filter \"%s\" as unsupported or invalid (%s); write it with the "
                "properties and operators Graph filters users on without advanced query parameters "
                "(https://learn.microsoft.com/graph/aad-advanced-queries)." % (operation.query_filter, detail))
    if status == 413:
        return ("Microsoft Graph refused the photo as too large while %s (%s). Lower max_bytes." % (operation.doing, detail))
    if status == 415:
        return ("Microsoft Graph refused the photo's content type while %s (%s); it takes JPEG only." % (
            operation.doing, detail))
    if status == 400 and operation.write:
        return ("Microsoft Graph refused the photo while %s (%s). Use a larger or different picture (the service "
                "rejects very small images)." % (operation.doing, detail))
    if status == 429:
        return ("Microsoft Graph kept throttling the requests while %s, beyond the retries the client makes%s (%s). "
                "Run fewer tasks in parallel (forks, throttle) and try again later." % (
                    operation.doing, _retry_after(error), detail))
    if status in (500, 502, 503, 504):
        return ("Microsoft Graph is unavailable (%s) while %s, even after retries. Try again later." % (
            detail, operation.doing))
    return "Microsoft Graph failed while %s: %s" % (operation.doing, detail)


def explain_refused_write(operation: Operation, refusal: str, source: str | None, readable: bool,
                          unreadable_because: str = "") -> str:
    """A refused (403) write, told after reading the tenant's photoUpdateSettings: Microsoft answers a write the
    policy refuses with the same plain 403 as a missing permission, so only the setting tells them apart."""
    if (source or "").lower() == "onpremises":
        return ("The tenant does not allow photo changes in the cloud: %s was refused (HTTP 403), and its "
                "photoUpdateSettings source is onPremises. Photos come from Active Directory there: use "
                "m365.photos.ad_thumbnail_photo, or have an admin set the source to cloud (a change takes up to "
                "24 hours)." % operation.doing)
    if readable:
        return ("%s The tenant's photoUpdateSettings allow cloud updates (source %s); if the source was changed "
                "in the last 24 hours, the change may not apply yet." % (refusal, source or "not set"))
    return ("%s If the app holds that permission, the tenant's photoUpdateSettings may refuse cloud updates: grant "
            "%s to let this module tell (the setting could not be read: %s)." % (
                refusal, SETTINGS_PERMISSION, unreadable_because or "no answer"))


# Identity platform (AADSTS) codes, and what to fix for each.
SIGN_IN_FIXES = {
    "7000215": "the client secret is wrong: give the secret's value (not its id) in client_secret",
    "7000222": "the client secret has expired: create a new one for the app registration and update client_secret",
    "700016": "no app with this client_id in the tenant: check client_id and tenant_id, and that the app is "
              "registered in (or consented to by) this tenant",
    "90002": "the tenant was not found: check tenant_id, and that cloud names the cloud the tenant lives in",
    "90013": "tenant_id is not valid: check it",
    "700027": "the certificate is not registered for the app: upload its public certificate to the app "
              "registration, or check client_certificate_path",
    "700024": "the client assertion is outside its validity period: check the clock of the host running the task",
    "70021": "the federated token's issuer and audience match no federated credential of the app: check the "
             "credential's issuer and audience (api://AzureADTokenExchange) against the token's",
    "50013": "the federated token's signature could not be checked: the token file is stale or from another issuer",
    "700213": "the federated token's subject matches no federated credential of the app: set the credential's "
              "subject to the token's (for GitHub Actions repo:<owner>/<repo>:environment:<name> or :ref:<ref>)",
    "7002137": "the federated token's subject matches no federated credential of the app: set the credential's "
               "subject to the one the error names",
    "7002138": "the federated token's subject matches a federated credential only when case is ignored, and "
               "subjects are compared case-sensitively: spell the credential's subject exactly as the token's",
    "7000218": "the app needs a credential: give client_secret, a certificate or a federated token",
    "500011": "the token scope names a resource the tenant does not know: check cloud and graph_url",
}


def explain_sign_in_error(error, params: dict, where: Endpoints) -> str:
    """One sentence for a failed token request."""
    text = scrub(str(getattr(error, "message", None) or error), params)
    method = chosen_auth_method_or_none(params)
    codes = _AADSTS.findall(text)
    for aadsts in codes:
        if aadsts in SIGN_IN_FIXES:
            return "Signing in to %s with auth_method %s failed: %s (AADSTS%s)." % (
                where.authority, method, SIGN_IN_FIXES[aadsts], aadsts)
    transport = _transport_reason(text)
    if transport:
        return "Cannot reach the sign-in authority %s: %s" % (where.authority, transport)
    first_line = text.strip().splitlines()[0] if text.strip() else type(error).__name__
    return "Signing in to %s with auth_method %s failed: %s" % (where.authority, method, first_line[:500])


def chosen_auth_method_or_none(params: dict) -> str:
    try:
        return chosen_auth_method(params)
    except GraphConfigError:
        return params.get("auth_method") or "auto"


def _transport_reason(text: str) -> str | None:
    lowered = text.lower()
    if "certificate verify failed" in lowered or "certificate_verify_failed" in lowered:
        return ("its TLS certificate is not trusted (%s). Set ca_file to the CA certificate that signed it."
                % _certificate_reason(text))
    if any(word in lowered for word in ("name or service not known", "nodename nor servname", "name resolution",
                                        "getaddrinfo", "no address associated", "temporary failure in name")):
        return "its host name does not resolve. Check cloud, graph_url and authority_url, and the host's DNS and proxy."
    if "refused" in lowered:
        return "the connection was refused. Check graph_url and authority_url, and firewalls or proxies."
    if "timed out" in lowered or "timeout" in lowered:
        return "no answer in time. Check the network path (firewall, proxy), or raise timeout."
    if "disconnected" in lowered or "connection reset" in lowered or "server disconnected" in lowered:
        return "the connection was dropped, even after retries. Try again later."
    return None


def _certificate_reason(text: str) -> str:
    match = re.search(r"certificate verify failed: ([^(\]\n]+)", text, re.IGNORECASE)
    return match.group(1).strip() if match else "verification failed"


def explain_transport_error(error, operation: Operation, where: Endpoints, params: dict) -> str:
    text = scrub("%s %s" % (type(error).__name__, error), params)
    reason = _transport_reason(text) or text
    return "Cannot reach Microsoft Graph at %s while %s: %s" % (where.graph_url, operation.doing, reason)


class ItemError:
    """A failed $batch item in the shape explain_api_error reads from the SDK's APIError."""

    def __init__(self, answer) -> None:
        code, message = answer.error_parts()
        self.response_status_code = answer.status or None
        self.response_headers = dict(answer.headers or {})
        self.error = ItemErrorBody(code, message)
        self.message = message


@dataclass(frozen=True)
class ItemErrorBody:
    code: str
    message: str
