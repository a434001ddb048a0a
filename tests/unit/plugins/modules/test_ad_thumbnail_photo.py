"""ad_thumbnail_photo's main() with a fake directory: arguments, check mode, diff, per-entry failures."""

from __future__ import annotations

import base64

import pytest

from ansible_collections.m365.photos.plugins.module_utils import _ldap_backend
from ansible_collections.m365.photos.plugins.modules import ad_thumbnail_photo

from fakes import FakeBackend
from module_runner import run_module
from photo_models import jpeg, portrait

CONNECTION = dict(server="dc1.test.example", bind_dn="CN=svc,DC=test,DC=example", bind_password="secret-never-shown")
CONTENT = base64.b64encode(jpeg(portrait(), 95)).decode()


@pytest.fixture(name="directory")
def fake_directory(monkeypatch) -> FakeBackend:
    backend = FakeBackend(["alice", "bob"])
    monkeypatch.setattr(_ldap_backend, "opened", backend.opener())
    return backend


def run(monkeypatch, check_mode=False, **args):
    return run_module(monkeypatch, ad_thumbnail_photo, dict(CONNECTION, **args), check_mode)


def test_one_user_gets_a_photo_within_10_kb_then_nothing_changes(monkeypatch, directory):
    first = run(monkeypatch, identity="alice", content=CONTENT)
    assert not first.failed and first.result["changed"] and first.result["dn"] == "ref-alice"
    assert first.result["after"]["bytes"] <= 10240 and first.result["diff"]["before"] == {}
    assert directory.photos["ref-alice"] and "bind_password" not in str(first.result)
    second = run(monkeypatch, identity="alice", content=CONTENT)
    assert not second.result["changed"] and second.result["reason"] == "the current photo shows the same picture"


def test_check_mode_reports_the_change_and_writes_nothing(monkeypatch, directory):
    outcome = run(monkeypatch, check_mode=True, identity="alice", content=CONTENT)
    assert outcome.result["changed"] and outcome.result["after"]["format"] == "JPEG"
    assert not directory.photos


def test_a_corrupt_source_fails_before_the_directory_is_opened(monkeypatch, directory):
    outcome = run(monkeypatch, identity="alice", content=base64.b64encode(b"not a picture").decode())
    assert outcome.failed and "not" in outcome.result["msg"] and not directory.calls


@pytest.mark.parametrize("args, message", [
    (dict(identity="alice", content=CONTENT, max_bytes=102401), "max_bytes must be between 1 and 102400"),
    (dict(identity="alice"), "state=present needs src or content"),
    (dict(photos=[dict(identity="alice")]), "photos entry 1 (alice): state=present needs src or content"),
    (dict(identity="alice", content=CONTENT, concurrency=0), "concurrency must be at least 1"),
    (dict(identity="alice", content=CONTENT, backup=True), "backup is True but all of the following are missing: backup_dir"),
    (dict(identity="alice", content=CONTENT, backup=True, backup_dir="/tmp", backup_keep=0),
     "backup_keep must be at least 1"),
])
def test_arguments_that_cannot_work_fail_with_a_sentence(monkeypatch, directory, args, message):
    outcome = run(monkeypatch, **args)
    assert outcome.failed and message in outcome.result["msg"] and not directory.calls


def test_bulk_reports_every_entry_and_fails_at_the_end_naming_the_failures(monkeypatch, directory):
    outcome = run(monkeypatch, photos=[dict(identity="alice", content=CONTENT), dict(identity="nobody", content=CONTENT),
                                       dict(identity="bob", state="absent")])
    assert outcome.failed and "1 of 3 photos failed (nobody)" in outcome.result["msg"]
    assert outcome.result["summary"] == dict(entries=3, changed=1, unchanged=1, failed=1)
    assert [result["identity"] for result in outcome.result["results"]] == ["alice", "nobody", "bob"]
    assert "ref-alice" in directory.photos


def test_thumbnails_are_returned_for_one_user_too(monkeypatch, directory):
    outcome = run(monkeypatch, identity="alice", content=CONTENT, return_thumbnails=True)
    assert outcome.result["after_thumbnail"] and outcome.result["before_thumbnail"] is None


def test_one_user_names_the_backup_of_the_photo_it_replaced(monkeypatch, directory, tmp_path):
    directory.photos["ref-alice"] = b"an old photo AD held"
    outcome = run(monkeypatch, identity="alice", content=CONTENT, backup=True, backup_dir=str(tmp_path))
    assert outcome.result["changed"] and outcome.result["backup_file"].startswith(str(tmp_path / "fake.example" / "alice"))
    with open(outcome.result["backup_file"], "rb") as handle:
        assert handle.read() == b"an old photo AD held"
