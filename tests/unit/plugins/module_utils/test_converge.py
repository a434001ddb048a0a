"""The convergence engine with a fake backend: one flow for one user and for many."""

from __future__ import annotations

import base64

import pytest

from ansible_collections.m365.photos.plugins.module_utils import _converge
from ansible_collections.m365.photos.plugins.module_utils._desired import Fitting
from ansible_collections.m365.photos.plugins.module_utils._source_cache import SourceCache

from fakes import FakeBackend, Refusal
from photo_models import jpeg, portrait

FITTING = Fitting(max_bytes=10240)
SOURCE = jpeg(portrait(), 95)


def converge(backend, jobs, check_mode=False, thumbnails=False, fitting=FITTING):
    return _converge.run(backend.opener(), jobs, fitting, check_mode=check_mode, return_thumbnails=thumbnails)


def jobs_for(names, **options) -> list:
    options.setdefault("state", "present")
    return [_converge.Job(_converge.Entry(name=name, content=None if options["state"] == "absent" else _b64(),
                                          **options)) for name in names]


def _b64() -> str:
    return base64.b64encode(SOURCE).decode()


@pytest.mark.parametrize("graph", [False, True])
def test_a_second_run_changes_nothing_in_either_form(graph):
    names = ["a", "b", "c"]
    backend = FakeBackend(names, graph=graph, key="user" if graph else "identity")
    first = converge(backend, jobs_for(names))
    assert [result["changed"] for result in first] == [True, True, True]
    for form in (jobs_for(names), jobs_for(names[:1])):
        assert not any(result["changed"] for result in converge(backend, form))


def test_results_come_in_entry_order_across_chunks(monkeypatch):
    monkeypatch.setattr(_converge, "CHUNK_SIZE", 4)
    names = ["user%02d" % number for number in range(11)]
    backend = FakeBackend(names[::2])  # every other user exists
    results = converge(backend, jobs_for(names, state="absent"))
    assert [result["identity"] for result in results] == names
    assert [result["failed"] for result in results] == [number % 2 == 1 for number in range(11)]
    assert [call for call in backend.calls if call[0] == "look_up"] == [("look_up", 4), ("look_up", 4), ("look_up", 3)]


class PreparingBackend(FakeBackend):
    """A backend that is told every name before its first look-up (LdapBackend finds them in one pass)."""

    async def prepare(self, names, memory=None):
        self.calls.append(("prepare", list(names), memory is not None))


def test_a_backend_that_prepares_is_told_every_name_once_before_the_first_look_up(monkeypatch, tmp_path):
    monkeypatch.setattr(_converge, "CHUNK_SIZE", 4)
    names = ["user%02d" % number for number in range(10)]
    backend = PreparingBackend(names)
    _converge.run(backend.opener(), jobs_for(names), FITTING, check_mode=False, return_thumbnails=False,
                  cache=SourceCache(str(tmp_path)))
    assert backend.calls[0] == ("prepare", names, True)
    assert [call[0] for call in backend.calls].count("prepare") == 1
    assert [call for call in backend.calls if call[0] == "look_up"] == [("look_up", 4), ("look_up", 4), ("look_up", 2)]


def test_check_mode_decides_and_predicts_but_writes_nothing():
    backend = FakeBackend(["a"])
    result = converge(backend, jobs_for(["a"]), check_mode=True)[0]
    assert result["changed"] and result["after"]["bytes"] <= 10240 and result["before"] is None
    assert not backend.photos and not [call for call in backend.calls if call[0] == "write"]


def test_a_retryable_refusal_is_written_on_a_later_attempt():
    backend = FakeBackend(["a", "b"])
    backend.refusals["ref-a"] = [Refusal("throttled", retryable=True)]
    results = converge(backend, jobs_for(["a", "b"]))
    assert all(result["changed"] and not result["failed"] for result in results)
    assert [call for call in backend.calls if call == ("write", "ref-a")] == [("write", "ref-a")] * 2


def test_a_look_up_refused_as_retryable_is_tried_again():
    """A directory restarting or a connection cut during the search: the same search is sent again."""
    backend = FakeBackend(["a", "b"])
    backend.look_up_refusals = [Refusal("connection broke", retryable=True)] * 2
    results = converge(backend, jobs_for(["a", "b"]))
    assert all(result["changed"] and not result["failed"] for result in results)
    assert [call for call in backend.calls if call[0] == "look_up"] == [("look_up", 2)] * 3


def test_a_look_up_refused_for_good_fails_the_task_with_its_reason_and_writes_nothing():
    backend = FakeBackend(["a"])
    backend.look_up_refusals = [Refusal("connection broke", retryable=True)] * _converge.WRITE_ATTEMPTS
    with pytest.raises(Refusal, match="connection broke"):
        converge(backend, jobs_for(["a"]))
    assert not backend.photos


def test_a_final_refusal_fails_that_entry_only_and_keeps_its_photo():
    backend = FakeBackend(["a", "b"], photos={"ref-a": jpeg(portrait().rotate(90))})
    old = backend.photos["ref-a"]
    backend.refusals["ref-a"] = [Refusal("The bind account may not change thumbnailPhoto.")]
    failed, written = converge(backend, jobs_for(["a", "b"]))
    assert failed["failed"] and not failed["changed"] and "may not change" in failed["msg"]
    assert failed["after"] == failed["before"] and backend.photos["ref-a"] == old
    assert written["changed"] and "ref-b" in backend.photos
    assert _converge.summary([failed, written]) == dict(entries=2, changed=1, unchanged=0, failed=1)
    assert "(a)" in _converge.failure_message([failed, written], "identity")


def test_pixels_the_look_up_did_not_read_are_read_before_deciding():
    backend = FakeBackend(["a"], graph=True, key="user")
    tiny = jpeg(portrait(), 90, 64)  # Graph serves no 96x96 of a 64 px photo: the look-up finds no preview
    backend.photos["ref-a"] = tiny
    result = converge(backend, jobs_for(["a"]), fitting=Fitting(max_bytes=4000000, max_dimension=64))[0]
    assert ("read_previews", 1) in backend.calls
    assert not result["changed"] and result["reason"] == "the current photo shows the same picture"


def test_thumbnails_come_with_changed_and_failed_entries_only():
    backend = FakeBackend(["a", "b"], photos={"ref-b": jpeg(portrait())})
    converge(backend, jobs_for(["b"]))  # b now holds exactly the fitted photo
    results = converge(backend, jobs_for(["a", "b", "nobody"]), thumbnails=True)
    changed, unchanged, failed = results
    assert changed["after_thumbnail"] and changed["before_thumbnail"] is None
    assert "before_thumbnail" not in unchanged
    assert "before_thumbnail" in failed and failed["after_thumbnail"] is None


def test_jobs_keep_no_photo_once_their_results_are_made(monkeypatch):
    monkeypatch.setattr(_converge, "CHUNK_SIZE", 2)
    names = ["a", "b", "c"]
    backend = FakeBackend(names)
    converge(backend, jobs_for(names))
    jobs = jobs_for(names)
    results = converge(backend, jobs)
    assert [result["before"]["bytes"] for result in results] == [len(photo) for photo in backend.photos.values()]
    assert not any(result["changed"] for result in results)
    assert all(job.current is None and job.photo is None and job.decision is None for job in jobs)
