# Copyright (c) 2026, the m365.photos contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Private to the m365.photos collection: not a public API, may change without notice.

"""Image pipeline shared by the photo modules: safe decode, normalise, crop, fit a byte budget, compare.

One file over 350 lines on purpose: its stages share private helpers (format checks, colour handling,
the display-size similarity the fit and the comparison both score with), and splitting them would make
those helpers public across files.
"""

from __future__ import annotations

import hashlib
import io
import math
import operator
import re
import traceback
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from typing import Tuple

from ansible_collections.m365.photos.plugins.module_utils._errors import PhotoError
from ansible_collections.m365.photos.plugins.module_utils._limits import MAX_SOURCE_BYTES, MAX_SOURCE_PIXELS
from ansible_collections.m365.photos.plugins.module_utils._module import Dependency

try:
    from PIL import Image, ImageChops, ImageColor, ImageMath, ImageOps
except ImportError:
    HAS_PILLOW = False
    PILLOW_IMPORT_ERROR: str | None = traceback.format_exc()
else:
    HAS_PILLOW = True
    PILLOW_IMPORT_ERROR = None
PILLOW = Dependency("Pillow", HAS_PILLOW, PILLOW_IMPORT_ERROR)

try:
    from PIL import ImageCms
except ImportError:
    # Pillow built without LittleCMS: colour profiles are then ignored, never fatal.
    HAS_IMAGECMS = False
else:
    HAS_IMAGECMS = True


RGB = Tuple[int, int, int]  # typing.Tuple: evaluated at import time, so it must work on old Pythons too

DEFAULT_MAX_INPUT_BYTES = MAX_SOURCE_BYTES
# A header check only (a decompression bomb guard): what a decode may cost is DecodeBudget's business.
DEFAULT_MAX_PIXELS = MAX_SOURCE_PIXELS

# Pillow's names for the formats we agree to parse; MPO is how Pillow names a JPEG with an MPF segment.
ACCEPTED_FORMATS = ("JPEG", "PNG", "GIF", "WEBP", "BMP", "TIFF")
ACCEPTED_FORMATS_TEXT = "JPEG, PNG, GIF, WebP, BMP, TIFF"
_FORMAT_ALIASES = {"MPO": "JPEG"}

WHITE: RGB = (255, 255, 255)

# Names what decode, normalise, crop, fingerprint and the fit give; change it with any change to their output, so
# source cache entries (_source_cache) made by another version are misses.
PIPELINE_VERSION = 2

CROP_MODES = ("none", "center", "top")
# 'top' keeps this share of the spare height above the square, so a head-and-shoulders portrait keeps
# a little air above the hair instead of touching the edge.
TOP_CROP_MARGIN = 0.08

# fit_to_budget: candidates are judged as a viewer sees them, at a common display size.
DISPLAY_SIZE = 240
MIN_QUALITY = 20
MAX_QUALITY = 95
SMALLEST_SIDE = 48
SIDE_LADDER = (
    48, 56, 64, 72, 80, 96, 112, 128, 144, 160, 176, 192, 208, 224, 240, 272, 304, 336, 360, 400,
    432, 504, 576, 648, 800, 1024, 1280, 1600, 2048, 2560, 3200, 4096,
)
# libjpeg's limit on a side is 65,535 pixels; a 64x200000 source is fitted within it.
JPEG_MAX_SIDE = 65500
SUBSAMPLING_420 = 2
SUBSAMPLING_444 = 0
# Candidates scoring within this of the best look the same at display size: keep the largest one,
# because some clients show the photo larger than the display size used for scoring.
EQUAL_LOOK_TOLERANCE = 0.002
# The size search walks towards smaller sizes only while each scores more than this above the last.
_CLEARLY_BETTER = EQUAL_LOOK_TOLERANCE / 2
# Resample from a pyramid level at least this many times the target (Pillow's reducing_gap idea); the
# display views, which only score, from one at least _DISPLAY_GAP times it.
_RESAMPLE_GAP = 2
_DISPLAY_GAP = 3
# Only budgets this generous (2 bits per pixel) can hold the full-size picture at top quality: try it first.
_GENEROUS_BITS_PER_PIXEL = 2
_BITS_PER_BYTE = 8
# Photos fitted to small budgets tend to look best at around this density; the size search starts there.
_TYPICAL_BEST_BITS_PER_PIXEL = 0.7
# _QualityModel: a JPEG's size goes about as libjpeg's quantisation scale to the power -0.7 (measured on the
# fidelity photos at 192-640 px); a typical photo takes 1.1 bits a pixel at quality 65 (scale 70) with 4:2:0
# chroma, and about 1.2 times the bytes with 4:4:4 at the same quality.
_SIZE_SCALE_EXPONENT = 0.7
_TYPICAL_COMPLEXITY = 1.1 / _BITS_PER_BYTE * 70 ** _SIZE_SCALE_EXPONENT
_FULL_CHROMA_SIZE_FACTOR = 1.2
_SSIM_BLOCK = 8
_SSIM_C1 = (0.01 * 255) ** 2
_SSIM_C2 = (0.03 * 255) ** 2
# Luminance carries most of what a viewer sees; chroma still counts so 4:4:4 can win on colourful edges.
_PLANE_WEIGHTS = (0.8, 0.1, 0.1)

# Fingerprints: a 16x16 luminance thumbnail and an 8x8 chroma thumbnail of the whole picture.
THUMBNAIL_SIDE = 96
THUMBNAIL_QUALITY = 80
LUMA_SIDE = 16
# Decoding a JPEG at 1/2 to 1/8 scale for a fingerprint changes no score measurably and is much faster.
FINGERPRINT_DRAFT_SIDE = 4 * LUMA_SIDE
CHROMA_SIDE = 8
SAME_PICTURE_THRESHOLD = 0.81
# A different aspect ratio means a different crop, whatever the pixels say.
_ASPECT_TOLERANCE = 0.03
_LUMA_DIFFERENCE_WEIGHT = 4.0
_CHROMA_DIFFERENCE_WEIGHT = 6.0

_FOREIGN_SIGNATURES = (
    (b"%PDF", "PDF"),
    (b"8BPS", "Photoshop PSD"),
    (b"\x00\x00\x01\x00", "Windows icon"),
    (b"\x00\x00\x00\x0cjP  ", "JPEG 2000"),
    (b"\xff\x4f\xff\x51", "JPEG 2000"),
)
_HEIF_BRANDS = {b"heic": "HEIC", b"heix": "HEIC", b"hevc": "HEIC", b"mif1": "HEIF", b"msf1": "HEIF",
                b"avif": "AVIF", b"avis": "AVIF"}


class ImageError(PhotoError):
    """A photo that cannot be used; the message says why and what to do."""


_MIB = 1024 * 1024
# What the pipeline's own images add per pixel of the decoded frame, at their peak: a source is normalised
# (an RGB copy, 4 bytes a pixel, and on the way an RGBA one and its alpha plane) and fitted (a crop, the
# pyramid of halvings); a current photo is only normalised, fingerprinted and thumbnailed. Measured at
# 4 megapixels, everything included: 11.4 bytes a pixel for an RGB JPEG source, 12.9 for an RGBA PNG, 11.1
# for a GIF; 11.9 for a transparent GIF as a current photo. Rounded up.
_SOURCE_WORK_BYTES_PER_PIXEL = 14
_CURRENT_WORK_BYTES_PER_PIXEL = 12
# libwebp decodes into a canvas of its own, RGBA, and Pillow copies it out (24.9 bytes a pixel in all, RGBA).
_WEBP_DECODER_BYTES_PER_PIXEL = 8
# Pillow decodes run-length BMPs in pure Python, at about 5 MB a second here: more would take seconds.
MAX_RLE_BMP_BYTES = 8 * _MIB
# Pillow decodes each TIFF strip or tile in a call of its own (about 3 microseconds each here); a scanner's
# TIFF of one strip a row stays well below this.
MAX_TIFF_TILES = 65536


@dataclass(frozen=True)
class DecodeBudget:
    """What decoding one photo may cost, checked from its header before any pixel is allocated.

    max_memory bounds the decoded frame (the canvas, in the bytes a pixel takes in its mode), the decoder's
    own buffers (a TIFF tile or strip, a progressive JPEG's coefficients, WebP's canvas) and the copies
    the pipeline makes of it (work_bytes_per_pixel). A JPEG over it is decoded at 1/2, 1/4 or 1/8 scale
    (DCT scaling) when that fits; anything else over it is refused. max_side bounds each side as decoded.
    """

    max_memory: int
    formats: tuple = ACCEPTED_FORMATS
    max_side: int | None = None
    work_bytes_per_pixel: int = _SOURCE_WORK_BYTES_PER_PIXEL
    what: str = "photo"

    def largest_pixels(self, mode: str) -> int:
        """The most pixels a frame in mode may have (no decoder buffers counted)."""
        return self.max_memory // (_bytes_per_pixel(mode) + self.work_bytes_per_pixel)


# Sources: 224 MiB of image work keeps a module process (about 60 MB with its imports) under 300 MB. A JPEG
# of up to 12 megapixels (4000x3000) decodes at full size, a larger one at a reduced scale; other formats
# up to 12.4 megapixels (RGB or RGBA), 14.9 (grayscale or palette).
SOURCE_BUDGET = DecodeBudget(max_memory=224 * _MIB)
# Photos read back from a directory or from Graph, which any user may have set: Active Directory holds at
# most 100 KB, Graph serves squares of at most 648 px. Only the formats they hold, of sane sizes.
CURRENT_PHOTO_BUDGET = DecodeBudget(max_memory=48 * _MIB, formats=("JPEG", "PNG", "GIF"), max_side=4096,
                                    work_bytes_per_pixel=_CURRENT_WORK_BYTES_PER_PIXEL, what="current photo")


def _bytes_per_pixel(mode: str) -> int:
    """What Pillow stores a pixel of mode in: 1 byte for 1, L and P, 2 for 16-bit modes, else 4."""
    if mode in ("1", "L", "P"):
        return 1
    if mode.startswith("I;16"):
        return 2
    return 4


def _not_readable(kind: str) -> ImageError:
    return ImageError(
        "The photo is not an image this collection can read ({0}); supported formats: {1}.".format(
            kind, ACCEPTED_FORMATS_TEXT))


def _sniff_foreign_kind(data: bytes) -> str:
    """Name the kind of a refused input, for the error message only (never used to accept anything)."""
    head = data[:1024]
    if head.lstrip().startswith(b"<") and b"<svg" in head.lower():
        return "SVG"
    for signature, kind in _FOREIGN_SIGNATURES:
        if head.startswith(signature):
            return kind
    if head[4:8] == b"ftyp":
        return _HEIF_BRANDS.get(head[8:12], "ISO media (video or HEIF)")
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        return "unknown binary data"
    return "text"


def _out_of_memory() -> ImageError:
    return ImageError("The photo needs more memory than this process may use (MemoryError); use a smaller picture.")


@contextmanager
def _memory_errors() -> Iterator[None]:
    """MemoryError (a worker's address-space limit reached) becomes an ImageError for that photo only."""
    try:
        yield
    except MemoryError:
        raise _out_of_memory() from None


@contextmanager
def _pillow_errors(doing: str) -> Iterator[None]:
    """Turn whatever Pillow raises on hostile input (many types) into an ImageError; hush its warnings."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            yield
        except ImageError:
            raise
        except MemoryError:
            raise _out_of_memory() from None
        except Exception as exc:
            raise ImageError(
                "The photo could not be {0}: it is truncated or corrupt ({1}: {2}). Export it again "
                "from the original picture.".format(doing, type(exc).__name__, exc)) from exc


def _check_bytes(data: bytes) -> None:
    if not isinstance(data, (bytes, bytearray)):
        raise ImageError("The photo must be given as bytes, not {0}.".format(type(data).__name__))
    if not data:
        raise ImageError("The photo is empty (0 bytes); give a file in one of: {0}.".format(
            ACCEPTED_FORMATS_TEXT))


def _open(data: bytes, formats: tuple = ACCEPTED_FORMATS) -> Image.Image:
    """Parse the header only, restricted to the accepted formats."""
    _check_bytes(data)
    with _pillow_errors("read"):
        try:
            return Image.open(io.BytesIO(data), formats=formats)
        except Image.UnidentifiedImageError:
            raise _not_readable(_sniff_foreign_kind(data)) from None
        except Image.DecompressionBombError as exc:
            # Pillow's own last-resort check, for headers far beyond any sensible max_pixels.
            raise ImageError("The photo declares far too many pixels ({0}); scale it down before using "
                             "it.".format(exc)) from None


def format_name(image: Image.Image) -> str:
    return _FORMAT_ALIASES.get(image.format or "", image.format or "unknown")


# In a JPEG's entropy-coded data, 0xFF is followed by 0x00 (a stuffed byte) or a restart marker; anything
# else starts a marker (fill bytes 0xFF included, skipped by the walk).
_MARKER_IN_SCAN = re.compile(rb"\xff[^\x00\xd0-\xd7]")
_START_OF_FRAME_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
_BASELINE_SOF = 0xC0
_START_OF_SCAN = 0xDA
_END_OF_IMAGE = 0xD9
_STANDALONE_MARKERS = frozenset(range(0xD0, 0xD8)) | {0x01}


@dataclass
class _JpegStructure:
    """Every segment of a JPEG from SOI to EOI, walked without decoding."""

    segments: list  # (marker, payload) of every segment, before and between the scans
    scans: int = 0
    scan_bytes: int = 0  # entropy-coded bytes in all scans
    end: int | None = None  # offset of the EOI marker; None when the walk found none (truncated or malformed)

    def trailing_bytes(self, data: bytes) -> int:
        return len(data) - self.end - 2 if self.end is not None else 0


def _jpeg_structure(data: bytes) -> _JpegStructure:
    structure = _JpegStructure(segments=[])
    position = 2
    while position + 2 <= len(data):
        if data[position] != 0xFF:
            return structure
        marker = data[position + 1]
        if marker == 0xFF:
            position += 1
            continue
        if marker == _END_OF_IMAGE:
            structure.end = position
            return structure
        if marker in _STANDALONE_MARKERS:
            position += 2
            continue
        length = int.from_bytes(data[position + 2:position + 4], "big")
        if length < 2 or position + 2 + length > len(data):
            return structure
        structure.segments.append((marker, data[position + 4:position + 2 + length]))
        position += 2 + length
        if marker == _START_OF_SCAN:
            structure.scans += 1
            found = _MARKER_IN_SCAN.search(data, position)
            if found is None:
                structure.scan_bytes += len(data) - position
                return structure
            structure.scan_bytes += found.start() - position
            position = found.start()
    return structure


def _jpeg_segments(data: bytes) -> Iterator[tuple[int, bytes]]:
    """(marker, payload) of every JPEG segment up to EOI, the scans' headers and any after the first scan included."""
    return iter(_jpeg_structure(data).segments)


def _jpeg_components(structure: _JpegStructure) -> int:
    for marker, payload in structure.segments:
        if marker in _START_OF_FRAME_MARKERS and len(payload) >= 6:
            return payload[5]
    return 3


def _tiff_buffer_bytes(image: Image.Image) -> int:
    """The largest buffer Pillow's TIFF decoder allocates for one tile or strip, from the tags (not the tiles
    Pillow lists, which are clipped to the picture: a 64x64 picture may declare a 46320x46320 tile)."""
    tags = getattr(image, "tag_v2", {})
    width, height = image.size
    samples = int(tags.get(277, 1) or 1)
    bits = tags.get(258, 8)
    bits = max(bits) if isinstance(bits, tuple) else int(bits or 8)
    sample_bytes = samples * max(1, (bits + 7) // 8)
    if 322 in tags or 323 in tags:
        return int(tags.get(322, width)) * int(tags.get(323, height)) * sample_bytes
    return width * min(height, int(tags.get(278, height) or height)) * sample_bytes


def _decode_cost(image: Image.Image, budget: DecodeBudget, jpeg: _JpegStructure | None, scale: int = 1) -> int:
    """Bytes decoding image at 1/scale and the pipeline's work on it would take at their peak."""
    width, height = image.size
    pixels = -(-width // scale) * -(-height // scale)
    cost = pixels * (_bytes_per_pixel(image.mode) + budget.work_bytes_per_pixel)
    if image.format == "TIFF":
        cost += _tiff_buffer_bytes(image)
    elif image.format == "WEBP":
        cost += width * height * _WEBP_DECODER_BYTES_PER_PIXEL
    elif jpeg is not None and jpeg.scans > 1:
        # Progressive (or multi-scan) JPEG: libjpeg keeps every coefficient, at full size whatever the scale.
        cost += width * height * _jpeg_components(jpeg) * 2
    return cost


def _check_time_budget(data: bytes, image: Image.Image) -> None:
    if any(tile[0] == "bmp_rle" for tile in image.tile) and len(data) > MAX_RLE_BMP_BYTES:
        raise ImageError(
            "The photo is a run-length compressed BMP of {0:,} bytes, more than the {1:,} bytes it can be "
            "decoded from in reasonable time; save it as PNG or JPEG.".format(len(data), MAX_RLE_BMP_BYTES))
    if image.format == "TIFF" and len(image.tile) > MAX_TIFF_TILES:
        raise ImageError(
            "The photo is a TIFF of {0:,} tiles or strips, more than the {1:,} it can be decoded from in "
            "reasonable time; save it as PNG or JPEG.".format(len(image.tile), MAX_TIFF_TILES))


def _memory_scale(image: Image.Image, budget: DecodeBudget, jpeg: _JpegStructure | None) -> int:
    """1, or the JPEG scale (2, 4, 8) that brings the decode within the budget; ImageError when none does."""
    scales = (1, 2, 4, 8) if image.format == "JPEG" else (1,)
    for scale in scales:
        cost = _decode_cost(image, budget, jpeg, scale)
        if cost <= budget.max_memory:
            return scale
    width, height = image.size
    raise ImageError(
        "The {0} ({1}, {2}x{3} pixels in mode {4}) would need about {5:,} MB of memory to decode, more than "
        "the {6:,} MB allowed; use a smaller picture.".format(
            budget.what, format_name(image), width, height, image.mode, -(-cost // _MIB), budget.max_memory // _MIB))


def _check_jpeg_structure(jpeg: _JpegStructure) -> None:
    if not jpeg.scans or not jpeg.scan_bytes:
        raise ImageError("The photo is a truncated or corrupt JPEG: it holds no image data (no scan); export it "
                         "again from the original picture.")
    if jpeg.end is None:
        raise ImageError("The photo is a truncated or corrupt JPEG: its data ends before the end-of-image "
                         "marker; export it again from the original picture.")


# Put before the EOI: all-one bits, which are no Huffman code (each decodes as "no change"), enough for many
# blocks. A complete scan never reads them; a truncated one does, and decodes them differently from the zeros
# a decoder pads missing data with.
_ONES_PADDING = b"\xff\x00" * 2048


def _check_jpeg_complete(data: bytes, jpeg: _JpegStructure, decoded: Image.Image, draft: tuple | None) -> None:
    """ImageError when the scan data stops short, even with an end-of-image marker appended.

    Decoders pad missing scan data with zeros (a grey lower part) and say nothing. The check decodes the
    file once more, at the same scale, with all-one bits before its EOI, and compares: only data the scan
    lacks can tell the two apart. At a reduced scale, a progressive JPEG's missing fine detail may not show;
    the full-size decode before a photo is fitted catches it.
    """
    padded = Image.open(io.BytesIO(data[:jpeg.end] + _ONES_PADDING + b"\xff\xd9"), formats=("JPEG", "MPO"))
    if draft:
        padded.draft(padded.mode, draft)
    padded.load()
    if padded.size != decoded.size or ImageChops.difference(padded, decoded).getbbox() is not None:
        raise ImageError("The photo is a truncated or corrupt JPEG: its scan data stops short (the missing part "
                         "would show grey); export it again from the original picture.")


def _check_side(image: Image.Image, budget: DecodeBudget) -> None:
    if budget.max_side and max(image.size) > budget.max_side:
        raise ImageError("The {0} is {1}x{2} pixels, more than the {3} pixels a side accepted here.".format(
            budget.what, image.width, image.height, budget.max_side))


def decode(data: bytes, max_input_bytes: int = DEFAULT_MAX_INPUT_BYTES,
           max_pixels: int = DEFAULT_MAX_PIXELS, draft_side: int | None = None,
           budget: DecodeBudget = SOURCE_BUDGET) -> Image.Image:
    """Decode untrusted bytes into a fully loaded image (first frame of an animation), within budget.

    With draft_side, a JPEG may be decoded at a reduced scale (DCT scaling), keeping both sides at
    least draft_side: much cheaper when only a preview is needed, such as for a fingerprint. A JPEG is
    also decoded at a reduced scale when its full size would not fit the budget.
    """
    _check_bytes(data)
    if len(data) > max_input_bytes:
        raise ImageError(
            "The photo is {0:,} bytes, more than the limit of {1:,} bytes; use a smaller file "
            "(or raise the input size limit).".format(len(data), max_input_bytes))
    image = _open(data, budget.formats)
    width, height = image.size
    if width * height > max_pixels:
        raise ImageError(
            "The photo declares {0}x{1} pixels ({2:,} pixels), more than the limit of {3:,}; scale it "
            "down before using it (or raise the pixel limit).".format(width, height, width * height, max_pixels))
    jpeg = None
    if image.format in ("JPEG", "MPO"):
        jpeg = _jpeg_structure(data)
        _check_jpeg_structure(jpeg)
    _check_time_budget(data, image)
    if image.format != "JPEG":
        _check_side(image, budget)  # a JPEG's side is checked as it will be decoded, maybe at a reduced scale
    scale = _memory_scale(image, budget, jpeg)
    with _pillow_errors("decoded as {0}".format(format_name(image))):
        draft = None
        if image.format == "JPEG" and (draft_side or scale > 1):
            draft = (max(1, width // scale), max(1, height // scale))
            if draft_side:
                draft = (min(draft[0], draft_side), min(draft[1], draft_side))
            image.draft(image.mode, draft)
        _check_side(image, budget)
        image.load()
        if jpeg is not None:
            _check_jpeg_complete(data, jpeg, image, draft)
    return image


_TRANSPOSING_ORIENTATIONS = frozenset(range(2, 9))


def _apply_exif_orientation(image: Image.Image) -> Image.Image:
    try:
        if image.getexif().get(0x0112, 1) not in _TRANSPOSING_ORIENTATIONS:
            return image  # nothing to turn, and no copy made
        return ImageOps.exif_transpose(image)
    except Exception:
        # Unreadable EXIF: the pixels are still good, show them as stored.
        return image


def _to_8_bits(image: Image.Image) -> Image.Image:
    """Grayscale with 16 or 32 bits per pixel becomes 8-bit L, scaled rather than clipped to white."""
    if not (image.mode.startswith("I") or image.mode == "F"):
        return image
    as_float = image.convert("F")
    low, high = as_float.getextrema()
    if image.mode.startswith("I;16") or (low >= 0 and 255 < high <= 65535):
        low, high = 0, 65535
    elif low >= 0 and high <= 255:
        low, high = 0, 255
    scale = 255.0 / (high - low) if high > low else 1.0
    return as_float.point(lambda value: (value - low) * scale).convert("L")


def _split_alpha(image: Image.Image) -> tuple[Image.Image, Image.Image | None]:
    """Separate colour (L, RGB or CMYK, still in the file's colour space) from transparency."""
    if image.mode == "LA":
        return image.convert("L"), image.getchannel("A")
    if image.mode in ("RGBA", "PA", "La", "RGBa") or "transparency" in image.info:
        rgba = image if image.mode == "RGBA" else image.convert("RGBA")
        return rgba.convert("RGB"), rgba.getchannel("A")
    if image.mode in ("L", "RGB", "CMYK"):
        return image, None
    return image.convert("RGB"), None


@lru_cache(maxsize=1)
def _srgb_profile() -> ImageCms.ImageCmsProfile:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


def _to_srgb(colour: Image.Image, icc_profile: bytes | None) -> Image.Image:
    if icc_profile and HAS_IMAGECMS:
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(icc_profile))
            return ImageCms.profileToProfile(colour, source, _srgb_profile(), outputMode="RGB")
        except Exception:
            # A broken profile or one that does not match the pixels: plain conversion is still a good picture.
            pass
    return colour if colour.mode == "RGB" else colour.convert("RGB")


def _flatten(rgb: Image.Image, alpha: Image.Image | None, background: RGB, source: Image.Image) -> Image.Image:
    """An RGB image of its own (not source, no metadata at all), transparency composited onto the background.

    Without transparency, rgb itself when it is already a copy made on the way: one frame less in memory.
    """
    if alpha is None:
        flat = rgb.copy() if rgb is source else rgb
        flat.info = {}
        return flat
    flat = Image.new("RGB", rgb.size, background)
    flat.paste(rgb, mask=alpha)
    return flat


def normalise(image: Image.Image, background: RGB = WHITE) -> Image.Image:
    """Upright, sRGB, 8-bit RGB, transparency flattened, no metadata."""
    with _pillow_errors("converted to RGB"):
        upright = _apply_exif_orientation(image)
        colour, alpha = _split_alpha(_to_8_bits(upright))
        rgb = _to_srgb(colour, image.info.get("icc_profile"))
        return _flatten(rgb, alpha, background, image)


def parse_color(value: str) -> RGB:
    """'#rrggbb', '#rgb' or a CSS colour name."""
    if not isinstance(value, str):
        raise ImageError("The background colour must be a string such as '#ffffff' or 'white'.")
    try:
        red, green, blue = ImageColor.getrgb(value.strip())[:3]
    except ValueError:
        raise ImageError(
            "The background colour {0!r} is not a colour; use '#rrggbb', '#rgb' or a CSS colour name "
            "such as 'white'.".format(value)) from None
    return red, green, blue


def _check_crop_mode(mode: str) -> None:
    if mode not in CROP_MODES:
        raise ImageError("The crop mode {0!r} is unknown; use one of: {1}.".format(mode, ", ".join(CROP_MODES)))


def crop(image: Image.Image, mode: str) -> Image.Image:
    """'none': unchanged; 'center': largest centred square; 'top': largest square near the top."""
    _check_crop_mode(mode)
    width, height = image.size
    if mode == "none" or width == height:
        return image
    side = min(width, height)
    left = (width - side) // 2
    spare_height = height - side
    top = spare_height // 2 if mode == "center" else round(spare_height * TOP_CROP_MARGIN)
    with _memory_errors():
        return image.crop((left, top, left + side, top + side))


def _scaled_size(size: tuple[int, int], longest: int) -> tuple[int, int]:
    width, height = size
    factor = longest / max(width, height)
    return max(1, round(width * factor)), max(1, round(height * factor))


def _resize(image: Image.Image, longest: int) -> Image.Image:
    target = _scaled_size(image.size, longest)
    if target == image.size:
        return image
    return image.resize(target, Image.Resampling.LANCZOS, reducing_gap=3.0)


def encode_jpeg(image: Image.Image, quality: int, subsampling: int) -> bytes:
    """Baseline JPEG, optimised Huffman tables, no metadata."""
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality, subsampling=subsampling, optimize=True, progressive=False)
    return buffer.getvalue()


def _libjpeg_scale(quality: int) -> float:
    """The percentage libjpeg scales its quantisation tables by at quality (its jpeg_quality_scaling)."""
    return 5000 / quality if quality < 50 else 200 - 2 * quality


def _quality_for_scale(scale: float) -> int:
    """The quality for a scale, rounded up: a guess one too high costs no more encodings than the right one."""
    quality = 5000 / scale if scale > 100 else (200 - scale) / 2
    return min(MAX_QUALITY, max(MIN_QUALITY, math.ceil(quality)))


class _QualityModel:
    """Predicts the JPEG quality that fills a byte budget, from the encodings of this photo seen so far.

    A JPEG's size is close to complexity * pixels * scale ** -_SIZE_SCALE_EXPONENT, scale being libjpeg's
    quantisation scale; each encoding measures the complexity anew, so neighbouring sizes and qualities of
    the same photo predict each other closely and a search needs two or three encodings, not eight.
    """

    def __init__(self) -> None:
        self.complexity: dict[int, float] = {}

    def learn(self, subsampling: int, pixels: int, quality: int, size: int) -> None:
        self.complexity[subsampling] = size / pixels * _libjpeg_scale(quality) ** _SIZE_SCALE_EXPONENT

    def predict(self, subsampling: int, pixels: int, max_bytes: int) -> int:
        complexity = self.complexity.get(subsampling)
        if complexity is None:
            subsampled = self.complexity.get(SUBSAMPLING_420, _TYPICAL_COMPLEXITY)
            complexity = subsampled if subsampling == SUBSAMPLING_420 else subsampled * _FULL_CHROMA_SIZE_FACTOR
        return _quality_for_scale((complexity * pixels / max_bytes) ** (1 / _SIZE_SCALE_EXPONENT))


def _best_fitting_quality(image: Image.Image, subsampling: int, max_bytes: int,
                          model: _QualityModel | None = None) -> bytes | None:
    """The highest-quality encoding within max_bytes; None if none fits.

    The search starts where the model predicts. Until one quality fits and a higher one does not, it moves
    by the model's predictions but at least one quality, then one, two, four...; once bracketed it follows the
    model inside the bracket, or bisects when the model points outside. Encodings grow with quality, so the
    answer is the one a bisection over all qualities finds: in two or three encodings instead of eight once
    the model has seen the photo, in at most about twice a bisection's when it predicts badly.
    """
    model = model or _QualityModel()
    pixels = image.width * image.height
    fits, too_big = MIN_QUALITY - 1, MAX_QUALITY + 1
    best = None
    quality = model.predict(subsampling, pixels, max_bytes)
    moves = 0
    while too_big - fits > 1:
        encoded = encode_jpeg(image, quality, subsampling)
        model.learn(subsampling, pixels, quality, len(encoded))
        if len(encoded) <= max_bytes:
            fits, best = quality, encoded
        else:
            too_big = quality
        predicted = model.predict(subsampling, pixels, max_bytes)
        if fits < MIN_QUALITY or too_big > MAX_QUALITY:
            step = 1 << max(0, moves - 1)
            predicted = max(predicted, quality + step) if quality == fits else min(predicted, quality - step)
            moves += 1
        elif not fits < predicted < too_big:
            predicted = (fits + too_big) // 2
        quality = min(too_big - 1, max(fits + 1, predicted))
    return best


def _float_planes(image: Image.Image) -> tuple[Image.Image, ...]:
    return tuple(plane.convert("F") for plane in image.convert("YCbCr").split())


def _mean(image: Image.Image) -> float:
    return image.resize((1, 1), Image.Resampling.BOX).getpixel((0, 0))


def _block_mean(expression, **planes) -> Image.Image:
    return ImageMath.lambda_eval(expression, **planes).reduce(_SSIM_BLOCK)


@dataclass(frozen=True)
class _BlockStatistics:
    """A float plane with its 8x8 block means and means of squares: a reference's are computed once a fit."""

    plane: Image.Image
    mean: Image.Image
    mean_square: Image.Image


def _block_statistics(plane: Image.Image) -> _BlockStatistics:
    return _BlockStatistics(plane, plane.reduce(_SSIM_BLOCK), _block_mean(lambda a: a["x"] * a["x"], x=plane))


def _block_ssim(x: _BlockStatistics, y: _BlockStatistics) -> float:
    """SSIM over non-overlapping 8x8 blocks of two float planes: Pillow only, fast enough per candidate."""
    mean_xy = _block_mean(lambda a: a["x"] * a["y"], x=x.plane, y=y.plane)
    ssim_map = ImageMath.lambda_eval(
        lambda a: ((a["mx"] * a["my"] * 2 + _SSIM_C1) * ((a["mxy"] - a["mx"] * a["my"]) * 2 + _SSIM_C2))
        / ((a["mx"] * a["mx"] + a["my"] * a["my"] + _SSIM_C1)
           * (a["mxx"] - a["mx"] * a["mx"] + a["myy"] - a["my"] * a["my"] + _SSIM_C2)),
        mx=x.mean, my=y.mean, mxx=x.mean_square, myy=y.mean_square, mxy=mean_xy)
    return _mean(ssim_map)


def _display_view(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    return image.resize(size, Image.Resampling.LANCZOS, reducing_gap=_DISPLAY_GAP)


def _reference_statistics(planes: tuple[Image.Image, ...]) -> tuple[_BlockStatistics, ...]:
    return tuple(_block_statistics(plane) for plane in planes)


def _similarity(reference: tuple[_BlockStatistics, ...], candidate: Image.Image) -> float:
    planes = _float_planes(_display_view(candidate, reference[0].plane.size))
    return sum(weight * _block_ssim(ref, _block_statistics(plane))
               for weight, ref, plane in zip(_PLANE_WEIGHTS, reference, planes))


def display_similarity(reference_planes: tuple[Image.Image, ...], candidate: Image.Image) -> float:
    """How close a candidate looks to the reference at display size (1.0 = identical)."""
    return _similarity(_reference_statistics(reference_planes), candidate)


@dataclass(frozen=True)
class _Candidate:
    score: float
    side: int
    data: bytes


def _check_budget(max_bytes: int, max_dimension: int | None) -> None:
    if not isinstance(max_bytes, int) or max_bytes <= 0:
        raise ImageError("The byte budget must be a positive number of bytes, not {0!r}.".format(max_bytes))
    if max_dimension is not None and (not isinstance(max_dimension, int) or max_dimension <= 0):
        raise ImageError("The maximum dimension must be a positive number of pixels, not {0!r}.".format(
            max_dimension))


def _candidate_sides(longest: int, max_dimension: int | None) -> tuple[int, ...]:
    top_side = min(longest, max_dimension or longest, JPEG_MAX_SIDE)
    return tuple(side for side in SIDE_LADDER if side < top_side) + (top_side,)


def _pick(candidates: list[_Candidate]) -> _Candidate:
    best_score = max(candidate.score for candidate in candidates)
    looks_best = [c for c in candidates if c.score >= best_score - EQUAL_LOOK_TOLERANCE]
    return max(looks_best, key=lambda candidate: (candidate.side, candidate.score))


class _Pyramid:
    """Reductions of the working image by powers of two, so each size is resampled from a nearby one.

    A reduction is made when a size first needs it, in one pass from the working image (a 3000 px photo
    reduced by 4 costs half of two halvings), and kept for the other sizes and the reference's display view.
    """

    def __init__(self, working: Image.Image) -> None:
        self.working = working
        self.reduced: dict[int, Image.Image] = {1: working}

    def _base(self, least: int) -> Image.Image:
        """The smallest reduction whose longest side is still at least least (the working image if none is)."""
        longest, factor = max(self.working.size), 1
        while -(-longest // (2 * factor)) >= least:  # Image.reduce keeps a last partial pixel: a ceiling
            factor *= 2
        if factor not in self.reduced:
            self.reduced[factor] = self.working.reduce(factor)
        return self.reduced[factor]

    def scaled(self, side: int) -> Image.Image:
        base = self._base(_RESAMPLE_GAP * side)
        target = _scaled_size(self.working.size, side)
        return base if target == base.size else base.resize(target, Image.Resampling.LANCZOS)

    def display_view(self) -> Image.Image:
        """The working image at display size, from a reduction at least _DISPLAY_GAP times that size."""
        return _display_view(self._base(_DISPLAY_GAP * DISPLAY_SIZE), _scaled_size(self.working.size, DISPLAY_SIZE))


def _fitting_candidate(scaled: Image.Image, side: int, subsampling: int, max_bytes: int,
                       reference: tuple[_BlockStatistics, ...], model: _QualityModel) -> _Candidate | None:
    data = _best_fitting_quality(scaled, subsampling, max_bytes, model)
    if data is None:
        return None
    return _Candidate(_similarity(reference, Image.open(io.BytesIO(data))), side, data)


def _starting_index(sides: tuple[int, ...], size: tuple[int, int], max_bytes: int) -> int:
    """The candidate size where a photo of this shape typically looks best for the budget, to start there."""
    def pixels(side: int) -> int:
        width, height = _scaled_size(size, side)
        return width * height

    fitting = [index for index, side in enumerate(sides)
               if pixels(side) * _TYPICAL_BEST_BITS_PER_PIXEL <= max_bytes * _BITS_PER_BYTE]
    return fitting[-1] if fitting else 0


class _SizeSearch:
    """Scores candidate sizes on demand, each once, for a hill climb over the ladder of sizes.

    The climb compares sizes with 4:2:0 chroma subsampling, which nearly always looks best at small
    budgets; 4:4:4 is then tried at the best size only, halving the encoding work.
    """

    def __init__(self, working: Image.Image, sides: tuple[int, ...], max_bytes: int) -> None:
        self.pyramid = _Pyramid(working)
        self.reference = _reference_statistics(_float_planes(self.pyramid.display_view()))
        self.quality_model = _QualityModel()
        self.sides = sides
        self.max_bytes = max_bytes
        self.scored: dict[int, _Candidate | None] = {}

    def _candidate(self, index: int, subsampling: int) -> _Candidate | None:
        side = self.sides[index]
        return _fitting_candidate(self.pyramid.scaled(side), side, subsampling, self.max_bytes, self.reference,
                                  self.quality_model)

    def best_score(self, index: int) -> float | None:
        """The display score at sides[index]; None when nothing of that size fits the budget."""
        if index not in self.scored:
            self.scored[index] = self._candidate(index, SUBSAMPLING_420)
        candidate = self.scored[index]
        return candidate.score if candidate else None

    def descend_to_peak(self, start: int) -> int:
        """From start towards smaller sizes while each looks clearly better than the last: where scores peak.

        Clearly: by more than half the equal-look tolerance. A smaller size only a little better would
        seldom change the pick, and walking on for it costs a candidate each time.
        """
        index = start
        while index > 0 and (self.best_score(index - 1) or 0) > (self.best_score(index) or 0) + _CLEARLY_BETTER:
            index -= 1
        return index

    def climb(self, start: int) -> None:
        """From start towards larger sizes until nothing fits or a size scores EQUAL_LOOK_TOLERANCE below the best.

        Larger sizes within the tolerance are wanted, because _pick prefers a larger size that looks the same.
        """
        best = self.best_score(start)
        index = start + 1
        while best is not None and index < len(self.sides):
            score = self.best_score(index)
            if score is None or score <= best - EQUAL_LOOK_TOLERANCE:
                return
            best = max(best, score)
            index += 1

    def candidates(self) -> list[_Candidate]:
        found = [candidate for candidate in self.scored.values() if candidate]
        if found:
            best_index = max((index for index, candidate in self.scored.items() if candidate),
                             key=lambda index: self.scored[index].score)
            full_chroma = self._candidate(best_index, SUBSAMPLING_444)
            if full_chroma:
                found.append(full_chroma)
        return found


def fit_to_budget(image: Image.Image, max_bytes: int, max_dimension: int | None = None) -> bytes:
    """The best-looking baseline JPEG of at most max_bytes, never larger than the source or max_dimension.

    Each candidate size is encoded at the highest quality that fits (4:2:0; 4:4:4 too at the best size)
    and scored at display size. The search starts at the size typical photos look best at for the budget,
    descends while smaller sizes look clearly better, then climbs from that peak towards larger sizes while
    they look the same as the best.
    """
    _check_budget(max_bytes, max_dimension)
    with _memory_errors():
        return _fit(image, max_bytes, max_dimension)


def _fit(image: Image.Image, max_bytes: int, max_dimension: int | None) -> bytes:
    if image.mode != "RGB" or image.info:
        image = normalise(image)
    sides = _candidate_sides(max(image.size), max_dimension)
    working = _resize(image, sides[-1])
    if max_bytes * _BITS_PER_BYTE >= working.width * working.height * _GENEROUS_BITS_PER_PIXEL:
        best_possible = encode_jpeg(working, MAX_QUALITY, SUBSAMPLING_444)
        if len(best_possible) <= max_bytes:
            return best_possible
    search = _SizeSearch(working, sides, max_bytes)
    start = _starting_index(sides, working.size, max_bytes)
    while start > 0 and search.best_score(start) is None:
        start -= 1
    # Scores rise to one peak and fall again, nearly always: find the peak first, so the climb towards larger
    # sizes stops as soon as they fall EQUAL_LOOK_TOLERANCE below it.
    search.climb(search.descend_to_peak(start))
    candidates = search.candidates()
    if not candidates:
        raise ImageError(
            "The byte budget of {0:,} bytes is too small: even a {1}x{1} pixel JPEG at quality {2} does not "
            "fit. Allow more bytes.".format(max_bytes, min(SMALLEST_SIDE, sides[-1]), MIN_QUALITY))
    return _pick(candidates).data


def thumbnail(data: bytes, side: int = THUMBNAIL_SIDE, budget: DecodeBudget = SOURCE_BUDGET) -> bytes:
    """A small JPEG of the picture as shown, for reports that put photos side by side."""
    image = normalise(decode(data, draft_side=side, budget=budget))
    with _memory_errors():
        image.thumbnail((side, side), Image.Resampling.LANCZOS)
        return encode_jpeg(image, THUMBNAIL_QUALITY, SUBSAMPLING_420)


_HARMLESS_APP_SEGMENTS = ((0xE0, b"JFIF\x00"), (0xEE, b"Adobe"), (0xE2, b"ICC_PROFILE\x00"))


def _is_harmless_segment(marker: int, payload: bytes) -> bool:
    if not (0xE0 <= marker <= 0xEF or marker == 0xFE):
        return True
    return any(marker == known and payload.startswith(prefix) for known, prefix in _HARMLESS_APP_SEGMENTS)


def _is_plain_baseline_jpeg(data: bytes) -> bool:
    """One baseline frame and scan, no metadata segment we would strip (EXIF, XMP, comments, Photoshop...)
    anywhere up to EOI, and nothing after it."""
    structure = _jpeg_structure(data)
    if structure.end is None or structure.trailing_bytes(data) or structure.scans != 1:
        return False
    frames = []
    for marker, payload in structure.segments:
        if marker in _START_OF_FRAME_MARKERS:
            frames.append(marker)
        elif not _is_harmless_segment(marker, payload):
            return False
    return frames == [_BASELINE_SOF]


def _is_srgb(icc_profile: bytes | None) -> bool:
    if not icc_profile:
        return True
    if not HAS_IMAGECMS:
        return False
    try:
        description = ImageCms.getProfileDescription(ImageCms.ImageCmsProfile(io.BytesIO(icc_profile)))
    except Exception:
        return False
    return "srgb" in description.lower()


def can_keep_original(data: bytes, image: Image.Image, max_bytes: int, max_dimension: int | None,
                      crop_mode: str) -> bool:
    """True when re-encoding would only lose quality: the input already is what we would produce."""
    return (image.format == "JPEG"
            and len(data) <= max_bytes
            and (max_dimension is None or max(image.size) <= max_dimension)
            and image.mode in ("RGB", "L")
            and (crop_mode == "none" or image.width == image.height)
            and _is_plain_baseline_jpeg(data)
            and _is_srgb(image.info.get("icc_profile")))


def prepare_photo(data: bytes, *, max_bytes: int, max_dimension: int | None = None,
                  crop_mode: str = "none", background: str = "#ffffff",
                  max_input_bytes: int = DEFAULT_MAX_INPUT_BYTES,
                  max_pixels: int = DEFAULT_MAX_PIXELS) -> bytes:
    """Decode, normalise, crop and fit; an input that already qualifies is returned unchanged."""
    _check_budget(max_bytes, max_dimension)
    _check_crop_mode(crop_mode)
    fill = parse_color(background)
    image = decode(data, max_input_bytes, max_pixels)
    if can_keep_original(data, image, max_bytes, max_dimension, crop_mode):
        return bytes(data)
    return fit_to_budget(crop(normalise(image, fill), crop_mode), max_bytes, max_dimension)


def describe(data: bytes) -> dict:
    """Size, hash, dimensions (as stored) and format, from the header only."""
    image = _open(data)
    width, height = image.size
    return {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest(),
            "width": width, "height": height, "format": format_name(image)}


@dataclass(frozen=True)
class Fingerprint:
    """What a picture looks like in 384 bytes: shape, coarse luminance (16x16) and coarse colour (8x8)."""
    aspect: float
    luma: bytes
    chroma: bytes


@dataclass(frozen=True)
class Similarity:
    score: float
    same: bool
    threshold: float


def fingerprint(data_or_image: bytes | Image.Image, budget: DecodeBudget = SOURCE_BUDGET) -> Fingerprint:
    """The fingerprint of the picture as shown: EXIF orientation applied, colour profile and alpha resolved.

    Bytes are decoded within budget: CURRENT_PHOTO_BUDGET for a photo read back from a server.
    """
    if isinstance(data_or_image, (bytes, bytearray)):
        rgb = normalise(decode(data_or_image, draft_side=FINGERPRINT_DRAFT_SIDE, budget=budget))
    elif data_or_image.mode == "RGB" and not data_or_image.info:
        rgb = data_or_image  # already normalised: normalising again would only copy it
    else:
        rgb = normalise(data_or_image)
    with _memory_errors():
        small = rgb.resize((LUMA_SIDE, LUMA_SIDE), Image.Resampling.LANCZOS, reducing_gap=2.0).convert("YCbCr")
    luma, blue_chroma, red_chroma = small.split()
    chroma = b"".join(plane.resize((CHROMA_SIDE, CHROMA_SIDE), Image.Resampling.BOX).tobytes()
                      for plane in (blue_chroma, red_chroma))
    return Fingerprint(aspect=rgb.width / rgb.height, luma=luma.tobytes(), chroma=chroma)


def _gradients(luma: bytes) -> list[int]:
    """Horizontal and vertical neighbour differences: the picture's structure, blind to uniform shifts in tone."""
    side = LUMA_SIDE
    across = list(map(operator.sub, luma[1:], luma[:-1]))
    del across[side - 1::side]  # the differences from one row's last pixel to the next row's first
    return across + list(map(operator.sub, luma[side:], luma[:-side]))


def _correlation(first: list[int], second: list[int]) -> float:
    """Pearson's correlation, in exact integer sums up to the last division (a few thousand comparisons a second
    count in a no-change run)."""
    count = len(first)
    sum_first, sum_second = sum(first), sum(second)
    covariance = count * _dot(first, second) - sum_first * sum_second
    spread = (count * _dot(first, first) - sum_first ** 2) * (count * _dot(second, second) - sum_second ** 2)
    return covariance / math.sqrt(spread) if spread else float(first == second)


def _dot_in_python(first: list[int], second: list[int]) -> int:
    return sum(map(operator.mul, first, second))


_dot = getattr(math, "sumprod", _dot_in_python)  # Python 3.12+ has it in C


def _mean_abs_difference(first: bytes, second: bytes) -> float:
    return sum(map(abs, map(operator.sub, first, second))) / (255.0 * len(first))


def compare_fingerprints(a: Fingerprint, b: Fingerprint) -> Similarity:
    """1.0 for the same picture: structure (edges in place), tone and colour must all agree, shape too."""
    if abs(math.log(a.aspect / b.aspect)) > _ASPECT_TOLERANCE:
        score = 0.0
    else:
        structure = max(0.0, _correlation(_gradients(a.luma), _gradients(b.luma)))
        tone = 1.0 - _LUMA_DIFFERENCE_WEIGHT * _mean_abs_difference(a.luma, b.luma)
        colour = 1.0 - _CHROMA_DIFFERENCE_WEIGHT * _mean_abs_difference(a.chroma, b.chroma)
        score = max(0.0, structure * tone * colour)
    return Similarity(score=score, same=score >= SAME_PICTURE_THRESHOLD, threshold=SAME_PICTURE_THRESHOLD)


def compare(a: bytes | Image.Image, b: bytes | Image.Image) -> Similarity:
    return compare_fingerprints(fingerprint(a), fingerprint(b))
