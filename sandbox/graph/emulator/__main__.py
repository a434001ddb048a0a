"""Command line: python -m emulator [options] (cwd sandbox/graph)."""
import argparse
import asyncio
import json
import logging
import os
import signal

from .config import Config
from .directory import Directory, TenantSpec
from .envfile import read_env_file, sandbox_variables, write_env_file
from .httpserver import server_ssl_context
from .server import Emulator


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="graph-sandbox", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8443, help="0 picks a free port (see --port-file)")
    parser.add_argument("--state-dir", default=".sandbox/graph", help="keys, secrets, certificates (0600)")
    parser.add_argument("--ca-dir", default=".sandbox/ca", help="ca.pem, server.pem, server.key (sandbox/make-ca.sh)")
    parser.add_argument("--config", help="JSON file with settings (see emulator/config.py DEFAULTS)")
    parser.add_argument("--samba-env", default=".sandbox/samba.env",
                        help="read SANDBOX_DOMAIN and SANDBOX_USERS from here when present")
    parser.add_argument("--domain", help="contoso's domain (default: from --samba-env, else test.example)")
    parser.add_argument("--users", type=int, help="contoso's user count (default: from --samba-env, else 50)")
    parser.add_argument("--other-tenant-users", type=int, default=20, help="users in fabrikam and tailspin")
    parser.add_argument("--env-file", help="write export lines for tests and the collection here")
    parser.add_argument("--port-file", help="write the bound port here once listening")
    parser.add_argument("--seed", type=int, help="seed for injected faults and jitter")
    parser.add_argument("--latency-ms", type=float, help="added latency per Graph request")
    return parser.parse_args(argv)


def tenant_specs(args):
    directory_env = read_env_file(args.samba_env) if args.samba_env and os.path.exists(args.samba_env) else {}
    domain = args.domain or directory_env.get("SANDBOX_DOMAIN") or "test.example"
    # A count of 0 in the directory's env means "not seeded yet", not "no users".
    users = args.users or int(directory_env.get("SANDBOX_USERS") or 0) or 50
    return [TenantSpec("contoso", domain.lower(), "user", users),
            TenantSpec("fabrikam", "fabrikam.example", "fuser", args.other_tenant_users),
            TenantSpec("tailspin", "tailspin.example", "tuser", args.other_tenant_users)]


async def serve(args):
    overrides = {}
    if args.config:
        with open(args.config, encoding="utf-8") as handle:
            overrides.update(json.load(handle))
    if args.seed is not None:
        overrides["seed"] = args.seed
    if args.latency_ms is not None:
        overrides["latency_ms"] = args.latency_ms
    config = Config(overrides)
    specs = tenant_specs(args)
    issuer_port = args.port or 8443
    directory = Directory(args.state_dir, specs, f"https://127.0.0.1:{issuer_port}/_sandbox/oidc")
    emulator = Emulator(directory, config, overrides)
    emulator.http.ssl_context = server_ssl_context(os.path.join(args.ca_dir, "server.pem"),
                                                   os.path.join(args.ca_dir, "server.key"))
    port = await emulator.start(args.host, args.port)
    host = f"[{args.host}]" if ":" in args.host else args.host
    if args.env_file:
        write_env_file(args.env_file, sandbox_variables(directory, specs, f"https://{host}:{port}",
                                                        os.path.join(args.ca_dir, "ca.pem")))
    if args.port_file:
        with open(args.port_file, "w", encoding="utf-8") as handle:
            handle.write(f"{port}\n")
    logging.getLogger("graph-sandbox").warning(
        "Graph sandbox listening on https://%s:%s (tenants: %s)", host, port,
        ", ".join(f"{s.name}={s.domain}/{s.user_count} users" for s in specs))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()
    await emulator.close()


def main(argv=None):
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    asyncio.run(serve(parse_args(argv)))


if __name__ == "__main__":
    main()
