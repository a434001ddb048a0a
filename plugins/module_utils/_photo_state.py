# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to the m365.photos collection: not a public API, may change without notice.
"""Whether a user's current photo must be replaced by the desired one."""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import re
import io
from dataclasses import dataclass

from ansible_collections.m365.photos.plugins.module_utils import _image


@dataclass(frozen=True)
class Decision:
    write: bool
    reason: str
    similarity: float | None = None


class DesiredPhoto:
    """The photo a user should have, from its source file: decoded once, fitted only when it is written.

    Deciding whether a user's photo is already right needs only a cheap preview of the source (a JPEG is
    decoded at reduced scale); the full decode and the byte-budget fit happen only for photos to write.
    """

    def __init__(self, source: bytes, *, max_bytes: int, max_dimension: int | None = None,
                 crop_mode: str = "none", background: str = "#ffffff") -> None:
        self.source = source
        self.max_bytes = max_bytes
        self.max_dimension = max_dimension
        self.crop_mode = crop_mode
        self.background = background
        self._fingerprint: _image.Fingerprint | None = None
        self._fitted: bytes | None = None
        self._shown_fingerprint: _image.Fingerprint | None = None

    def check(self) -> None:
        """ImageError now, before anything is sent anywhere, when the source is not a usable picture."""
        self.fingerprint()

    def fingerprint(self) -> _image.Fingerprint:
        if self._fingerprint is None:
            preview = _image.decode(self.source, draft_side=_image.FINGERPRINT_DRAFT_SIDE)
            shown = _image.crop(_image.normalise(preview, _image.parse_color(self.background)), self.crop_mode)
            self._fingerprint = _image.fingerprint(shown)
        return self._fingerprint

    def shown_fingerprint(self) -> _image.Fingerprint:
        """The fingerprint of the picture as a service that serves squares shows it: cut to its centred square."""
        if self._shown_fingerprint is None:
            preview = _image.decode(self.source, draft_side=_image.FINGERPRINT_DRAFT_SIDE)
            shown = _image.crop(_image.normalise(preview, _image.parse_color(self.background)), self.crop_mode)
            self._shown_fingerprint = _image.fingerprint(_image.crop(shown, "center"))
        return self._shown_fingerprint

    def source_size(self) -> tuple[int, int]:
        """The source's width and height as its header declares them; ImageError when it is no image."""
        self.fingerprint()  # the source must decode, not only declare a size
        return _image.Image.open(io.BytesIO(self.source)).size

    def upload_size(self) -> tuple[int, int]:
        """Width and height of the photo fitted() would give, from the source's header alone (no decoding).

        Orientation aside (a rotation swaps the sides, never changes them), cropping and max_dimension are
        all that change a photo's size while it fits a byte budget of megabytes.
        """
        width, height = self.source_size()
        if self.crop_mode != "none":
            width = height = min(width, height)
        longest = max(width, height)
        if self.max_dimension and longest > self.max_dimension:
            factor = self.max_dimension / longest
            width, height = max(1, round(width * factor)), max(1, round(height * factor))
        return width, height

    def fitted(self) -> bytes:
        """The bytes to write: the source itself when it already qualifies, else the best fit of max_bytes."""
        if self._fitted is None:
            self._fitted = _image.prepare_photo(self.source, max_bytes=self.max_bytes,
                                                max_dimension=self.max_dimension, crop_mode=self.crop_mode,
                                                background=self.background)
        return self._fitted


def decide(current: bytes | None, desired: DesiredPhoto, overwrite: str) -> Decision:
    """Decide for state=present; current is what the server holds now (None: no photo)."""
    if current is None:
        return Decision(True, "the user has no photo")
    if overwrite == "if_missing":
        return Decision(False, "the user already has a photo (overwrite=if_missing)")
    if overwrite == "always":
        if current == desired.fitted():
            return Decision(False, "the user already has exactly this photo")
        return Decision(True, "overwrite=always")
    if len(current) > desired.max_bytes:
        return Decision(True, "the current photo is %d bytes, over max_bytes %d" % (len(current), desired.max_bytes))
    try:
        current_facts = _image.describe(current)
        similarity = _image.compare_fingerprints(_image.fingerprint(current), desired.fingerprint())
    except _image.ImageError:
        return Decision(True, "the current photo cannot be read as an image")
    if desired.max_dimension and max(current_facts["width"], current_facts["height"]) > desired.max_dimension:
        return Decision(True, "the current photo is larger than max_dimension %d" % desired.max_dimension,
                        similarity.score)
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


def photo_source(src: str | None, content: str | None) -> bytes:
    """The bytes of the photo given by src (a file on the host running the module) or content (base64)."""
    if src:
        try:
            with open(src, "rb") as source:
                return source.read()
        except OSError as error:
            raise _image.ImageError("Cannot read the photo file %s: %s" % (src, error.strerror)) from None
    return decode_content(content)


# Services that keep their own copy of a photo (Microsoft Graph) re-encode and resize it: bytes never match,
# so "already right" is decided by size first, then by picture.
# A current photo at least this share of the side the desired upload would be kept at counts as comparable:
# for a 648 px upload, Graph's next size down (504, 0.78) passes; two sizes down (432, 0.67) does not.
COMPARABLE_RESOLUTION = 0.75


def decide_by_size(current_side: int | None, desired_side: int, overwrite: str,
                   max_dimension: int | None = None) -> Decision | None:
    """Decide for state=present from the sides of square photos alone; None when the pictures must be compared.

    current_side is the largest side the service serves now (None: no photo), desired_side the one it would
    serve after uploading the desired photo. No pixels are needed to see that a 96 px photo synced from
    Active Directory is not right when a 648 px one is desired.
    """
    if current_side is None:
        return Decision(True, "the user has no photo")
    if overwrite == "if_missing":
        return Decision(False, "the user already has a photo (overwrite=if_missing)")
    if overwrite == "always":
        return Decision(True, "overwrite=always")
    if current_side < desired_side * COMPARABLE_RESOLUTION:
        return Decision(True, "the current photo is %dx%d, much smaller than the %dx%d the desired photo gives"
                        % (current_side, current_side, desired_side, desired_side))
    if max_dimension and current_side > max_dimension:
        return Decision(True, "the current photo is larger than max_dimension %d" % max_dimension)
    return None


def decide_by_picture(current: bytes | None, desired: bytes) -> Decision:
    """Decide for state=present by comparing pictures, whatever their sizes and encodings.

    When the current photo is square and the desired one is not, the desired one is compared as the
    service shows it: cut to its centred square.
    """
    if current is None:
        return Decision(True, "the user has no photo")
    try:
        facts = _image.describe(current)
        shown = _image.decode(desired)
        if facts["width"] == facts["height"]:
            shown = _image.crop(_image.normalise(shown), "center")
        similarity = _image.compare(current, shown)
    except _image.ImageError:
        return Decision(True, "the current photo cannot be read as an image")
    if similarity.same:
        return Decision(False, "the current photo shows the same picture", similarity.score)
    return Decision(True, "the current photo shows a different picture", similarity.score)


def decide_by_preview(current: bytes | None, desired: DesiredPhoto) -> Decision:
    """decide_by_picture without fitting the desired photo: its cheap preview fingerprint stands in for it.

    current is what the service serves (a square); the desired picture is compared cut to its centred square.
    """
    if current is None:
        return Decision(True, "the user has no photo")
    try:
        facts = _image.describe(current)
        wanted = desired.shown_fingerprint() if facts["width"] == facts["height"] else desired.fingerprint()
        similarity = _image.compare_fingerprints(_image.fingerprint(current), wanted)
    except _image.ImageError:
        return Decision(True, "the current photo cannot be read as an image")
    if similarity.same:
        return Decision(False, "the current photo shows the same picture", similarity.score)
    return Decision(True, "the current photo shows a different picture", similarity.score)


def export_photo(photo: bytes, name: str, dest: str, extension: str = "jpg") -> str:
    """Write photo into folder dest as <name>.<extension>; name (a UPN, say) is made safe as a file name."""
    safe_name = re.sub(r"[^A-Za-z0-9@._-]", "_", name).lstrip(".")
    path = os.path.join(dest, "%s.%s" % (safe_name, extension))
    with open(path, "wb") as target:
        target.write(photo)
    return path


def thumbnail_b64(photo: bytes | None) -> str | None:
    """A small JPEG of photo, base64, for reports; None without a photo or when it is no image."""
    try:
        return base64.b64encode(_image.thumbnail(photo)).decode("ascii") if photo else None
    except _image.ImageError:
        return None
