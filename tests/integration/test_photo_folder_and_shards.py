"""A folder as the source (photos_from) and one tenant split into shards (photo_sync_shard), in real playbooks.

The users are this file's own: 9 in OU=FolderTest of the sandbox DC (removed afterwards) with the UPN suffix
folder.example, and the same users in a private Graph emulator whose contoso tenant has that domain. What the DC
and the emulator hold afterwards is read back; the modules' answers only say what was reported.
"""

from __future__ import annotations

import io
import os

import pytest
from PIL import Image

from ansible_collections.m365.photos.plugins.module_utils import _image

from ad_users import OwnUsers
from graph_sandbox import Sandbox, start_emulator
from photo_fixtures import fixture_bytes, jpeg
from playbook_runner import run_tasks, sandbox_setting
from role_runner import run_role_hosts

DOMAIN = "folder.example"
USERS = ["user%04d@%s" % (number, DOMAIN) for number in range(1, 10)]
PICTURES = ("astronaut.png", "camera.png", "chelsea.png", "coffee.jpg", "rocket.jpg")
SYNC_LIMIT = 10240


def picture(number: int) -> bytes:
    """A distinct 400 px JPEG per user: one of five photos, turned by number."""
    image = Image.open(io.BytesIO(fixture_bytes(PICTURES[number % 5]))).convert("RGB").rotate(90 * (number // 5 % 4))
    side = min(image.size)
    return jpeg(image.crop((0, 0, side, side)).resize((400, 400)))


@pytest.fixture(name="sides", scope="module")
def both_sides(tmp_path_factory):
    emulator = start_emulator(str(tmp_path_factory.mktemp("graph-folder")),
                              extra_args=("--domain", DOMAIN, "--users", str(len(USERS))))
    directory = OwnUsers("FolderTest", USERS)
    directory.create()
    yield directory, Sandbox(emulator)
    directory.remove()
    emulator.stop()


def clear(directory: OwnUsers, graph: Sandbox) -> None:
    graph.forget()
    for user in USERS:
        directory.set(user, None)


def photo_folder(path: str, users: list, *others: str) -> str:
    """A folder with each user's picture as <user>.jpg, and the file names of others (badly named, unknown users)."""
    os.makedirs(path, exist_ok=True)
    for user in users:
        with open(os.path.join(path, "%s.jpg" % user), "wb") as handle:
            handle.write(picture(USERS.index(user)))
    for name in others:
        with open(os.path.join(path, name), "wb") as handle:
            handle.write(picture(0))
    return path


def holds_the_picture(directory: OwnUsers, graph: Sandbox, user: str, source: bytes | None = None) -> bool:
    """Whether both sides show source (by default the user's own picture), AD within the sync limit."""
    source = source or picture(USERS.index(user))
    in_ad, in_cloud = directory.photo(user), graph.stored(user)
    return bool(in_ad and in_cloud and len(in_ad) <= SYNC_LIMIT and _image.compare(in_ad, source).same
                and _image.compare(in_cloud, source).same)


def module_defaults(graph: Sandbox) -> dict:
    return dict(graph.defaults(), **{"group/m365.photos.ldap": dict(
        server=sandbox_setting("SANDBOX_LDAP_HOST"), port=int(sandbox_setting("SANDBOX_LDAP_PORT")),
        ca_file=sandbox_setting("SANDBOX_LDAP_CA_FILE"), bind_dn=sandbox_setting("SANDBOX_LDAP_BIND_DN"),
        bind_password=sandbox_setting("SANDBOX_LDAP_BIND_PASSWORD"))})


def test_a_folder_is_written_its_unmatched_files_reported_not_fatal_and_a_second_run_changes_nothing(sides, tmp_path):
    directory, graph = sides
    clear(directory, graph)
    known = USERS[:4]
    folder = photo_folder(str(tmp_path / "photos"), known, "ghost@%s.jpg" % DOMAIN, "Alice Smith.png")
    tasks = [{"m365.photos.ad_thumbnail_photo": dict(photos_from=dict(path=folder, key="upn"))},
             {"m365.photos.exchange_online_photo": dict(photos_from=dict(path=folder, key="upn"))}]

    ad, cloud = run_tasks(tasks, module_defaults=module_defaults(graph))
    for outcome, key in ((ad, "identity"), (cloud, "user")):
        assert not outcome.failed and outcome.changed, outcome.result
        assert [result[key] for result in outcome.result["results"]] == known
        unmatched = {os.path.basename(item["file"]): item["why"] for item in outcome.result["unmatched"]}
        assert sorted(unmatched) == ["Alice Smith.png", "ghost@%s.jpg" % DOMAIN], unmatched
        assert "not a user principal name" in unmatched["Alice Smith.png"]
        assert "ghost@%s" % DOMAIN in unmatched["ghost@%s.jpg" % DOMAIN]
        assert any("map to no user" in warning for warning in outcome.result["warnings"]), outcome.result
    assert all(holds_the_picture(directory, graph, user) for user in known)
    assert not any(directory.photo(user) or graph.stored(user) for user in USERS[4:])

    again = run_tasks(tasks, module_defaults=module_defaults(graph))
    assert [outcome.changed for outcome in again] == [False, False], [outcome.result["summary"] for outcome in again]
    assert all(outcome.result["summary"]["unmatched"] == 2 for outcome in again)

    # One photo replaced in the folder, and results listing only what changed: the summary still counts everyone.
    new_picture = picture(len(USERS) + 2)
    with open(os.path.join(folder, "%s.jpg" % known[1]), "wb") as handle:
        handle.write(new_picture)
    for task in tasks:
        next(iter(task.values()))["return_unchanged"] = False
    for outcome, key in zip(run_tasks(tasks, module_defaults=module_defaults(graph)), ("identity", "user")):
        assert not outcome.failed and outcome.changed, outcome.result
        assert [(result[key], result["changed"]) for result in outcome.result["results"]] == [(known[1], True)]
        assert outcome.result["summary"] == dict(entries=4, changed=1, unchanged=3, failed=0, unmatched=2)
    assert holds_the_picture(directory, graph, known[1], new_picture)
    assert all(holds_the_picture(directory, graph, user) for user in known if user != known[1])


def test_ad_files_named_by_sam_account_name_or_object_id_reach_their_users(sides, tmp_path):
    directory, graph = sides
    clear(directory, graph)
    by_name, by_guid = USERS[4], USERS[5]
    directory.connection.search(directory.dn(by_guid), "(objectClass=user)", search_scope="BASE", attributes=["objectGUID"])
    guid = directory.connection.entries[0].objectGUID.value.strip("{}")
    folders = {}
    for key, user, stem in (("sam_account_name", by_name, directory.names[by_name]), ("object_id", by_guid, guid)):
        folders[key] = str(tmp_path / key)
        os.makedirs(folders[key])
        with open(os.path.join(folders[key], "%s.JPG" % stem), "wb") as handle:
            handle.write(picture(USERS.index(user)))
    outcomes = run_tasks([{"m365.photos.ad_thumbnail_photo": dict(photos_from=dict(path=folders[key], key=key))}
                          for key in ("sam_account_name", "object_id")], module_defaults=module_defaults(graph))
    assert all(not outcome.failed and outcome.result["summary"]["changed"] == 1 for outcome in outcomes), outcomes
    for user in (by_name, by_guid):
        assert _image.compare(directory.photo(user), picture(USERS.index(user))).same, user


def test_a_missing_folder_fails_with_one_sentence_and_writes_nothing(sides, tmp_path):
    directory, graph = sides
    clear(directory, graph)
    outcome = run_tasks([{"m365.photos.exchange_online_photo": dict(photos_from=dict(path=str(tmp_path / "nowhere")))}],
                        module_defaults=module_defaults(graph))[0]
    assert outcome.failed and "does not exist on the host running the module" in outcome.msg, outcome.msg
    assert "Traceback" not in outcome.stdout and not any(graph.stored(user) for user in USERS)


@pytest.mark.parametrize("count", [2, 4])
def test_shard_hosts_of_one_tenant_cover_every_user_once_and_the_report_merges_them(sides, tmp_path, count):
    directory, graph = sides
    clear(directory, graph)
    workdir = str(tmp_path)
    with_photo, without_photo = USERS[:-1], USERS[-1]
    photo_folder(os.path.join(workdir, "photos"), with_photo, "ghost@%s.jpg" % DOMAIN, "not a upn.jpg",
                 "someone@other.example.jpg")
    hosts = {"contoso-%d" % index: dict(photo_sync_tenant="contoso", photo_sync_domains=[DOMAIN], photo_sync_users=USERS,
                                        photo_sync_shard=dict(index=index, count=count)) for index in range(count)}

    report = run_role_hosts(workdir, graph, "first", hosts)
    assert list(report["tenants"]) == ["contoso"] and report["totals"]["tenants"] == 1
    sides_of_contoso = report["tenants"]["contoso"]["sides"]
    for side, key in (("ad", "identity"), ("cloud", "user")):
        names = sorted(entry[key] for entry in sides_of_contoso[side]["entries"])
        assert names == with_photo, (side, names)  # every user exactly once over the shards
        assert sides_of_contoso[side]["summary"] == dict(entries=len(with_photo), changed=len(with_photo), unchanged=0,
                                                         failed=0)
    assert all(holds_the_picture(directory, graph, user) for user in with_photo)
    assert not directory.photo(without_photo) and not graph.stored(without_photo)
    audit = report["tenants"]["contoso"]["audit"]
    unmatched = sorted((finding["user"], finding["detail"].split(" ")[0]) for finding in audit
                       if finding["finding"] == "photo_file_unmatched")
    assert unmatched == [("ghost@%s" % DOMAIN, "ad"), ("ghost@%s" % DOMAIN, "cloud"), ("not a upn", "ad"), ("not a upn", "cloud")]
    # Each finding about a user comes from the one shard that owns the user, not from every host of the tenant.
    assert [finding["user"] for finding in audit if finding["finding"] == "no_photo_anywhere"] == [without_photo], audit

    # The second run's modules return only what they changed (nothing): the report counts every user all the same.
    second = run_role_hosts(workdir, graph, "second", {host: dict(settings, photo_sync_return_unchanged=False)
                                                       for host, settings in hosts.items()})
    for side in ("ad", "cloud"):
        assert second["tenants"]["contoso"]["sides"][side]["summary"] == dict(
            entries=len(with_photo), changed=0, unchanged=len(with_photo), failed=0), second["tenants"]["contoso"]
        assert second["tenants"]["contoso"]["sides"][side]["entries"] == []


def test_a_shard_outside_its_count_stops_the_role_before_anything_is_written(sides, tmp_path):
    directory, graph = sides
    clear(directory, graph)
    photo_folder(str(tmp_path / "photos"), USERS[:2])
    run_role_hosts(str(tmp_path), graph, "bad", {"contoso": dict(photo_sync_shard=dict(index=2, count=2))}, fails=True)
    assert not any(directory.photo(user) or graph.stored(user) for user in USERS)


def test_the_photo_map_wins_over_the_folder_and_users_without_a_file_get_the_default_photo(sides, tmp_path):
    directory, graph = sides
    clear(directory, graph)
    workdir = str(tmp_path)
    photo_folder(os.path.join(workdir, "photos"), USERS[:3])
    extra = {}
    for name, number in (("mapped-0.jpg", 7), ("mapped-3.jpg", 3), ("default.jpg", 8)):
        extra[name] = os.path.join(workdir, name)
        with open(extra[name], "wb") as handle:
            handle.write(picture(number))
    variables = dict(photo_sync_tenant="contoso", photo_sync_users=USERS[:6], photo_sync_missing="default",
                     photo_sync_default_photo=extra["default.jpg"],
                     photo_sync_photo_map={USERS[0]: extra["mapped-0.jpg"], USERS[3]: extra["mapped-3.jpg"]})
    hosts = {"contoso-%d" % index: dict(variables, photo_sync_shard=dict(index=index, count=2)) for index in range(2)}

    report = run_role_hosts(workdir, graph, "first", hosts)
    assert holds_the_picture(directory, graph, USERS[0], picture(7)), "the map's file wins over the folder's"
    assert all(holds_the_picture(directory, graph, user) for user in USERS[1:4])
    assert all(holds_the_picture(directory, graph, user, picture(8)) for user in USERS[4:6])
    assert not any(directory.photo(user) or graph.stored(user) for user in USERS[6:])
    for side, key in (("ad", "identity"), ("cloud", "user")):
        assert sorted(entry[key] for entry in report["tenants"]["contoso"]["sides"][side]["entries"]) == USERS[:6]
