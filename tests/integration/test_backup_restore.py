"""Backups and restore through the photo_sync role, on both sides at once: a run that replaces 50 photos per side
keeps 100 backups, restoring that run brings every previous picture back, a second restore changes nothing.

The users are this file's own: 50 in OU=BackupTest of the sandbox DC (removed afterwards) with the UPN suffix
backup.example, and the same 50 in a private Graph emulator whose contoso tenant has that domain.
"""

from __future__ import annotations

import io
import json
import os

import pytest
from PIL import Image, ImageDraw

from ansible_collections.m365.photos.plugins.module_utils import _image

from ad_users import OwnUsers
from graph_sandbox import Sandbox, start_emulator
from photo_fixtures import fixture_bytes, jpeg
from role_runner import run_role

COUNT = 50
DOMAIN = "backup.example"
USERS = ["user%04d@%s" % (number, DOMAIN) for number in range(1, COUNT + 1)]
PICTURES = ("astronaut.png", "camera.png", "chelsea.png", "coffee.jpg", "rocket.jpg")


def old_picture(number: int) -> Image.Image:
    """A distinct picture per user: one of five photos, turned one of four ways, one of three crops."""
    image = Image.open(io.BytesIO(fixture_bytes(PICTURES[number % 5]))).convert("RGB")
    image = image.rotate(90 * ((number // 5) % 4), expand=True)
    side = min(image.size)
    offset = ((number // 20) % 3) * (max(image.size) - side) // 2
    box = (offset, 0, offset + side, side) if image.width >= image.height else (0, offset, side, offset + side)
    return image.crop(box).resize((240, 240))


def new_picture(number: int) -> Image.Image:
    """What the bad run brings: rings of a user's own colour, like no photo of a person."""
    image = Image.new("RGB", (480, 480), (250, 250, 250))
    draw = ImageDraw.Draw(image)
    for ring in range(0, 240, 30):
        draw.ellipse((ring, ring, 479 - ring, 479 - ring), fill=((number * 37 + ring) % 256, ring, 255 - ring))
    return image


@pytest.fixture(name="sides", scope="module")
def both_sides(tmp_path_factory):
    emulator = start_emulator(str(tmp_path_factory.mktemp("graph-backup")),
                              extra_args=("--domain", DOMAIN, "--users", str(COUNT)))
    directory = OwnUsers("BackupTest", USERS)
    directory.create()
    yield directory, Sandbox(emulator)
    directory.remove()
    emulator.stop()


def backups_under(folder: str) -> list:
    return sorted(os.path.join(path, name) for path, _folders, names in os.walk(folder) for name in names)


def test_a_bad_run_is_backed_up_and_restored_on_both_sides(sides, tmp_path):
    directory, graph = sides
    workdir = str(tmp_path)
    os.makedirs(os.path.join(workdir, "photos"))
    before_ad, before_cloud = {}, {}
    for number, user in enumerate(USERS, start=1):
        directory.set(user, jpeg(old_picture(number).resize((160, 160)), quality=80))
        graph.store(user, jpeg(old_picture(number), quality=85))
        before_ad[user], before_cloud[user] = directory.photo(user), graph.stored(user)
        with open(os.path.join(workdir, "photos", user + ".jpg"), "wb") as handle:
            handle.write(jpeg(new_picture(number)))
    backup_dir = os.path.join(workdir, "reports", "backups")

    # Check mode plans the bad run and keeps nothing.
    run_role(workdir, graph, "planned", check=True)
    assert not os.path.exists(backup_dir)
    assert all(directory.photo(user) == before_ad[user] and graph.stored(user) == before_cloud[user] for user in USERS)

    bad = run_role(workdir, graph, "bad-run")
    assert bad["ad"]["summary"]["changed"] == COUNT and bad["cloud"]["summary"]["changed"] == COUNT, bad
    backups = backups_under(backup_dir)
    assert len(backups) == 2 * COUNT
    for side, before in (("ad", before_ad), ("cloud", before_cloud)):
        for entry in bad[side]["entries"]:
            user = entry.get("identity") or entry.get("user")
            assert entry["backup_file"] in backups and oct(os.stat(entry["backup_file"]).st_mode & 0o777) == "0o600"
            with open(entry["backup_file"], "rb") as handle:
                kept = handle.read()
            if side == "ad":
                assert kept == before[user], user  # AD: the exact bytes it held
            else:
                assert _image.compare(kept, before[user]).same, user  # the cloud: its largest size
    assert all(_image.compare(directory.photo(user), jpeg(new_picture(number))).same
               for number, user in enumerate(USERS, start=1))

    restored = run_role(workdir, graph, "restore-1", photo_sync_restore="bad-run")
    assert restored["ad"]["summary"]["changed"] == COUNT and restored["cloud"]["summary"]["changed"] == COUNT
    for number, user in enumerate(USERS, start=1):
        new = jpeg(new_picture(number))
        for now, before in ((directory.photo(user), before_ad[user]), (graph.stored(user), before_cloud[user])):
            assert _image.compare(now, before).same and not _image.compare(now, new).same, user

    again = run_role(workdir, graph, "restore-2", photo_sync_restore="bad-run")
    assert again["ad"]["summary"]["changed"] == 0 and again["cloud"]["summary"]["changed"] == 0, again
    assert len(backups_under(backup_dir)) == 4 * COUNT  # the restore kept what it replaced, the second one nothing


def test_no_writable_backup_folder_means_no_write(sides, tmp_path):
    directory, graph = sides
    workdir = str(tmp_path)
    os.makedirs(os.path.join(workdir, "photos"))
    users = USERS[:3]
    held = {}
    for number, user in enumerate(users, start=1):
        directory.set(user, jpeg(old_picture(number).resize((160, 160))))
        graph.store(user, jpeg(old_picture(number)))
        held[user] = (directory.photo(user), graph.stored(user))
        with open(os.path.join(workdir, "photos", user + ".jpg"), "wb") as handle:
            handle.write(jpeg(new_picture(number)))
    blocked = os.path.join(workdir, "not-a-folder")
    with open(blocked, "w", encoding="utf-8") as handle:
        handle.write("a file where the backup folder should be")
    report = run_role(workdir, graph, "blocked", fails=True, photo_sync_backup_dir=blocked)
    for side in ("ad", "cloud"):
        entries = [entry for entry in report[side]["entries"] if (entry.get("identity") or entry.get("user")) in users]
        assert len(entries) == 3 and all(entry["failed"] and "backup" in entry["msg"] for entry in entries), entries
    assert all((directory.photo(user), graph.stored(user)) == held[user] for user in users)


def test_a_restore_names_the_photos_its_run_replaced_without_a_backup(sides, tmp_path):
    directory, graph = sides
    workdir = str(tmp_path)
    os.makedirs(os.path.join(workdir, "photos"))
    users = USERS[3:5]
    for number, user in enumerate(users, start=4):
        directory.set(user, jpeg(old_picture(number).resize((160, 160))))
        graph.store(user, jpeg(old_picture(number)))
        with open(os.path.join(workdir, "photos", user + ".jpg"), "wb") as handle:
            handle.write(jpeg(new_picture(number)))
    unsafe = run_role(workdir, graph, "no-backups", photo_sync_backup=False)
    assert all(entry["changed"] and not entry.get("backup_file") for side in ("ad", "cloud")
               for entry in unsafe[side]["entries"] if (entry.get("identity") or entry.get("user")) in users), unsafe
    now = {user: (directory.photo(user), graph.stored(user)) for user in users}

    run_role(workdir, graph, "undo", photo_sync_restore="no-backups")
    with open(os.path.join(workdir, "reports", "undo", "report.json"), encoding="utf-8") as handle:
        audit = json.load(handle)["audit"]
    lost = sorted((finding["user"], finding["detail"].split()[-5]) for finding in audit if finding["finding"] == "no_backup")
    assert lost == sorted((user, side) for user in users for side in ("ad", "cloud")), audit
    assert {user: (directory.photo(user), graph.stored(user)) for user in users} == now  # nothing to bring back
