# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to the m365.photos collection: not a public API, may change without notice.
"""The Microsoft Graph session of one module run: a signed-in client and the photo calls (msgraph-sdk)."""

from __future__ import annotations

import asyncio
import json
import logging
import ssl
import traceback
from contextlib import asynccontextmanager

from ansible_collections.m365.photos.plugins.module_utils._graph_auth import (
    Endpoints, GraphConfigError, build_credential, chosen_auth_method, endpoints,
)
from ansible_collections.m365.photos.plugins.module_utils._graph_errors import (
    READ_PERMISSION, WRITE_PERMISSION, GraphError, ItemError, Operation, _graph_error_parts,
    explain_refused_write,
    explain_api_error, explain_sign_in_error, explain_transport_error, retry_after_seconds, scrub,
)
from ansible_collections.m365.photos.plugins.module_utils._graph_photo_answers import is_no_photo
from ansible_collections.m365.photos.plugins.module_utils._module import Dependency

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
    from kiota_http.middleware.options import RetryHandlerOption
    from msgraph import GraphRequestAdapter, GraphServiceClient
    from msgraph.generated.models.o_data_errors.o_data_error import ODataError
    from msgraph_core import GraphClientFactory
except ImportError:
    HAS_GRAPH_SDK = False
    GRAPH_SDK_IMPORT_ERROR: str | None = traceback.format_exc()
else:
    HAS_GRAPH_SDK = True
    GRAPH_SDK_IMPORT_ERROR = None
    ERROR_MAPPING = {"XXX": ODataError}

GRAPH_SDK = Dependency("msgraph-sdk, azure-identity and aiohttp", HAS_GRAPH_SDK, GRAPH_SDK_IMPORT_ERROR)

# Dropped connections are retried by us (the SDK's retry handler only retries on status codes).
TRANSPORT_RETRIES = 2
TRANSPORT_RETRY_DELAY_S = 1.0


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
        self._photo_settings = None

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

        With missing_ok, a documented "no photo" answer returns None instead of failing.
        """
        for attempt in range(TRANSPORT_RETRIES + 1):
            try:
                return await request()
            except APIError as error:
                if missing_ok and is_no_photo(*_graph_error_parts(error)):
                    return None
                raise GraphError(scrub(explain_api_error(error, operation, self.where), self.params),
                                 error.response_status_code, retry_after_seconds(error)) from None
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

    async def upload_photo(self, user_id: str, data: bytes) -> None:
        """PUT the JPEG, declared as image/jpeg (which Graph requires). A 429 raises a retryable GraphError."""
        operation = Operation("uploading the photo of %s" % user_id, WRITE_PERMISSION, write=True, photo=True)
        await self._write(operation, lambda: self._user(user_id).photo.content.put(
            data, request_configuration=write_configuration("image/jpeg")))

    async def delete_photo(self, user_id: str) -> None:
        """DELETE the photo (none is fine). A 429 raises a retryable GraphError."""
        operation = Operation("removing the photo of %s" % user_id, WRITE_PERMISSION, write=True, photo=True)
        await self._write(operation, lambda: self._user(user_id).photo.content.delete(
            request_configuration=write_configuration()), missing_ok=True)

    async def _write(self, operation: Operation, request, missing_ok: bool = False) -> None:
        try:
            await self.call(operation, request, missing_ok)
        except GraphError as error:
            if error.status != 403:
                raise
            # A missing permission and the tenant's photo policy get the same plain 403: the setting tells which.
            source, readable, because = await self.photo_update_settings()
            raise GraphError(explain_refused_write(operation, str(error), source, readable, because), 403) from None

    async def _send_json(self, operation: Operation, method, url: str, payload: bytes | None = None) -> dict:
        """Send one request to an absolute URL through the request adapter (token, retry middleware: 429/503/504
        retried after Retry-After) and parse its JSON answer; GraphError on failure."""

        def request():
            information = RequestInformation(method)
            information.url = url
            if payload is not None:
                information.headers.try_add("Content-Type", "application/json")
                information.content = payload
            information.headers.try_add("Accept", "application/json")
            return self.adapter.send_primitive_async(information, "bytes", ERROR_MAPPING)

        answer = await self.call(operation, request)
        try:
            return json.loads(answer or b"{}")
        except ValueError:
            raise GraphError("Microsoft Graph answered with something that is not JSON while %s." % operation.doing) from None

    async def post_batch(self, body: dict) -> dict:
        """POST one $batch body (JSON) and return its parsed answer; GraphError when the batch as a whole fails.

        The items' own answers are the caller's (see _graph_batch).
        """
        operation = Operation("sending a batch of %d requests" % len(body.get("requests") or ()), READ_PERMISSION)
        payload = json.dumps(body, separators=(",", ":")).encode()
        return await self._send_json(operation, Method.POST, self.where.graph_url + "/$batch", payload)

    async def get_page(self, operation: Operation, url: str) -> dict:
        """One page of a Graph list (its first URL or an @odata.nextLink), as a plain dict."""
        return await self._send_json(operation, Method.GET, url)

    def explain_answer(self, answer, operation: Operation) -> str:
        """One sentence for a failed batch item (an _graph_batch.Answer), worded like a failed direct call."""
        return scrub(explain_api_error(ItemError(answer), operation, self.where), self.params)

    async def photo_update_settings(self) -> tuple[str | None, bool, str]:
        """(source, readable, why not) of the tenant's photoUpdateSettings (beta API, PeopleSettings.Read.All);
        read once a session."""
        if self._photo_settings is None:
            request = RequestInformation(Method.GET)
            request.url = self.where.beta_url + "/admin/people/photoUpdateSettings"
            request.headers.try_add("Accept", "application/json")
            try:
                body = await self.adapter.send_primitive_async(request, "bytes", ERROR_MAPPING)
                self._photo_settings = (json.loads(body or b"{}").get("source"), True, "")
            except APIError as error:
                self._photo_settings = (None, False, "HTTP %s" % error.response_status_code)
            except (httpx.HTTPError, ValueError, AttributeError) as error:
                self._photo_settings = (None, False, type(error).__name__)
        return self._photo_settings


def write_configuration(content_type: str | None = None):
    """A fresh configuration per write (the SDK's shared default would carry headers across calls), without the SDK's
    retries: the engine retries a throttled write after its Retry-After, and the request budget learns of the 429."""
    configuration = RequestConfiguration(headers=HeadersCollection(), options=[RetryHandlerOption(should_retry=False)])
    if content_type is not None:
        configuration.headers.add("Content-Type", content_type)
    return configuration


@asynccontextmanager
async def signed_in(params: dict):
    """A GraphSession with a fresh client, signed in, for the with-block; GraphError on failure.

    Open it inside the module run's one asyncio.run(): a client does not survive a second one.
    """
    try:
        where = endpoints(params)
        chosen_auth_method(params)
    except GraphConfigError as error:
        raise GraphError(str(error)) from None
    # azure-identity logs each failed sign-in on stderr; the GraphError says it once, better worded.
    logging.getLogger("azure").setLevel(logging.CRITICAL)
    try:
        async with GraphSession(params, where) as session:
            await session.sign_in()
            yield session
    except GraphConfigError as error:
        raise GraphError(str(error)) from None


def run(params: dict, work):
    """Run work(session) (a coroutine function) in one asyncio.run with a signed-in session."""

    async def session_run():
        async with signed_in(params) as session:
            return await work(session)

    return asyncio.run(session_run())
