# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to the m365.photos collection: not a public API, may change without notice.
"""What modules return and diff about a photo: its facts, never its bytes; small thumbnails for reports."""

from __future__ import annotations

import base64
import hashlib

from ansible_collections.m365.photos.plugins.module_utils import _image


def facts(photo: bytes | None) -> dict | None:
    """bytes, sha256, width, height and format of photo (None without a photo).

    A server may hold bytes that are no image at all; their size and hash are still facts.
    """
    if photo is None:
        return None
    try:
        return _image.describe(photo)
    except _image.ImageError:
        return dict(bytes=len(photo), sha256=hashlib.sha256(photo).hexdigest(), width=None, height=None, format=None)


def thumbnail_b64(photo: bytes | None) -> str | None:
    """A small JPEG of photo, base64, for reports; None without a photo or when it is no image.

    Decoded within the tight budget of photos read back from a server (which any user may have set).
    """
    try:
        return base64.b64encode(_image.thumbnail(photo, budget=_image.CURRENT_PHOTO_BUDGET)).decode("ascii") if photo else None
    except _image.ImageError:
        return None
