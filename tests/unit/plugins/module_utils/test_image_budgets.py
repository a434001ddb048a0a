"""Hostile photos cost little: memory and time budgets, strict JPEG ends, metadata after the scan, dead workers.

The hostile files are built in code (hostile_images, beside conftest): tiny files declaring huge canvases.
Decodes that could cost gigabytes run in a child process with its address space capped, and report their
peak resident memory; tests/bench/hostile_images.py prints the same cases as a table.
"""

from __future__ import annotations

import base64
import io
import json
import os
import resource
import signal
import subprocess
import sys
import time

import pytest
from ansible_collections.m365.photos.plugins.module_utils import _converge, _decision, _image, _photo_facts, _workers
from ansible_collections.m365.photos.plugins.module_utils._desired import DesiredPhoto, Fitting
from ansible_collections.m365.photos.plugins.module_utils._image import ImageError
from PIL import Image, ImageFile

import hostile_images
from fakes import FakeBackend
from photo_models import jpeg, portrait

HERE = os.path.dirname(os.path.abspath(__file__))
# The folder holding ansible_collections/, however the tests were started (pytest, ansible-test units).
COLLECTIONS_ROOT = os.path.abspath(os.path.join(os.path.dirname(_image.__file__), *[os.pardir] * 5))
# The child's address space: far below what any of these files cost a naive decode (1.3 to 2.4 GB).
CHILD_ADDRESS_SPACE = 400 * 1024 * 1024
# What the work may add to the child's resident memory.
CHILD_WORK_RSS_KB = 80 * 1024

CHILD = r"""
import json, sys
sys.path[:0] = [%(plugins)r, %(collections)r]
import hostile_images
from ansible_collections.m365.photos.plugins.module_utils import _decision, _image, _photo_facts
from ansible_collections.m365.photos.plugins.module_utils._desired import DesiredPhoto, Fitting
from photo_models import jpeg, portrait

def peak_kb():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM"))

data = hostile_images.%(builder)s
normal = DesiredPhoto(jpeg(portrait(), 90), Fitting(max_bytes=4000000))
normal.fingerprint()
before = peak_kb()
outcome = {}
try:
    if %(role)r == "source":
        desired = DesiredPhoto(data, Fitting(max_bytes=10240))
        desired.check()
        desired.fitted()
        outcome["result"] = "fitted"
    else:
        decision = _decision.decide(_decision.Current(data=data), normal, "different", _decision.STORED_AS_WRITTEN)
        outcome["result"] = decision.reason
        outcome["thumbnail"] = _photo_facts.thumbnail_b64(data)
except Exception as error:
    outcome["error"] = "%%s: %%s" %% (type(error).__name__, error)
outcome["work_kb"] = peak_kb() - before
print(json.dumps(outcome))
"""


def _cap_address_space() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (CHILD_ADDRESS_SPACE, CHILD_ADDRESS_SPACE))


def in_child(builder: str, role: str) -> dict:
    """Build the file and handle it as a module would, in a child capped at CHILD_ADDRESS_SPACE."""
    code = CHILD % dict(plugins=os.path.dirname(HERE), collections=COLLECTIONS_ROOT, builder=builder, role=role)
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False,
                          preexec_fn=_cap_address_space, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    outcome = json.loads(done.stdout.strip().splitlines()[-1])
    outcome["seconds"] = time.monotonic() - started
    return outcome


# Each was measured before the budgets: the GIF made a task peak at 1.3 GB, the TIFF at 2.1 GB, the PNG at
# 2.1-2.4 GB and 7-8 s.
@pytest.mark.parametrize("builder, role, expected", [
    ("gif_canvas()", "current", "the current photo cannot be read as an image"),
    ("png_rgba_canvas()", "current", "the current photo cannot be read as an image"),
    ("gif_canvas()", "source", "would need about 1,431 MB of memory to decode, more than the 224 MB allowed"),
    ("tiff_huge_tile()", "source", "TIFF, 64x64 pixels in mode L) would need about 2,047 MB of memory"),
    ("png_rgba_canvas()", "source", "would need about 1,717 MB of memory"),
])
def test_a_small_file_declaring_a_huge_canvas_costs_little(builder, role, expected):
    outcome = in_child(builder, role)
    assert expected in (outcome.get("error") or outcome.get("result")), outcome
    if role == "current":
        assert outcome["thumbnail"] is None, "a current photo over the budget is not thumbnailed"
    assert outcome["work_kb"] < CHILD_WORK_RSS_KB, outcome
    assert outcome["seconds"] < 10, outcome


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
def test_the_gif_is_tiny_and_declares_ten_thousand_squared():
    data = hostile_images.gif_canvas()
    assert len(data) < 40 and Image.open(io.BytesIO(data)).size == (10000, 10000)


def test_a_current_photo_is_judged_within_the_tight_budget():
    with pytest.raises(ImageError, match="current photo is 10000x10000 pixels, more than the 4096 pixels a side"):
        _image.fingerprint(hostile_images.gif_canvas(), budget=_image.CURRENT_PHOTO_BUDGET)
    for other in (_encode(portrait(), "BMP"), hostile_images.tiff_huge_tile()):
        with pytest.raises(ImageError, match="not an image this collection can read"):
            _image.fingerprint(other, budget=_image.CURRENT_PHOTO_BUDGET)
    # The same GIF as a source is a matter of the source budget: a canvas, not a side, limit.
    side = int(_image.SOURCE_BUDGET.largest_pixels("P") ** 0.5)
    assert 3000 < side < 4000
    with pytest.raises(ImageError, match="more than the 224 MB allowed"):
        _image.fingerprint(hostile_images.gif_canvas(side + 10, side + 10))
    _image.fingerprint(hostile_images.gif_canvas(side - 10, side - 10))


def never_decode(monkeypatch):
    """Refused at once means refused before Pillow decodes a single pixel (no wall-clock limit: CI machines vary)."""
    def load(self):
        raise AssertionError("%s was decoded before it was refused" % self.format)
    monkeypatch.setattr(ImageFile.ImageFile, "load", load)


def test_a_run_length_bmp_too_slow_to_decode_is_refused_at_once(monkeypatch):
    data = hostile_images.bmp_rle8(10000, 10000, 4)  # 50 MB, measured before: 15.6 s, decoded twice
    with monkeypatch.context() as patched:
        never_decode(patched)
        with pytest.raises(ImageError, match="run-length compressed BMP of 50,021,080 bytes"):
            DesiredPhoto(data, Fitting(max_bytes=10240)).check()
    small = hostile_images.bmp_rle8(400, 300, 4)
    assert len(DesiredPhoto(small, Fitting(max_bytes=10240)).fitted()) <= 10240


def test_a_tiff_of_too_many_strips_is_refused_at_once(monkeypatch):
    data = hostile_images.tiff_many_strips(64, 200000)
    with monkeypatch.context() as patched:
        never_decode(patched)
        with pytest.raises(ImageError, match="TIFF of 200,000 tiles or strips"):
            _image.decode(data)
    assert _image.decode(hostile_images.tiff_many_strips(64, 4000)).size == (64, 4000)


def test_a_very_tall_source_is_fitted_not_crashed():
    # 64x70000 pixels: within every budget, but over libjpeg's 65,535 a side (OSError before).
    tall = _encode(Image.linear_gradient("L").resize((64, 70000)), "PNG")
    fitted = DesiredPhoto(tall, Fitting(max_bytes=102400)).fitted()
    assert max(Image.open(io.BytesIO(fitted)).size) <= _image.JPEG_MAX_SIDE


def _encode(image: Image.Image, image_format: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, image_format, **options)
    return buffer.getvalue()


def test_a_source_other_than_jpeg_is_decoded_once_per_run(monkeypatch):
    calls = []
    decode = _image.decode
    monkeypatch.setattr(_image, "decode", lambda *args, **kwargs: calls.append(1) or decode(*args, **kwargs))
    desired = DesiredPhoto(_encode(portrait(), "PNG"), Fitting(max_bytes=10240))
    desired.check()
    desired.fingerprint(square=True)
    fitted = desired.fitted()
    assert len(calls) == 1
    assert fitted == _image.prepare_photo(_encode(portrait(), "PNG"), max_bytes=10240), "the same bytes as before"


def test_a_jpeg_too_large_for_the_budget_is_decoded_at_a_reduced_scale():
    photo = Image.linear_gradient("L").resize((5000, 4000)).convert("RGB")
    data = _encode(photo, "JPEG", quality=50)
    assert _image.decode(data).size == (2500, 2000)
    normal = jpeg(portrait(), 90)
    assert _image.decode(normal).size == Image.open(io.BytesIO(normal)).size


# --- JPEG: strict end of data --------------------------------------------------------------------------------

@pytest.mark.parametrize("progressive", [False, True])
@pytest.mark.parametrize("share", [0.05, 0.5, 0.95])
def test_a_truncated_jpeg_with_an_end_marker_appended_is_an_error(progressive, share):
    photo = portrait().resize((300, 400))
    whole = _encode(photo, "JPEG", quality=90, progressive=progressive)
    start_of_scan = whole.index(b"\xff\xda")
    cut = whole[:start_of_scan + int((len(whole) - start_of_scan) * share)] + b"\xff\xd9"
    with pytest.raises(ImageError, match="truncated or corrupt JPEG: its scan data stops short"):
        _image.decode(cut)
    with pytest.raises(ImageError, match="truncated or corrupt"):
        _image.prepare_photo(cut, max_bytes=10240)
    assert _image.decode(whole).size == (300, 400)


def test_the_truncated_jpeg_helper_matches_the_finding():
    with pytest.raises(ImageError, match="scan data stops short"):
        _image.decode(hostile_images.jpeg_truncated_with_eoi(portrait()))


def test_a_jpeg_without_scan_data_is_an_error():
    data = hostile_images.jpeg_without_scan()
    assert len(data) == 330 and Image.open(io.BytesIO(data)).size == (10000, 10000)
    with pytest.raises(ImageError, match="truncated or corrupt JPEG: it holds no image data"):
        _image.decode(data)
    without_start_of_scan = data[:data.index(b"\xff\xda")] + b"\xff\xd9"
    with pytest.raises(ImageError, match="no image data"):
        _image.decode(without_start_of_scan)


# --- Keep-original: every segment to EOI, nothing after ------------------------------------------------------

def _kept_photo() -> bytes:
    photo = _image.prepare_photo(jpeg(portrait(), 95), max_bytes=10240)
    assert _image.prepare_photo(photo, max_bytes=10240) == photo, "a pipeline output is kept as it is"
    return photo


def _segment(marker: int, payload: bytes) -> bytes:
    return bytes((0xFF, marker)) + (len(payload) + 2).to_bytes(2, "big") + payload


@pytest.mark.parametrize("where, extra", [
    ("comment after the scan", _segment(0xFE, b"secret comment")),
    ("Exif after the scan", _segment(0xE1, b"Exif\x00\x00secret GPS")),
    ("XMP after the scan", _segment(0xE1, b"http://ns.adobe.com/xap/1.0/\x00secret")),
])
def test_metadata_after_the_scan_is_not_kept(where, extra):
    photo = _kept_photo()
    assert photo.endswith(b"\xff\xd9")
    planted = photo[:-2] + extra + b"\xff\xd9"
    assert Image.open(io.BytesIO(planted)).size, where
    prepared = _image.prepare_photo(planted, max_bytes=10240 + len(extra))
    assert b"secret" not in prepared, where
    assert _image.prepare_photo(prepared, max_bytes=10240 + len(extra)) == prepared


def test_bytes_after_the_end_of_image_are_not_kept():
    photo = _kept_photo()
    prepared = _image.prepare_photo(photo + b"secret trailer", max_bytes=10240 + 14)
    assert b"secret" not in prepared and prepared.endswith(b"\xff\xd9")


# --- Worker processes: a memory limit, and a dead worker is one entry's failure --------------------------------

def _worker_report() -> dict:
    import numpy  # noqa: F401  (imports must work under the limit)
    from PIL import Image as WorkerImage  # noqa: F401
    soft, _hard = resource.getrlimit(resource.RLIMIT_AS)
    fitted = DesiredPhoto(jpeg(portrait(), 95), Fitting(max_bytes=10240)).fitted()
    try:
        bytearray(2 * _workers.WORKER_MEMORY_HEADROOM)
        grew = True
    except MemoryError:
        grew = False
    return dict(limit=soft, fitted=len(fitted), grew=grew)


def test_workers_run_under_a_memory_limit_and_still_import_and_fit():
    pool = _workers.image_pool(2)
    assert pool is not None
    try:
        report = pool.submit(_worker_report).result()
    finally:
        pool.shutdown()
    assert report["limit"] != resource.RLIM_INFINITY
    assert 0 < report["fitted"] <= 10240
    assert not report["grew"], "a worker cannot allocate beyond its limit"


def test_an_isolated_call_runs_under_the_limit_too():
    assert _workers.isolated(resource.getrlimit, resource.RLIMIT_AS)[0] != resource.RLIM_INFINITY


def _source_b64() -> str:
    return base64.b64encode(jpeg(portrait(), 95)).decode()


def test_a_worker_that_dies_fails_its_entry_only_and_the_run_goes_on(monkeypatch):
    monkeypatch.setattr(_converge, "CHUNK_SIZE", 6)
    plan = _converge.plan

    def dies_on_killer(job, fitting, served, cache):
        if job.entry.name == "killer":
            os.kill(os.getpid(), signal.SIGKILL)
        return plan(job, fitting, served, cache)

    monkeypatch.setattr(_converge, "plan", dies_on_killer)
    names = ["user%02d" % number for number in range(5)] + ["killer"] + ["user%02d" % number for number in range(5, 12)]
    backend = FakeBackend(names)
    jobs = [_converge.Job(_converge.Entry(name=name, content=_source_b64())) for name in names]
    assert _workers.image_workers(len(jobs)) > 1, "the run must use worker processes"
    results = _converge.run(backend.opener(), jobs, Fitting(max_bytes=10240), check_mode=False, return_thumbnails=False)
    by_name = {result["identity"]: result for result in results}
    assert by_name["killer"]["failed"] and "worker process deciding it died" in by_name["killer"]["msg"]
    assert by_name["killer"]["changed"] is False
    others = [result for name, result in by_name.items() if name != "killer"]
    assert all(result["changed"] and not result["failed"] for result in others), others


def test_a_photo_over_the_current_budget_is_replaced_not_fatal():
    backend = FakeBackend(["a"], photos={"ref-a": hostile_images.gif_canvas()})
    jobs = [_converge.Job(_converge.Entry(name="a", content=_source_b64()))]
    result = _converge.run(backend.opener(), jobs, Fitting(max_bytes=10240), check_mode=True, return_thumbnails=True)[0]
    assert result["changed"] and not result["failed"]
    assert result["reason"] == "the current photo cannot be read as an image"
    assert result["before_thumbnail"] is None and result["after_thumbnail"]
    assert _photo_facts.facts(hostile_images.gif_canvas())["width"] == 10000, "its facts still come from the header"
    assert _decision.Current(data=hostile_images.gif_canvas()).width == 10000
