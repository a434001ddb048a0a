"""photos_from's folder listing and key shapes, and the shards users are split into."""

from __future__ import annotations

import json
import os
import random
import string
import subprocess
import sys

import pytest

from ansible_collections.m365.photos.plugins.module_utils import _photo_folder, _shard
from ansible_collections.m365.photos.plugins.module_utils._converge import Entry
from ansible_collections.m365.photos.plugins.module_utils._errors import PhotoError

GUID = "7c3a3f0e-6a43-4a55-9f0b-3f2c1d9a8b11"


def params(path, key="upn", domains=None, shard=None, state="present", overwrite="different"):
    return dict(photos_from=dict(path=str(path), key=key, domains=domains), shard=shard, state=state, overwrite=overwrite)


def touch(folder, *names):
    for name in names:
        (folder / name).write_bytes(b"not read by the listing")


def test_the_listing_takes_photo_files_of_any_case_sorted_and_skips_the_rest(tmp_path):
    touch(tmp_path, "b@x.example.JPG", "a@x.example.png", "c@x.example.TiFf", ".hidden@x.example.jpg", "notes.txt",
          "d@x.example")
    (tmp_path / "sub.jpg").mkdir()
    touch(tmp_path / "sub.jpg", "e@x.example.jpg")
    listed = _photo_folder.photo_files(str(tmp_path))
    assert listed == [("a@x.example", str(tmp_path / "a@x.example.png")), ("b@x.example", str(tmp_path / "b@x.example.JPG")),
                      ("c@x.example", str(tmp_path / "c@x.example.TiFf"))]


def test_every_extension_the_role_finds_is_listed(tmp_path):
    touch(tmp_path, *("u%d@x.example%s" % (number, extension) for number, extension in enumerate(_photo_folder.PHOTO_EXTENSIONS)))
    assert len(_photo_folder.photo_files(str(tmp_path))) == len(_photo_folder.PHOTO_EXTENSIONS) == 8


@pytest.mark.parametrize("make, message", [
    (lambda path: path / "missing", "does not exist on the host running the module"),
    (lambda path: path, "holds no photo file"),
    (lambda path: (path / "a.jpg").write_bytes(b"x") and path / "a.jpg", "is a file, not a folder"),
])
def test_a_folder_that_gives_no_photos_is_one_clear_error(tmp_path, make, message):
    with pytest.raises(PhotoError, match=message):
        _photo_folder.photo_files(str(make(tmp_path)))


@pytest.mark.parametrize("stem, key, fits", [
    ("alice@corp.example.com", "upn", True),
    ("alice", "upn", False),
    (GUID, "upn", False),
    ("al ice@corp.example.com", "upn", False),
    (GUID, "object_id", True),
    (GUID.upper(), "object_id", True),
    ("alice@corp.example.com", "object_id", False),
    ("7c3a3f0e-6a43", "object_id", False),
    ("alice", "sam_account_name", True),
    ("alice.smith-2", "sam_account_name", True),
    ("alice@corp.example.com", "sam_account_name", False),
    ("a" * 21, "sam_account_name", False),
    ("cn=alice,dc=x", "sam_account_name", False),
    ("alice smith", "sam_account_name", False),
])
def test_a_file_name_must_have_the_shape_of_its_key(stem, key, fits):
    assert (_photo_folder.key_problem(stem, key) is None) == fits


def test_badly_named_files_are_unmatched_and_the_others_become_entries(tmp_path):
    touch(tmp_path, "alice@x.example.jpg", "alice.smith.jpg", "bob@x.example.png")
    folder = _photo_folder.listed(params(tmp_path, overwrite="always"), "user")
    assert [(entry.name, entry.src, entry.overwrite) for entry in folder.entries] == [
        ("alice@x.example", str(tmp_path / "alice@x.example.jpg"), "always"),
        ("bob@x.example", str(tmp_path / "bob@x.example.png"), "always")]
    assert folder.unmatched == [{"file": str(tmp_path / "alice.smith.jpg"), "user": "alice.smith",
                                 "why": "the file name is not a user principal name (alice@corp.example.com)"}]


def test_two_files_for_one_user_fail_naming_both(tmp_path):
    touch(tmp_path, "alice@x.example.jpg", "Alice@x.example.png")
    with pytest.raises(PhotoError, match="for the user .*Alice@x.example.png and alice@x.example.jpg"):
        _photo_folder.listed(params(tmp_path), "identity")


def test_domains_leave_out_other_tenants_files_without_a_word(tmp_path):
    touch(tmp_path, "alice@corp.example.jpg", "bob@other.example.jpg", "carol@CORP.example.png")
    folder = _photo_folder.listed(params(tmp_path, domains=["Corp.Example"]), "user")
    assert [entry.name for entry in folder.entries] == ["alice@corp.example", "carol@CORP.example"]
    assert not folder.unmatched
    with pytest.raises(PhotoError, match="needs photos_from.key=upn"):
        _photo_folder.listed(params(tmp_path, key="object_id", domains=["corp.example"]), "user")


def test_a_photos_entry_wins_over_the_folder_file_of_the_same_user(tmp_path):
    touch(tmp_path, "alice@x.example.jpg", "bob@x.example.jpg")
    folder = _photo_folder.listed(params(tmp_path), "user")
    entries = folder.run_entries([Entry(name="ALICE@x.example", state="absent"), Entry(name="dave@x.example", src="/d.jpg")])
    assert [(entry.name, entry.state) for entry in entries] == [
        ("bob@x.example", "present"), ("ALICE@x.example", "absent"), ("dave@x.example", "present")]
    assert list(folder.files) == ["bob@x.example"]


def test_unknown_users_of_the_folder_are_moved_to_unmatched_and_others_stay_failures(tmp_path):
    touch(tmp_path, "ghost@x.example.jpg", "zed.jpg")
    folder = _photo_folder.listed(params(tmp_path), "user")
    folder.run_entries([Entry(name="nobody@x.example", src="/n.jpg")])
    results = [dict(user="ghost@x.example", msg="No user 'ghost@x.example'", failed=True, unknown_user=True),
               dict(user="nobody@x.example", msg="No user 'nobody@x.example'", failed=True, unknown_user=True)]
    kept = _photo_folder.without_unknown_users(results, folder)
    assert kept == [dict(user="nobody@x.example", msg="No user 'nobody@x.example'", failed=True)]
    assert folder.unmatched == [  # in the order of the file names, whatever found them
        {"file": str(tmp_path / "ghost@x.example.jpg"), "user": "ghost@x.example", "why": "No user 'ghost@x.example'"},
        {"file": str(tmp_path / "zed.jpg"), "user": "zed", "why": _photo_folder.key_problem("zed", "upn")}]


def random_names(count: int, seed: int) -> list:
    generator = random.Random(seed)
    return ["%s%s@%s.example" % (generator.choice(string.ascii_lowercase),
                                 "".join(generator.choices(string.ascii_lowercase + ".-_", k=generator.randint(0, 12))),
                                 generator.choice(["corp", "contoso", "x"])) for _number in range(count)]


@pytest.mark.parametrize("count", [1, 2, 3, 4, 7])
def test_n_shards_cover_every_user_exactly_once(count):
    names = sorted(set(random_names(2000, seed=count)))
    shards = [[name for name in names if _shard.in_shard(name, dict(index=index, count=count))] for index in range(count)]
    assert sorted(name for shard in shards for name in shard) == names
    assert all(len(shard) > len(names) / count * 0.8 for shard in shards)  # spread evenly, not all in one


def test_a_users_shard_ignores_case_and_is_the_same_in_another_process():
    names = random_names(50, seed=99)
    here = [_shard.shard_of(name, 4) for name in names]
    assert here == [_shard.shard_of(name.upper(), 4) for name in names]
    program = ("import json, sys; from ansible_collections.m365.photos.plugins.module_utils._shard import shard_of; "
               "print(json.dumps([shard_of(name, 4) for name in json.loads(sys.argv[1])]))")
    # The collections root of the code under test, as the child's path: ansible-test units does not export it.
    collections_root = os.path.abspath(os.path.join(os.path.dirname(_shard.__file__), *[os.pardir] * 5))
    environment = dict(os.environ, PYTHONHASHSEED="12345",
                       PYTHONPATH=os.pathsep.join([collections_root] + os.environ.get("PYTHONPATH", "").split(os.pathsep)))
    there = subprocess.run([sys.executable, "-c", program, json.dumps(names)], capture_output=True, text=True,
                           check=True, env=environment).stdout
    assert json.loads(there) == here


@pytest.mark.parametrize("shard, message", [
    (dict(index=4, count=4), "between 0 and shard.count - 1 \\(3\\), not 4"),
    (dict(index=-1, count=4), "not -1"),
    (dict(index=0, count=0), "shard.count must be at least 1"),
])
def test_a_shard_outside_its_count_is_refused(shard, message):
    with pytest.raises(PhotoError, match=message):
        _shard.check_shard(shard)


def test_the_folder_files_of_other_shards_are_left_out_even_when_badly_named(tmp_path):
    names = random_names(40, seed=7) + ["bad-name-%d" % number for number in range(10)]
    touch(tmp_path, *("%s.jpg" % name for name in set(names)))
    seen = []
    for index in range(3):
        folder = _photo_folder.listed(params(tmp_path, shard=dict(index=index, count=3)), "user")
        seen += [entry.name for entry in folder.entries] + [item["user"] for item in folder.unmatched]
    assert sorted(seen) == sorted(set(names))
