# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reference SSIM (Wang et al. 2004) on luminance at a display size, with numpy: for tests and benchmarks only."""

from __future__ import annotations

import numpy as np
from PIL import Image

DISPLAY_SIZE = 240
_WINDOW_SIZE = 11
_SIGMA = 1.5
_C1 = (0.01 * 255) ** 2
_C2 = (0.03 * 255) ** 2


def _gaussian_kernel() -> np.ndarray:
    offsets = np.arange(_WINDOW_SIZE) - _WINDOW_SIZE // 2
    kernel = np.exp(-(offsets ** 2) / (2 * _SIGMA ** 2))
    return kernel / kernel.sum()


def _filter(plane: np.ndarray) -> np.ndarray:
    """Separable gaussian filter, 'valid' region only (as in the reference implementation)."""
    kernel = _gaussian_kernel()
    rows = np.apply_along_axis(lambda row: np.convolve(row, kernel, mode="valid"), 1, plane)
    return np.apply_along_axis(lambda col: np.convolve(col, kernel, mode="valid"), 0, rows)


def ssim(first: np.ndarray, second: np.ndarray) -> float:
    x = first.astype(np.float64)
    y = second.astype(np.float64)
    mean_x, mean_y = _filter(x), _filter(y)
    var_x = _filter(x * x) - mean_x ** 2
    var_y = _filter(y * y) - mean_y ** 2
    covariance = _filter(x * y) - mean_x * mean_y
    ssim_map = ((2 * mean_x * mean_y + _C1) * (2 * covariance + _C2)) / (
        (mean_x ** 2 + mean_y ** 2 + _C1) * (var_x + var_y + _C2))
    return float(ssim_map.mean())


def display_luma(image: Image.Image, size: int = DISPLAY_SIZE) -> np.ndarray:
    return np.asarray(image.convert("RGB").resize((size, size), Image.Resampling.LANCZOS).convert("L"))


def display_ssim(source: Image.Image, candidate: Image.Image, size: int = DISPLAY_SIZE) -> float:
    """SSIM of two pictures as a viewer sees them: both shown at size x size pixels."""
    return ssim(display_luma(source, size), display_luma(candidate, size))
