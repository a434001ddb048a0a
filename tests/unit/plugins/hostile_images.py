"""Small files that cost a naive decoder a lot: built in code, shared by the unit tests and tests/bench/hostile_images.py.

Each builder returns bytes; the point of most is a tiny file declaring a huge canvas or buffer.
"""
from __future__ import annotations

import io
import struct
import zlib

from PIL import Image


def gif_canvas(width: int = 10000, height: int = 10000) -> bytes:
    """A 37-byte GIF: a screen (canvas) of width x height holding one 1x1 frame."""
    header = b"GIF89a" + struct.pack("<HHBBB", width, height, 0x80, 0, 0) + b"\0\0\0\xff\xff\xff"
    descriptor = b"," + struct.pack("<HHHHB", 0, 0, 1, 1, 0)
    # Minimum code size 2; codes clear (4), pixel 0, end (5), 3 bits each, packed in 2 bytes.
    return header + descriptor + b"\x02\x02\x44\x01\x00" + b";"


def _tiff(entries: list, data: bytes) -> bytes:
    """A little-endian TIFF with one IFD of (tag, type, value) entries, data right after it.

    A value is a number, "DATA" (the offset of data), or a list of LONGs ("DATA" items allowed), stored after data.
    """
    ifd_offset = 8
    ifd_size = 2 + 12 * len(entries) + 4
    data_offset = ifd_offset + ifd_size
    extra = b""
    body = b""
    for tag, kind, value in sorted(entries, key=lambda entry: entry[0]):
        if isinstance(value, list):
            at = data_offset + len(data) + len(extra)
            extra += b"".join(struct.pack("<I", data_offset if item == "DATA" else item) for item in value)
            body += struct.pack("<HHII", tag, 4, len(value), at)
            continue
        if value == "DATA":
            value = data_offset
        body += struct.pack("<HHI", tag, kind, 1) + (struct.pack("<HH", value, 0) if kind == 3 else struct.pack("<I", value))
    return b"II*\0" + struct.pack("<I", ifd_offset) + struct.pack("<H", len(entries)) + body + b"\0\0\0\0" + data + extra


def tiff_huge_tile(side: int = 64, tile: int = 46320) -> bytes:
    """A side x side grayscale TIFF stored as one deflate-compressed tile of tile x tile pixels."""
    data = zlib.compress(b"\x80" * side, 9)
    short, long_ = 3, 4
    return _tiff([(256, long_, side), (257, long_, side), (258, short, 8), (259, short, 8), (262, short, 1),
                  (277, short, 1), (322, long_, tile), (323, long_, tile), (324, long_, "DATA"),
                  (325, long_, len(data))], data)


def tiff_many_strips(width: int = 64, height: int = 200000) -> bytes:
    """An uncompressed 8-bit TIFF of one strip a row, every strip the same bytes: many decoder calls, little data."""
    short, long_ = 3, 4
    row = b"\x80" * width
    return _tiff([(256, long_, width), (257, long_, height), (258, short, 8), (259, short, 1), (262, short, 1),
                  (277, short, 1), (278, long_, 1), (273, long_, ["DATA"] * height), (279, long_, [width] * height)], row)


def png_rgba_canvas(width: int = 10000, height: int = 10000) -> bytes:
    """A fully transparent RGBA PNG: 100 megapixels in about 390 KB."""
    def chunk(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    compressor = zlib.compressobj(9)
    row = b"\0" + b"\0" * (4 * width)
    idat = b"".join(compressor.compress(row) for _row in range(height)) + compressor.flush()
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0))
            + chunk(b"IDAT", idat) + chunk(b"IEND", b""))


def bmp_rle8(width: int = 10000, height: int = 10000, run: int = 4) -> bytes:
    """An RLE8 BMP of runs of run pixels (2 bytes a run): decoded by Pillow's pure-Python RLE decoder."""
    line = (bytes((run, 1)) * (width // run)) + b"\0\0"
    pixels = line * height + b"\0\1"
    palette = b"\0\0\0\0\xff\xff\xff\0" + b"\0" * (4 * 254)
    info = struct.pack("<IiiHHIIiiII", 40, width, height, 1, 8, 1, len(pixels), 2835, 2835, 256, 0)
    offset = 14 + len(info) + len(palette)
    return b"BM" + struct.pack("<IHHI", offset + len(pixels), 0, 0, offset) + info + palette + pixels


def jpeg_without_scan(width: int = 10000, height: int = 10000) -> bytes:
    """A grayscale JPEG header for width x height and a start of scan, but no scan data, then EOI: 330 bytes."""
    real = io.BytesIO()
    Image.new("L", (16, 16), 120).save(real, "JPEG", quality=75)
    data = real.getvalue()
    start_of_scan = data.index(b"\xff\xda")
    scan_header_end = start_of_scan + 2 + int.from_bytes(data[start_of_scan + 2:start_of_scan + 4], "big")
    header = bytearray(data[:scan_header_end])
    frame = header.index(b"\xff\xc0")
    header[frame + 5:frame + 9] = struct.pack(">HH", height, width)
    return bytes(header) + b"\xff\xd9"


def jpeg_truncated_with_eoi(image: Image.Image, share: float = 0.5) -> bytes:
    """A baseline JPEG cut at share of its scan data, with an end-of-image marker appended."""
    whole = io.BytesIO()
    image.save(whole, "JPEG", quality=90)
    data = whole.getvalue()
    start_of_scan = data.index(b"\xff\xda")
    cut = start_of_scan + int((len(data) - start_of_scan) * share)
    return data[:cut] + b"\xff\xd9"
