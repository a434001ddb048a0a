"""The memory of current photos: recalled only under the very stamp it was kept at, and nothing else is trusted."""

from __future__ import annotations

import base64
import json
import os

import pytest

from ansible_collections.m365.photos.plugins.module_utils import _converge, _decision, _image
from ansible_collections.m365.photos.plugins.module_utils._desired import DesiredPhoto, Fitting
from ansible_collections.m365.photos.plugins.module_utils._graph_sizes import SERVED as GRAPH_SERVED
from ansible_collections.m365.photos.plugins.module_utils._photo_memory import ENTRY_FORMAT, PhotoMemory, Recalled, of
from ansible_collections.m365.photos.plugins.module_utils._source_cache import SourceCache

from fakes import FakeBackend
from photo_models import directory_holds, graph_serves, jpeg, portrait

FITTING = Fitting(max_bytes=10240)
PHOTO = jpeg(portrait(160, 160), 80)
OTHER = jpeg(portrait(160, 160).rotate(90), 80)


def memory_in(tmp_path, read_only: bool = False, realm: str = "corp.example") -> PhotoMemory:
    return PhotoMemory(SourceCache(str(tmp_path / "cache"), read_only), "identity", realm)


def compared(current: _decision.Current, served=_decision.STORED_AS_WRITTEN) -> _decision.Current:
    current.compared(served)
    return current


def entry_files(tmp_path) -> list:
    return [os.path.join(path, name) for path, _dirs, names in os.walk(tmp_path / "cache") for name in names]


def test_a_photo_kept_at_a_stamp_is_recalled_there_only(tmp_path):
    memory = memory_in(tmp_path)
    current = compared(directory_holds(PHOTO))
    assert memory.keep("CN=a", "dc1/100", current, None)
    recalled = memory.recall("CN=a", "dc1/100")
    assert recalled == of(current)
    again = recalled.current()
    assert again.data is None and again.digest == current.digest and again.facts == current.facts
    assert again.comparison == current.comparison
    for ref, stamp in (("CN=a", "dc1/101"), ("CN=a", "dc2/100"), ("CN=b", "dc1/100"), ("CN=a", None), (None, "x")):
        assert memory.recall(ref, stamp) is None
    assert memory_in(tmp_path, realm="other.example").recall("CN=a", "dc1/100") is None


def test_no_photo_is_remembered_too(tmp_path):
    memory = memory_in(tmp_path)
    assert memory.keep("CN=a", "dc1/7", None, None)
    recalled = memory.recall("CN=a", "dc1/7")
    assert recalled == Recalled(present=False) and recalled.current() is None


def test_an_entry_is_written_only_when_it_says_something_new(tmp_path):
    memory = memory_in(tmp_path)
    current = directory_holds(PHOTO)
    assert memory.keep("CN=a", "s1", current, None)
    recalled = memory.recall("CN=a", "s1")
    assert not memory.keep("CN=a", "s1", recalled.current(), recalled)
    # The photo was read and compared since: its fingerprint is worth keeping.
    assert memory.keep("CN=a", "s1", compared(directory_holds(PHOTO)), recalled)
    assert memory.recall("CN=a", "s1").comparison is not None


def test_check_mode_reads_and_never_writes(tmp_path):
    memory_in(tmp_path).keep("CN=a", "s1", directory_holds(PHOTO), None)
    read_only = memory_in(tmp_path, read_only=True)
    assert read_only.recall("CN=a", "s1") is not None
    assert not read_only.keep("CN=b", "s1", directory_holds(PHOTO), None)
    assert len(entry_files(tmp_path)) == 1


CORRUPTIONS = {
    "not json": lambda entry: "{",
    "another format": lambda entry: dict(entry, format="m365.photos source cache entry"),
    "another key": lambda entry: dict(entry, key="0" * 64),
    "present not a bool": lambda entry: dict(entry, present="yes"),
    "facts not a dict": lambda entry: dict(entry, facts=[1, 2]),
    "a fact of a nested value": lambda entry: dict(entry, facts=dict(entry["facts"], width=[160])),
    "a forged hash": lambda entry: dict(entry, facts=dict(entry["facts"], sha256="not a hash")),
    "a short fingerprint": lambda entry: dict(entry, comparison=dict(
        entry["comparison"], fingerprint=dict(entry["comparison"]["fingerprint"], luma="AAAA"))),
    "square not a bool": lambda entry: dict(entry, comparison=dict(entry["comparison"], square=1)),
}


@pytest.mark.parametrize("corruption", sorted(CORRUPTIONS))
def test_a_corrupt_entry_is_a_miss(tmp_path, corruption):
    memory = memory_in(tmp_path)
    memory.keep("CN=a", "s1", compared(directory_holds(PHOTO)), None)
    [path] = entry_files(tmp_path)
    with open(path, encoding="utf-8") as handle:
        entry = json.load(handle)
    assert entry["format"] == ENTRY_FORMAT
    changed = CORRUPTIONS[corruption](entry)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(changed if isinstance(changed, str) else json.dumps(changed))
    assert memory.recall("CN=a", "s1") is None


def test_a_recalled_photo_is_decided_without_its_bytes(tmp_path, monkeypatch):
    memory = memory_in(tmp_path)
    desired = DesiredPhoto(PHOTO, Fitting(max_bytes=len(PHOTO) + 1))
    current = directory_holds(desired.fitted())
    memory.keep("CN=a", "s1", compared(current), None)
    recalled = memory.recall("CN=a", "s1").current()
    assert _decision.decide(recalled, desired, "different", _decision.STORED_AS_WRITTEN).reason == \
        _decision.EXACTLY_THIS_PHOTO

    def refuse(*args, **kwargs):
        raise _image.ImageError("the current photo was decoded although its fingerprint was recalled")
    other_source = DesiredPhoto(OTHER, FITTING)
    other_source.fingerprint()
    monkeypatch.setattr(_image, "decode", refuse)
    decision = _decision.decide(memory.recall("CN=a", "s1").current(), other_source, "different",
                                _decision.STORED_AS_WRITTEN)
    assert decision.write and decision.reason == "the current photo shows a different picture"


def test_a_recalled_photo_never_compared_is_read_first(tmp_path):
    memory = memory_in(tmp_path)
    memory.keep("CN=a", "s1", directory_holds(PHOTO), None)
    decision = _decision.decide(memory.recall("CN=a", "s1").current(), DesiredPhoto(OTHER, FITTING), "different",
                                _decision.STORED_AS_WRITTEN)
    assert decision.needs_preview and not decision.write


def test_a_graph_photo_recalls_how_it_was_compared(tmp_path):
    memory = PhotoMemory(SourceCache(str(tmp_path / "cache")), "user", "tenant-1")
    served = graph_serves(jpeg(portrait(400, 400), 90))
    served.compared(GRAPH_SERVED)
    memory.keep("id-1", served.facts["etag"], served, None)
    recalled = memory.recall("id-1", served.facts["etag"])
    assert recalled.comparison == served.comparison and recalled.comparison[1] is True


def test_the_engine_reads_a_photo_again_only_once_its_stamp_changed(tmp_path):
    names = ["a", "b", "c"]
    backend = FakeBackend(names)
    cache = SourceCache(str(tmp_path / "cache"))

    def run() -> list:
        jobs = [_converge.Job(_converge.Entry(name=name, content=base64.b64encode(PHOTO).decode())) for name in names]
        reads = backend.photo_reads
        results = _converge.run(backend.opener(), jobs, FITTING, check_mode=False, return_thumbnails=False,
                                cache=cache)
        return [result["changed"] for result in results], backend.photo_reads - reads

    assert run() == ([True] * 3, 0)
    assert run() == ([False] * 3, 3)  # read once, then remembered
    assert run() == ([False] * 3, 0)
    backend.set_photo("ref-b", OTHER)
    assert run() == ([False, True, False], 1)
    assert backend.photos["ref-b"] == backend.photos["ref-a"]
    assert run() == ([False, False, False], 1)  # the photo just written is read once more, under its new stamp
