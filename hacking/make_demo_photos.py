#!/usr/bin/env python3
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Generate the demo photo repository, playbooks/sandbox/photos/: stylised head-and-shoulders portraits.

Deterministic (fixed seeds, no Pillow random effects) and Pillow only. Every portrait is left-right
asymmetric (hair parting, earring, shirt pocket...), so a mirrored photo is a different picture. The set
covers what the modules must handle: photos far over the 10 KB Exchange Online sync limit (600-900 px
JPEG at quality 90 with texture), a JPEG stored sideways with EXIF Orientation=6, a PNG with a
transparent background, and small photos that fit as they are.

    .venv/bin/python hacking/make_demo_photos.py [--out playbooks/sandbox/photos]
"""

from __future__ import annotations

import argparse
import io
import os
import random
from dataclasses import dataclass

from PIL import Image, ImageChops, ImageDraw, ImageFilter

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_OUT = os.path.join(os.path.dirname(HERE), "playbooks", "sandbox", "photos")
SUPERSAMPLE = 2
EXIF_ORIENTATION = 0x0112
ROTATED_CLOCKWISE_90 = 6  # EXIF: turn the stored picture 90 degrees clockwise to show it upright


@dataclass(frozen=True)
class Portrait:
    upn: str
    tenant: str
    size: tuple[int, int]
    background: tuple[tuple[int, int, int], tuple[int, int, int]]  # top and bottom of a vertical gradient
    skin: tuple[int, int, int]
    hair: tuple[int, int, int]
    hair_style: str  # short, long, bun, curly, bald
    parting: str  # left or right: where the hair is parted (or the bald patch shines)
    shirt: tuple[int, int, int]
    shirt_style: str  # collar, stripes, hoodie, plain
    glasses: bool = False
    earring: str = ""  # left, right or "" (asymmetric on purpose)
    pocket: str = "left"  # shirt pocket side
    noise: int = 12  # texture amplitude (grey levels); makes JPEG sizes realistic
    fmt: str = "JPEG"
    quality: int = 90
    orientation: int = 1
    transparent: bool = False
    seed: int = 0

    @property
    def filename(self) -> str:
        return "%s.%s" % (self.upn, "png" if self.fmt == "PNG" else "jpg")


PORTRAITS = (
    # contoso: the AD sandbox domain test.example, users user0001 ... user0050
    Portrait("user0001@test.example", "contoso", (800, 800), ((96, 140, 190), (40, 70, 110)), (236, 196, 164),
             (70, 45, 30), "short", "left", (200, 60, 50), "collar", earring="", pocket="left", noise=14, seed=1),
    Portrait("user0002@test.example", "contoso", (600, 800), ((230, 220, 200), (180, 160, 130)), (198, 134, 96),
             (20, 20, 24), "long", "right", (40, 110, 90), "plain", earring="left", pocket="right", noise=12,
             orientation=ROTATED_CLOCKWISE_90, seed=2),
    Portrait("user0003@test.example", "contoso", (512, 512), ((0, 0, 0), (0, 0, 0)), (250, 220, 196),
             (220, 180, 90), "bun", "left", (60, 70, 160), "hoodie", glasses=True, pocket="", noise=6,
             fmt="PNG", transparent=True, seed=3),
    Portrait("user0004@test.example", "contoso", (240, 240), ((200, 225, 210), (150, 190, 170)), (140, 90, 62),
             (30, 26, 24), "curly", "right", (240, 200, 60), "plain", pocket="right", noise=0, quality=80, seed=4),
    # fabrikam: fuser0001 ... @fabrikam.example
    Portrait("fuser0001@fabrikam.example", "fabrikam", (900, 900), ((60, 60, 70), (20, 20, 28)), (226, 180, 150),
             (150, 60, 30), "long", "left", (230, 230, 235), "collar", glasses=True, earring="right", pocket="",
             noise=10, seed=11),
    Portrait("fuser0002@fabrikam.example", "fabrikam", (640, 640), ((250, 200, 160), (220, 130, 110)), (110, 70, 50),
             (15, 15, 15), "bald", "right", (30, 40, 60), "stripes", pocket="left", noise=12, seed=12),
    Portrait("fuser0003@fabrikam.example", "fabrikam", (300, 300), ((170, 200, 240), (120, 150, 220)), (244, 208, 180),
             (90, 90, 95), "short", "right", (120, 40, 110), "hoodie", glasses=True, pocket="", noise=0,
             quality=75, seed=13),
    # tailspin: tuser0001 ... @tailspin.example
    Portrait("tuser0001@tailspin.example", "tailspin", (720, 960), ((140, 170, 120), (70, 100, 60)), (214, 160, 120),
             (60, 40, 20), "curly", "left", (180, 100, 40), "collar", earring="left", pocket="right", noise=10, seed=21),
    Portrait("tuser0002@tailspin.example", "tailspin", (480, 480), ((240, 240, 245), (200, 205, 215)), (170, 110, 80),
             (200, 200, 200), "short", "left", (20, 90, 160), "stripes", glasses=True, pocket="left", noise=8, seed=22),
    Portrait("tuser0003@tailspin.example", "tailspin", (256, 320), ((120, 60, 90), (60, 20, 50)), (232, 190, 150),
             (190, 90, 40), "bun", "right", (50, 50, 50), "plain", earring="right", pocket="", noise=0, quality=80,
             seed=23),
)


def shade(colour: tuple[int, int, int], factor: float) -> tuple[int, int, int]:
    return tuple(max(0, min(255, int(channel * factor))) for channel in colour)


def gradient(size: tuple[int, int], top: tuple[int, int, int], bottom: tuple[int, int, int]) -> Image.Image:
    column = Image.new("RGB", (1, 256))
    for row in range(256):
        mix = row / 255
        column.putpixel((0, row), tuple(int(a + (b - a) * mix) for a, b in zip(top, bottom)))
    return column.resize(size, Image.BILINEAR)


def texture(size: tuple[int, int], amplitude: int, rng: random.Random) -> Image.Image:
    """Per-pixel noise in [0, 2*amplitude], grey in each channel, softened like sensor grain."""
    count = size[0] * size[1]
    raw = bytes(rng.getrandbits(8) for _ in range(count)) if count < 4096 else _fast_bytes(count, rng)
    grain = Image.frombytes("L", size, raw).point(lambda value: value * 2 * amplitude // 255)
    return grain.filter(ImageFilter.GaussianBlur(0.6)).convert("RGB")


def _fast_bytes(count: int, rng: random.Random) -> bytes:
    return rng.getrandbits(8 * count).to_bytes(count, "little")


def draw_portrait(spec: Portrait) -> tuple[Image.Image, Image.Image]:
    """The upright picture (RGB) and its opacity mask (L), drawn at SUPERSAMPLE x and scaled down."""
    rng = random.Random(spec.seed)
    width, height = spec.size[0] * SUPERSAMPLE, spec.size[1] * SUPERSAMPLE
    image = gradient((width, height), *spec.background)
    mask = Image.new("L", (width, height), 0)
    canvas, stencil = ImageDraw.Draw(image), ImageDraw.Draw(mask)
    side = min(width, height)
    cx, unit = width // 2, side / 100  # unit: 1% of the shorter side
    head_w, head_h = 30 * unit, 38 * unit
    head_top = height * 0.5 - 40 * unit
    head = (cx - head_w / 2, head_top, cx + head_w / 2, head_top + head_h)
    # A light from the upper left: the background is brighter there, so even a plain photo is asymmetric.
    canvas.ellipse((-side * 0.4, -side * 0.5, side * 0.6, side * 0.4), fill=shade(spec.background[0], 1.12))
    # A bright window on the side away from the parting, and shade on the other: mirrored, the picture differs
    # even at the 16x16 scale the modules compare pictures at.
    window_left = spec.parting == "right"
    window_x = 0.04 * width if window_left else 0.66 * width
    canvas.rectangle((window_x, 0.08 * height, window_x + 0.3 * width, 0.55 * height), fill=shade(spec.background[0], 1.5))
    canvas.rectangle((0.7 * width, 0.6 * height, width, height) if window_left else (0, 0.6 * height, 0.3 * width, height),
                     fill=shade(spec.background[1], 0.55))
    image = image.filter(ImageFilter.GaussianBlur(side * 0.02))
    canvas = ImageDraw.Draw(image)

    def both(shape: str, box, fill, **kwargs) -> None:
        getattr(canvas, shape)(box, fill=fill, **kwargs)
        getattr(stencil, shape)(box, fill=255, **kwargs)

    # Shoulders and shirt
    shoulders = (cx - 46 * unit, head[3] + 2 * unit, cx + 46 * unit, head[3] + 60 * unit)
    both("rounded_rectangle", shoulders, spec.shirt, radius=int(18 * unit))
    both("rectangle", (shoulders[0], shoulders[1] + 20 * unit, shoulders[2], height), spec.shirt)
    if spec.shirt_style == "stripes":
        for offset in range(-44, 41, 6):
            x = cx + offset * unit
            canvas.line((x, shoulders[1] + 8 * unit, x + 4 * unit, height), fill=shade(spec.shirt, 1.6), width=int(unit))
    elif spec.shirt_style == "hoodie":
        canvas.ellipse((cx - 22 * unit, head[3] - 8 * unit, cx + 22 * unit, head[3] + 14 * unit), fill=shade(spec.shirt, 0.75))
        canvas.line((cx - 6 * unit, head[3] + 10 * unit, cx - 7 * unit, head[3] + 30 * unit), fill=(235, 235, 235), width=int(unit))
    # A bag strap from one shoulder across the chest, in a colour of its own
    strap_from_left = spec.pocket != "left"
    top_x = shoulders[0] + 12 * unit if strap_from_left else shoulders[2] - 12 * unit
    bottom_x = shoulders[2] - 4 * unit if strap_from_left else shoulders[0] + 4 * unit
    canvas.line((top_x, shoulders[1] + 2 * unit, bottom_x, height), fill=(60, 40, 30) if sum(spec.shirt) > 300 else (235, 200, 120),
                width=int(6 * unit))
    # Neck (over the hood, under the collar)
    neck = (cx - 6 * unit, head[3] - 6 * unit, cx + 6 * unit, head[3] + 8 * unit)
    both("rectangle", neck, shade(spec.skin, 0.88))
    if spec.shirt_style == "collar":
        white = (245, 245, 245)
        canvas.polygon([(cx - 10 * unit, head[3] + 2 * unit), (cx, head[3] + 12 * unit), (cx - 3 * unit, head[3] + 16 * unit),
                        (cx - 14 * unit, head[3] + 6 * unit)], fill=white)
        canvas.polygon([(cx + 10 * unit, head[3] + 2 * unit), (cx, head[3] + 12 * unit), (cx + 3 * unit, head[3] + 16 * unit),
                        (cx + 14 * unit, head[3] + 6 * unit)], fill=white)
        canvas.polygon([(cx - 2 * unit, head[3] + 13 * unit), (cx + 2 * unit, head[3] + 13 * unit),
                        (cx + 3 * unit, head[3] + 40 * unit), (cx, head[3] + 44 * unit), (cx - 3 * unit, head[3] + 40 * unit)],
                       fill=shade(spec.shirt, 0.5))
    if spec.pocket:
        px = cx + (-30 if spec.pocket == "left" else 18) * unit
        canvas.rectangle((px, head[3] + 26 * unit, px + 12 * unit, head[3] + 38 * unit), outline=shade(spec.shirt, 0.6),
                         width=int(unit))
        canvas.line((px + 3 * unit, head[3] + 24 * unit, px + 3 * unit, head[3] + 31 * unit), fill=(30, 60, 160), width=int(unit))

    # Hair behind the head
    if spec.hair_style == "long":
        for left in (head[0] - 5 * unit, head[2] - 7 * unit):
            both("rounded_rectangle", (left, head[1] + 4 * unit, left + 12 * unit, head[3] + 14 * unit), spec.hair,
                 radius=int(5 * unit))
    if spec.hair_style == "bun":
        both("ellipse", (cx - 10 * unit, head[1] - 14 * unit, cx + 10 * unit, head[1] + 4 * unit), spec.hair)
    # Ears and head
    for ear_x in (head[0] - 3 * unit, head[2] - 3 * unit):
        both("ellipse", (ear_x, head[1] + 15 * unit, ear_x + 6 * unit, head[1] + 24 * unit), shade(spec.skin, 0.92))
    both("ellipse", head, spec.skin)
    if spec.earring:
        ex = head[0] - 1 * unit if spec.earring == "left" else head[2] + 1 * unit
        canvas.ellipse((ex - 1.6 * unit, head[1] + 24 * unit, ex + 1.6 * unit, head[1] + 27.2 * unit), fill=(235, 190, 40))
    # Hair on top, parted on one side
    left_part = spec.parting == "left"
    if spec.hair_style == "bald":
        shine_x = head[0] + (6 if left_part else 16) * unit
        canvas.ellipse((shine_x, head[1] + 3 * unit, shine_x + 8 * unit, head[1] + 7 * unit), fill=shade(spec.skin, 1.15))
        canvas.chord((head[0] - unit, head[1] + 12 * unit, head[2] + unit, head[3] - 4 * unit), 160, 200, fill=spec.hair)
    elif spec.hair_style == "curly":
        for index in range(26):
            angle_x = head[0] + (index % 13) * head_w / 12 - 3 * unit
            row = index // 13
            r = (5.5 - row) * unit
            y = head[1] - 3 * unit + row * 5 * unit + (2 * unit if (index % 13) in (0, 12) else 0)
            both("ellipse", (angle_x - r, y - r, angle_x + r, y + r), shade(spec.hair, 0.85 + 0.3 * rng.random()))
    else:
        canvas.chord((head[0] - unit, head[1] - 2 * unit, head[2] + unit, head[1] + 24 * unit), 180, 360, fill=spec.hair)
        stencil.chord((head[0] - unit, head[1] - 2 * unit, head[2] + unit, head[1] + 24 * unit), 180, 360, fill=255)
        part_x = head[0] + (9 if left_part else 21) * unit
        sweep = (part_x, head[1] + 2 * unit, head[2] + unit, head[1] + 16 * unit) if left_part else \
            (head[0] - unit, head[1] + 2 * unit, part_x, head[1] + 16 * unit)
        canvas.pieslice(sweep, 90 if left_part else 0, 270 if left_part else 180, fill=spec.hair)
        canvas.line((part_x, head[1], part_x + (4 if left_part else -4) * unit, head[1] + 9 * unit),
                    fill=shade(spec.skin, 0.95), width=int(unit * 0.8))
        for strand in range(40):
            sx = head[0] + rng.random() * head_w
            canvas.line((sx, head[1] + rng.random() * 4 * unit, sx + (rng.random() - 0.5) * 6 * unit, head[1] + 8 * unit),
                        fill=shade(spec.hair, 1.35), width=max(1, int(unit * 0.3)))
    # Face: brows, eyes, nose, mouth; the right brow a little higher, a beauty mark on one side
    eye_y = head[1] + 18 * unit
    for index, ex in enumerate((cx - 7 * unit, cx + 7 * unit)):
        canvas.ellipse((ex - 3 * unit, eye_y - 1.6 * unit, ex + 3 * unit, eye_y + 1.6 * unit), fill=(250, 250, 250))
        canvas.ellipse((ex - 1.4 * unit, eye_y - 1.4 * unit, ex + 1.4 * unit, eye_y + 1.4 * unit), fill=(50, 35, 25))
        lift = 1.5 * unit if index == 1 else 0
        canvas.line((ex - 3.5 * unit, eye_y - 4.5 * unit - lift, ex + 3.5 * unit, eye_y - 5 * unit - lift),
                    fill=shade(spec.hair, 0.8), width=int(unit))
        if spec.glasses:
            canvas.ellipse((ex - 5 * unit, eye_y - 4 * unit, ex + 5 * unit, eye_y + 4 * unit), outline=(25, 25, 25),
                           width=int(unit * 0.8))
    if spec.glasses:
        canvas.line((cx - 2 * unit, eye_y - unit, cx + 2 * unit, eye_y - unit), fill=(25, 25, 25), width=int(unit * 0.8))
    canvas.line((cx + unit, eye_y + 2 * unit, cx + 2.5 * unit, eye_y + 9 * unit, cx - 0.5 * unit, eye_y + 9.5 * unit),
                fill=shade(spec.skin, 0.75), width=int(unit * 0.7))
    canvas.arc((cx - 6 * unit, eye_y + 8 * unit, cx + 5 * unit, eye_y + 15 * unit), 20, 160, fill=(150, 60, 60), width=int(unit))
    mark_x = cx + (9 if left_part else -9) * unit
    canvas.ellipse((mark_x - 0.6 * unit, eye_y + 10 * unit, mark_x + 0.6 * unit, eye_y + 11.2 * unit), fill=shade(spec.skin, 0.55))

    image = image.resize(spec.size, Image.LANCZOS)
    mask = mask.resize(spec.size, Image.LANCZOS)
    if spec.noise:
        image = ImageChops.add(image, texture(spec.size, spec.noise, rng), 1.0, -spec.noise)
    return image, mask


def encode(spec: Portrait) -> bytes:
    image, mask = draw_portrait(spec)
    out = io.BytesIO()
    if spec.fmt == "PNG":
        if spec.transparent:
            # Fully transparent pixels hold black, not noise: the colour there is never seen and PNG stores it cheaply.
            image = Image.composite(image, Image.new("RGB", image.size), mask.point(lambda value: 255 if value else 0))
            image.putalpha(mask)
        image.save(out, "PNG", optimize=True)
        return out.getvalue()
    exif = Image.Exif()
    if spec.orientation == ROTATED_CLOCKWISE_90:
        # Stored as a sideways camera would: only a viewer that applies the EXIF orientation shows it upright.
        image = image.transpose(Image.ROTATE_90)
        exif[EXIF_ORIENTATION] = ROTATED_CLOCKWISE_90
    image.save(out, "JPEG", quality=spec.quality, exif=exif.tobytes() if len(exif) else b"")
    return out.getvalue()


README_HEAD = """# Demo photos

Stylised head-and-shoulders portraits for the demo playbooks and the sandbox tenants, one file per user,
named by user principal name. They are generated, not photographed: `hacking/make_demo_photos.py`
draws them with Pillow, deterministically (`.venv/bin/python hacking/make_demo_photos.py` rewrites this
folder). Licence: CC0 1.0 (public domain dedication); you may also use them under the collection's
licence, GPL-3.0-or-later.

Every portrait is left-right asymmetric (hair parting, earring, pocket, eyebrows), so a mirrored photo
is a different picture for the modules' picture comparison.

| file | tenant | format | stored size | bytes | note |
|---|---|---|---|---:|---|
"""


def note(spec: Portrait, size: int) -> str:
    notes = []
    if spec.orientation == ROTATED_CLOCKWISE_90:
        notes.append("stored sideways with EXIF Orientation=6; upright only when EXIF is applied")
    if spec.transparent:
        notes.append("transparent background")
    notes.append("over the 10 KB sync limit" if size > 10240 else "fits the 10 KB sync limit as it is")
    return "; ".join(notes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=DEFAULT_OUT, help="folder to write (default: %(default)s)")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    rows, total = [], 0
    for spec in PORTRAITS:
        data = encode(spec)
        with open(os.path.join(args.out, spec.filename), "wb") as handle:
            handle.write(data)
        stored = Image.open(io.BytesIO(data)).size
        total += len(data)
        rows.append("| `%s` | %s | %s | %dx%d | %s | %s |" % (spec.filename, spec.tenant, spec.fmt, stored[0], stored[1],
                                                            "{:,}".format(len(data)), note(spec, len(data))))
        print("%-36s %8d bytes  %dx%d" % (spec.filename, len(data), stored[0], stored[1]))
    with open(os.path.join(args.out, "README.md"), "w", encoding="utf-8") as readme:
        readme.write(README_HEAD + "\n".join(rows) + "\n\nTotal: {:,} bytes.\n".format(total))
    print("total %d bytes" % total)


if __name__ == "__main__":
    main()
