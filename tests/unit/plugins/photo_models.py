"""Test helpers: pictures made with Pillow, and what each kind of server holds after a write."""

from __future__ import annotations

import io

from PIL import Image

from ansible_collections.m365.photos.plugins.module_utils import _graph_sizes
from ansible_collections.m365.photos.plugins.module_utils._decision import Current


def portrait(width: int = 256, height: int = 256) -> Image.Image:
    """A left-right asymmetric test picture, so its mirror image is a different picture."""
    image = Image.linear_gradient("L").rotate(90).resize((width, height)).convert("RGB")
    image.paste((200, 40, 40), (width * 20 // 256, height * 40 // 256, width * 120 // 256, height * 220 // 256))
    image.paste((20, 20, 120), (width * 150 // 256, height * 60 // 256, width * 230 // 256, height * 120 // 256))
    return image


def jpeg(image: Image.Image, quality: int = 85, size: int | None = None) -> bytes:
    if size:
        image = image.resize((size, size), Image.LANCZOS)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality)
    return out.getvalue()


def directory_holds(photo: bytes) -> Current:
    """What Active Directory holds after thumbnailPhoto is written: exactly these bytes."""
    return Current(data=photo)


def graph_serves(photo: bytes) -> Current:
    """What Exchange Online serves after an upload: re-encoded centred squares; the 96x96 size as the preview
    (none when the photo is smaller than that, as the service answers)."""
    image = Image.open(io.BytesIO(photo)).convert("RGB")
    shorter = min(image.size)
    left, top = (image.width - shorter) // 2, (image.height - shorter) // 2
    square = image.crop((left, top, left + shorter, top + shorter))
    side = _graph_sizes.served_side(*image.size)
    preview = jpeg(square, 80, 96) if side >= 96 else None
    return Current(facts=dict(width=side, height=side, etag='W/"1"'), preview=preview)
