"""exchange_online_photo_info reading many users, against a PRIVATE Graph emulator started here (never the shared
sandbox): --users N users, 50 ms of added latency per request, Microsoft's throttling defaults (per app and mailbox
10,000 requests / 10 min, 4 at once), every other user with a photo. Three runs: every user of the tenant (a listing,
then one metadata read per user) and the same users named in `users` (a look-up and a metadata read per user); then
every user again under the strict limits (4 operations in flight per app whatever the mailbox, 429s without
Retry-After).

    .venv/bin/python tests/bench/info_read.py --users 10000
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import tempfile
import time

import yaml
from PIL import Image

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "sandbox", "graph"))
from emulator.testing import start_emulator  # noqa: E402  pylint: disable=wrong-import-position

DOMAIN = "bench.example"


def small_jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 64), (90, 140, 200)).save(out, "JPEG", quality=80)
    return out.getvalue()


def run_info(emulator, workdir: str, options: dict) -> tuple:
    env = emulator.env
    defaults = dict(tenant_id=env["SANDBOX_TENANT_ID"], client_id=env["SANDBOX_CLIENT_ID"],
                    client_secret=env["SANDBOX_CLIENT_SECRET"], graph_url=env["SANDBOX_GRAPH_URL"],
                    authority_url=env["SANDBOX_AUTHORITY_URL"], ca_file=env["SANDBOX_CA_FILE"], timeout=120)
    outcome = os.path.join(workdir, "outcome.json")
    play = dict(hosts="localhost", gather_facts=False, tasks=[
        {"m365.photos.exchange_online_photo_info": dict(defaults, **options), "register": "outcome"},
        {"ansible.builtin.copy": dict(content="{{ outcome | to_json }}", dest=outcome)}])
    playbook = os.path.join(workdir, "bench.yml")
    with open(playbook, "w", encoding="utf-8") as handle:
        yaml.safe_dump([play], handle, sort_keys=False)
    emulator.admin("POST", "/log/reset")
    started = time.perf_counter()
    subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", "localhost,", "-c",
                    "local", "-e", "ansible_python_interpreter=%s" % sys.executable, playbook],
                   check=True, capture_output=True, cwd=workdir)
    wall = time.perf_counter() - started
    with open(outcome, encoding="utf-8") as handle:
        users = json.load(handle)["users"]
    return wall, users, emulator.admin("GET", "/log")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=10000)
    parser.add_argument("--latency-ms", type=float, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="m365-photos-bench-") as workdir:
        emulator = start_emulator(os.path.join(workdir, "graph"), extra_args=(
            "--domain", DOMAIN, "--users", str(args.users), "--latency-ms", str(args.latency_ms)), timeout_s=120)
        try:
            photo = small_jpeg()
            for number in range(2, args.users + 1, 2):
                emulator.admin("PUT", "/tenants/contoso/users/user%04d@%s/photo" % (number, DOMAIN), photo)
            names = ["user%04d@%s" % (number, DOMAIN) for number in range(1, args.users + 1)]
            strict = {"throttle": {"app_concurrency": 4}, "retry_after_omit_rate": 1.0}
            for label, options, config in (("every user", {}, {}), ("users named", {"users": names}, {}),
                                           ("every user, strict limits", {}, strict)):
                if config:
                    emulator.admin("PUT", "/config", config)
                wall, users, log = run_info(emulator, workdir, options)
                with_photo = sum(1 for user in users if user["has_photo"])
                assert len(users) == args.users and with_photo == args.users // 2, (len(users), with_photo)
                print("| %s | %s | %.0f ms | %.1f s | %d | %d | %d |" % (
                    label, format(args.users, ","), args.latency_ms, wall, log["requests"], log["operations"],
                    log["throttled"]))
        finally:
            emulator.stop()


if __name__ == "__main__":
    main()
