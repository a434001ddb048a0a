"""The source cache: what a source gave is known on the next run without decoding it, and nothing else is trusted."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import stat
import threading
import time

import pytest

from ansible_collections.m365.photos.plugins.module_utils import _converge, _decision, _image, _source_cache
from ansible_collections.m365.photos.plugins.module_utils._desired import DesiredPhoto, Fitting
from ansible_collections.m365.photos.plugins.module_utils._errors import PhotoError
from ansible_collections.m365.photos.plugins.module_utils._graph_sizes import SERVED as GRAPH_SERVED
from ansible_collections.m365.photos.plugins.module_utils._source_cache import SourceCache, entry_key

from fakes import FakeBackend
from photo_models import directory_holds, graph_serves, jpeg, portrait

FITTING = Fitting(max_bytes=10240)
SOURCE = jpeg(portrait(400, 480), 95)
OTHER_SOURCE = jpeg(portrait(400, 480).rotate(90), 95)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def never_decode(monkeypatch) -> None:
    """From now on any decode or fit fails loudly: what is asserted must come from the cache alone."""
    def refuse(*args, **kwargs):
        raise _image.ImageError("decoded although the cache knew the source")
    monkeypatch.setattr(_image, "decode", refuse)
    monkeypatch.setattr(_image, "prepare_photo", refuse)


def learnt(cache: SourceCache, source: bytes = SOURCE, fitting: Fitting = FITTING) -> DesiredPhoto:
    """A desired photo whose fingerprints, size and fit were computed and remembered in cache."""
    desired = DesiredPhoto(source, fitting, cache)
    desired.fingerprint()
    desired.fingerprint(square=True)
    desired.size()
    desired.fitted()
    desired.remember()
    return desired


def entry_path(cache: SourceCache, source: bytes = SOURCE, fitting: Fitting = FITTING) -> str:
    key = entry_key(source, fitting)
    return os.path.join(cache.root, key[:2], key + ".json")


def test_what_a_run_learnt_is_known_on_the_next_without_decoding(tmp_path, monkeypatch):
    cache = SourceCache(str(tmp_path / "cache"))
    first = learnt(cache)
    expected = (first.fingerprint(), first.fingerprint(square=True), first.size(), first.fitted())
    never_decode(monkeypatch)
    again = DesiredPhoto(SOURCE, FITTING, cache)
    assert (again.fingerprint(), again.fingerprint(square=True), again.size()) == expected[:3]
    assert again.gives(sha256(expected[3])) and not again.gives(sha256(expected[3] + b"\0")) and not again.gives(None)


@pytest.mark.parametrize("overwrite", ["different", "always"])
def test_a_directory_holding_the_fitted_bytes_is_kept_from_hashes_alone(tmp_path, monkeypatch, overwrite):
    cache = SourceCache(str(tmp_path))
    fitted = learnt(cache).fitted()
    never_decode(monkeypatch)
    decision = _decision.decide(directory_holds(fitted), DesiredPhoto(SOURCE, FITTING, cache), overwrite,
                                _decision.STORED_AS_WRITTEN)
    assert (decision.write, decision.reason) == (False, _decision.EXACTLY_THIS_PHOTO)


def test_graph_does_not_hold_the_uploaded_bytes_so_the_row_does_not_apply(tmp_path):
    cache = SourceCache(str(tmp_path))
    fitted = learnt(cache).fitted()
    decision = _decision.decide(graph_serves(fitted), DesiredPhoto(SOURCE, FITTING, cache), "different", GRAPH_SERVED)
    assert decision.reason != _decision.EXACTLY_THIS_PHOTO and not decision.write


def test_other_bytes_in_the_directory_are_compared_as_pictures(tmp_path):
    cache = SourceCache(str(tmp_path))
    learnt(cache)
    other = jpeg(portrait(400, 480).rotate(90), 60)
    decision = _decision.decide(directory_holds(other), DesiredPhoto(SOURCE, FITTING, cache), "different",
                                _decision.STORED_AS_WRITTEN)
    assert decision.write and decision.similarity is not None


@pytest.mark.parametrize("change", ["source", "max_bytes", "max_dimension", "crop", "background", "pipeline"])
def test_a_changed_source_option_or_pipeline_is_another_entry(change, monkeypatch):
    source, fitting = SOURCE, FITTING
    before = entry_key(source, fitting)
    if change == "source":
        source = OTHER_SOURCE
    elif change == "pipeline":
        monkeypatch.setattr(_image, "PIPELINE_VERSION", _image.PIPELINE_VERSION + 1)
    else:
        fitting = Fitting(**dict(vars(FITTING), **{change: {"max_bytes": 20480, "max_dimension": 96, "crop": "top",
                                                            "background": "#000000"}[change]}))
    assert entry_key(source, fitting) != before


def _rewrite(path: str, change) -> None:
    with open(path, "rb") as handle:
        data = handle.read()
    with open(path, "wb") as handle:
        handle.write(change(data))


def _edited(edit):
    def change(data: bytes) -> bytes:
        entry = json.loads(data)
        edit(entry)
        return json.dumps(entry).encode()
    return change


CORRUPTIONS = {
    "not json": lambda data: b"\x00\xffnot json",
    "truncated": lambda data: data[:len(data) // 2],
    "a json list": lambda data: b"[1, 2, 3]",
    "another format": _edited(lambda entry: entry.update(format="something else")),
    "another key": _edited(lambda entry: entry.update(key="0" * 64)),
    "short luma": _edited(lambda entry: entry["fingerprints"]["shown"].update(luma=base64.b64encode(b"x").decode())),
    "luma not base64": _edited(lambda entry: entry["fingerprints"]["shown"].update(luma="!!!")),
    "zero aspect": _edited(lambda entry: entry["fingerprints"]["square"].update(aspect=0)),
    "infinite aspect": _edited(lambda entry: entry["fingerprints"]["square"].update(aspect="inf")),
    "size of booleans": _edited(lambda entry: entry.update(size=[True, True])),
    "negative size": _edited(lambda entry: entry.update(size=[-1, 10])),
    "sha256 not hex": _edited(lambda entry: entry.update(fitted_sha256="Z" * 64)),
    "fingerprints not a dict": _edited(lambda entry: entry.update(fingerprints=[])),
}


@pytest.mark.parametrize("corruption", sorted(CORRUPTIONS))
def test_a_corrupt_entry_is_a_miss(tmp_path, corruption):
    cache = SourceCache(str(tmp_path))
    fitted = learnt(cache).fitted()
    _rewrite(entry_path(cache), CORRUPTIONS[corruption])
    assert cache.load(entry_key(SOURCE, FITTING)) is None
    again = DesiredPhoto(SOURCE, FITTING, cache)
    assert not again.gives(sha256(fitted))  # unknown: the decision compares pictures again


def test_an_entry_of_another_source_copied_under_this_key_is_a_miss(tmp_path):
    cache = SourceCache(str(tmp_path))
    learnt(cache, OTHER_SOURCE)
    os.makedirs(os.path.dirname(entry_path(cache)), exist_ok=True)
    with open(entry_path(cache, OTHER_SOURCE), "rb") as foreign, open(entry_path(cache), "wb") as here:
        here.write(foreign.read())
    assert cache.load(entry_key(SOURCE, FITTING)) is None


def test_a_forged_entry_never_reaches_what_is_written(tmp_path):
    """An entry claiming other fitted bytes can at most keep a photo; a write is fitted from the source."""
    cache = SourceCache(str(tmp_path))
    learnt(cache)
    forged = b"bytes an attacker would like written"
    _rewrite(entry_path(cache), _edited(lambda entry: entry.update(fitted_sha256=hashlib.sha256(forged).hexdigest())))
    job = _converge.plan(_converge.Job(_converge.Entry(name="a", content=base64.b64encode(SOURCE).decode())),
                         FITTING, _decision.STORED_AS_WRITTEN, cache)
    assert job.decision.write and job.photo == _image.prepare_photo(SOURCE, max_bytes=FITTING.max_bytes)


def test_entries_are_private_files_in_private_folders(tmp_path):
    cache = SourceCache(str(tmp_path / "cache"))
    cache.check()
    learnt(cache)
    path = entry_path(cache)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(os.path.dirname(path)).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(cache.root).st_mode) == 0o700
    assert os.listdir(os.path.dirname(path)) == [os.path.basename(path)]  # no partial file left beside it


def test_a_folder_that_cannot_be_used_fails_before_any_user(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_bytes(b"")
    with pytest.raises(PhotoError, match="cache_dir .*a-file/cache cannot be used .*leave cache_dir out"):
        SourceCache(str(blocker / "cache")).check()


def test_shard_hosts_checking_one_folder_at_once_do_not_trip_over_each_other(tmp_path):
    root = str(tmp_path / "cache")
    failures = []

    def host() -> None:
        for _check in range(300):
            try:
                SourceCache(root).check()
            except PhotoError as error:
                failures.append(str(error))
                return

    hosts = [threading.Thread(target=host) for _host in range(4)]
    for thread in hosts:
        thread.start()
    for thread in hosts:
        thread.join()
    assert failures == []
    assert os.listdir(root) == []  # every probe went again


def test_check_mode_reads_the_cache_and_writes_nothing(tmp_path):
    root = tmp_path / "cache"
    read_only = SourceCache(str(root), read_only=True)
    read_only.check()
    learnt(read_only)
    assert not root.exists()
    learnt(SourceCache(str(root)))
    assert DesiredPhoto(SOURCE, FITTING, read_only).gives(sha256(learnt(SourceCache(str(root))).fitted()))


def test_an_entry_used_within_the_hour_is_not_touched_again(tmp_path):
    cache = SourceCache(str(tmp_path))
    learnt(cache)
    path = entry_path(cache)
    recently = time.time() - 600
    os.utime(path, (recently, recently))
    DesiredPhoto(SOURCE, FITTING, cache).fingerprint()
    assert os.stat(path).st_mtime == recently


def test_an_entry_is_rewritten_only_when_the_run_learnt_something(tmp_path):
    cache = SourceCache(str(tmp_path))
    learnt(cache)
    path = entry_path(cache)
    os.utime(path, (1_000_000, 1_000_000))
    os.chmod(os.path.dirname(path), 0o500)  # a rewrite (a new file beside it) would fail now
    try:
        again = DesiredPhoto(SOURCE, FITTING, cache)
        again.fingerprint()
        again.remember()
    finally:
        os.chmod(os.path.dirname(path), 0o700)
    assert os.stat(path).st_mtime > 1_000_000  # touched as used, not replaced
    with open(path) as handle:
        assert json.load(handle)["fitted_sha256"] is not None


def test_pruning_keeps_the_most_recently_used_entries(tmp_path):
    cache = SourceCache(str(tmp_path))
    keys = []
    for number in range(30):
        key = hashlib.sha256(b"%d" % number).hexdigest()
        cache.store(key, _source_cache.KnownFit(size=(10, 10)))
        os.utime(os.path.join(cache.root, key[:2], key + ".json"), (1_000_000 + number, 1_000_000 + number))
        keys.append(key)
    cache.load(keys[0])  # used just now: the oldest file becomes the newest
    assert cache.prune(max_entries=20) == 12  # down to 90 % of 20
    kept = [key for key in keys if cache.load(key) is not None]
    assert kept == [keys[0]] + keys[-17:]
    assert cache.prune(max_entries=20) == 0


def _b64(source: bytes) -> str:
    return base64.b64encode(source).decode()


def test_a_second_bulk_run_against_a_directory_decodes_nothing(tmp_path, monkeypatch):
    cache = SourceCache(str(tmp_path / "cache"))
    names = ["a", "b", "c"]
    backend = FakeBackend(names)

    def run():
        jobs = [_converge.Job(_converge.Entry(name=name, content=_b64(SOURCE if name != "c" else OTHER_SOURCE)))
                for name in names]
        return _converge.run(backend.opener(), jobs, FITTING, check_mode=False, return_thumbnails=False, cache=cache)

    assert [result["changed"] for result in run()] == [True, True, True]
    never_decode(monkeypatch)
    second = run()
    assert [(result["changed"], result["failed"], result["reason"]) for result in second] == [
        (False, False, _decision.EXACTLY_THIS_PHOTO)] * 3


def test_only_a_run_that_added_entries_lists_the_cache_to_prune_it(tmp_path, monkeypatch):
    cache = SourceCache(str(tmp_path / "cache"))
    pruned = []
    monkeypatch.setattr(cache, "prune", lambda: pruned.append(True) or 0)
    backend = FakeBackend(["a"])

    def run():
        jobs = [_converge.Job(_converge.Entry(name="a", content=_b64(SOURCE)))]
        return _converge.run(backend.opener(), jobs, FITTING, check_mode=False, return_thumbnails=False, cache=cache)

    assert run()[0]["changed"] and pruned == [True]
    # The next run learns the photo now held (under its change stamp), the one after nothing new.
    assert run()[0]["reason"] == _decision.EXACTLY_THIS_PHOTO and pruned == [True, True]
    assert run()[0]["reason"] == _decision.EXACTLY_THIS_PHOTO and pruned == [True, True]
