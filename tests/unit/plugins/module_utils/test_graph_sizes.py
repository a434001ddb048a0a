"""The photo sizes Microsoft Graph serves, and what its photo metadata means."""

from __future__ import annotations

import pytest

from ansible_collections.m365.photos.plugins.module_utils import _graph_sizes


@pytest.mark.parametrize("width, height, side", [(648, 648, 648), (1000, 700, 648), (512, 512, 504), (100, 300, 96),
                                                 (40, 40, 40)])
def test_the_served_side_is_the_largest_documented_size_within_the_upload(width, height, side):
    assert _graph_sizes.served_side(width, height) == side
    assert _graph_sizes.SERVED.served(width, height) == (side, side)


def test_photo_metadata_gives_the_largest_size_and_etag():
    metadata = _graph_sizes.metadata_of({"id": "240x240", "width": 240, "height": 240,
                                         "@odata.mediaContentType": "image/jpeg", "@odata.mediaEtag": 'W/"1"'})
    assert metadata.facts() == dict(width=240, height=240, etag='W/"1"') and metadata.side == 240


@pytest.mark.parametrize("photo", [None, {}, {"id": "1x1", "width": 1, "height": 1, "@odata.mediaContentType": "image/gif"},
                                   {"id": "0x0", "width": 0, "height": 0}])
def test_placeholders_and_empty_answers_mean_no_photo(photo):
    assert _graph_sizes.metadata_of(photo) is None
