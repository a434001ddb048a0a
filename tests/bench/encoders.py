#!/usr/bin/env python
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Optional JPEG encoders against Pillow's at the same byte budgets: bytes, SSIM at 240 px, encode time.

jpegli (the `pyjpegli` package) encodes RGB itself; mozjpeg (`mozjpeg-lossless-optimization`) rewrites a
Pillow JPEG losslessly, which lets a higher quality fit. Neither is a dependency of the collection: run this
in a scratch virtualenv with Pillow and numpy, the collection not needed, for example
    python3 -m venv /tmp/encvenv && /tmp/encvenv/bin/pip install Pillow numpy pyjpegli mozjpeg-lossless-optimization
    /tmp/encvenv/bin/python tests/bench/encoders.py [--write docs/benchmarks.md]
A missing package is reported and its encoder skipped.

Each encoder gets the same search: every size of a ladder up to the photo's, at each the highest quality that
fits (by bisection), scored by SSIM on luminance at 240 px; the row shows the best-looking one.
"""

from __future__ import annotations

import importlib
import io
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit" / "plugins"))
from _benchdoc import table_command  # noqa: E402
from _fidelity_set import BUDGETS, FIXTURES, PHOTOS  # noqa: E402
from ssim import DISPLAY_SIZE, display_ssim  # noqa: E402  (the unit tests' measure, shared)

# The fit's ladder above 240 px (below it nothing looked best at these budgets), and its quality range.
SIDES = (240, 272, 304, 336, 360, 400, 432, 504, 576, 648)
MIN_QUALITY, MAX_QUALITY = 20, 95
SUBSAMPLINGS = {"4:2:0": 2, "4:4:4": 0}
TIMING_REPEATS = 5


def optional(module_name: str):
    try:
        return importlib.import_module(module_name)
    except ImportError:
        print("{0} is not installed: its encoder is skipped (pip install {1}).".format(
            module_name, module_name.replace("_", "-")), file=sys.stderr)
        return None


PYJPEGLI = optional("pyjpegli")
MOZJPEG = optional("mozjpeg_lossless_optimization")
MISSING = tuple(name for name, module in (("pyjpegli", PYJPEGLI), ("mozjpeg-lossless-optimization", MOZJPEG))
                if module is None)


def pillow(image: Image.Image, quality: int, subsampling: int) -> bytes:
    """What the collection writes: baseline, optimised Huffman tables."""
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality, subsampling=subsampling, optimize=True, progressive=False)
    return buffer.getvalue()


def mozjpeg(image: Image.Image, quality: int, subsampling: int) -> bytes:
    return MOZJPEG.optimize(pillow(image, quality, subsampling))


def jpegli(image: Image.Image, quality: int, subsampling: int) -> bytes:  # pylint: disable=unused-argument
    return PYJPEGLI.encode(image.tobytes(), image.width, image.height, quality)  # chooses its own subsampling


def encoders() -> dict:
    """Encoder name -> (encode function, the subsamplings it is tried with)."""
    found = {"Pillow": (pillow, tuple(SUBSAMPLINGS.items()))}
    if MOZJPEG:
        found["mozjpeg (lossless rewrite of Pillow's)"] = (mozjpeg, tuple(SUBSAMPLINGS.items()))
    if PYJPEGLI:
        found["jpegli"] = (jpegli, (("its own", None),))
    return found


def is_progressive(data: bytes) -> bool:
    return bool(Image.open(io.BytesIO(data)).info.get("progressive"))


@dataclass(frozen=True)
class Best:
    ssim: float
    data: bytes
    size: tuple
    quality: int
    subsampling: str
    image: Image.Image


def highest_fitting_quality(encode, image: Image.Image, subsampling, budget: int):
    """(quality, data) of the highest quality within budget, or None."""
    fits, too_big, best = MIN_QUALITY - 1, MAX_QUALITY + 1, None
    while too_big - fits > 1:
        quality = (fits + too_big) // 2
        data = encode(image, quality, subsampling)
        if len(data) <= budget:
            fits, best = quality, (quality, data)
        else:
            too_big = quality
    return best


def best_for(encode, subsamplings, source: Image.Image, budget: int) -> Best | None:
    longest = max(source.size)
    best = None
    for side in tuple(side for side in SIDES if side < longest) + (longest,):
        factor = side / longest
        scaled = source.resize((round(source.width * factor), round(source.height * factor)), Image.Resampling.LANCZOS)
        for name, subsampling in subsamplings:
            found = highest_fitting_quality(encode, scaled, subsampling, budget)
            if found:
                score = display_ssim(source, Image.open(io.BytesIO(found[1])))
                if best is None or score > best.ssim:
                    best = Best(score, found[1], scaled.size, found[0], name, scaled)
    return best


def encode_ms(encode, best: Best, subsampling) -> float:
    fastest = None
    for attempt in range(TIMING_REPEATS):
        started = time.process_time()
        encode(best.image, best.quality, subsampling)
        elapsed = (time.process_time() - started) * 1000
        fastest = elapsed if attempt == 0 else min(fastest, elapsed)
    return fastest


def rows():
    for name in PHOTOS:
        source = Image.open(FIXTURES / name).convert("RGB")
        for budget in BUDGETS:
            for encoder, (encode, subsamplings) in encoders().items():
                best = best_for(encode, subsamplings, source, budget)
                if best is None:
                    yield "| {0} | {1:,} | {2} | nothing fits | | | | | |".format(name, budget, encoder)
                    continue
                subsampling = dict(subsamplings)[best.subsampling]
                yield "| {0} | {1:,} | {2} | {3:,} | {4}x{5}, q{6}, {7} | {8:.4f} | {9:.1f} ms | {10} |".format(
                    name, budget, encoder, len(best.data), best.size[0], best.size[1], best.quality, best.subsampling,
                    best.ssim, encode_ms(encode, best, subsampling),
                    "progressive" if is_progressive(best.data) else "baseline")


def table() -> str:
    header = [
        "`tests/bench/encoders.py`: per encoder, the best-looking of every size in {0}..photo at the highest "
        "quality that fits; SSIM on luminance at {1}x{1} (as in the fidelity table); encode time of that one "
        "JPEG (CPU, best of {2}). Pillow {3}.".format(SIDES[0], DISPLAY_SIZE, TIMING_REPEATS, Image.__version__),
        "",
        "| photo | budget (bytes) | encoder | bytes | size, quality, chroma | SSIM | encode | JPEG |",
        "|---|---:|---|---:|---|---:|---:|---|",
    ]
    if MISSING:
        header[0] += " Not installed, so not measured: {0}.".format(", ".join(MISSING))
    return "\n".join(header + list(rows()))


def main() -> None:
    # The verdict follows the section in docs/benchmarks.md, written by hand.
    table_command(__doc__.splitlines()[0], "encoders", "Optional JPEG encoders (issues 2 and 14)",
                  lambda arguments: table())


if __name__ == "__main__":
    main()
