"""cache_dir in real playbooks: runs over unchanged sources decide from the cache, against the sandbox DC and a private
Graph emulator, and a damaged cache costs a decode, never a wrong photo."""

from __future__ import annotations

import io
import json
import os
import shutil
import stat

import pytest
from PIL import Image

from ansible_collections.m365.photos.plugins.module_utils import _image, _photo_memory, _source_cache
from ansible_collections.m365.photos.plugins.module_utils._decision import EXACTLY_THIS_PHOTO

from ad_users import OwnUsers
from fault_proxy import FaultProxy
from graph_sandbox import Sandbox, start_emulator
from photo_fixtures import fixture_bytes, jpeg
from playbook_runner import run_task, sandbox_setting
from role_runner import run_role

DOMAIN = "cache.example"
USERS = ["user%04d@%s" % (number, DOMAIN) for number in range(1, 5)]
PICTURES = ("astronaut.png", "camera.png", "chelsea.png", "coffee.jpg")
SOURCE_ENTRIES = _source_cache.ENTRY_FORMAT
PHOTO_ENTRIES = _photo_memory.ENTRY_FORMAT


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


def entries_in(cache_dir: str, kind: str = SOURCE_ENTRIES) -> list:
    """The cache's files holding entries of kind (the source cache's, or the memory's of current photos)."""
    found = []
    for path in sorted(os.path.join(path, name) for path, _folders, names in os.walk(cache_dir) for name in names):
        with open(path, encoding="utf-8") as handle:
            if json.load(handle).get("format") == kind:
                found.append(path)
    return found


def ad_task(paths: dict, cache_dir: str) -> dict:
    return {"m365.photos.ad_thumbnail_photo": dict(
        photos=[dict(identity=user, src=path) for user, path in paths.items()], cache_dir=cache_dir)}


def ldap_defaults(port: int | None = None) -> dict:
    return {"group/m365.photos.ldap": dict(
        server=sandbox_setting("SANDBOX_LDAP_HOST"), port=port or int(sandbox_setting("SANDBOX_LDAP_PORT")),
        ca_file=sandbox_setting("SANDBOX_LDAP_CA_FILE"), bind_dn=sandbox_setting("SANDBOX_LDAP_BIND_DN"),
        bind_password=sandbox_setting("SANDBOX_LDAP_BIND_PASSWORD"))}


def graph_task(paths: dict, cache_dir: str) -> dict:
    return {"m365.photos.exchange_online_photo": dict(
        photos=[dict(user=user, src=path) for user, path in paths.items()], cache_dir=cache_dir)}


def another_picture() -> bytes:
    return jpeg(Image.open(io.BytesIO(fixture_bytes("rocket.jpg"))).resize((120, 120)))


def reasons(outcome) -> list:
    assert not outcome.failed, outcome.result
    return [(result["changed"], result["reason"]) for result in outcome.result["results"]]


def ad_photos_written_afresh(directory: OwnUsers, tmp_path) -> tuple:
    """(paths, cache_dir, the photos written): every user's photo cleared, then written by a run with the cache."""
    for user in USERS:
        directory.set(user, None)
    paths = photo_folder(str(tmp_path))
    cache_dir = str(tmp_path / "cache")
    first = run_task(ad_task(paths, cache_dir), module_defaults=ldap_defaults())
    assert [changed for changed, _reason in reasons(first)] == [True] * len(USERS)
    return paths, cache_dir, {user: directory.photo(user) for user in USERS}


def test_ad_runs_over_unchanged_sources_are_decided_from_the_cache(sides, tmp_path):
    directory, _graph = sides
    paths, cache_dir, written = ad_photos_written_afresh(directory, tmp_path)
    assert all(len(photo) <= 10240 and _image.compare(photo, fixture_bytes(picture)).same
               for photo, picture in zip(written.values(), PICTURES))
    entries = entries_in(cache_dir)
    assert len(entries) == len(USERS)
    assert all(stat.S_IMODE(os.stat(entry).st_mode) == 0o600 for entry in entries)

    second = run_task(ad_task(paths, cache_dir), module_defaults=ldap_defaults())
    assert reasons(second) == [(False, EXACTLY_THIS_PHOTO)] * len(USERS)

    # Someone puts another picture on one user: only that user is written, with what the source gives.
    directory.set(USERS[1], another_picture())
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


def received_through(proxy: FaultProxy, task: dict):
    """The task's outcome, run against the DC through proxy, and the bytes the DC sent it."""
    before = proxy.received_downstream
    outcome = run_task(task, module_defaults=ldap_defaults(proxy.port))
    return outcome, proxy.received_downstream - before


def test_ad_a_warm_run_reads_no_photo_and_sees_a_photo_changed_behind_its_back(sides, tmp_path):
    directory, _graph = sides
    paths, cache_dir, written = ad_photos_written_afresh(directory, tmp_path)
    # The first no-change run reads the photos (nothing is remembered of them yet) and remembers them.
    assert reasons(run_task(ad_task(paths, cache_dir), module_defaults=ldap_defaults())) == [
        (False, EXACTLY_THIS_PHOTO)] * len(USERS)
    assert len(entries_in(cache_dir, PHOTO_ENTRIES)) == len(USERS)

    sources_only = str(tmp_path / "sources-only")
    shutil.copytree(cache_dir, sources_only)
    for entry in entries_in(sources_only, PHOTO_ENTRIES):
        os.unlink(entry)
    proxy = FaultProxy(sandbox_setting("SANDBOX_LDAP_HOST"), int(sandbox_setting("SANDBOX_LDAP_PORT")))
    try:
        reading, read_bytes = received_through(proxy, ad_task(paths, sources_only))
        warm, warm_bytes = received_through(proxy, ad_task(paths, cache_dir))
        assert reasons(reading) == reasons(warm) == [(False, EXACTLY_THIS_PHOTO)] * len(USERS)
        # The same answers, less every photo's bytes: none was read.
        assert read_bytes - warm_bytes > sum(len(photo) for photo in written.values()) - 2000, (read_bytes, warm_bytes)

        directory.set(USERS[2], another_picture())
        behind, _bytes = received_through(proxy, ad_task(paths, cache_dir))
    finally:
        proxy.close()
    assert [changed for changed, _reason in reasons(behind)] == [False, False, True, False]
    assert {user: directory.photo(user) for user in USERS} == written


def test_graph_a_warm_run_downloads_no_preview_and_sees_a_new_photo(sides, tmp_path):
    _directory, graph = sides
    graph.forget()
    paths = photo_folder(str(tmp_path))
    cache_dir = str(tmp_path / "cache")
    task = graph_task(paths, cache_dir)
    assert all(changed for changed, _reason in reasons(run_task(task, module_defaults=graph.defaults())))
    stored = {user: graph.etag(user) for user in USERS}
    first = run_task(task, module_defaults=graph.defaults())
    assert [changed for changed, _reason in reasons(first)] == [False] * len(USERS)
    assert len(entries_in(cache_dir, PHOTO_ENTRIES)) == len(USERS)

    graph.admin("POST", "/log/reset")
    warm = run_task(task, module_defaults=graph.defaults())
    assert reasons(warm) == reasons(first)
    downloads = [request["path"] for request in graph.requests() if "/photos/" in request["path"]
                 or request["path"].endswith("/$value")]
    assert not downloads, downloads

    graph.store(USERS[3], another_picture())
    behind = graph.etag(USERS[3])
    changed = run_task(task, module_defaults=graph.defaults())
    assert [changed for changed, _reason in reasons(changed)] == [False, False, False, True]
    assert {user: graph.etag(user) for user in USERS[:3]} == {user: stored[user] for user in USERS[:3]}
    assert graph.etag(USERS[3]) not in (behind, stored[USERS[3]])


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
    # And what each side's current photos were, under their change stamps.
    assert len(entries_in(cache_dir, PHOTO_ENTRIES)) == 2 * len(USERS)
