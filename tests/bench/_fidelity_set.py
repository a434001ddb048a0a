"""The photos and byte budgets the fit benchmarks share (Pillow only, so a scratch venv can use them too)."""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
FIXTURES = REPO_ROOT / "tests" / "fixtures" / "images"
PHOTOS = ("astronaut.png", "chelsea.png", "camera.png", "coffee.jpg", "rocket.jpg")
# The AD thumbnailPhoto limit that Exchange Online takes from Entra ID, and ten times it.
BUDGETS = (10_240, 102_400)
