"""The controller side of the photo modules: where src files go for local and remote module runs."""

from __future__ import annotations

import base64
from types import SimpleNamespace

import pytest

from ansible_collections.m365.photos.plugins.plugin_utils import _photo_source


def action_for(transport: str, files: dict) -> _photo_source.PhotoSourceAction:
    action = object.__new__(_photo_source.PhotoSourceAction)
    action._connection = SimpleNamespace(transport=transport)
    action._find_needle = lambda folder, name: files[name]
    return action


@pytest.fixture(name="photo_file")
def photo_file_path(tmp_path) -> str:
    path = tmp_path / "alice.jpg"
    path.write_bytes(b"\xff\xd8photo bytes")
    return str(path)


@pytest.mark.parametrize("transport", ["local", "ansible.builtin.local"])
def test_module_on_the_controller_gets_paths_not_contents(photo_file, transport):
    args = action_for(transport, {"alice.jpg": photo_file})._inline_sources(
        {"photos": [{"user": "alice", "src": "alice.jpg"}], "src": "alice.jpg"})
    assert args["src"] == photo_file and args["photos"][0]["src"] == photo_file
    assert "content" not in args and "content" not in args["photos"][0]


def test_module_on_a_remote_host_gets_every_photo_inside_its_arguments(photo_file):
    args = action_for("ssh", {"alice.jpg": photo_file})._inline_sources(
        {"photos": [{"user": "alice", "src": "alice.jpg"}, {"user": "bob", "state": "absent"}]})
    assert args["photos"][0] == {"user": "alice", "content": base64.b64encode(b"\xff\xd8photo bytes").decode()}
    assert args["photos"][1] == {"user": "bob", "state": "absent"}


def test_src_and_content_together_are_refused(photo_file):
    with pytest.raises(_photo_source.PhotoSourceError, match="mutually exclusive"):
        action_for("ssh", {"alice.jpg": photo_file})._inline_sources({"src": "alice.jpg", "content": "eA=="})


def test_oversized_file_is_refused_before_it_is_read(photo_file, monkeypatch):
    monkeypatch.setattr(_photo_source, "MAX_SOURCE_BYTES", 4)
    with pytest.raises(_photo_source.PhotoSourceError, match="larger than the 4 bytes"):
        action_for("local", {"alice.jpg": photo_file})._inline_sources({"src": "alice.jpg"})
