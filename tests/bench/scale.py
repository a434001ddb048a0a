"""Scale benchmark: converge N users per side in one bulk task against the sandbox; prints a table.

Run through `make bench` (100, 1,000 and 10,000 users) or `make bench-100k` (which start the sandbox and export
.sandbox/env). For each N it seeds N directory users, generates N distinct portraits (one per user, kept in
.sandbox/bench/portraits), and measures with real ansible-playbook runs, each module given the folder itself
(photos_from; --form photos passes a photos: list instead):
- the full run (every photo changes), for N up to --full-max, with the source cache on (cache_dir), then reads
  every photo back; for N up to 1,000 also without the cache;
- the no-change run (every user already shows the right picture), the run that matters most: without the cache,
  and with the cache the full run left (warm); above --full-max the users are seeded with a small rendition of
  their portrait and the no-change run is measured without the cache, with an empty one (cold) and warm;
- the same no-change run written the naive way (a loop over the single-user module), for N = 100.
Peak RSS is the largest sum of the resident memory of ansible-playbook and all its descendants (the module and its
worker processes), sampled every 0.2 s.
The Graph side runs against the Graph emulator with 50 ms of added latency per request and Microsoft's
throttling limits on (per mailbox: 4 concurrent, 10,000 / 10 min; per app: 130,000 / 10 s, --app-requests),
plus injected 429s on 5% of the full run's uploads and photo reads; it also reports HTTP requests, Graph
operations (batch items count one each) and bytes downloaded per user, from the emulator's request log.
Nothing here asserts speed: the numbers are printed and written to docs/benchmarks.md. A run that
does not converge (a no-change run that changes something, a photo wrong afterwards) stops the benchmark.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import functools
import http.client
import io
import json
import multiprocessing
import os
import random
import re
import shutil
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field

import ldap3
import yaml
from PIL import Image, ImageChops, ImageDraw

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIXTURES = os.path.join(REPO, "tests", "fixtures", "images")
BENCH_DIR = os.path.join(REPO, ".sandbox", "bench")
PORTRAITS = os.path.join(BENCH_DIR, "portraits")
PORTRAIT_SIDE = 480
EXCHANGE_ONLINE_LIMIT = 10240

sys.path.insert(0, os.path.join(REPO, "tests", "bench"))
from _benchdoc import replace_section  # noqa: E402  pylint: disable=wrong-import-position

# Runs one command; prints its process tree's CPU time and the peak of the summed RSS of the tree, sampled.
_MEASURE = """
import json, os, resource, subprocess, sys, time

def tree_rss_kb(root):
    children = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open("/proc/%s/stat" % pid) as handle:
                children.setdefault(int(handle.read().rsplit(")", 1)[1].split()[1]), []).append(int(pid))
        except OSError:
            pass
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        todo += children.get(pid, [])
        try:
            with open("/proc/%d/status" % pid) as handle:
                total += next(int(line.split()[1]) for line in handle if line.startswith("VmRSS:"))
        except (OSError, StopIteration):
            pass
    return total

process = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL)
peak = 0
while process.poll() is None:
    peak = max(peak, tree_rss_kb(process.pid))
    time.sleep(0.2)
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps(dict(code=process.returncode, maxrss_kb=peak, cpu_s=usage.ru_utime + usage.ru_stime)))
"""


def env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        sys.exit("%s is not set: run `make bench`, which starts the sandbox and exports .sandbox/env" % name)
    return value


@dataclass
class Run:
    label: str
    users: int
    wall_s: float
    cpu_module_s: float
    cpu_server_s: float
    maxrss_mb: float
    summary: dict
    extra: dict = field(default_factory=dict)


_BASES: list = []
_GRAIN: list = []


def source_photo(number: int) -> bytes:
    """A distinct 480x480 portrait for user number (62-70 KB, so AD needs fitting): a random crop of a fixture,
    tinted, with a figure of the user's own colours and a film grain, all drawn from the user's own seed."""
    if not _BASES:
        _BASES.extend(Image.open(os.path.join(FIXTURES, name)).convert("RGB")
                      for name in sorted(os.listdir(FIXTURES)) if name.endswith((".png", ".jpg")))
        _GRAIN.append(Image.frombytes("L", (PORTRAIT_SIDE,) * 2, random.Random(0).randbytes(PORTRAIT_SIDE ** 2)).convert("RGB"))
    rng = random.Random(number)
    base = rng.choice(_BASES)
    side = int(min(base.size) * rng.uniform(0.45, 0.9))
    left, top = rng.randint(0, base.width - side), rng.randint(0, base.height - side)
    picture = base.crop((left, top, left + side, top + side)).resize((PORTRAIT_SIDE,) * 2, Image.BILINEAR, reducing_gap=2.0)
    picture = Image.blend(picture, Image.new("RGB", picture.size, tuple(rng.randint(0, 255) for _n in range(3))),
                          rng.uniform(0.2, 0.5))
    draw = ImageDraw.Draw(picture)
    skin = (rng.randint(120, 240), rng.randint(80, 200), rng.randint(60, 170))
    shirt, hair = tuple(rng.randint(0, 255) for _n in range(3)), tuple(rng.randint(0, 120) for _n in range(3))
    middle, eyes = PORTRAIT_SIDE // 2 + rng.randint(-50, 50), int(PORTRAIT_SIDE * rng.uniform(0.33, 0.45))
    head = int(PORTRAIT_SIDE * rng.uniform(0.14, 0.2))
    draw.ellipse((middle - head * 2.2, eyes + head * 1.5, middle + head * 2.2, eyes + head * 5), fill=shirt)
    draw.ellipse((middle - head, eyes - head * 1.25, middle + head, eyes + head * 1.25), fill=skin)
    draw.chord((middle - head, eyes - head * 1.35, middle + head, eyes + head * 0.4), 180, 360, fill=hair)
    for eye in (middle - head // 2, middle + head // 2):
        draw.ellipse((eye - 6, eyes - 8, eye + 6, eyes + 2), fill=(30, 30, 40))
    grain = ImageChops.offset(_GRAIN[0], rng.randrange(PORTRAIT_SIDE), rng.randrange(PORTRAIT_SIDE))
    out = io.BytesIO()
    Image.blend(picture, grain, 0.12).save(out, "JPEG", quality=85)
    return out.getvalue()


def portrait_path(number: int) -> str:
    return os.path.join(PORTRAITS, "%06d.jpg" % number)


def _write_portrait(number: int) -> None:
    path = portrait_path(number)
    with open(path + ".partial", "wb") as handle:
        handle.write(source_photo(number))
    os.replace(path + ".partial", path)


def ensure_portraits(count: int) -> None:
    """Portraits 1 .. count on disk, made once (in parallel) and kept for later runs."""
    os.makedirs(PORTRAITS, exist_ok=True)
    missing = [number for number in range(1, count + 1) if not os.path.exists(portrait_path(number))]
    if missing:
        print("generating %d portraits ..." % len(missing), flush=True)
        with multiprocessing.Pool() as pool:
            pool.map(_write_portrait, missing, chunksize=256)


def photo_dir(count: int, side: str, name_of) -> str:
    """A folder holding exactly users 1 .. count's portraits, as <name_of(number)>.jpg (hard links)."""
    ensure_portraits(count)
    folder = os.path.join(BENCH_DIR, "photos-%s-%d" % (side, count))
    if os.path.isdir(folder) and len(os.listdir(folder)) == count:
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder)
    for number in range(1, count + 1):
        os.link(portrait_path(number), os.path.join(folder, name_of(number) + ".jpg"))
    return folder


def read_source(folder: str, name: str) -> bytes:
    with open(os.path.join(folder, name + ".jpg"), "rb") as handle:
        return handle.read()


def cheap_rendition(photo: bytes) -> bytes:
    """What a steady state holds: the same picture, small, as a script or an earlier run stored it."""
    out = io.BytesIO()
    Image.open(io.BytesIO(photo)).resize((160, 160), Image.LANCZOS).save(out, "JPEG", quality=75)
    return out.getvalue()


def ad_rendition(folder: str, number: int) -> bytes:
    return cheap_rendition(read_source(folder, ad_name(number)))


def process_cpu_seconds(pids: list) -> float:
    total = 0.0
    for pid in pids:
        try:
            with open("/proc/%s/stat" % pid, encoding="ascii") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except OSError:
            pass
    return total


def sandbox_pids(service: str) -> list:
    with open(os.path.join(REPO, ".sandbox", service, "%s.pid" % service), encoding="ascii") as handle:
        main = handle.read().strip()
    children = subprocess.run(["pgrep", "-P", main], capture_output=True, text=True, check=False).stdout.split()
    return [main] + children


# What the benchmark keeps of the registered result: the summary and the entries that changed or failed. Saving the
# whole result (`outcome | to_json`, 5 MB for 10,000 users) took ansible-playbook 4-5 s, which is the benchmark's
# cost, not the task's.
SLIM_OUTCOME = ("{{ {'summary': outcome.summary | default(none), 'failed': outcome.failed | default(false), "
                "'changed': outcome.changed | default(false), 'msg': outcome.msg | default(''), "
                "'results': (outcome.results | default([]) | selectattr('changed') | list)"
                " + (outcome.results | default([]) | selectattr('failed') | list)} | to_json }}")


def run_playbook(play: dict, workdir: str, server_pids: list) -> tuple:
    """(wall seconds, module-side CPU seconds, server CPU seconds, peak RSS MB, the task's registered result, slimmed:
    only the entries that changed or failed)."""
    outcome_path = os.path.join(workdir, "outcome.json")
    play = dict(play, hosts="localhost", gather_facts=False)
    play["tasks"] = play["tasks"] + [{"ansible.builtin.copy": dict(content=SLIM_OUTCOME, dest=outcome_path)}]
    playbook = os.path.join(workdir, "bench.yml")
    with open(playbook, "w", encoding="utf-8") as handle:
        yaml.safe_dump([play], handle, sort_keys=False)
    command = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", "localhost,", "-c", "local",
               "-e", "ansible_python_interpreter=%s" % sys.executable, playbook]
    server_before = process_cpu_seconds(server_pids)
    started = time.perf_counter()
    measured = subprocess.run([sys.executable, "-c", _MEASURE] + command, capture_output=True, text=True, check=True,
                              cwd=workdir)
    wall = time.perf_counter() - started
    server_cpu = process_cpu_seconds(server_pids) - server_before
    usage = json.loads(measured.stdout)
    with open(outcome_path, encoding="utf-8") as handle:
        result = json.load(handle)
    return wall, usage["cpu_s"], server_cpu, usage["maxrss_kb"] / 1024, result


class Directory:
    def __init__(self) -> None:
        tls = ldap3.Tls(validate=ssl.CERT_REQUIRED, ca_certs_file=env("SANDBOX_LDAP_CA_FILE"))
        server = ldap3.Server("localhost", port=int(env("SANDBOX_LDAP_PORT")), use_ssl=True, tls=tls)
        self.connection = ldap3.Connection(server, env("SANDBOX_LDAP_BIND_DN"), env("SANDBOX_LDAP_BIND_PASSWORD"),
                                           auto_bind=True)
        self.users_dn = env("SANDBOX_LDAP_USERS_DN")

    def dn(self, number: int) -> str:
        return "CN=user%04d,%s" % (number, self.users_dn)

    def set_photos(self, photos: dict) -> None:
        for number, photo in photos.items():
            values = [photo] if photo is not None else []
            self.connection.modify(self.dn(number), {"thumbnailPhoto": [(ldap3.MODIFY_REPLACE, values)]})

    def photos(self) -> dict:
        entries = self.connection.extend.standard.paged_search(
            self.users_dn, "(sAMAccountName=user*)", attributes=["sAMAccountName", "thumbnailPhoto"],
            paged_size=1000, generator=True)
        return {int(entry["attributes"]["sAMAccountName"][4:]): (entry["raw_attributes"].get("thumbnailPhoto") or [None])[0]
                for entry in entries if entry["type"] == "searchResEntry"}


def ensure_directory_users(count: int) -> None:
    """Seed exactly count sandbox users (sandbox/samba-up.sh) and reload the settings it writes."""
    subprocess.run(["sandbox/samba-up.sh"], cwd=REPO, check=True, env=dict(os.environ, SANDBOX_USERS=str(count)),
                   stdout=subprocess.DEVNULL)
    with open(os.path.join(REPO, ".sandbox", "samba.env"), encoding="utf-8") as handle:
        for name, value in re.findall(r"^export (\w+)='(.*)'$", handle.read(), re.M):
            os.environ[name] = value


def ldap_defaults() -> dict:
    return {"group/m365.photos.ldap": dict(
        server=env("SANDBOX_LDAP_HOST"), port=int(env("SANDBOX_LDAP_PORT")), ca_file=env("SANDBOX_LDAP_CA_FILE"),
        bind_dn=env("SANDBOX_LDAP_BIND_DN"), bind_password=env("SANDBOX_LDAP_BIND_PASSWORD"))}


def ad_name(number: int) -> str:
    return "user%04d" % number


# Options every bulk task gets (--changes-only sets return_unchanged: false).
BULK_OPTIONS: dict = {}


def bulk_task(count: int, folder: str, form: str, key: str, name_of, cache_dir: str | None) -> dict:
    """The module's arguments for users 1 .. count: the folder itself, or a photos: list naming each file."""
    if form == "photos_from":
        options = dict(photos_from=dict(path=folder, key=key))
    else:
        options = dict(photos=[{"user" if key == "upn" else "identity": name_of(number),
                                "src": os.path.join(folder, name_of(number) + ".jpg")} for number in range(1, count + 1)])
    if cache_dir:
        options["cache_dir"] = cache_dir
    return dict(options, **BULK_OPTIONS)


def ad_bulk_play(count: int, folder: str, form: str, cache_dir: str | None = None) -> dict:
    return dict(module_defaults=ldap_defaults(), tasks=[{
        "m365.photos.ad_thumbnail_photo": bulk_task(count, folder, form, "sam_account_name", ad_name, cache_dir),
        "register": "outcome", "ignore_errors": True}])


def ad_naive_play(count: int, folder: str) -> dict:
    return dict(module_defaults=ldap_defaults(), tasks=[{
        "m365.photos.ad_thumbnail_photo": dict(identity="{{ item }}", src="%s/{{ item }}.jpg" % folder),
        "loop": [ad_name(number) for number in range(1, count + 1)], "register": "outcome"}])


def check_converged(result: dict, label: str, expect_changed: int) -> None:
    summary = result.get("summary") or {}
    if result.get("failed") or summary.get("changed") != expect_changed:
        raise SystemExit("%s did not converge: %s" % (label, json.dumps(summary or result.get("msg"))[:2000]))


def fresh_cache(workdir: str) -> str:
    cache_dir = os.path.join(workdir, "cache")
    shutil.rmtree(cache_dir, ignore_errors=True)
    return cache_dir


# Full runs without the cache too, up to this N: the cache costs a full run next to nothing (one small file per
# photo), so above it only the full run that fills the cache is measured.
FULL_WITHOUT_CACHE_MAX = 1000


def bench_ad(count: int, full_max: int, workdir: str, form: str) -> list:
    from ansible_collections.m365.photos.plugins.module_utils import _image  # the pipeline under test

    ensure_directory_users(count)
    directory = Directory()
    pids = sandbox_pids("samba")
    folder = photo_dir(count, "ad", ad_name)
    # The full runs' sources, to verify what they wrote (6.5 GB at 100,000 users: not read without a full run).
    sources = {number: read_source(folder, ad_name(number)) for number in range(1, count + 1)} if count <= full_max else {}
    runs = []

    def measure(label: str, play: dict, expect_changed: int) -> None:
        wall, cpu, server_cpu, rss, result = run_playbook(play, workdir, pids)
        check_converged(result, label, expect_changed)
        runs.append(Run(label, count, wall, cpu, server_cpu, rss, result["summary"]))

    def full_run(label: str, cache_dir: str | None) -> None:
        directory.set_photos({number: None for number in sources})
        measure(label, ad_bulk_play(count, folder, form, cache_dir), count)
        held = directory.photos()
        wrong = [number for number, source in sources.items()
                 if held.get(number) is None or len(held[number]) > EXCHANGE_ONLINE_LIMIT
                 or not _image.compare(held[number], source).same]
        if wrong:
            raise SystemExit("%s left %d photos wrong, e.g. %s" % (label, len(wrong), ad_name(wrong[0])))
        runs[-1].extra["verified"] = "%d/%d" % (count, count)

    cache_dir = fresh_cache(workdir)
    if count <= full_max:
        if count <= FULL_WITHOUT_CACHE_MAX:
            full_run("AD full run", None)
        full_run("AD full run (cache on)", cache_dir)
    else:
        with multiprocessing.Pool() as pool:
            renditions = pool.map(functools.partial(ad_rendition, folder), range(1, count + 1), chunksize=256)
        directory.set_photos(dict(zip(range(1, count + 1), renditions)))
    measure("AD no-change run", ad_bulk_play(count, folder, form), 0)
    if count > full_max:
        measure("AD no-change run (cold cache)", ad_bulk_play(count, folder, form, cache_dir), 0)
    measure("AD no-change run (warm cache)", ad_bulk_play(count, folder, form, cache_dir), 0)
    if count == 100:
        wall, cpu, server_cpu, rss, result = run_playbook(ad_naive_play(count, folder), workdir, pids)
        if any(item.get("changed") or item.get("failed") for item in result["results"]):
            raise SystemExit("naive AD no-change run changed or failed something")
        runs.append(Run("AD no-change, naive loop", count, wall, cpu, server_cpu, rss, {}))
    return runs


# -- Graph -------------------------------------------------------------------------------------------------------

GRAPH_LATENCY_MS = 50
GRAPH_FAULT_SHARE = 0.05
# --strict-entra (issue 10's acceptance): photos kept in Entra ID at their own dimensions, the strictest throttling
# readings (4 in flight per app whatever the mailbox, 429s without Retry-After) and writes visible 5 s later.
STRICT_ENTRA = {"photo_store": "entra", "throttle": {"app_concurrency": 4}, "batch_parallelism": 4,
                "retry_after_omit_rate": 1.0, "write_visibility_delay_s": 5}


class Emulator:
    """The sandbox's Graph emulator through its admin API (/_sandbox)."""

    def __init__(self) -> None:
        self.url = env("SANDBOX_GRAPH_ADMIN_URL")
        self.context = ssl.create_default_context(cafile=env("SANDBOX_CA_FILE"))
        self.tenant = env("SANDBOX_TENANT_NAME")

    def admin(self, method: str, path: str, body=None, raw: bool = False):
        data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=data, method=method)
        try:
            with urllib.request.urlopen(request, context=self.context, timeout=120) as response:
                payload = response.read()
        except urllib.error.HTTPError as error:
            if raw and error.code == 404:
                return None
            raise SystemExit("emulator admin %s %s: %s %r" % (method, path, error.code, error.read()[:500])) from None
        return payload if raw else json.loads(payload or b"null")

    def user(self, number: int) -> str:
        return "%s%04d@%s" % (env("SANDBOX_GRAPH_USER_PREFIX"), number, env("SANDBOX_TENANT_DOMAIN"))

    def user_count(self) -> int:
        tenants = self.admin("GET", "/tenants")["tenants"]
        return next(tenant["users"] for tenant in tenants if tenant["name"] == self.tenant)

    def store_all(self, numbers: list, photo_of) -> None:
        """Store photo_of(number) for each user directly (admin API), on 4 kept-alive connections."""
        url = urllib.parse.urlsplit(self.url)

        def store_share(share: list) -> None:
            connection = http.client.HTTPSConnection(url.hostname, url.port, context=self.context, timeout=120)
            for number in share:
                connection.request("PUT", "%s/tenants/%s/users/%s/photo" % (url.path, self.tenant, self.user(number)),
                                   body=photo_of(number))
                response = connection.getresponse()
                if response.status != 200:
                    raise SystemExit("storing %s's photo: %s %r" % (self.user(number), response.status,
                                                                    response.read()[:500]))
                response.read()
            connection.close()

        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            list(pool.map(store_share, [numbers[start::4] for start in range(4)]))

    def stored(self, number: int) -> bytes | None:
        return self.admin("GET", "/tenants/%s/users/%s/photo" % (self.tenant, self.user(number)), raw=True)


def load_env_file(path: str) -> None:
    with open(path, encoding="utf-8") as handle:
        for name, value in re.findall(r"^export (\w+)=(.*)$", handle.read(), re.M):
            os.environ[name] = value.strip("'")


def ensure_graph_users(count: int) -> Emulator:
    """An emulator whose contoso tenant has count users: graph-up.sh restarts it when samba.env is newer."""
    ensure_directory_users(count)
    subprocess.run(["sandbox/graph-up.sh"], cwd=REPO, check=True, stdout=subprocess.DEVNULL,
                   env=dict(os.environ, PYTHON=os.environ.get("PYTHON", sys.executable)))
    load_env_file(os.path.join(REPO, ".sandbox", "graph.env"))
    emulator = Emulator()
    if emulator.user_count() < count:
        raise SystemExit("the Graph emulator has %d users, not %d" % (emulator.user_count(), count))
    return emulator


def graph_defaults() -> dict:
    return {"group/m365.photos.graph": dict(
        tenant_id=env("SANDBOX_TENANT_ID"), client_id=env("SANDBOX_CLIENT_ID"), client_secret=env("SANDBOX_CLIENT_SECRET"),
        graph_url=env("SANDBOX_GRAPH_URL"), authority_url=env("SANDBOX_AUTHORITY_URL"), ca_file=env("SANDBOX_CA_FILE"),
        timeout=120)}


def graph_bulk_play(emulator: Emulator, count: int, folder: str, form: str, cache_dir: str | None = None) -> dict:
    return dict(module_defaults=graph_defaults(), tasks=[{
        "m365.photos.exchange_online_photo": bulk_task(count, folder, form, "upn", emulator.user, cache_dir),
        "register": "outcome", "ignore_errors": True}])


def graph_naive_play(emulator: Emulator, count: int, folder: str) -> dict:
    return dict(module_defaults=graph_defaults(), tasks=[{
        "m365.photos.exchange_online_photo": dict(user="{{ item }}", src="%s/{{ item }}.jpg" % folder),
        "loop": [emulator.user(number) for number in range(1, count + 1)], "register": "outcome"}])


def wire(emulator: Emulator, count: int) -> dict:
    """Per-user request economy of the run that just ended, from the emulator's request log."""
    log = emulator.admin("GET", "/log")
    return {"requests/user": "%.3f" % (log["requests"] / count), "operations/user": "%.2f" % (log["operations"] / count),
            "KB down/user": "%.1f" % (log["bytes_out"] / count / 1024), "429s": log["throttled"]}


def graph_run(emulator: Emulator, label: str, play: dict, count: int, workdir: str, pids: list,
              expect_changed: int | None) -> Run:
    emulator.admin("POST", "/log/reset")
    wall, cpu, server_cpu, rss, result = run_playbook(play, workdir, pids)
    failures = [item for item in result.get("results") or [] if item.get("failed")]
    if failures:
        print("%s: %d failed, e.g. %s: %s" % (label, len(failures), failures[0]["user"], failures[0]["msg"]), flush=True)
    if expect_changed is not None:
        check_converged(result, label, expect_changed)
    elif any(item.get("changed") or item.get("failed") for item in result.get("results") or [result]):
        raise SystemExit("%s changed or failed something" % label)
    return Run(label, count, wall, cpu, server_cpu, rss, result.get("summary") or {}, wire(emulator, count))


def bench_graph(count: int, full_max: int, workdir: str, app_requests: int, form: str, strict_entra: bool = False) -> list:
    from ansible_collections.m365.photos.plugins.module_utils import _image  # the pipeline under test

    emulator = ensure_graph_users(count)
    pids = sandbox_pids("graph")
    folder = photo_dir(count, "graph", emulator.user)
    saved = emulator.admin("GET", "/config")
    emulator.admin("PUT", "/config", {"latency_ms": GRAPH_LATENCY_MS, "throttle": {
        "mailbox_requests": 10000, "mailbox_window_s": 600, "mailbox_concurrency": 4,
        "app_requests": app_requests, "app_window_s": 10}})
    label = "Graph (entra, strict, 5 s delay)" if strict_entra else "Graph"
    if strict_entra:
        emulator.admin("PUT", "/config", STRICT_ENTRA)
    runs = []

    def play(cache_dir: str | None = None) -> dict:
        return graph_bulk_play(emulator, count, folder, form, cache_dir)

    def full_run(run_label: str, cache_dir: str | None) -> None:
        emulator.admin("DELETE", "/tenants/%s/photos" % emulator.tenant)
        faults = max(1, int(count * GRAPH_FAULT_SHARE))
        emulator.admin("POST", "/faults", {"status": 429, "match": "/photo/$value", "method": "PUT", "count": faults,
                                           "retry_after": 1})
        emulator.admin("POST", "/faults", {"status": 429, "match": "/photo", "method": "GET", "count": faults,
                                           "retry_after": 1})
        runs.append(graph_run(emulator, run_label, play(cache_dir), count, workdir, pids, count))
        emulator.admin("DELETE", "/faults")
        wrong = [number for number in range(1, count + 1)
                 if emulator.stored(number) is None
                 or not _image.compare(emulator.stored(number), read_source(folder, emulator.user(number))).same]
        if wrong:
            raise SystemExit(run_label + " left %d photos wrong, e.g. %s" % (len(wrong), emulator.user(wrong[0])))
        runs[-1].extra["verified"] = "%d/%d" % (count, count)
        # The next run starts outside the visibility delay: inside it the old photos are still served.
        if strict_entra:
            time.sleep(STRICT_ENTRA["write_visibility_delay_s"])

    cache_dir = fresh_cache(workdir)
    try:
        if count <= full_max:
            if count <= FULL_WITHOUT_CACHE_MAX:
                full_run(label + " full run", None)
            full_run(label + " full run (cache on)", cache_dir)
        else:
            # The steady state, seeded directly: every user already holds the source (served at 432x432).
            emulator.admin("DELETE", "/tenants/%s/photos" % emulator.tenant)
            emulator.store_all(list(range(1, count + 1)), lambda number: read_source(folder, emulator.user(number)))
            # The first read renders each stored size once (the service keeps its renditions): not measured.
            runs.append(graph_run(emulator, label + " no-change run (cold emulator renditions)", play(), count, workdir,
                                  pids, 0))
        runs.append(graph_run(emulator, label + " no-change run", play(), count, workdir, pids, 0))
        if count > full_max:
            runs.append(graph_run(emulator, label + " no-change run (cold cache)", play(cache_dir), count, workdir,
                                  pids, 0))
        runs.append(graph_run(emulator, label + " no-change run (warm cache)", play(cache_dir), count, workdir, pids, 0))
        if count == 100:
            run = graph_run(emulator, "Graph no-change, naive loop", graph_naive_play(emulator, count, folder), count,
                            workdir, pids, None)
            runs.append(run)
    finally:
        emulator.admin("DELETE", "/faults")
        emulator.admin("PUT", "/config", saved)
    return runs


def table(runs: list) -> str:
    lines = ["| run | users | wall | per user | module CPU | server CPU | peak RSS | extra |",
             "|---|---:|---:|---:|---:|---:|---:|---|"]
    for run in runs:
        extra = ", ".join("%s %s" % (key, value) for key, value in run.extra.items())
        lines.append("| %s | %s | %.1f s | %.1f ms | %.1f s | %.1f s | %.0f MB | %s |" % (
            run.label, "{:,}".format(run.users), run.wall_s, run.wall_s / run.users * 1000, run.cpu_module_s,
            run.cpu_server_s, run.maxrss_mb, extra))
    naive = [run for run in runs if "naive" in run.label]
    if naive:
        lines.append("")
    for run in naive:
        lines.append("%s extrapolated to 10,000 users: %.0f min." % (run.label, run.wall_s / run.users * 10000 / 60))
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--users", type=int, nargs="+", default=[100, 1000, 10000])
    parser.add_argument("--full-max", type=int, default=10000, help="largest N that also gets a full run")
    parser.add_argument("--write", help="Markdown file to write the table into (section 'scale', or --section)")
    parser.add_argument("--section", default="scale", help="the section of --write to replace")
    parser.add_argument("--sides", nargs="+", choices=["ad", "graph"], default=["ad", "graph"])
    parser.add_argument("--form", choices=["photos_from", "photos"], default="photos_from",
                        help="give the module the folder (photos_from), or a photos: list naming each file")
    parser.add_argument("--strict-entra", action="store_true",
                        help="Graph runs against the entra photo store, strict throttling and a 5 s visibility delay")
    parser.add_argument("--app-requests", type=int, default=130000,
                        help="the emulator's per-app limit per 10 s for the Graph runs (Microsoft's: 130,000)")
    parser.add_argument("--changes-only", action="store_true",
                        help="the bulk tasks return only the users they changed or failed (return_unchanged: false)")
    args = parser.parse_args()
    if args.changes_only:
        BULK_OPTIONS["return_unchanged"] = False
    runs = []
    seeded = int(os.environ.get("SANDBOX_USERS") or 62)
    try:
        with tempfile.TemporaryDirectory(prefix="m365-photos-bench-") as workdir:
            for count in args.users:
                if "ad" in args.sides:
                    runs += bench_ad(count, args.full_max, workdir, args.form)
                if "graph" in args.sides:
                    runs += bench_graph(count, args.full_max, workdir, args.app_requests, args.form, args.strict_entra)
                print(table(runs), flush=True)
    finally:
        # The sandbox goes back to the users the tests expect (the emulator follows the directory).
        ensure_graph_users(seeded)
    heading = "Scale" if args.section == "scale" else "Scale: %s" % args.section
    text = ("## %s\n\nOne bulk task per side against the sandbox (%s, %d CPUs, form %s%s). Module CPU includes "
            "ansible-playbook; peak RSS is the whole process tree's.\n\n%s\n" % (
                heading, time.strftime("%Y-%m-%d"), os.cpu_count(), args.form,
                ", return_unchanged: false" if args.changes_only else "", table(runs)))
    if args.write:
        replace_section(args.write, args.section, text)


if __name__ == "__main__":
    main()
