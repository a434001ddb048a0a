"""Backups of replaced photos: where they go, how they are written, what is kept, and that no backup means no write."""

from __future__ import annotations

import base64
import datetime
import os
import stat

import pytest

from ansible_collections.m365.photos.plugins.module_utils import _backup, _converge
from ansible_collections.m365.photos.plugins.module_utils._desired import Fitting

from fakes import FakeBackend
from photo_models import jpeg, portrait

FITTING = Fitting(max_bytes=10240)
NEW = jpeg(portrait(), 95)
OLD = jpeg(portrait().rotate(90), 80)
WHEN = datetime.datetime(2026, 12, 2, 14, 30, 12, 123456, tzinfo=datetime.timezone.utc)


def jobs_for(names, state="present"):
    content = None if state == "absent" else base64.b64encode(NEW).decode()
    return [_converge.Job(_converge.Entry(name=name, state=state, content=content)) for name in names]


def converge(backend, jobs, backups, check_mode=False):
    return _converge.run(backend.opener(), jobs, FITTING, check_mode=check_mode, return_thumbnails=False,
                         backups=backups)


def files_under(root) -> list:
    return sorted(os.path.relpath(os.path.join(folder, name), root)
                  for folder, _folders, names in os.walk(root) for name in names)


def test_a_backup_is_named_by_realm_user_and_run_time_and_kept_private(tmp_path):
    path = _backup.Backups(str(tmp_path), keep=5, now=WHEN).write("Corp.Example", "Alice@Corp.Example.com", OLD)
    assert path == str(tmp_path / "corp.example" / "alice@corp.example.com" / "20261202T143012.123456Z.jpg")
    with open(path, "rb") as handle:
        assert handle.read() == OLD
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    for folder in (tmp_path / "corp.example", tmp_path / "corp.example" / "alice@corp.example.com"):
        assert stat.S_IMODE(os.stat(folder).st_mode) == 0o700
    assert files_under(tmp_path) == ["corp.example/alice@corp.example.com/20261202T143012.123456Z.jpg"]


def test_names_that_need_replacing_characters_never_share_a_folder():
    names = ["a b@x", "a_b@x", "a/b@x", "..", "CN=Alice,OU=Staff,DC=corp"]
    folders = [_backup.folder_name(name) for name in names]
    assert len(set(folders)) == len(names)
    assert folders[1] == "a_b@x" and all("/" not in folder and not folder.startswith(".") for folder in folders)


def test_bytes_that_are_no_picture_are_kept_as_they_are():
    assert _backup.extension(b"not a photo") == "bin"
    assert _backup.extension(NEW) == "jpg"


def test_an_existing_backup_is_never_replaced(tmp_path):
    backups = _backup.Backups(str(tmp_path), keep=5, now=WHEN)
    backups.write("realm", "alice", OLD)
    with pytest.raises(FileExistsError):
        backups.write("realm", "alice", NEW)
    with open(backups.path("realm", "alice", "jpg"), "rb") as handle:
        assert handle.read() == OLD


def test_only_the_newest_backups_are_kept_and_only_after_a_new_one_is_written(tmp_path):
    for minute in range(4):
        _backup.Backups(str(tmp_path), keep=2, now=WHEN + datetime.timedelta(minutes=minute)).write("r", "u", OLD)
    stranger = tmp_path / "r" / "u" / "notes.txt"
    stranger.write_text("mine")
    assert files_under(tmp_path / "r" / "u") == ["20261202T143212.123456Z.jpg", "20261202T143312.123456Z.jpg",
                                                 "notes.txt"]


def test_the_engine_backs_up_each_replaced_or_removed_photo_before_writing(tmp_path):
    backend = FakeBackend(["a", "b", "c"], photos={"ref-a": OLD, "ref-b": OLD})
    backups = _backup.Backups(str(tmp_path), keep=5, now=WHEN)
    results = converge(backend, jobs_for(["a", "c"]) + jobs_for(["b"], state="absent"), backups)
    assert [result["changed"] for result in results] == [True, True, True]
    assert results[0]["backup_file"] == backups.path("fake.example", "a", "jpg")
    assert results[1]["backup_file"] is None  # c had no photo: nothing to keep
    assert results[2]["backup_file"] == backups.path("fake.example", "b", "jpg")
    for result in (results[0], results[2]):
        with open(result["backup_file"], "rb") as handle:
            assert handle.read() == OLD
    assert backend.calls.index(("read_originals", 2)) < backend.calls.index(("write", "ref-a"))


def test_a_second_run_writes_no_backup(tmp_path):
    backend = FakeBackend(["a"], photos={"ref-a": OLD})
    converge(backend, jobs_for(["a"]), _backup.Backups(str(tmp_path), keep=5, now=WHEN))
    later = _backup.Backups(str(tmp_path), keep=5, now=WHEN + datetime.timedelta(hours=1))
    result = converge(backend, jobs_for(["a"]), later)[0]
    assert not result["changed"] and result["backup_file"] is None
    assert len(files_under(tmp_path)) == 1


def test_check_mode_names_the_backup_and_writes_nothing(tmp_path):
    backend = FakeBackend(["a"], photos={"ref-a": OLD})
    backups = _backup.Backups(str(tmp_path / "backups"), keep=5, now=WHEN)
    result = converge(backend, jobs_for(["a"]), backups, check_mode=True)[0]
    assert result["changed"] and result["backup_file"] == backups.path("fake.example", "a", "jpg")
    assert not (tmp_path / "backups").exists() and backend.photos["ref-a"] == OLD
    assert ("read_originals", 1) not in backend.calls


def test_no_backup_no_write_when_the_folder_cannot_be_written(tmp_path):
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the folder should be")
    backend = FakeBackend(["a", "b"], photos={"ref-a": OLD, "ref-b": OLD})
    results = converge(backend, jobs_for(["a", "b"]), _backup.Backups(str(blocked), keep=5, now=WHEN))
    assert all(result["failed"] and not result["changed"] for result in results)
    assert "left as it is" in results[0]["msg"] and "backup_dir" in results[0]["msg"]
    assert backend.photos == {"ref-a": OLD, "ref-b": OLD}
    assert not [call for call in backend.calls if call[0] == "write"]


def test_no_backup_no_write_when_the_current_photo_cannot_be_downloaded(tmp_path):
    backend = FakeBackend(["a", "b"], photos={"ref-a": OLD, "ref-b": OLD})
    backend.unreadable.add("ref-a")
    results = converge(backend, jobs_for(["a", "b"]), _backup.Backups(str(tmp_path), keep=5, now=WHEN))
    assert results[0]["failed"] and not results[0]["changed"] and results[0]["backup_file"] is None
    assert results[1]["changed"] and not results[1]["failed"]
    assert backend.photos["ref-a"] == OLD and backend.photos["ref-b"] != OLD
