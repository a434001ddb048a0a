"""Throughput of the Graph sandbox through the real msgraph-sdk.

Per user: GET user, PUT photo/$value (image/jpeg), GET photo metadata. Starts a private emulator
unless --env-file names a running one. Example (cwd sandbox/graph):
    python bench.py --users 2000 --concurrency 100 --latency-ms 50
"""
import argparse
import asyncio
import io
import json
import ssl
import sys
import tempfile
import time
import urllib.request

import httpx
from azure.identity.aio import ClientSecretCredential
from kiota_abstractions.base_request_configuration import RequestConfiguration
from kiota_abstractions.headers_collection import HeadersCollection
from kiota_authentication_azure.azure_identity_authentication_provider import AzureIdentityAuthenticationProvider
from msgraph import GraphServiceClient
from msgraph.graph_request_adapter import GraphRequestAdapter
from msgraph_core import GraphClientFactory
from PIL import Image

from emulator.envfile import read_env_file
from emulator.testing import start_emulator


def photo_bytes():
    out = io.BytesIO()
    Image.new("RGB", (648, 648), (20, 120, 200)).save(out, "JPEG", quality=90)
    return out.getvalue()


def graph_client(env, credential, concurrency):
    ssl_context = ssl.create_default_context(cafile=env["SANDBOX_CA_FILE"])
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    http_client = GraphClientFactory.create_with_default_middleware(
        client=httpx.AsyncClient(verify=ssl_context, limits=limits, timeout=60))
    adapter = GraphRequestAdapter(AzureIdentityAuthenticationProvider(
        credential, scopes=["https://graph.microsoft.com/.default"]), http_client)
    adapter.base_url = env["SANDBOX_GRAPH_URL"]
    return GraphServiceClient(request_adapter=adapter)


async def run(env, users, concurrency, client_count):
    credential = ClientSecretCredential(env["SANDBOX_TENANT_ID"], env["SANDBOX_CLIENT_ID"],
                                        env["SANDBOX_CLIENT_SECRET"], authority=env["SANDBOX_AUTHORITY_URL"],
                                        connection_verify=env["SANDBOX_CA_FILE"])
    # httpx's connection pool costs O(connections) per request: several small clients beat one big one.
    clients = [graph_client(env, credential, max(1, concurrency // client_count)) for _ in range(client_count)]
    config = RequestConfiguration(headers=HeadersCollection())
    config.headers.add("Content-Type", "image/jpeg")
    data, prefix, domain = photo_bytes(), env["SANDBOX_GRAPH_USER_PREFIX"], env["SANDBOX_TENANT_DOMAIN"]
    semaphore, failures = asyncio.Semaphore(concurrency), []

    async def one(n):
        async with semaphore:
            user = clients[n % client_count].users.by_user_id(f"{prefix}{n:04d}@{domain}")
            try:
                await user.get()
                await user.photo.content.put(data, request_configuration=config)
                await user.photo.get()
            except Exception as exc:  # report, keep going
                failures.append(repr(exc)[:200])

    for client in clients:  # token acquisition and first connection outside the clock
        await client.users.by_user_id(f"{prefix}0001@{domain}").get()
    started = time.perf_counter()
    await asyncio.gather(*(one(n) for n in range(1, users + 1)))
    elapsed = time.perf_counter() - started
    await credential.close()
    return elapsed, failures


async def run_raw(env, users, concurrency):
    """The same three calls over plain keep-alive connections: what the emulator alone sustains."""
    import urllib.parse
    from azure.identity import ClientSecretCredential as SyncSecretCredential
    token = SyncSecretCredential(env["SANDBOX_TENANT_ID"], env["SANDBOX_CLIENT_ID"], env["SANDBOX_CLIENT_SECRET"],
                                 authority=env["SANDBOX_AUTHORITY_URL"], connection_verify=env["SANDBOX_CA_FILE"],
                                 disable_instance_discovery=True).get_token(
        "https://graph.microsoft.com/.default").token
    url = urllib.parse.urlsplit(env["SANDBOX_GRAPH_URL"])
    ssl_context = ssl.create_default_context(cafile=env["SANDBOX_CA_FILE"])
    data, prefix, domain = photo_bytes(), env["SANDBOX_GRAPH_USER_PREFIX"], env["SANDBOX_TENANT_DOMAIN"]
    queue, failures = asyncio.Queue(), []
    for n in range(1, users + 1):
        queue.put_nowait(n)

    async def call(reader, writer, method, path, body=b"", content_type=None):
        head = (f"{method} {url.path}{path} HTTP/1.1\r\nHost: {url.netloc}\r\nAuthorization: Bearer {token}\r\n"
                f"Content-Length: {len(body)}\r\n" + (f"Content-Type: {content_type}\r\n" if content_type else "")
                + "\r\n")
        writer.write(head.encode() + body)
        response = await reader.readuntil(b"\r\n\r\n")
        status = int(response.split(b" ", 2)[1])
        length = next(int(line.split(b":")[1]) for line in response.split(b"\r\n")
                      if line.lower().startswith(b"content-length"))
        await reader.readexactly(length)
        if status >= 300:
            failures.append(f"{method} {path}: {status}")

    async def worker():
        reader, writer = await asyncio.open_connection(url.hostname, url.port, ssl=ssl_context)
        while not queue.empty():
            user = f"/users/{prefix}{queue.get_nowait():04d}@{domain}"
            await call(reader, writer, "GET", user)
            await call(reader, writer, "PUT", user + "/photo/$value", data, "image/jpeg")
            await call(reader, writer, "GET", user + "/photo")
        writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - started, failures


def admin(env, method, path, body=None):
    request = urllib.request.Request(env["SANDBOX_GRAPH_ADMIN_URL"] + path, method=method,
                                     data=json.dumps(body).encode() if body is not None else None)
    context = ssl.create_default_context(cafile=env["SANDBOX_CA_FILE"])
    with urllib.request.urlopen(request, context=context) as response:
        return json.loads(response.read())


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument("--latency-ms", type=float, default=0)
    parser.add_argument("--clients", type=int, default=1, help="GraphServiceClients sharing the load")
    parser.add_argument("--raw", action="store_true", help="plain HTTP/1.1 client instead of msgraph-sdk")
    parser.add_argument("--env-file", help="use a running emulator instead of starting one")
    args = parser.parse_args()
    emulator = None
    if args.env_file:
        env = read_env_file(args.env_file)
    else:
        emulator = start_emulator(tempfile.mkdtemp(prefix="graph-bench-"), extra_args=["--users", str(args.users)])
        env = emulator.env
    try:
        admin(env, "POST", "/log/reset")
        admin(env, "PUT", "/config", {"latency_ms": args.latency_ms})
        if args.raw:
            elapsed, failures = asyncio.run(run_raw(env, args.users, args.concurrency))
        else:
            elapsed, failures = asyncio.run(run(env, args.users, args.concurrency, args.clients))
        log = admin(env, "GET", "/log")
        operations = args.users * 3
        print(json.dumps({"users": args.users, "concurrency": args.concurrency, "client": "raw" if args.raw else f"msgraph-sdk x{args.clients}", "latency_ms": args.latency_ms,
                          "seconds": round(elapsed, 2), "requests_per_s": round(operations / elapsed),
                          "failures": len(failures), "first_failures": failures[:3],
                          "throttled": log["throttled"], "by_status": log["by_status"]}))
    finally:
        if emulator:
            emulator.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
