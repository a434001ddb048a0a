# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to the m365.photos collection: not a public API, may change without notice.
"""The Graph photo-size model: the square sizes Microsoft Graph serves, and what its photo metadata says."""

from __future__ import annotations

from dataclasses import dataclass

from ansible_collections.m365.photos.plugins.module_utils._decision import ServedSizes
from ansible_collections.m365.photos.plugins.module_utils._limits import GRAPH_PHOTO_SIDES

# The square sizes Graph serves, up to the shorter side of the upload.
PHOTO_SIDES = GRAPH_PHOTO_SIDES
# Downloaded to compare pictures: the 16x16 fingerprint needs no more, and it costs a few kilobytes.
COMPARISON_SIDE = 96
# Exchange Online's photo store: re-encodes every upload and serves centred squares of fixed sizes.
SERVED = ServedSizes(stores_exactly=False, resizes=True, square=True, sides=PHOTO_SIDES)


@dataclass(frozen=True)
class PhotoMetadata:
    width: int
    height: int
    etag: str | None

    @property
    def side(self) -> int:
        return min(self.width, self.height)

    def facts(self) -> dict:
        return dict(width=self.width, height=self.height, etag=self.etag)


def metadata_of(photo: dict | None) -> PhotoMetadata | None:
    """PhotoMetadata from a photo resource as Graph answers it (also in a $batch), None for "no photo"."""
    if not photo or not photo.get("width") or not photo.get("height"):
        return None
    content_type = str(photo.get("@odata.mediaContentType") or "image/jpeg")
    # An older service answers "no photo" with a 1x1 GIF placeholder and no ETag; a photo kept in Entra ID answers a
    # size it does not have with 1X1 metadata (the id's case varies).
    if str(photo.get("id") or "").lower() == "1x1" or content_type == "image/gif" or (photo["width"], photo["height"]) == (1, 1):
        return None
    return PhotoMetadata(width=int(photo["width"]), height=int(photo["height"]), etag=photo.get("@odata.mediaEtag") or None)


def served_side(width: int, height: int) -> int:
    """The largest side Graph serves for an upload of width x height."""
    return SERVED.served(width, height)[0]
