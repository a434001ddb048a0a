"""What one no-change single-user exchange_online_photo task costs: HTTP requests, Graph operations, bytes.

Runs against a private Graph emulator: one upload, the request log reset, then the no-change run.
Usage (with the Makefile's environment): python tests/bench/single_user.py [CHECKOUT]
"""
import json
import os
import sys
import tempfile

repo = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(repo, "tests", "integration"))
sys.path.insert(0, os.path.join(repo, "sandbox", "graph"))
from emulator.testing import start_emulator
from playbook_runner import run_task
from photo_fixtures import b64, fixture_bytes
work = tempfile.mkdtemp()
emulator = start_emulator(work)
try:
    env = emulator.env
    defaults = {"group/m365.photos.graph": dict(tenant_id=env["SANDBOX_TENANT_ID"], client_id=env["SANDBOX_CLIENT_ID"],
        client_secret=env["SANDBOX_CLIENT_SECRET"], graph_url=env["SANDBOX_GRAPH_URL"], authority_url=env["SANDBOX_AUTHORITY_URL"],
        ca_file=env["SANDBOX_CA_FILE"])}
    task = {"m365.photos.exchange_online_photo": dict(user="user0001@test.example", content=b64(fixture_bytes("astronaut.png")))}
    assert run_task(task, module_defaults=defaults).changed
    emulator.admin("POST", "/log/reset")
    outcome = run_task(task, module_defaults=defaults)
    assert not outcome.changed, outcome.result
    log = emulator.admin("GET", "/log")
    print(json.dumps({k: log[k] for k in ("requests", "operations", "batch_items", "bytes_in", "bytes_out")}))
finally:
    emulator.stop()
