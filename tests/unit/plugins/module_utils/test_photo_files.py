"""Reading sources and writing exports: regular files only, bounded reads, private files, no overwrite by name."""

from __future__ import annotations

import os
import stat
import threading

import pytest

from ansible_collections.m365.photos.plugins.module_utils import _photo_files
from ansible_collections.m365.photos.plugins.module_utils._image import ImageError


def test_a_regular_file_is_read_whole(tmp_path):
    source = tmp_path / "alice.jpg"
    source.write_bytes(b"\xff\xd8" + b"x" * 5000)
    assert _photo_files.read_photo_file(str(source)) == b"\xff\xd8" + b"x" * 5000


def test_a_fifo_is_refused_at_once_instead_of_hanging_the_task(tmp_path):
    fifo = str(tmp_path / "photo.jpg")
    os.mkfifo(fifo)
    outcome = {}
    reader = threading.Thread(target=lambda: outcome.setdefault("error", pytest.raises(ImageError, _photo_files.read_photo_file,
                                                                                       fifo)))
    reader.start()
    reader.join(timeout=5)
    assert not reader.is_alive(), "reading a FIFO hung"
    assert "is a FIFO" in str(outcome["error"].value)


@pytest.mark.parametrize("path, kind", [("/dev/zero", "a character device"), ("/", "a folder")])
def test_devices_and_folders_are_refused_before_anything_is_read(path, kind):
    with pytest.raises(ImageError, match="is %s: give the path of a photo file" % kind):
        _photo_files.read_photo_file(path)
    with pytest.raises(ImageError, match="is %s" % kind):
        _photo_files.check_photo_file(path)


def test_no_more_than_the_limit_is_read(tmp_path):
    source = tmp_path / "big.jpg"
    source.write_bytes(b"x" * 101)
    assert _photo_files.read_photo_file(str(source), limit=101) == b"x" * 101
    for check in (_photo_files.read_photo_file, _photo_files.check_photo_file):
        with pytest.raises(ImageError, match="larger than the 100 bytes"):
            check(str(source), 100)


def test_base64_content_over_the_limit_is_refused(monkeypatch):
    monkeypatch.setattr(_photo_files, "MAX_SOURCE_BYTES", 3)
    with pytest.raises(ImageError, match="content is 4 bytes, more than the 3 bytes"):
        _photo_files.read_source(None, "eHh4eA==")


def test_a_planted_symlink_at_the_temporary_name_is_never_written_through(tmp_path):
    victim = tmp_path / "victim"
    victim.write_text("precious")
    target = tmp_path / "report.json"
    for planted in ("report.json.partial", ".report.json.partial"):
        os.symlink(victim, tmp_path / planted)
    _photo_files.write_private(str(target), b"report")
    assert victim.read_text() == "precious" and target.read_bytes() == b"report"
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o600


def test_a_symlink_at_the_target_itself_is_replaced_not_followed(tmp_path):
    victim = tmp_path / "victim"
    victim.write_text("precious")
    os.symlink(victim, tmp_path / "alice.jpg")
    _photo_files.write_private(str(tmp_path / "alice.jpg"), b"photo")
    assert victim.read_text() == "precious" and not os.path.islink(tmp_path / "alice.jpg")


def test_new_folders_are_private(tmp_path):
    _photo_files.make_private_folder(str(tmp_path / "a" / "b"))
    assert [stat.S_IMODE(os.stat(tmp_path / path).st_mode) for path in ("a", "a/b")] == [0o700, 0o700]


def test_names_that_make_the_same_file_get_files_of_their_own_and_a_warning(tmp_path):
    export = _photo_files.PhotoExport(str(tmp_path / "out"), check_mode=False)
    export.open()
    paths = [export.write(photo, name) for photo, name in ((b"1", "a b@x"), (b"2", "a_b@x"), (b"3", "a b@x"))]
    assert paths[0] == paths[2] == str(tmp_path / "out" / "a_b@x.jpg") and paths[1] != paths[0]
    with open(paths[0], "rb") as first, open(paths[1], "rb") as second:
        assert (first.read(), second.read()) == (b"3", b"2")
    assert len(export.warnings()) == 1 and "a_b@x" in export.warnings()[0]
    assert stat.S_IMODE(os.stat(paths[1]).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(tmp_path / "out").st_mode) == 0o700


def test_check_mode_exports_nothing_but_says_where(tmp_path):
    export = _photo_files.PhotoExport(str(tmp_path / "out"), check_mode=True)
    export.open()
    assert export.write(b"1", "alice@x", "png") == str(tmp_path / "out" / "alice@x.png")
    assert not (tmp_path / "out").exists()
