"""Wires the parts together and dispatches each HTTP request: Graph, authority, or admin API."""
import asyncio
import logging
import uuid

from .admin import Admin
from .errors import GraphError, OAuthError, json_response
from .faults import DROP, Faults
from .graph import Graph, Operation, Result
from .httpserver import DropConnection, HttpServer, Response
from .photos import PhotoStore
from .requestlog import RequestLog
from .throttle import Throttle
from .tokens import Authority

GRAPH_VERSIONS = ("v1.0", "beta")
log = logging.getLogger("graph-sandbox")


class Emulator:
    def __init__(self, directory, config, initial_overrides=None):
        self.directory, self.config = directory, config
        self.initial_overrides = initial_overrides or {}
        self.authority = Authority(directory, config)
        self.photos = PhotoStore(config)
        self.throttle = Throttle(config)
        self.faults = Faults(config)
        self.log = RequestLog()
        self.graph = Graph(directory, self.authority, self.photos, self.throttle, self.faults, self.log, config)
        self.admin = Admin(self)
        self.http = HttpServer(self.handle, lambda: int(config["max_upload_bytes"]))

    def reset(self):
        self.directory.reset()
        self.photos.clear()
        self.throttle.reset()
        self.faults.scripted.clear()
        self.config.reset(self.initial_overrides)
        self.faults.reseed()
        self.log.reset()

    async def handle(self, request):
        request_id = str(uuid.uuid4())
        client_request_id = request.header("client-request-id") or str(uuid.uuid4())
        first, _, rest = request.path.lstrip("/").partition("/")
        try:
            if first in GRAPH_VERSIONS:
                response = await self.handle_graph(request, first, "/" + rest, request_id, client_request_id)
            elif first == "_sandbox":
                response = await self.admin.handle(request, rest)
            else:
                response = await self.handle_authority(request)
        except DropConnection:
            raise
        except Exception:  # a bug must answer 500, not hang the client
            log.exception("unhandled error for %s %s", request.method, request.path)
            error = GraphError(500, "InternalServerError", "Unhandled error in the Graph sandbox; see its log.")
            response = json_response(500, error.body(request_id, client_request_id))
        response.headers.setdefault("request-id", request_id)
        response.headers.setdefault("client-request-id", client_request_id)
        return response

    # -- Graph -------------------------------------------------------------------------------
    def _pattern(self, method, path):
        try:
            return self.graph.match(method, path)[3]
        except GraphError:
            return "(unknown)"

    async def handle_graph(self, request, version, path, request_id, client_request_id):
        latency = self.faults.latency_s()
        authorization = request.header("authorization")
        is_batch = path.strip("/") == "$batch" and request.method == "POST"
        app_id = None
        fault = self.faults.random_fault()
        if fault is not None:
            self.log.record_fault("drop" if fault == DROP else fault.status)
            if latency:
                await asyncio.sleep(latency)
            if fault == DROP:
                raise DropConnection()
            result, pattern = Result.from_error(fault, request_id, client_request_id), self._pattern(request.method, path)
        else:
            op = Operation(request.method, path, version, request.query, request.headers, request.body,
                           request.body_too_large, base_url=f"https://{request.header('host', '')}")
            try:
                if is_batch:
                    result, pattern = await self.graph.batch(op, authorization, request_id, client_request_id,
                                                             latency), "/$batch"
                else:
                    result, pattern, app_id = await self.graph.execute(op, authorization, request_id,
                                                                       client_request_id, latency)
            except DropConnection:
                self.log.record_fault("drop")
                raise
        body, content_type = result.body_bytes()
        headers = dict(result.headers)
        if content_type:
            headers["Content-Type"] = content_type
        self.log.record(request.method, pattern, result.status, request.body_length, len(body), path=request.path,
                        app=app_id, operation=not is_batch)
        return Response(result.status, body, headers)

    # -- authority ---------------------------------------------------------------------------
    async def handle_authority(self, request):
        segments = request.path.strip("/").split("/")
        tenant, endpoint = segments[0], "/".join(segments[1:])
        routes = {
            ("GET", "v2.0/.well-known/openid-configuration"): lambda: self.authority.openid_configuration(request, tenant),
            ("GET", ".well-known/openid-configuration"): lambda: self.authority.openid_configuration(request, tenant),
            ("POST", "oauth2/v2.0/token"): lambda: self.authority.token(request, tenant),
            ("GET", "discovery/v2.0/keys"): self.authority.jwks,
            ("GET", "discovery/keys"): self.authority.jwks,
        }
        route = routes.get((request.method, endpoint))
        pattern = f"/{{tenant}}/{endpoint}" if route else "(unknown)"
        delay = self.faults.latency_s(authority=True)
        if delay:
            await asyncio.sleep(delay)
        try:
            if route is None:
                raise OAuthError(404 if len(segments) < 2 else 400, "invalid_request", 900561,
                                 f"The endpoint '{request.path}' is not emulated; the sandbox authority serves "
                                 "OpenID discovery, JWKS and the client-credentials token endpoint.")
            response = route()
        except OAuthError as error:
            response = error.response()
        self.log.record(request.method, pattern, response.status, request.body_length, len(response.body),
                        path=request.path)
        return response

    async def start(self, host, port):
        return await self.http.start(host, port)

    async def close(self):
        await self.http.close()
