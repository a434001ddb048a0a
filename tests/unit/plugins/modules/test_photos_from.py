"""photos_from and shard in both photo modules' main(), with fake backends: a folder converged like photos entries."""

from __future__ import annotations

import base64

import pytest
from ansible.module_utils import basic

from ansible_collections.m365.photos.plugins.module_utils import _graph_backend, _ldap_backend, _shard
from ansible_collections.m365.photos.plugins.modules import ad_thumbnail_photo, exchange_online_photo

from fakes import FakeBackend
from module_runner import run_module
from photo_models import jpeg, portrait

LDAP = dict(server="dc1.test.example", bind_dn="CN=svc,DC=test,DC=example", bind_password="secret-never-shown")
GRAPH = dict(tenant_id="contoso.onmicrosoft.com", client_id="11111111-2222-3333-4444-555555555555",
             client_secret="abc8Q~never-shown")
USERS = ["alice@x.example", "bob@x.example", "carol@x.example"]
# (module, its connection options, its user option, the backend module whose opened() the fake replaces)
MODULES = {"ad": (ad_thumbnail_photo, LDAP, "identity", _ldap_backend),
           "graph": (exchange_online_photo, GRAPH, "user", _graph_backend)}


@pytest.fixture(name="side", params=sorted(MODULES))
def a_side(request, monkeypatch):
    module, connection, key, backend_module = MODULES[request.param]
    backend = FakeBackend(USERS, graph=request.param == "graph", key=key,
                          ref_field="dn" if key == "identity" else "user_id")
    monkeypatch.setattr(backend_module, "opened", backend.opener())

    def run(check_mode=False, **args):
        return run_module(monkeypatch, module, dict(connection, **args), check_mode)
    return backend, key, run


@pytest.fixture(name="folder")
def photo_folder(tmp_path):
    for number, name in enumerate(USERS + ["ghost@x.example", "carol.smith"]):
        (tmp_path / ("%s.jpg" % name)).write_bytes(jpeg(portrait(300 + number * 40, 300 + number * 40), 90))
    return tmp_path


def test_the_folder_is_written_the_unmatched_files_reported_and_a_second_run_changes_nothing(side, folder, monkeypatch):
    backend, key, run = side
    warnings = []
    monkeypatch.setattr(basic.AnsibleModule, "warn", lambda self, warning: warnings.append(warning))
    first = run(photos_from=dict(path=str(folder)))
    assert not first.failed, first.result
    assert [result[key] for result in first.result["results"]] == USERS and first.result["changed"]
    assert sorted(backend.photos) == ["ref-%s" % user for user in USERS]
    assert [(item[key], item["file"]) for item in first.result["unmatched"]] == [
        ("carol.smith", str(folder / "carol.smith.jpg")), ("ghost@x.example", str(folder / "ghost@x.example.jpg"))]
    assert "not a user principal name" in first.result["unmatched"][0]["why"]
    assert "ghost@x.example" in first.result["unmatched"][1]["why"]
    assert first.result["summary"] == dict(entries=3, changed=3, unchanged=0, failed=0, unmatched=2)
    assert "2 photo files map to no user" in " ".join(warnings)
    second = run(photos_from=dict(path=str(folder)))
    assert not second.failed and not second.result["changed"] and len(second.result["unmatched"]) == 2


def test_check_mode_lists_and_decides_the_folder_and_writes_nothing(side, folder):
    backend, _key, run = side
    outcome = run(check_mode=True, photos_from=dict(path=str(folder)))
    assert outcome.result["summary"]["changed"] == 3 and not backend.photos


def test_a_photos_entry_wins_over_the_folder_and_unknown_users_there_still_fail(side, folder):
    backend, key, run = side
    backend.photos["ref-alice@x.example"] = jpeg(portrait(200, 200), 90)
    outcome = run(photos_from=dict(path=str(folder)),
                  photos=[{key: "Alice@x.example", "state": "absent"}, {key: "nobody@x.example", "state": "absent"}])
    assert outcome.failed and "1 of 4 photos failed (nobody@x.example)" in outcome.result["msg"]
    assert [(result[key], result["state"]) for result in outcome.result["results"]] == [
        ("bob@x.example", "present"), ("carol@x.example", "present"), ("Alice@x.example", "absent"),
        ("nobody@x.example", "absent")]
    assert "ref-alice@x.example" not in backend.photos and "ref-bob@x.example" in backend.photos


def test_the_task_state_applies_to_the_whole_folder(side, folder):
    backend, _key, run = side
    run(photos_from=dict(path=str(folder)))
    outcome = run(photos_from=dict(path=str(folder)), state="absent")
    assert outcome.result["summary"]["changed"] == 3 and not backend.photos


@pytest.mark.parametrize("args, message", [
    (dict(photos_from=dict(path="/nonexistent/photos")), "does not exist on the host running the module"),
    (dict(photos_from=dict(path="{folder}"), src="/a.jpg"), "mutually exclusive"),
    (dict(photos_from=dict(path="{folder}"), shard=dict(index=2, count=2)), "shard.index must be between 0 and"),
    (dict(photos_from=dict(path="{folder}", key="object_id", domains=["x.example"])), "needs photos_from.key=upn"),
])
def test_arguments_that_cannot_work_fail_with_a_sentence_before_anything_is_sent(side, folder, args, message):
    backend, _key, run = side
    if "path" in args.get("photos_from", {}):
        args["photos_from"]["path"] = args["photos_from"]["path"].format(folder=folder)
    outcome = run(**args)
    assert outcome.failed and message in outcome.result["msg"] and not backend.calls


def test_two_files_for_one_user_fail_naming_both_and_nothing_is_written(side, folder):
    backend, _key, run = side
    (folder / "Bob@x.example.PNG").write_bytes((folder / "bob@x.example.jpg").read_bytes())
    outcome = run(photos_from=dict(path=str(folder)))
    assert outcome.failed and "Bob@x.example.PNG and bob@x.example.jpg" in outcome.result["msg"]
    assert not backend.calls and not backend.photos


def test_sam_account_names_are_a_key_of_ad_only(monkeypatch, folder):
    outcome = run_module(monkeypatch, exchange_online_photo,
                         dict(GRAPH, photos_from=dict(path=str(folder), key="sam_account_name")))
    assert outcome.failed and "value of key must be one of: upn, object_id" in outcome.result["msg"]


def test_shards_of_one_folder_write_every_user_exactly_once(side, tmp_path):
    backend, key, run = side
    users = ["user%04d@x.example" % number for number in range(40)]
    backend.refs = {user: "ref-%s" % user for user in users}
    photo = jpeg(portrait(120, 120), 90)
    for user in users:
        (tmp_path / ("%s.jpg" % user)).write_bytes(photo)
    converged = []
    for index in range(4):
        outcome = run(photos_from=dict(path=str(tmp_path)), shard=dict(index=index, count=4))
        assert not outcome.failed
        converged += [result[key] for result in outcome.result["results"]]
        assert all(_shard.shard_of(result[key], 4) == index for result in outcome.result["results"])
    assert sorted(converged) == users and len(backend.photos) == 40
    assert sum(1 for call in backend.calls if call[0] == "write") == 40


def test_a_shard_leaves_out_the_photos_entries_of_other_shards(side):
    backend, key, run = side
    content = jpeg(portrait(120, 120), 90)
    entries = [{key: user, "content": base64.b64encode(content).decode()} for user in USERS]
    seen = []
    for index in range(2):
        seen += [result[key] for result in run(photos=entries, shard=dict(index=index, count=2)).result["results"]]
    assert sorted(seen) == USERS and len(backend.photos) == 3
