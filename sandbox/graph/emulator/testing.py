"""Start a private emulator instance (own state dir, own CA, free port) for tests and benchmarks."""
import json
import os
import shutil
import signal
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request

from .envfile import read_env_file

GRAPH_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MAKE_CA = os.path.join(os.path.dirname(GRAPH_DIR), "make-ca.sh")


class RunningEmulator:
    def __init__(self, process, env, log_path):
        self.process, self.env, self.log_path = process, env, log_path
        self.ssl_context = ssl.create_default_context(cafile=env["SANDBOX_CA_FILE"])

    def admin(self, method, path, body=None, raw=False):
        """Call the /_sandbox API; returns parsed JSON (or raw bytes and headers with raw=True)."""
        data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.env["SANDBOX_GRAPH_ADMIN_URL"] + path, data=data, method=method)
        try:
            with urllib.request.urlopen(request, context=self.ssl_context, timeout=30) as response:
                payload = response.read()
                return (payload, dict(response.headers)) if raw else json.loads(payload or b"null")
        except urllib.error.HTTPError as error:
            raise AssertionError(f"admin {method} {path}: {error.code} {error.read()!r}") from None

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()


def start_emulator(workdir, python=sys.executable, extra_args=(), timeout_s=30):
    """Make a CA in workdir/ca, start the emulator on a free port, wait until it answers over TLS."""
    os.makedirs(workdir, exist_ok=True)
    ca_dir, state_dir = os.path.join(workdir, "ca"), os.path.join(workdir, "state")
    subprocess.run(["bash", MAKE_CA, ca_dir], check=True)
    env_file, port_file = os.path.join(workdir, "graph.env"), os.path.join(workdir, "port")
    log_path = os.path.join(workdir, "emulator.log")
    for stale in (env_file, port_file):
        if os.path.exists(stale):
            os.remove(stale)
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            [python, "-m", "emulator", "--port", "0", "--state-dir", state_dir, "--ca-dir", ca_dir,
             "--env-file", env_file, "--port-file", port_file, "--samba-env", "", *extra_args],
            cwd=GRAPH_DIR, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + timeout_s
    while not os.path.exists(port_file):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            with open(log_path, encoding="utf-8", errors="replace") as log:
                raise RuntimeError(f"emulator did not start:\n{log.read()}")
        time.sleep(0.05)
    emulator = RunningEmulator(process, read_env_file(env_file), log_path)
    emulator.admin("GET", "/health")
    return emulator


def cleanup(workdir):
    shutil.rmtree(workdir, ignore_errors=True)
