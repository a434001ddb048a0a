"""Faults in the middle of a bulk run, against the real servers: a connection cut during an LDAP write, the domain
controller restarting, the bind password changed, and the module process killed (SIGKILL) on each side.

What every test asserts: each user holds either the old photo or the new one, never anything else; failures are
per entry and worded; and the next run converges (then changes nothing).

The AD users are this file's own (OU=FaultTest); the module reaches the DC through a FaultProxy (a TCP relay that
acts on cue), so each fault lands in the write phase, deterministically. The Graph side is a private emulator.
"""

from __future__ import annotations

import os
import random
import secrets
import signal
import subprocess
import sys
import threading
import time

import ldap3
import pytest
from PIL import Image

from ansible_collections.m365.photos.plugins.module_utils import _image

from ad_users import OwnUsers
from fault_proxy import FaultProxy
from graph_sandbox import Sandbox, start_emulator
from photo_fixtures import b64, jpeg
from playbook_runner import REPO, run_task, sandbox_setting

DOMAIN = "faults.example"
COUNT = 12
USERS = ["fault%02d@%s" % (number, DOMAIN) for number in range(1, COUNT + 1)]
GRAPH_COUNT = 48
GRAPH_USERS = ["user%04d@%s" % (number, DOMAIN) for number in range(1, GRAPH_COUNT + 1)]


def old_photo(number: int) -> bytes:
    return jpeg(Image.new("RGB", (96, 96), (number * 20 % 256, 90, 160)))


def new_photo(number: int) -> bytes:
    """A noisy picture of about 8 KB that fits as it is: each LDAP write sends that many bytes."""
    rng = random.Random(number)
    image = Image.new("RGB", (96, 96))
    image.putdata([(rng.randrange(256), rng.randrange(256), number * 20 % 256) for _ in range(96 * 96)])
    return jpeg(image, quality=60)


def holds_old_or_new(stored: bytes | None, number: int) -> str:
    """Which of the two pictures the user holds (the emulator serves what it stores re-encoded, so by picture)."""
    assert stored is not None, "user %d has no photo" % number
    held = [name for name, photo in (("old", old_photo(number)), ("new", new_photo(number)))
            if stored == photo or _image.compare(stored, photo).same]
    assert len(held) == 1, "user %d holds %s" % (number, "neither the old photo nor the new one" if not held else "both?")
    return held[0]


def bulk(users: list, **options) -> dict:
    return dict(photos=[dict(identity=user, content=b64(new_photo(number))) for number, user in enumerate(users, start=1)],
                **options)


def kill_module(module: str) -> list:
    """SIGKILL every process of this test's own run of module (its AnsiballZ wrapper and any workers)."""
    parents = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open("/proc/%s/stat" % pid, encoding="utf-8") as handle:
                parents[int(pid)] = int(handle.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
    mine, grew = {os.getpid()}, True
    while grew:
        more = {pid for pid, parent in parents.items() if parent in mine} - mine
        mine |= more
        grew = bool(more)
    killed = []
    for pid in mine - {os.getpid()}:
        try:
            with open("/proc/%d/cmdline" % pid, "rb") as handle:
                if ("AnsiballZ_%s.py" % module).encode() in handle.read():
                    os.kill(pid, signal.SIGKILL)
                    killed.append(pid)
        except OSError:
            continue
    return killed


@pytest.fixture(name="directory", scope="module")
def own_users():
    users = OwnUsers("FaultTest", USERS)
    users.create()
    yield users
    users.remove()


@pytest.fixture(name="proxy")
def dc_behind_a_proxy():
    proxy = FaultProxy(sandbox_setting("SANDBOX_LDAP_HOST"), int(sandbox_setting("SANDBOX_LDAP_PORT")))
    yield proxy
    proxy.close()


def through(proxy: FaultProxy, **changes) -> dict:
    settings = dict(server=sandbox_setting("SANDBOX_LDAP_HOST"), port=proxy.port,
                    ca_file=sandbox_setting("SANDBOX_LDAP_CA_FILE"), bind_dn=sandbox_setting("SANDBOX_LDAP_BIND_DN"),
                    bind_password=sandbox_setting("SANDBOX_LDAP_BIND_PASSWORD"), base_dn=directory_base())
    settings.update(changes)
    return {"group/m365.photos.ldap": settings}


def directory_base() -> str:
    return "OU=FaultTest,%s" % sandbox_setting("SANDBOX_LDAP_BASE_DN")


def reset(directory: OwnUsers) -> None:
    for number, user in enumerate(USERS, start=1):
        directory.set(user, old_photo(number))


def during_the_third_write() -> int:
    """Bytes sent towards the DC by the time the third photo is on its way (the bind and look-up send ~2 KB)."""
    return 2000 + len(new_photo(1)) + len(new_photo(2)) + len(new_photo(3)) // 2


def states(directory: OwnUsers) -> list:
    return [holds_old_or_new(directory.photo(user), number) for number, user in enumerate(USERS, start=1)]


def converges(task: dict, defaults: dict, expected_changes: int) -> None:
    rerun = run_task(task, module_defaults=defaults)
    assert not rerun.failed, rerun.msg
    assert rerun.result["summary"]["changed"] == expected_changes
    again = run_task(task, module_defaults=defaults)
    assert not again.failed and again.result["summary"]["changed"] == 0, again.msg


def test_a_connection_cut_during_a_write_is_reopened_and_the_run_converges(directory, proxy):
    reset(directory)
    proxy.when_sent_upstream(during_the_third_write(), proxy.cut_all)
    task = {"m365.photos.ad_thumbnail_photo": bulk(USERS)}
    outcome = run_task(task, module_defaults=through(proxy))
    assert not outcome.failed, outcome.msg
    assert outcome.result["summary"]["changed"] == COUNT
    assert proxy.connections >= 2, "the cut never happened"
    assert states(directory) == ["new"] * COUNT
    converges(task, through(proxy), 0)


def test_a_new_bind_password_fails_each_entry_with_the_reason_and_writes_nothing(directory, proxy):
    """The password is changed once the run has looked its users up, before its write connections bind."""
    reset(directory)
    bind_dn = "CN=faultbind,%s" % directory_base()
    passwords = ["Fb-%s-X9q" % secrets.token_hex(8) for _ in range(2)]
    admin = directory.connection
    admin.add(bind_dn, ["top", "person", "organizationalPerson", "user"], {
        "sAMAccountName": "faultbind", "unicodePwd": ('"%s"' % passwords[0]).encode("utf-16-le"),
        "userAccountControl": 512})
    assert admin.result["result"] == 0, admin.result
    admins = "CN=Domain Admins,CN=Users,%s" % sandbox_setting("SANDBOX_LDAP_BASE_DN")
    assert admin.modify(admins, {"member": [(ldap3.MODIFY_ADD, [bind_dn])]}), admin.result

    def change_password():
        assert admin.modify(bind_dn, {"unicodePwd": [(ldap3.MODIFY_REPLACE, [('"%s"' % passwords[1]).encode(
            "utf-16-le")])]}), admin.result

    proxy.when_connection(2, change_password)
    task = {"m365.photos.ad_thumbnail_photo": bulk(USERS, concurrency=4)}
    outcome = run_task(task, module_defaults=through(proxy, bind_dn=bind_dn, bind_password=passwords[0]))
    assert outcome.failed
    assert outcome.result["summary"]["failed"] == COUNT, outcome.msg
    assert all("wrong bind_dn or bind_password" in result["msg"] for result in outcome.result["results"])
    assert "Traceback" not in outcome.stdout and passwords[0] not in outcome.stdout
    assert states(directory) == ["old"] * COUNT
    converges(task, through(proxy, bind_dn=bind_dn, bind_password=passwords[1]), COUNT)


def test_the_module_killed_in_the_middle_of_ad_writes_leaves_old_or_new_photos(directory, proxy):
    reset(directory)
    killed = []
    proxy.when_sent_upstream(during_the_third_write(), lambda: killed.extend(kill_module("ad_thumbnail_photo")))
    task = {"m365.photos.ad_thumbnail_photo": bulk(USERS)}
    outcome = run_task(task, module_defaults=through(proxy))
    assert killed and outcome.failed
    held = states(directory)
    assert "new" in held and "old" in held, held
    converges(task, through(proxy), held.count("old"))


@pytest.fixture(name="restart")
def dc_up_afterwards():
    """The restart's samba-up process, once started; whatever happened, the DC answers again after the test."""
    restart: dict = {}
    yield restart
    if "up" in restart:
        restart["up"].wait(timeout=120)
    subprocess.run([os.path.join(REPO, "sandbox", "samba-up.sh")], env=dict(os.environ, PYTHON=sys.executable),
                   check=True, capture_output=True)


@pytest.mark.serial
def test_the_dc_restarting_in_the_middle_of_writes_is_waited_for(directory, proxy, restart):
    """A real restart of the sandbox DC (samba-down, samba-up) while the third write is on its way."""
    reset(directory)

    def restart_the_dc():
        subprocess.run([os.path.join(REPO, "sandbox", "samba-down.sh")], check=True, capture_output=True)
        restart["up"] = subprocess.Popen([os.path.join(REPO, "sandbox", "samba-up.sh")], env=dict(
            os.environ, PYTHON=sys.executable), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    proxy.when_sent_upstream(during_the_third_write(), restart_the_dc)
    task = {"m365.photos.ad_thumbnail_photo": bulk(USERS)}
    outcome = run_task(task, module_defaults=through(proxy))
    output = restart["up"].communicate(timeout=120)[0]
    assert restart["up"].returncode == 0, output
    directory.reconnect()
    assert not outcome.failed, outcome.msg
    assert outcome.result["summary"]["changed"] == COUNT
    assert proxy.connections >= 2, "the module never had to connect again"
    assert states(directory) == ["new"] * COUNT
    converges(task, through(proxy), 0)


@pytest.fixture(name="graph", scope="module")
def slow_emulator(tmp_path_factory):
    emulator = start_emulator(str(tmp_path_factory.mktemp("graph-faults")), extra_args=(
        "--domain", DOMAIN, "--users", str(GRAPH_COUNT), "--latency-ms", "300"))
    yield Sandbox(emulator)
    emulator.stop()


def test_the_module_killed_in_the_middle_of_graph_uploads_leaves_old_or_new_photos(graph):
    for number, user in enumerate(GRAPH_USERS, start=1):
        graph.store(user, old_photo(number))
    task = {"m365.photos.exchange_online_photo": dict(
        photos=[dict(user=user, content=b64(new_photo(number))) for number, user in enumerate(GRAPH_USERS, start=1)],
        concurrency=8)}
    killed = []

    def kill_after_the_first_upload():
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if any(entry["method"] == "PUT" and entry["status"] == 200 for entry in graph.requests()):
                killed.extend(kill_module("exchange_online_photo"))
                return
            time.sleep(0.02)

    killer = threading.Thread(target=kill_after_the_first_upload)
    killer.start()
    outcome = run_task(task, module_defaults=graph.defaults())
    killer.join()
    assert killed and outcome.failed
    held = [holds_old_or_new(graph.stored(user), number) for number, user in enumerate(GRAPH_USERS, start=1)]
    assert "new" in held and "old" in held, held
    converges(task, graph.defaults(), held.count("old"))
