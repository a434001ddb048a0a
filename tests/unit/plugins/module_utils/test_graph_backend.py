"""After a write, a result says what was written; a read-back counts only when it shows the new photo."""

from __future__ import annotations

import io
import types

import pytest
from PIL import Image

from ansible_collections.m365.photos.plugins.module_utils._decision import Current
from ansible_collections.m365.photos.plugins.module_utils._graph_backend import GraphBackend, shows_new_photo

OLD = Current(facts=dict(width=96, height=96, etag='W/"old"'))


def jpeg(side):
    out = io.BytesIO()
    Image.new("RGB", (side, side), (10, 120, 200)).save(out, "JPEG")
    return out.getvalue()


@pytest.mark.parametrize("current, stored, shown", [
    (OLD, dict(width=96, height=96, etag='W/"old"'), False),  # still the photo from before the write
    (OLD, dict(width=432, height=432, etag='W/"new"'), True),
    (None, dict(width=432, height=432, etag='W/"new"'), True),
    (Current(facts=dict(width=1, height=1, etag=None)), dict(width=432, height=432, etag='W/"new"'), True),
])
def test_a_read_back_counts_only_when_its_etag_changed(current, stored, shown):
    assert shows_new_photo(current, stored) is shown


def test_after_is_the_uploaded_jpeg_until_the_service_shows_it():
    job = types.SimpleNamespace(photo=jpeg(432), stored=None)
    after = GraphBackend.after_facts(job)
    assert (after["width"], after["height"], after["etag"], after["format"]) == (432, 432, None, "JPEG")
    job.stored = dict(width=432, height=432, etag='W/"new"')
    assert GraphBackend.after_facts(job)["etag"] == 'W/"new"'
