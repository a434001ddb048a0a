"""A small HTTP/1.1 server on asyncio streams: keep-alive, Content-Length and chunked bodies.

The emulator must stay on the standard library (plus Pillow, cryptography, PyJWT), so this
replaces a web framework. One coroutine per connection; handlers are coroutines, so
injected latency is an asyncio sleep and never blocks other connections.
"""
import asyncio
import email.utils
import http
import ssl
import urllib.parse
from dataclasses import dataclass, field

MAX_HEADER_BYTES = 64 * 1024
# Bodies above the configured upload limit are read and discarded (so the client sees the
# 413 instead of a reset while it is still sending), but never beyond this cap.
MAX_DISCARDED_BODY_BYTES = 256 * 1024 * 1024


class DropConnection(Exception):
    """Raised by a handler to close the connection without any response (fault injection)."""


class BodyTooLarge(Exception):
    pass


@dataclass
class Request:
    method: str
    target: str
    path: str
    query: dict
    headers: dict  # lower-case names
    body: bytes
    peer: tuple
    body_too_large: bool = False
    body_length: int = 0

    def header(self, name, default=None):
        return self.headers.get(name.lower(), default)

    @property
    def content_type(self):
        return (self.header("content-type") or "").split(";")[0].strip().lower()


@dataclass
class Response:
    status: int
    body: bytes = b""
    headers: dict = field(default_factory=dict)

    def encode_head(self, keep_alive):
        reason = http.HTTPStatus(self.status).phrase if self.status in http.HTTPStatus._value2member_map_ else ""
        lines = [f"HTTP/1.1 {self.status} {reason}"]
        headers = {"Date": email.utils.formatdate(usegmt=True), **self.headers}
        if self.status not in (204, 304) and not (100 <= self.status < 200):
            headers["Content-Length"] = str(len(self.body))
        headers["Connection"] = "keep-alive" if keep_alive else "close"
        lines += [f"{name}: {value}" for name, value in headers.items()]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def split_target(target):
    parsed = urllib.parse.urlsplit(target)
    query = {k: v[-1] for k, v in urllib.parse.parse_qs(parsed.query, keep_blank_values=True).items()}
    return parsed.path, query


async def _read_chunked(reader, limit):
    body = bytearray()
    while True:
        size_line = await reader.readline()
        size = int(size_line.split(b";")[0].strip() or b"0", 16)
        if size == 0:
            while (await reader.readline()) not in (b"\r\n", b"\n", b""):
                pass
            return bytes(body), False
        chunk = await reader.readexactly(size)
        await reader.readexactly(2)
        if len(body) + size > limit:
            return b"", True
        body += chunk


async def _read_body(reader, headers, limit):
    """Return (body, too_large, length); a body over `limit` is drained and dropped."""
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body, too_large = await _read_chunked(reader, limit)
        return body, too_large, len(body)
    length = int(headers.get("content-length") or 0)
    if length > MAX_DISCARDED_BODY_BYTES:
        raise BodyTooLarge()
    if length > limit:
        remaining = length
        while remaining:
            chunk = await reader.read(min(remaining, 1 << 20))
            if not chunk:
                raise asyncio.IncompleteReadError(b"", remaining)
            remaining -= len(chunk)
        return b"", True, length
    return (await reader.readexactly(length) if length else b""), False, length


class HttpServer:
    """Serves `handler(request) -> Response` over HTTPS with keep-alive."""

    def __init__(self, handler, body_limit, ssl_context=None):
        self.handler = handler
        self.body_limit = body_limit  # callable: () -> int
        self.ssl_context = ssl_context
        self.server = None

    async def start(self, host, port):
        self.server = await asyncio.start_server(
            self._serve_connection, host, port, ssl=self.ssl_context, backlog=1024,
            limit=MAX_HEADER_BYTES)
        return self.server.sockets[0].getsockname()[1]

    async def _serve_connection(self, reader, writer):
        peer = writer.get_extra_info("peername") or ("", 0)
        try:
            while await self._serve_one(reader, writer, peer):
                pass
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError,
                ssl.SSLError, BodyTooLarge, ValueError):
            pass
        except DropConnection:
            writer.transport.abort()
            return
        finally:
            if not writer.is_closing():
                writer.close()

    async def _serve_one(self, reader, writer, peer):
        head = await reader.readuntil(b"\r\n\r\n")
        request_line, *header_lines = head.decode("latin-1").split("\r\n")
        method, target, version = request_line.split(" ", 2)
        headers = {}
        for line in header_lines:
            if line:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
        if headers.get("expect", "").lower() == "100-continue":
            writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        body, too_large, length = await _read_body(reader, headers, self.body_limit())
        path, query = split_target(target)
        request = Request(method.upper(), target, path, query, headers, body, peer,
                          body_too_large=too_large, body_length=length)
        response = await self.handler(request)
        keep_alive = version == "HTTP/1.1" and headers.get("connection", "").lower() != "close"
        writer.write(response.encode_head(keep_alive))
        if response.body and request.method != "HEAD":
            writer.write(response.body)
        await writer.drain()
        return keep_alive

    async def close(self):
        if self.server:
            self.server.close()
            await self.server.wait_closed()


def server_ssl_context(cert_file, key_file):
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    return context
