#!/usr/bin/env python
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fidelity benchmark of fit_to_budget: how the fitted photo looks at a 240 px display, next to the naive way.

Run from the repository root with the collection importable (PYTHONPATH containing an ansible_collections tree):
    python tests/bench/fidelity.py [--write docs/benchmarks.md]
"""

from __future__ import annotations

import io
import sys
import time
from pathlib import Path

from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit" / "plugins"))
from _benchdoc import table_command  # noqa: E402
from _fidelity_set import BUDGETS, FIXTURES, PHOTOS  # noqa: E402
from ssim import DISPLAY_SIZE, display_ssim  # noqa: E402  (the unit tests' measure, shared)
from ansible_collections.m365.photos.plugins.module_utils import _image  # noqa: E402

NAIVE_SIDE = 96
NAIVE_QUALITY = 75


def naive(source: Image.Image) -> bytes:
    """What many scripts do: squash to 96x96 and save at quality 75."""
    buffer = io.BytesIO()
    source.resize((NAIVE_SIDE, NAIVE_SIDE), Image.Resampling.LANCZOS).save(buffer, "JPEG", quality=NAIVE_QUALITY)
    return buffer.getvalue()


def sources():
    """(label, picture) pairs: the reference photos, and a 3000x3000 upscale of the astronaut for timing."""
    for name in PHOTOS:
        photo = _image.normalise(_image.decode((FIXTURES / name).read_bytes()))
        yield "{0} ({1}x{2})".format(name, photo.width, photo.height), photo
    astronaut = _image.normalise(_image.decode((FIXTURES / "astronaut.png").read_bytes()))
    yield "astronaut.png upscaled (3000x3000)", astronaut.resize((3000, 3000), Image.Resampling.BICUBIC)


def measure(label: str, source: Image.Image, budget: int) -> str:
    started = time.perf_counter()
    fitted = _image.fit_to_budget(source, budget)
    elapsed = time.perf_counter() - started
    fitted_image = Image.open(io.BytesIO(fitted))
    naive_bytes = naive(source)
    return "| {0} | {1:,} | {2:,} | {3}x{4} | {5:.3f} | {6:.0f} ms | {7:,} | {8:.3f} |".format(
        label, budget, len(fitted), fitted_image.width, fitted_image.height,
        display_ssim(source, fitted_image), elapsed * 1000, len(naive_bytes),
        display_ssim(source, Image.open(io.BytesIO(naive_bytes))))


def table() -> str:
    header = [
        "SSIM on luminance at a {0}x{0} display (gaussian window 11, sigma 1.5) against the source; naive = "
        "resize to {1}x{1}, JPEG quality {2}. Pillow {3} only, one core.".format(
            DISPLAY_SIZE, NAIVE_SIDE, NAIVE_QUALITY, Image.__version__),
        "",
        "| photo | budget (bytes) | fitted bytes | fitted size | fitted SSIM | fit time | naive bytes | naive SSIM |",
        "|---|---:|---:|---|---:|---:|---:|---:|",
    ]
    rows = [measure(label, source, budget) for label, source in sources() for budget in BUDGETS]
    return "\n".join(header + rows)


def main() -> None:
    table_command(__doc__.splitlines()[0], "fidelity", "Fidelity", lambda arguments: table())


if __name__ == "__main__":
    main()
