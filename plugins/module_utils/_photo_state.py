# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to the m365.photos collection: not a public API, may change without notice.
"""Whether a user's current photo must be replaced by the desired one."""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass

from ansible_collections.m365.photos.plugins.module_utils import _image


@dataclass(frozen=True)
class Decision:
    write: bool
    reason: str
    similarity: float | None = None


def decide(current: bytes | None, desired: bytes, overwrite: str, max_bytes: int,
           max_dimension: int | None = None) -> Decision:
    """Decide for state=present; current is what the server holds now (None: no photo)."""
    if current is None:
        return Decision(True, "the user has no photo")
    if current == desired:
        return Decision(False, "the user already has exactly this photo")
    if overwrite == "if_missing":
        return Decision(False, "the user already has a photo (overwrite=if_missing)")
    if overwrite == "always":
        return Decision(True, "overwrite=always")
    if len(current) > max_bytes:
        return Decision(True, "the current photo is %d bytes, over max_bytes %d" % (len(current), max_bytes))
    try:
        facts = _image.describe(current)
        similarity = _image.compare(current, desired)
    except _image.ImageError:
        return Decision(True, "the current photo cannot be read as an image")
    if max_dimension and max(facts["width"], facts["height"]) > max_dimension:
        return Decision(True, "the current photo is larger than max_dimension %d" % max_dimension, similarity.score)
    if similarity.same:
        return Decision(False, "the current photo shows the same picture", similarity.score)
    return Decision(True, "the current photo shows a different picture", similarity.score)


def facts(photo: bytes | None) -> dict | None:
    """What modules return and diff about a photo: bytes, sha256, width, height, format.

    A server may hold bytes that are no image at all; their size and hash are still facts.
    """
    if photo is None:
        return None
    try:
        return _image.describe(photo)
    except _image.ImageError:
        return dict(bytes=len(photo), sha256=hashlib.sha256(photo).hexdigest(), width=None, height=None, format=None)


def decode_content(content: str) -> bytes:
    """The photo given as base64 in the content option; ImageError when it is not base64."""
    try:
        return base64.b64decode("".join(content.split()), validate=True)
    except (binascii.Error, ValueError):
        raise _image.ImageError("content is not valid base64: give the photo file base64 encoded "
                                "(for example with the b64encode filter), or use src.") from None
