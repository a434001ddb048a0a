"""Photos for the integration tests: the shipped fixture files and small encodings made from them."""

from __future__ import annotations

import base64
import io
import os

from PIL import Image

from playbook_runner import REPO

FIXTURES = os.path.join(REPO, "tests", "fixtures", "images")


def fixture_bytes(name: str) -> bytes:
    with open(os.path.join(FIXTURES, name), "rb") as handle:
        return handle.read()


def jpeg(image: Image.Image, quality: int = 90) -> bytes:
    out = io.BytesIO()
    image.convert("RGB").save(out, "JPEG", quality=quality)
    return out.getvalue()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")
