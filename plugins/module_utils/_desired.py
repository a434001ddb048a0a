# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to the m365.photos collection: not a public API, may change without notice.
"""The photo a user should have: its source, decoded once and cheaply, fitted only when it is written."""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass

from ansible_collections.m365.photos.plugins.module_utils import _image, _source_cache

# A byte budget of at least this many bytes per pixel cannot make the fit shrink a photo: a baseline JPEG at
# the highest quality the fit uses stays well below raw RGB (3 bytes a pixel); the rest covers headers.
_UNBINDING_BYTES_PER_PIXEL = 3
_UNBINDING_OVERHEAD_BYTES = 64 * 1024


@dataclass(frozen=True)
class Fitting:
    """How a source becomes the photo to write: the options that apply to every entry of a task."""

    max_bytes: int
    max_dimension: int | None = None
    crop: str = "none"
    background: str = "#ffffff"


class DesiredPhoto:
    """A source and how it is fitted.

    Deciding whether a user's photo is already right needs only a preview of the source (a JPEG is decoded
    at reduced scale) and, for services that serve their own sizes, the size the upload would have; the full
    decode and the byte-budget fit happen only when those cannot be known otherwise, or the photo is written.
    With a cache (a _source_cache.SourceCache), what an earlier run learnt of the same source and fitting is known
    without decoding it, and remember() keeps what this run learnt.
    """

    def __init__(self, source: bytes, fitting: Fitting, cache: _source_cache.SourceCache | None = None) -> None:
        self.source = source
        self.fitting = fitting
        self._shown = None
        self._shown_at_full_scale = False
        self._fitted: bytes | None = None
        self._cache = cache
        self._cache_key = _source_cache.entry_key(source, fitting) if cache else None
        self._known = (cache.load(self._cache_key) if cache else None) or _source_cache.KnownFit()
        self._learnt = False

    @property
    def max_bytes(self) -> int:
        return self.fitting.max_bytes

    @property
    def max_dimension(self) -> int | None:
        return self.fitting.max_dimension

    def check(self) -> None:
        """ImageError now, before anything is sent anywhere, when the source is not a usable picture."""
        self.fingerprint()

    def _preview(self):
        if self._shown is None:
            preview = _image.decode(self.source, draft_side=_image.FINGERPRINT_DRAFT_SIDE)
            # Only a JPEG is decoded at a reduced scale for a preview; any other source is decoded once per run,
            # its preview being what the fit starts from.
            self._shown_at_full_scale = preview.format != "JPEG"
            self._shown = _image.crop(_image.normalise(preview, _image.parse_color(self.fitting.background)),
                                      self.fitting.crop)
        return self._shown

    def fingerprint(self, square: bool = False) -> _image.Fingerprint:
        """The picture's fingerprint; with square, as a service that shows squares shows it (centred square)."""
        fingerprints = self._known.fingerprints
        if square not in fingerprints:
            shown = self._preview()
            fingerprints[square] = _image.fingerprint(_image.crop(shown, "center") if square else shown)
            self._learnt = True
        return fingerprints[square]

    def size(self) -> tuple[int, int]:
        """Width and height of the photo fitted() gives.

        From the source's header alone when the byte budget cannot shrink the photo (cropping and
        max_dimension are then all that change its size); otherwise the photo is fitted to know it.
        """
        if self._known.size is None:
            self._known.size = self._size()
            self._learnt = True
        return self._known.size

    def _size(self) -> tuple[int, int]:
        self.fingerprint()  # the source must decode, not only declare a size
        width, height = _image.Image.open(io.BytesIO(self.source)).size
        if self.fitting.crop != "none":
            width = height = min(width, height)
        longest = max(width, height)
        if self.max_dimension and longest > self.max_dimension:
            factor = self.max_dimension / longest
            width, height = max(1, round(width * factor)), max(1, round(height * factor))
        if self.max_bytes >= width * height * _UNBINDING_BYTES_PER_PIXEL + _UNBINDING_OVERHEAD_BYTES:
            return width, height
        fitted = _image.describe(self.fitted())
        return fitted["width"], fitted["height"]

    def fitted(self) -> bytes:
        """The bytes to write: the source itself when it already qualifies, else the best fit of max_bytes."""
        if self._fitted is None:
            if self._shown is not None and self._shown_at_full_scale:
                # What prepare_photo would do (no other format than JPEG is ever kept as it is), from the decode at
                # hand.
                self._fitted = _image.fit_to_budget(self._shown, self.max_bytes, self.max_dimension)
            else:
                self._fitted = _image.prepare_photo(self.source, max_bytes=self.max_bytes,
                                                    max_dimension=self.max_dimension, crop_mode=self.fitting.crop,
                                                    background=self.fitting.background)
            self._known.fitted_sha256 = hashlib.sha256(self._fitted).hexdigest()
            self._learnt = True
        return self._fitted

    def fitted_digest(self) -> str:
        """The SHA-256 of fitted(): known from the cache, else fitted to know it."""
        if self._known.fitted_sha256 is None:
            self.fitted()
        return self._known.fitted_sha256

    def gives(self, digest: str | None) -> bool:
        """Whether the photo whose SHA-256 is digest is known, without fitting, to be exactly what fitted() gives."""
        return digest is not None and self._known.fitted_sha256 == digest

    def remember(self) -> bool:
        """Keep in the cache what this run learnt of the source (nothing without a cache, or nothing new); whether
        an entry was stored."""
        if self._cache is None or not self._learnt:
            return False
        self._cache.store(self._cache_key, self._known)
        self._learnt = False
        return True
