# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to the m365.photos collection: not a public API, may change without notice.
"""Microsoft Graph session for the Exchange Online photo modules: client, photo calls, readable errors."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import ssl
import traceback
from dataclasses import dataclass

from ansible_collections.m365.photos.plugins.module_utils._graph_auth import (
    Endpoints, GraphConfigError, build_credential, chosen_auth_method, endpoints,
)

# The SDK's import set costs 0.3-0.5 s; every piece of it is needed by any run that reaches Graph, so
# importing lazily would only speed up runs that fail on their options or their photo.
try:
    import aiohttp  # noqa: F401  pylint: disable=unused-import  # azure-identity's async transport
    import httpx
    from azure.core import exceptions as azure_errors
    from azure.identity import aio as azure_identity
    from kiota_abstractions.api_error import APIError
    from kiota_abstractions.base_request_configuration import RequestConfiguration
    from kiota_abstractions.headers_collection import HeadersCollection
    from kiota_abstractions.method import Method
    from kiota_abstractions.request_information import RequestInformation
    from kiota_authentication_azure.azure_identity_authentication_provider import AzureIdentityAuthenticationProvider
    from msgraph import GraphRequestAdapter, GraphServiceClient
    from msgraph.generated.models.o_data_errors.o_data_error import ODataError
    from msgraph_core import GraphClientFactory
except ImportError:
    HAS_GRAPH_SDK = False
    GRAPH_SDK_IMPORT_ERROR: str | None = traceback.format_exc()
else:
    HAS_GRAPH_SDK = True
    GRAPH_SDK_IMPORT_ERROR = None
    ERROR_MAPPING = {"XXX": ODataError.create_from_discriminator_value}

READ_PERMISSION = "ProfilePhoto.Read.All"
WRITE_PERMISSION = "ProfilePhoto.ReadWrite.All"
USER_PERMISSION = "User.ReadBasic.All"
# Dropped connections are retried by us (the SDK's retry handler only retries on status codes).
TRANSPORT_RETRIES = 2
TRANSPORT_RETRY_DELAY_S = 1.0
_SECRET_OPTIONS = ("client_secret", "client_certificate_password")
_AADSTS = re.compile(r"AADSTS(\d+)")


class GraphError(Exception):
    """A Microsoft Graph failure, worded for the person running the playbook; status is Graph's HTTP status."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Operation:
    """What a call was doing, so an error can say what to fix."""
    doing: str  # "reading the photo of alice@contoso.com"
    permission: str
    user: str | None = None
    write: bool = False


@dataclass(frozen=True)
class PhotoMetadata:
    width: int
    height: int
    etag: str | None

    @property
    def side(self) -> int:
        return min(self.width, self.height)

    def facts(self) -> dict:
        return dict(width=self.width, height=self.height, etag=self.etag)


# -- errors --------------------------------------------------------------------------------------------------

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


def _retry_after(error) -> str:
    headers = getattr(error, "response_headers", None) or {}
    value = next((v for k, v in headers.items() if k.lower() == "retry-after"), None)
    return " (the last answer asked to wait %s s)" % value if value else ""


def explain_api_error(error, operation: Operation, where: Endpoints) -> str:
    """One sentence for a Graph error answer: what failed, why, and what to do."""
    status, code, message = _graph_error_parts(error)
    detail = "HTTP %s %s: %s" % (status, code or "error", message) if message else "HTTP %s %s" % (status, code)
    if status == 401:
        return ("Microsoft Graph at %s refused the access token while %s (%s). The token was issued for another "
                "cloud or tenant: check cloud, graph_url and authority_url." % (where.graph_url, operation.doing, detail))
    if status == 403 and _is_policy_refusal(code, message):
        return _policy_message(operation, detail)
    if status == 403:
        return ("The app may not do this: %s was refused (%s). Grant it the Microsoft Graph application permission "
                "%s with admin consent." % (operation.doing, detail, operation.permission))
    if status == 404 and operation.user:
        return ("No user '%s' in the tenant (%s). Check the user principal name or object id, and that tenant_id "
                "names the right tenant." % (operation.user, detail))
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


def _is_policy_refusal(code: str, message: str) -> bool:
    # Microsoft documents no error for a write refused by photoUpdateSettings: look for its words.
    text = ("%s %s" % (code, message)).lower()
    return "policy" in text or "onpremises" in text or "photoupdatesettings" in text


def _policy_message(operation: Operation, detail: str) -> str:
    return ("The tenant does not allow photo changes in the cloud: %s was refused (%s). Its photoUpdateSettings "
            "source is onPremises, so photos come from Active Directory: use m365.photos.ad_thumbnail_photo, or "
            "have an admin set the source to cloud (changes take up to 24 hours)." % (operation.doing, detail))


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
    "70021": "the federated token matches no federated credential of the app: check its issuer, subject and "
             "audience (api://AzureADTokenExchange) against the app registration",
    "50013": "the federated token's signature could not be checked: the token file is stale or from another issuer",
    "700213": "the federated token matches no federated credential of the app: check its subject",
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


# -- session ---------------------------------------------------------------------------------------------------

def _ssl_context(ca_file: str | None) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=ca_file) if ca_file else ssl.create_default_context()


class GraphSession:
    """A signed-in Graph client for one module run: open it inside the asyncio.run() of run()."""

    def __init__(self, params: dict, where: Endpoints) -> None:
        self.params = params
        self.where = where
        self._credential = None
        self._http = None
        self.client = None
        self.adapter = None

    async def __aenter__(self) -> GraphSession:
        try:
            self._credential = build_credential(azure_identity, self.params, self.where)
        except (ValueError, OSError) as error:
            # Certificates are read, and rejected, when the credential is built.
            raise GraphError(scrub("Cannot use the credential of auth_method %s: %s" % (
                chosen_auth_method(self.params), error), self.params)) from None
        provider = AzureIdentityAuthenticationProvider(self._credential, scopes=[self.where.scope])
        self._http = GraphClientFactory.create_with_default_middleware(
            client=httpx.AsyncClient(verify=_ssl_context(self.params["ca_file"]), timeout=self.params["timeout"]))
        self.adapter = GraphRequestAdapter(provider, client=self._http)
        self.adapter.base_url = self.where.graph_url
        self.client = GraphServiceClient(request_adapter=self.adapter)
        return self

    async def __aexit__(self, *exc_info) -> None:
        if self._http is not None:
            await self._http.aclose()
        if self._credential is not None:
            await self._credential.close()

    async def call(self, operation: Operation, request, missing_ok: bool = False):
        """Await request() (a fresh coroutine per attempt), retrying dropped connections; GraphError on failure.

        With missing_ok, a 404 answer returns None (no photo) instead of failing.
        """
        for attempt in range(TRANSPORT_RETRIES + 1):
            try:
                return await request()
            except APIError as error:
                if missing_ok and error.response_status_code == 404:
                    return None
                raise GraphError(scrub(explain_api_error(error, operation, self.where), self.params),
                                 error.response_status_code) from None
            except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError) as error:
                if attempt == TRANSPORT_RETRIES:
                    raise GraphError(explain_transport_error(error, operation, self.where, self.params)) from None
                await asyncio.sleep(TRANSPORT_RETRY_DELAY_S * (attempt + 1))
            except azure_errors.ClientAuthenticationError as error:
                raise GraphError(explain_sign_in_error(error, self.params, self.where)) from None
            except azure_errors.AzureError as error:
                raise GraphError(explain_sign_in_error(error, self.params, self.where)) from None
            except (httpx.TransportError, ssl.SSLError) as error:
                raise GraphError(explain_transport_error(error, operation, self.where, self.params)) from None
            except OSError as error:
                # A federated token file is read when a token is requested.
                raise GraphError(scrub("Cannot use the credential of auth_method %s while %s: %s" % (
                    chosen_auth_method(self.params), operation.doing, error), self.params)) from None
        raise AssertionError("unreachable")

    async def sign_in(self) -> None:
        """Get the token up front, so the requests that follow in parallel do not each ask for one."""
        operation = Operation("signing in", READ_PERMISSION)
        # enable_cae as the SDK's token provider asks, so it finds this token in the credential's cache.
        await self.call(operation, lambda: self._credential.get_token(self.where.scope, enable_cae=True))

    def _user(self, user: str):
        return self.client.users.by_user_id(user)

    async def _get_json(self, operation: Operation, builder, select: tuple = (), missing_ok: bool = False):
        """GET a resource as a plain dict: the SDK's models load the whole Graph model (1,300 classes, ~1.5 s)."""
        request = builder.to_get_request_information()
        if select:
            request.query_parameters["%24select"] = list(select)
        body = await self.call(operation, lambda: self.adapter.send_primitive_async(request, "bytes", ERROR_MAPPING),
                               missing_ok)
        return json.loads(body) if body else None

    async def find_user(self, user: str) -> dict:
        """id and userPrincipalName of a user given by UPN or object id; GraphError when there is none.

        A photo 404 does not tell "no photo" from "no such user": look the user up first.
        """
        operation = Operation("looking up user '%s'" % user, USER_PERMISSION, user=user)
        found = await self._get_json(operation, self._user(user), ("id", "userPrincipalName")) or {}
        return dict(id=found.get("id"), user_principal_name=found.get("userPrincipalName"))

    async def photo_metadata(self, user: str) -> PhotoMetadata | None:
        """Size and media ETag of the largest photo size, or None without a photo."""
        operation = Operation("reading the photo of %s" % user, READ_PERMISSION)
        return _metadata(await self._get_json(operation, self._user(user).photo, missing_ok=True))

    async def user_and_photo(self, user: str) -> tuple[dict, PhotoMetadata | None]:
        """find_user and photo_metadata in parallel; when both fail, the user's error is the one raised."""
        found, metadata = await asyncio.gather(self.find_user(user), self.photo_metadata(user), return_exceptions=True)
        for outcome in (found, metadata):
            if isinstance(outcome, BaseException):
                raise outcome
        return found, metadata

    async def photo_content(self, user_id: str, side: int | None = None) -> bytes | None:
        """The photo's bytes at side x side (the largest size when side is None); None when there is none."""
        operation = Operation("downloading the photo of %s" % user_id, READ_PERMISSION)
        user = self._user(user_id)
        content = user.photo.content if side is None else user.photos.by_profile_photo_id("%dx%d" % (side, side)).content
        return await self.call(operation, content.get, missing_ok=True)

    async def upload_photo(self, user_id: str, data: bytes) -> None:
        """PUT the JPEG; declared as image/jpeg, which Graph requires and which lets the SDK retry on 429."""
        operation = Operation("uploading the photo of %s" % user_id, WRITE_PERMISSION, write=True)
        await self._write(operation, lambda: self._user(user_id).photo.content.put(
            data, request_configuration=_jpeg_upload_configuration()))

    async def delete_photo(self, user_id: str) -> None:
        operation = Operation("removing the photo of %s" % user_id, WRITE_PERMISSION, write=True)
        await self._write(operation, self._user(user_id).photo.content.delete, missing_ok=True)

    async def _write(self, operation: Operation, request, missing_ok: bool = False) -> None:
        try:
            await self.call(operation, request, missing_ok)
        except GraphError as error:
            if error.status != 403:
                raise
            # A 403 on a write is a missing permission or the tenant's photo policy; the error body does
            # not always tell which, photoUpdateSettings does (when the app may read it).
            source = await self.photo_update_source()
            if source == "onPremises":
                raise GraphError(_policy_message(operation, "photoUpdateSettings source is onPremises"), 403) from None
            if source is None:
                raise GraphError("%s If the app has that permission, the tenant's photoUpdateSettings may keep photos "
                                 "on-premises (grant PeopleSettings.Read.All to let this module tell)." % error, 403) from None
            raise

    async def post_batch(self, body: dict) -> dict:
        """POST one $batch body (JSON) and return its parsed answer; GraphError when the batch as a whole fails.

        Through the request adapter, so the token and the retry middleware (429/503/504 of the batch itself,
        Retry-After honoured) apply; the items' own answers are the caller's (see _graph_batch).
        """
        operation = Operation("sending a batch of %d requests" % len(body.get("requests") or ()), READ_PERMISSION)
        payload = json.dumps(body, separators=(",", ":")).encode()

        def request():
            information = RequestInformation(Method.POST)
            information.url = self.where.graph_url + "/$batch"
            information.headers.try_add("Content-Type", "application/json")
            information.headers.try_add("Accept", "application/json")
            information.content = payload
            return self.adapter.send_primitive_async(information, "bytes", ERROR_MAPPING)

        answer = await self.call(operation, request)
        try:
            return json.loads(answer or b"{}")
        except ValueError:
            raise GraphError("Microsoft Graph answered a batch of requests with something that is not JSON.") from None

    def explain_answer(self, answer, operation: Operation) -> str:
        """One sentence for a failed batch item (an _graph_batch.Answer), worded like a failed direct call."""
        return scrub(explain_api_error(ItemError(answer), operation, self.where), self.params)

    async def photo_update_source(self) -> str | None:
        """The tenant's photoUpdateSettings source (beta API), or None when it cannot be read."""
        request = RequestInformation(Method.GET)
        request.url = self.where.beta_url + "/admin/people/photoUpdateSettings"
        request.headers.try_add("Accept", "application/json")
        try:
            body = await self.adapter.send_primitive_async(request, "bytes", ERROR_MAPPING)
            return json.loads(body or b"{}").get("source")
        except (APIError, httpx.HTTPError, ValueError, AttributeError):
            return None


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


def _jpeg_upload_configuration():
    # A fresh configuration per request: the SDK's shared default would carry headers across calls.
    configuration = RequestConfiguration(headers=HeadersCollection())
    configuration.headers.add("Content-Type", "image/jpeg")
    return configuration


def metadata_of(photo: dict | None) -> PhotoMetadata | None:
    """PhotoMetadata from a photo resource as Graph answers it (also in a $batch), None for "no photo"."""
    return _metadata(photo)


def _metadata(photo: dict | None) -> PhotoMetadata | None:
    if not photo or not photo.get("width") or not photo.get("height"):
        return None
    content_type = str(photo.get("@odata.mediaContentType") or "image/jpeg")
    # An older service answers "no photo" with a 1x1 GIF placeholder and no ETag.
    if photo.get("id") == "1x1" or content_type == "image/gif":
        return None
    return PhotoMetadata(width=int(photo["width"]), height=int(photo["height"]), etag=photo.get("@odata.mediaEtag") or None)


def run(params: dict, work):
    """Run work(session) (a coroutine function) in one asyncio.run with a fresh client; GraphError on failure.

    A client does not survive a second asyncio.run(), so each module run creates and closes its own.
    """
    try:
        where = endpoints(params)
        chosen_auth_method(params)
    except GraphConfigError as error:
        raise GraphError(str(error)) from None

    # azure-identity logs each failed sign-in on stderr; the GraphError says it once, better worded.
    logging.getLogger("azure").setLevel(logging.CRITICAL)

    async def session_run():
        async with GraphSession(params, where) as session:
            await session.sign_in()
            return await work(session)

    try:
        return asyncio.run(session_run())
    except GraphConfigError as error:
        raise GraphError(str(error)) from None


# -- photo sizes -----------------------------------------------------------------------------------------------

# The square sizes Graph serves, up to the shorter side of the upload.
PHOTO_SIDES = (48, 64, 96, 120, 240, 360, 432, 504, 648)
# Downloaded to compare pictures: the 16x16 fingerprint needs no more, and it costs a few kilobytes.
COMPARISON_SIDE = 96


def served_side(width: int, height: int) -> int:
    """The largest side Graph serves for an upload of width x height."""
    shorter = min(width, height)
    return max((side for side in PHOTO_SIDES if side <= shorter), default=shorter)


def comparison_side(current_side: int) -> int | None:
    """The size to download to compare a photo whose largest side is current_side (None: the largest)."""
    return COMPARISON_SIDE if current_side >= COMPARISON_SIDE else None
