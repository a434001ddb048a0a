#!/usr/bin/env python
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fit of main against this tree's: CPU per fit and SSIM at 240 px, per fidelity photo and budget.

Run from the repository root with the collection importable (PYTHONPATH containing an ansible_collections tree)
and a git branch to compare with (main unless --before names another revision):
    python tests/bench/fit_before_after.py [--before main] [--repeats 3] [--write docs/benchmarks.md]
"""

from __future__ import annotations

import io
import subprocess
import sys
import time
import types
from pathlib import Path

from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit" / "plugins"))
from _benchdoc import table_command  # noqa: E402
from _fidelity_set import BUDGETS, REPO_ROOT  # noqa: E402
from fidelity import sources  # noqa: E402  (the same photos)
from ssim import DISPLAY_SIZE, display_ssim  # noqa: E402  (the unit tests' measure, shared)
from ansible_collections.m365.photos.plugins.module_utils import _image  # noqa: E402

IMAGE_MODULE = "plugins/module_utils/_image.py"
# The targets (issue 14, item 3): CPU per fit at the AD budget, and no visible loss anywhere.
TARGET_CPU_MS = 100
TARGET_CPU_BUDGET = 10_240
SSIM_TOLERANCE = 0.003


def module_at(revision: str) -> types.ModuleType:
    """_image.py as it is at revision, loaded as a module of its own next to this tree's."""
    source = subprocess.run(["git", "show", "{0}:{1}".format(revision, IMAGE_MODULE)], cwd=REPO_ROOT,
                            check=True, capture_output=True, text=True).stdout
    module = types.ModuleType("_image_at_" + revision.replace("/", "_").replace("-", "_"))
    module.__file__ = "{0}:{1}".format(revision, IMAGE_MODULE)
    sys.modules[module.__name__] = module  # dataclasses look their module up by name
    exec(compile(source, module.__file__, "exec"), module.__dict__)  # pylint: disable=exec-used
    return module


def cpu_ms(fit, source: Image.Image, budget: int, repeats: int) -> tuple[float, bytes]:
    """The least CPU time of repeats fits, in ms, and what the fit made."""
    best, fitted = None, b""
    for attempt in range(repeats):
        started = time.process_time()
        fitted = fit(source, budget)
        elapsed = (time.process_time() - started) * 1000
        best = elapsed if attempt == 0 else min(best, elapsed)
    return best, fitted


def row(label: str, source: Image.Image, budget: int, before: types.ModuleType, repeats: int) -> str:
    before_ms, before_fit = cpu_ms(before.fit_to_budget, source, budget, repeats)
    after_ms, after_fit = cpu_ms(_image.fit_to_budget, source, budget, repeats)
    before_ssim = display_ssim(source, Image.open(io.BytesIO(before_fit)))
    after_image = Image.open(io.BytesIO(after_fit))
    after_ssim = display_ssim(source, after_image)
    fast_enough = budget != TARGET_CPU_BUDGET or after_ms <= TARGET_CPU_MS
    looks_the_same = after_ssim >= before_ssim - SSIM_TOLERANCE
    return "| {0} | {1:,} | {2:.0f} ms | {3:.0f} ms | {4:.3f} | {5:.3f} | {6:,} B, {7}x{8} | {9} |".format(
        label, budget, before_ms, after_ms, before_ssim, after_ssim, len(after_fit), after_image.width,
        after_image.height, "met" if fast_enough and looks_the_same else "**missed**")


def table(revision: str, repeats: int) -> str:
    before = module_at(revision)
    header = [
        "`tests/bench/fit_before_after.py`: `fit_to_budget` of {0} (before) against this tree (after), CPU "
        "per fit (`time.process_time`, best of {1}), SSIM on luminance at {2}x{2} as in the fidelity table. "
        "Target: at most {3} ms at {4:,} bytes, SSIM at most {5} below before. Pillow {6}, one core.".format(
            revision, repeats, DISPLAY_SIZE, TARGET_CPU_MS, TARGET_CPU_BUDGET, SSIM_TOLERANCE, Image.__version__),
        "",
        "| photo | budget (bytes) | CPU before | CPU after | SSIM before | SSIM after | after | target |",
        "|---|---:|---:|---:|---:|---:|---|---|",
    ]
    rows = [row(label, source, budget, before, repeats) for label, source in sources() for budget in BUDGETS]
    return "\n".join(header + rows)


def options(parser) -> None:
    parser.add_argument("--before", default="main", help="git revision whose fit to compare with (default main)")
    parser.add_argument("--repeats", type=int, default=3, choices=range(1, 100), metavar="N",
                        help="fits per measurement, 1 to 99; the fastest counts (default 3)")


def main() -> None:
    table_command(__doc__.splitlines()[0], "fit-before-after", "The fit before and after (issue 14)",
                  lambda arguments: table(arguments.before, arguments.repeats), options)


if __name__ == "__main__":
    main()
