"""Photo store and the re-encoding the profile service applies to every upload.

Choices (the real service documents none of them):
- every upload is decoded, EXIF orientation applied, centre-cropped to a square, and re-encoded as
  a baseline JPEG without EXIF/ICC/comments; the square sizes served are the documented ones up to
  the shorter side of the upload;
- re-encoding is lazy (first read of the bytes), so a bulk upload costs only a validation decode at
  reduced scale; the work runs in a thread so the event loop keeps serving;
- every upload gets a new media ETag, even of identical bytes;
- with photo_store "entra" (a photo kept in Entra ID: "any dimension", profilephoto-get), the upload keeps its
  own dimensions (no crop, no size limit but the byte limit) and is the only size served; its id is "WxH" with
  a capital X (the id's case varies in Microsoft's answers).
- with `write_visibility_delay_s`, reads keep serving what was there before a PUT or DELETE
  (photo, sizes and ETag, or no photo) for that many seconds after it.
"""
import asyncio
import hashlib
import io
import time
import uuid
from dataclasses import dataclass, field

from PIL import Image, ImageOps

from .errors import GraphError

SIZES = (48, 64, 96, 120, 240, 360, 432, 504, 648)


def invalid_image(detail):
    return GraphError(400, "ErrorInvalidImage", f"The uploaded photo is not a valid image: {detail}")


def inspect_upload(data, min_px):
    """(width, height) of an acceptable upload, else a 400 GraphError. Decodes at reduced scale."""
    try:
        image = Image.open(io.BytesIO(data))
        width, height = image.size
        image.draft("RGB", (max(min_px, 1), max(min_px, 1)))  # JPEG: DCT scaling, far cheaper
        image.load()
    except Exception as exc:  # Pillow raises many types for garbage input
        raise invalid_image(f"{type(exc).__name__}") from None
    if width < min_px:
        raise GraphError(400, "ValidationWidthTooSmall",
                         f"Validation failed: the image is {width} pixels wide; the minimum is {min_px}.")
    if height < min_px:
        raise GraphError(400, "ValidationHeightTooSmall",
                         f"Validation failed: the image is {height} pixels high; the minimum is {min_px}.")
    return width, height


def served_sizes(width, height):
    side = min(width, height)
    # With a minimum lowered below 48 (tests), the upload's own square is the only size.
    return tuple(s for s in SIZES if s <= side) or (side,)


def render_square(data, side, quality):
    image = ImageOps.exif_transpose(Image.open(io.BytesIO(data)))
    image = image.convert("RGB")
    if side is not None:  # None: as uploaded (the Entra store)
        image = ImageOps.fit(image, (side, side), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality, optimize=False, progressive=False)
    return out.getvalue()


@dataclass
class StoredPhoto:
    upload: bytes  # kept until the largest size is rendered
    sizes: tuple
    etag: str
    uploaded_at: float
    renders: dict = field(default_factory=dict)
    dimensions: tuple = None  # (width, height) of a photo kept as uploaded (the Entra store), else None

    @property
    def largest(self):
        return None if self.dimensions else self.sizes[-1]

    @property
    def width(self):
        return self.dimensions[0] if self.dimensions else self.largest

    @property
    def height(self):
        return self.dimensions[1] if self.dimensions else self.largest

    def metadata(self, side=None):
        if self.dimensions and side is None:
            return {"@odata.mediaContentType": "image/jpeg", "@odata.mediaEtag": self.etag,
                    "id": f"{self.width}X{self.height}", "width": self.width, "height": self.height}
        side = side or self.largest
        return {"@odata.mediaContentType": "image/jpeg", "@odata.mediaEtag": self.etag,
                "id": f"{side}x{side}", "width": side, "height": side}


class PhotoStore:
    def __init__(self, config):
        self.config = config
        self.photos = {}  # (tenant id, user id) -> StoredPhoto
        self.stale = {}  # (tenant id, user id) -> (what reads serve until then: StoredPhoto or None, until)

    def get(self, tenant_id, user_id):
        """The photo as Graph reads serve it: the one before the last write while that write is not visible yet."""
        key = (tenant_id, user_id)
        served = self.stale.get(key)
        if served is not None and time.monotonic() < served[1]:
            return served[0]
        self.stale.pop(key, None)
        return self.photos.get(key)

    def stored(self, tenant_id, user_id):
        """The photo as written last, visible or not yet."""
        return self.photos.get((tenant_id, user_id))

    def _hide_write(self, key):
        delay = float(self.config["write_visibility_delay_s"] or 0)
        served = self.stale.get(key)
        if delay > 0 and (served is None or time.monotonic() >= served[1]):
            self.stale[key] = (self.photos.get(key), time.monotonic() + delay)

    def forget(self, tenant_id, user_id=None):
        """Drop photos directly (admin API): of one user, or of the whole tenant; visible at once."""
        for store in (self.photos, self.stale):
            for key in [k for k in store if k[0] == tenant_id and user_id in (None, k[1])]:
                del store[key]

    async def put(self, tenant_id, user_id, data, visible_now=False):
        min_px = int(self.config["min_photo_px"])
        width, height = await asyncio.get_running_loop().run_in_executor(None, inspect_upload, data, min_px)
        etag = 'W/"' + hashlib.sha256(data + uuid.uuid4().bytes).hexdigest()[:40] + '"'
        entra = self.config["photo_store"] == "entra"
        photo = StoredPhoto(upload=data, sizes=() if entra else served_sizes(width, height), etag=etag,
                            uploaded_at=time.time(), dimensions=(width, height) if entra else None)
        key = (tenant_id, user_id)
        if visible_now:
            self.stale.pop(key, None)
        else:
            self._hide_write(key)
        self.photos[key] = photo
        return photo

    def delete(self, tenant_id, user_id):
        key = (tenant_id, user_id)
        if key in self.photos:
            self._hide_write(key)
        return self.photos.pop(key, None) is not None

    def clear(self):
        self.photos.clear()
        self.stale.clear()

    async def content(self, photo, side=None):
        side = side or photo.largest
        if side not in photo.renders:
            loop = asyncio.get_running_loop()
            quality = int(self.config["jpeg_quality"])
            if photo.largest not in photo.renders:
                photo.renders[photo.largest] = await loop.run_in_executor(
                    None, render_square, photo.upload, photo.largest, quality)
                photo.upload = b""
            if side not in photo.renders:
                photo.renders[side] = await loop.run_in_executor(
                    None, render_square, photo.renders[photo.largest], side, quality)
        return photo.renders[side]
