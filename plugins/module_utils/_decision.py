# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to the m365.photos collection: not a public API, may change without notice.
"""Whether a user's photo is already right: the one place that decides it, for every backend and form.

The rows, in order (docs/development.md has the table):
  state=absent        write when there is a photo
  no current photo    write
  if_missing          keep
  exactly these bytes keep, where the server stores exactly what it is given and holds the bytes the source is
                      known to fit to (a source cache entry, or this run's fit), without decoding anything; the
                      bytes held are known by their SHA-256 (read, or recalled under the server's change stamp)
  always              write, unless the server stores exactly what it is given and holds these bytes
  over max_bytes      write (only where the server's bytes are known)
  not an image        write
  over max_dimension  write
  much smaller        write, where the service serves its own sizes: the current photo is under 3/4 of
                      the side the desired photo would be served at
  same picture        keep (compared as the service shows it); a different picture: write. The current photo's
                      fingerprint is computed from its preview, or recalled under the server's change stamp; with
                      neither, the preview is read first (needs_preview)
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from ansible_collections.m365.photos.plugins.module_utils import _image, _photo_facts

# A current photo at least this share of the side the desired upload would be served at counts as comparable:
# for a 648 px upload, Graph's next size down (504, 0.78) passes; two sizes down (432, 0.67) does not.
COMPARABLE_RESOLUTION = 0.75
EXACTLY_THIS_PHOTO = "the user already has exactly the photo this source gives"


@dataclass(frozen=True)
class Decision:
    write: bool
    reason: str
    similarity: float | None = None
    # The pictures must be compared and the current one has not been read yet: read it, then decide again.
    needs_preview: bool = False


@dataclass(frozen=True)
class ServedSizes:
    """How a server shows a photo it is given.

    stores_exactly: it keeps the written bytes (so bytes can be compared). resizes: it serves sizes of its
    own rather than what it was given. square: it shows a centred square of the upload.
    """

    stores_exactly: bool
    resizes: bool
    square: bool
    sides: tuple = ()

    def served(self, width: int, height: int) -> tuple[int, int]:
        """The largest size it serves for a photo of width x height."""
        if not self.resizes:
            return width, height
        shorter = min(width, height)
        side = max((side for side in self.sides if side <= shorter), default=shorter)
        return (side, side) if self.square else (width * side // shorter, height * side // shorter)


# Active Directory: thumbnailPhoto holds exactly what is written.
STORED_AS_WRITTEN = ServedSizes(stores_exactly=True, resizes=False, square=False)


class Current:
    """The photo a server holds for a user.

    data: its exact bytes, where the server keeps what it is given and they were read (facts are then derived from
    them, when first asked for). facts: what the module returns about it, in the backend's shape, with its largest
    served width and height (None when it is no image). preview: a picture of it to compare with (the photo
    itself, or a small size the service serves), once read. digest: the SHA-256 of its exact bytes (from data, or
    known without them: _photo_memory). comparison: (fingerprint, shown as a square) of the preview, once
    computed or recalled.
    """

    def __init__(self, data: bytes | None = None, facts: dict | None = None, preview: bytes | None = None,
                 digest: str | None = None, comparison: tuple | None = None) -> None:
        self.data = data
        self._facts = facts
        self.preview = preview if preview is not None else data
        self._digest = digest
        self.comparison = comparison

    @property
    def facts(self) -> dict:
        if self._facts is None:
            self._facts = _photo_facts.facts(self.data) or {}
        return self._facts

    @property
    def digest(self) -> str | None:
        """The SHA-256 of the exact bytes, where the server keeps them (None where it serves its own)."""
        if self._digest is None and self.data is not None:
            self._digest = hashlib.sha256(self.data).hexdigest()
        return self._digest

    @property
    def size_in_bytes(self) -> int | None:
        return len(self.data) if self.data is not None else self.facts.get("bytes")

    @property
    def width(self) -> int | None:
        return self.facts.get("width")

    @property
    def height(self) -> int | None:
        return self.facts.get("height")

    def compared(self, served: ServedSizes) -> tuple:
        """(fingerprint, whether it is shown as a square) of the preview; _image.ImageError when it is no picture."""
        if self.comparison is None:
            as_square = served.square and _is_square(self.preview)
            self.comparison = (_image.fingerprint(self.preview, budget=_image.CURRENT_PHOTO_BUDGET), as_square)
        return self.comparison


def decide(current: Current | None, desired, overwrite: str, served: ServedSizes) -> Decision:
    """Whether to write, for one user; desired is a _desired.DesiredPhoto, or None for state=absent."""
    if desired is None:
        return Decision(current is not None, "removing the photo" if current else "the user has no photo")
    if current is None:
        return Decision(True, "the user has no photo")
    if overwrite == "if_missing":
        return Decision(False, "the user already has a photo (overwrite=if_missing)")
    if served.stores_exactly and desired.gives(current.digest):
        return Decision(False, EXACTLY_THIS_PHOTO)
    if overwrite == "always":
        if served.stores_exactly and current.digest is not None and current.digest == desired.fitted_digest():
            return Decision(False, EXACTLY_THIS_PHOTO)
        return Decision(True, "overwrite=always")
    if current.size_in_bytes is not None and current.size_in_bytes > desired.max_bytes:
        size = current.size_in_bytes
        return Decision(True, "the current photo is %d bytes, over max_bytes %d" % (size, desired.max_bytes))
    if current.width is None or current.height is None:
        return Decision(True, "the current photo cannot be read as an image")
    if desired.max_dimension and max(current.width, current.height) > desired.max_dimension:
        return Decision(True, "the current photo is larger than max_dimension %d" % desired.max_dimension)
    if served.resizes:
        wanted = served.served(*desired.size())
        if min(current.width, current.height) < min(wanted) * COMPARABLE_RESOLUTION:
            return Decision(True, "the current photo is %dx%d, much smaller than the %dx%d the desired photo gives"
                            % (current.width, current.height, wanted[0], wanted[1]))
    if current.preview is None and current.comparison is None:
        return Decision(False, "the current photo must be read to compare it", needs_preview=True)
    return _compare(current, desired, served)


def _is_square(photo: bytes) -> bool:
    facts = _image.describe(photo)
    return facts["width"] == facts["height"]


def _compare(current: Current, desired, served: ServedSizes) -> Decision:
    try:
        fingerprint, as_square = current.compared(served)
        similarity = _image.compare_fingerprints(fingerprint, desired.fingerprint(square=as_square))
    except _image.ImageError:
        return Decision(True, "the current photo cannot be read as an image")
    if similarity.same:
        return Decision(False, "the current photo shows the same picture", similarity.score)
    return Decision(True, "the current photo shows a different picture", similarity.score)
