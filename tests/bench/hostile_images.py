"""Peak memory and time of the image pipeline on hostile and worst-case accepted photos, one process per case.

Each case runs in a fresh Python process that imports the collection, builds its file in memory, then does what
a photo module does with it: a source is checked and fitted (DesiredPhoto.check, then fitted), a current photo
is compared with a normal source and thumbnailed for a report (decide, then thumbnail_b64). The table gives the
process's peak RSS (VmHWM, imports included) and the seconds the work took.

Usage (with the Makefile's environment): python tests/bench/hostile_images.py [COLLECTIONS_PATH] [CASE...]
COLLECTIONS_PATH is a folder holding ansible_collections/m365/photos (another checkout, to compare); by default
the one on PYTHONPATH. Benchmarks print; the unit tests in test_image_budgets.py assert.
"""
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
BUILDERS = os.path.join(os.path.dirname(HERE), "unit", "plugins")

# name: (what the file is, role, builder expression evaluated with hostile_images as h, PIL's Image as Image)
CASES = {
    "gif-10000-current": ("35-byte GIF declaring 10000x10000, as the current AD photo", "current", "h.gif_canvas()"),
    "gif-10000-source": ("the same GIF as a source", "source", "h.gif_canvas()"),
    "tiff-tile-current": ("146-byte TIFF, 64x64 in one 46320x46320 tile, as the current photo", "current",
                          "h.tiff_huge_tile()"),
    "tiff-tile-source": ("the same TIFF as a source", "source", "h.tiff_huge_tile()"),
    "tiff-strips-source": ("TIFF, 64x200000 in 200,000 one-row strips", "source", "h.tiff_many_strips()"),
    "png-rgba-source": ("389 KB RGBA PNG, 10000x10000 transparent", "source", "h.png_rgba_canvas()"),
    "png-rgba-current": ("the same PNG as the current photo", "current", "h.png_rgba_canvas()"),
    "bmp-rle8-source": ("50 MB RLE8 BMP, 10000x10000", "source", "h.bmp_rle8(10000, 10000, 4)"),
    "jpeg-noscan-current": ("330-byte JPEG declaring 10000x10000, no scan data, as the current photo", "current",
                            "h.jpeg_without_scan()"),
    "jpeg-noscan-source": ("the same JPEG as a source", "source", "h.jpeg_without_scan()"),
    # The largest photos each format may be as a source (worst cases accepted), noise so nothing compresses away.
    "jpeg-8000-source": ("8000x8000 JPEG camera export (64 Mpx), quality 90 (decoded at 1/4)", "source", "jpeg_noise(8000, 8000)"),
    "jpeg-4000x3000-source": ("4000x3000 JPEG (12 Mpx, the largest decoded at full size), quality 90", "source",
                              "jpeg_noise(4000, 3000)"),
    "jpeg-progressive-source": ("4000x3000 progressive JPEG, quality 90 (decoded at 1/2)", "source",
                                "encoded(noise(4000, 3000), 'JPEG', quality=90, progressive=True)"),
    "jpeg-6000x4000-source": ("6000x4000 JPEG (24 Mpx), quality 90 (decoded at 1/2)", "source", "jpeg_noise(6000, 4000)"),
    "png-largest-source": ("largest RGBA PNG accepted", "source", "accepted('RGBA', 'PNG')"),
    "gif-largest-source": ("largest GIF accepted", "source", "accepted('P', 'GIF')"),
    "webp-largest-source": ("largest WebP accepted", "source",
                            "accepted('RGBA', 'WEBP', quality=80)"),
    "bmp-largest-source": ("largest 24-bit BMP accepted", "source", "accepted('RGB', 'BMP')"),
    "tiff-largest-source": ("largest RGB TIFF accepted (deflate)", "source",
                            "accepted('RGB', 'TIFF', compression='tiff_adobe_deflate')"),
    "jpeg-4096-current": ("4096x4096 JPEG as the current photo", "current", "jpeg_noise(4096, 4096)"),
    "png-largest-current": ("largest RGBA PNG accepted as the current photo", "current",
                            "accepted('RGBA', 'PNG', current=True)"),
}

CHILD = r"""
import io, json, sys, time
sys.path.insert(0, %(builders)r)
import hostile_images as h
from PIL import Image
from ansible_collections.m365.photos.plugins.module_utils import _decision, _image, _photo_facts
from ansible_collections.m365.photos.plugins.module_utils._desired import DesiredPhoto, Fitting

def encoded(image, fmt, **options):
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()

def noise(width, height, mode="RGB"):
    tile = Image.effect_noise((256, 256), 64).convert("RGB")
    image = Image.linear_gradient("L").resize((width, height)).convert("RGB")
    for top in range(0, height, 1024):
        for left in range(0, width, 1024):
            image.paste(tile, (left, top))
    return image.convert(mode) if mode != "RGB" else image

def jpeg_noise(width, height):
    return encoded(noise(width, height), "JPEG", quality=90)

def largest(mode, side_limit=None, current=False):
    # The largest square side the budget accepts for mode (decoder buffers aside: see accepted()).
    budget = getattr(_image, "CURRENT_PHOTO_BUDGET" if current else "SOURCE_BUDGET", None)
    pixels = budget.largest_pixels(mode) if budget else 10000 * 10000
    side = int(pixels ** 0.5)
    if current and budget:
        side = min(side, budget.max_side)
    if side_limit:
        side = min(side, side_limit)
    return side, side

def accepted(mode, fmt, current=False, side_limit=None, **options):
    # The largest noise square of mode in fmt the budget accepts, decoder buffers counted (a header check).
    budget = getattr(_image, "CURRENT_PHOTO_BUDGET" if current else "SOURCE_BUDGET")
    side = largest(mode, side_limit, current)[0]
    while True:
        data = encoded(noise(side, side, mode), fmt, **options)
        image = _image._open(data, budget.formats)
        if _image._decode_cost(image, budget, None) <= budget.max_memory:
            return data
        side = int(side * 0.97)

role = %(role)r
if len(sys.argv) > 1 and sys.argv[1] == "build":
    sys.stdout.buffer.write(eval(%(builder)r))
    sys.exit(0)
data = open(sys.argv[1], "rb").read()
normal = encoded(noise(400, 400), "JPEG", quality=90)
def peak_kb():
    # VmHWM, not ru_maxrss: on Linux ru_maxrss carries over the forking parent's peak across exec.
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM"))

base = peak_kb()
outcome = "ok"
start = time.monotonic()
try:
    if role == "source":
        desired = DesiredPhoto(data, Fitting(max_bytes=10240))
        desired.check()
        desired.fitted()
    else:
        # A budget over the photo's size, so it is compared (decoded), as it is from Graph, not replaced unread.
        decision = _decision.decide(_decision.Current(data=data), DesiredPhoto(normal, Fitting(max_bytes=4000000)),
                                    "different", _decision.STORED_AS_WRITTEN)
        outcome = "write: " + decision.reason
        _photo_facts.thumbnail_b64(data)
except Exception as error:
    outcome = "%%s: %%s" %% (type(error).__name__, str(error)[:150])
seconds = time.monotonic() - start
print(json.dumps(dict(bytes=len(data), seconds=seconds, base_kb=base,
                      peak_kb=peak_kb(), outcome=outcome)))
"""


def measure(name: str, env: dict) -> dict:
    """Build the file in one process, handle it in another (whose peak is then the module's, not the builder's)."""
    _what, role, builder = CASES[name]
    code = CHILD % dict(builders=BUILDERS, builder=builder, role=role)
    built = subprocess.run([sys.executable, "-c", code, "build"], capture_output=True, env=env, check=True).stdout
    with tempfile.NamedTemporaryFile(suffix=".img") as image_file:
        image_file.write(built)
        image_file.flush()
        done = subprocess.run([sys.executable, "-c", code, image_file.name], capture_output=True, text=True, env=env,
                              check=False)
    if done.returncode:
        return dict(bytes=0, seconds=0, base_kb=0, peak_kb=0, outcome="process died (%d): %s" % (
            done.returncode, done.stderr.strip().splitlines()[-1:] if done.stderr.strip() else ""))
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    args = sys.argv[1:]
    env = dict(os.environ)
    if args and os.path.isdir(args[0]):
        env["PYTHONPATH"] = args.pop(0)
    names = args or list(CASES)
    print("| case | file | bytes | peak RSS | before the work (imports, file) | seconds | outcome |")
    print("|---|---|---:|---:|---:|---:|---|")
    for name in names:
        result = measure(name, env)
        print("| %s | %s | %s | %d MB | %d MB | %.2f | %s |" % (
            name, CASES[name][0], format(result["bytes"], ","), result["peak_kb"] // 1024, result["base_kb"] // 1024,
            result["seconds"],
            result["outcome"].replace("|", "/")), flush=True)


if __name__ == "__main__":
    main()
