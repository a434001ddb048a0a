"""The photo modules on a managed host reached over SSH (the sandbox's sshd on loopback): src files stay on the
controller and travel inside the module's arguments, single and bulk, a 5 MB source among them.

AD users are this file's own (OU=RemoteTest, removed afterwards); Graph users live in a private emulator.
"""

from __future__ import annotations

import io

import pytest
from PIL import Image, ImageOps

from ansible_collections.m365.photos.plugins.module_utils import _image

from ad_users import OwnUsers
from graph_sandbox import Sandbox, start_emulator
from photo_fixtures import fixture_bytes
from playbook_runner import run_tasks, sandbox_setting

AD_USERS = ["remote%d@remote.example" % number for number in range(1, 4)]
GRAPH_USERS = ["user%04d@test.example" % number for number in range(1, 4)]


@pytest.fixture(name="sources", scope="module")
def source_files(tmp_path_factory) -> list:
    """Three photo files on the controller: two small ones and one of more than 5 MB."""
    folder = tmp_path_factory.mktemp("controller-photos")
    paths = []
    for name in ("rocket.jpg", "coffee.jpg"):
        paths.append(folder / name)
        paths[-1].write_bytes(fixture_bytes(name))
    base = Image.open(io.BytesIO(fixture_bytes("astronaut.png"))).convert("RGB").resize((3300, 3300), Image.BILINEAR)
    large = folder / "large.jpg"
    Image.blend(base, Image.effect_noise((3300, 3300), 60).convert("RGB"), 0.15).save(large, "JPEG", quality=95)
    assert large.stat().st_size > 5 * 1024 * 1024
    return [str(path) for path in paths + [large]]


def ssh_sessions() -> int:
    with open(sandbox_setting("SANDBOX_SSH_LOG"), encoding="utf-8", errors="replace") as log:
        return sum(1 for line in log if "Accepted publickey" in line)


def tasks_for(module: str, key: str, users: list, sources: list) -> list:
    return [{module: {key: users[0], "src": sources[0]}},
            {module: {"photos": [{key: user, "src": src} for user, src in zip(users[1:], sources[1:])]}}]


def assert_shows(held: bytes, source: str, square: bool = False) -> None:
    """held shows the picture of source (as a centred square: Graph serves squares)."""
    picture = Image.open(source).convert("RGB")
    if square:
        picture = ImageOps.fit(picture, (min(picture.size),) * 2)
    out = io.BytesIO()
    picture.save(out, "PNG")
    assert _image.compare(held, out.getvalue()).same, source


def test_ad_photos_from_controller_files_are_written_by_a_module_on_a_remote_host(sources):
    directory = OwnUsers("RemoteTest", AD_USERS)
    directory.create()
    try:
        defaults = {"group/m365.photos.ldap": dict(
            server=sandbox_setting("SANDBOX_LDAP_HOST"), port=int(sandbox_setting("SANDBOX_LDAP_PORT")),
            ca_file=sandbox_setting("SANDBOX_LDAP_CA_FILE"), bind_dn=sandbox_setting("SANDBOX_LDAP_BIND_DN"),
            bind_password=sandbox_setting("SANDBOX_LDAP_BIND_PASSWORD"))}
        sessions = ssh_sessions()
        single, bulk = run_tasks(tasks_for("m365.photos.ad_thumbnail_photo", "identity", AD_USERS, sources),
                                 module_defaults=defaults, remote=True)
        assert ssh_sessions() > sessions, "the tasks did not go over SSH"
        assert single.changed and not single.failed, single.result
        assert bulk.result["summary"] == dict(entries=2, changed=2, unchanged=0, failed=0), bulk.result
        for user, source in zip(AD_USERS, sources):
            held = directory.photo(user)
            assert held is not None and len(held) <= 10240
            assert_shows(held, source)
        again = run_tasks(tasks_for("m365.photos.ad_thumbnail_photo", "identity", AD_USERS, sources),
                          module_defaults=defaults, remote=True)
        assert not any(outcome.changed or outcome.failed for outcome in again)
    finally:
        directory.remove()


def test_graph_photos_from_controller_files_are_uploaded_by_a_module_on_a_remote_host(sources, tmp_path):
    emulator = start_emulator(str(tmp_path / "graph"))
    try:
        graph = Sandbox(emulator)
        sessions = ssh_sessions()
        single, bulk = run_tasks(tasks_for("m365.photos.exchange_online_photo", "user", GRAPH_USERS, sources),
                                 module_defaults=graph.defaults(), remote=True)
        assert ssh_sessions() > sessions, "the tasks did not go over SSH"
        assert single.changed and not single.failed, single.result
        assert bulk.result["summary"] == dict(entries=2, changed=2, unchanged=0, failed=0), bulk.result
        for user, source in zip(GRAPH_USERS, sources):
            assert_shows(graph.stored(user), source, square=True)
    finally:
        emulator.stop()
