"""cache_dir in real playbooks: runs over unchanged sources decide from the cache, against the sandbox DC and a private
Graph emulator, and a damaged cache costs a decode, never a wrong photo."""

from __future__ import annotations

import io
import json
import os
import stat

import pytest
from PIL import Image

from ansible_collections.m365.photos.plugins.module_utils import _image
from ansible_collections.m365.photos.plugins.module_utils._decision import EXACTLY_THIS_PHOTO

from ad_users import OwnUsers
from graph_sandbox import Sandbox, start_emulator
from photo_fixtures import fixture_bytes, jpeg
from playbook_runner import run_task, sandbox_setting
from role_runner import run_role

DOMAIN = "cache.example"
USERS = ["user%04d@%s" % (number, DOMAIN) for number in range(1, 5)]
PICTURES = ("astronaut.png", "camera.png", "chelsea.png", "coffee.jpg")


@pytest.fixture(name="sides", scope="module")
def both_sides(tmp_path_factory):
    emulator = start_emulator(str(tmp_path_factory.mktemp("graph-cache")),
                              extra_args=("--domain", DOMAIN, "--users", str(len(USERS))))
    directory = OwnUsers("CacheTest", USERS)
    directory.create()
    yield directory, Sandbox(emulator)
    directory.remove()
    emulator.stop()


def photo_folder(workdir: str) -> dict:
    """One distinct photo file per user in workdir/photos: user -> path."""
    folder = os.path.join(workdir, "photos")
    os.makedirs(folder, exist_ok=True)
    paths = {}
    for user, picture in zip(USERS, PICTURES):
        paths[user] = os.path.join(folder, user + os.path.splitext(picture)[1])
        with open(paths[user], "wb") as handle:
            handle.write(fixture_bytes(picture))
    return paths


def entries_in(cache_dir: str) -> list:
    return sorted(os.path.join(path, name) for path, _folders, names in os.walk(cache_dir) for name in names)


def ad_task(paths: dict, cache_dir: str) -> dict:
    return {"m365.photos.ad_thumbnail_photo": dict(
        photos=[dict(identity=user, src=path) for user, path in paths.items()], cache_dir=cache_dir)}


def ldap_defaults() -> dict:
    return {"group/m365.photos.ldap": dict(
        server=sandbox_setting("SANDBOX_LDAP_HOST"), port=int(sandbox_setting("SANDBOX_LDAP_PORT")),
        ca_file=sandbox_setting("SANDBOX_LDAP_CA_FILE"), bind_dn=sandbox_setting("SANDBOX_LDAP_BIND_DN"),
        bind_password=sandbox_setting("SANDBOX_LDAP_BIND_PASSWORD"))}


def reasons(outcome) -> list:
    assert not outcome.failed, outcome.result
    return [(result["changed"], result["reason"]) for result in outcome.result["results"]]


def test_ad_runs_over_unchanged_sources_are_decided_from_the_cache(sides, tmp_path):
    directory, _graph = sides
    for user in USERS:
        directory.set(user, None)
    paths = photo_folder(str(tmp_path))
    cache_dir = str(tmp_path / "cache")

    first = run_task(ad_task(paths, cache_dir), module_defaults=ldap_defaults())
    assert [changed for changed, _reason in reasons(first)] == [True] * len(USERS)
    written = {user: directory.photo(user) for user in USERS}
    assert all(len(photo) <= 10240 and _image.compare(photo, fixture_bytes(picture)).same
               for photo, picture in zip(written.values(), PICTURES))
    entries = entries_in(cache_dir)
    assert len(entries) == len(USERS)
    assert all(stat.S_IMODE(os.stat(entry).st_mode) == 0o600 for entry in entries)

    second = run_task(ad_task(paths, cache_dir), module_defaults=ldap_defaults())
    assert reasons(second) == [(False, EXACTLY_THIS_PHOTO)] * len(USERS)

    # Someone puts another picture on one user: only that user is written, with what the source gives.
    directory.set(USERS[1], jpeg(Image.open(io.BytesIO(fixture_bytes("rocket.jpg"))).resize((120, 120))))
    third = run_task(ad_task(paths, cache_dir), module_defaults=ldap_defaults())
    assert [changed for changed, _reason in reasons(third)] == [False, True, False, False]
    assert {user: directory.photo(user) for user in USERS} == written

    # A damaged cache: every entry is a miss, the pictures are compared again, and the entries are made anew with
    # what that run computed (the source's fingerprints; it fitted nothing, so the fitted bytes stay unknown).
    for entry in entries:
        with open(entry, "w", encoding="utf-8") as handle:
            handle.write('{"format": "m365.photos source cache entry", "key": "forged", "fitted_sha256": null}')
    fourth = run_task(ad_task(paths, cache_dir), module_defaults=ldap_defaults())
    assert reasons(fourth) == [(False, "the current photo shows the same picture")] * len(USERS)
    assert {user: directory.photo(user) for user in USERS} == written
    for entry in entries_in(cache_dir):
        with open(entry, encoding="utf-8") as handle:
            remade = json.load(handle)
        assert remade["key"] == os.path.basename(entry)[:-len(".json")] and "shown" in remade["fingerprints"]


def test_check_mode_with_a_new_cache_dir_creates_nothing(sides, tmp_path):
    directory, _graph = sides
    paths = photo_folder(str(tmp_path))
    cache_dir = str(tmp_path / "never-made")
    before = {user: directory.photo(user) for user in USERS}
    outcome = run_task(ad_task(paths, cache_dir), module_defaults=ldap_defaults(), check=True)
    assert not outcome.failed, outcome.result
    assert not os.path.exists(cache_dir)
    assert {user: directory.photo(user) for user in USERS} == before


def test_a_cache_dir_that_cannot_be_made_fails_before_anything_is_written(sides, tmp_path):
    directory, _graph = sides
    for user in USERS:
        directory.set(user, None)
    blocker = tmp_path / "a-file"
    blocker.write_bytes(b"")
    outcome = run_task(ad_task(photo_folder(str(tmp_path)), str(blocker / "cache")), module_defaults=ldap_defaults())
    assert outcome.failed and "cache_dir" in outcome.result["msg"] and "leave cache_dir out" in outcome.result["msg"]
    assert "Traceback" not in json.dumps(outcome.result)
    assert all(directory.photo(user) is None for user in USERS)


def test_the_role_keeps_a_cache_per_side_under_its_report_folder(sides, tmp_path):
    directory, graph = sides
    for user in USERS:
        directory.set(user, None)
    graph.forget()
    workdir = str(tmp_path)
    photo_folder(workdir)

    first = run_role(workdir, graph, "first")
    assert first["ad"]["summary"]["changed"] == len(USERS) and first["cloud"]["summary"]["changed"] == len(USERS)
    cache_dir = os.path.join(workdir, "reports", "cache")
    # The sides fit differently (10,240 bytes for AD, 648 px for the cloud): an entry per photo and side.
    assert len(entries_in(cache_dir)) == 2 * len(USERS)
    stored = {user: (directory.photo(user), graph.etag(user)) for user in USERS}

    second = run_role(workdir, graph, "second")
    assert second["ad"]["summary"]["changed"] == 0 and second["cloud"]["summary"]["changed"] == 0, second
    assert {user: (directory.photo(user), graph.etag(user)) for user in USERS} == stored
    assert len(entries_in(cache_dir)) == 2 * len(USERS)
