# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Behaviour of the shared image pipeline (plugins/module_utils/_image.py)."""

from __future__ import annotations

import contextlib
import hashlib
import io
import itertools
import os
import struct
import subprocess
import sys
import time
import zlib
from pathlib import Path

import pytest
from ansible_collections.m365.photos.plugins.module_utils import _image
from ansible_collections.m365.photos.plugins.module_utils._image import ImageError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageCms, ImageFile, ImageOps

REPO_ROOT = Path(__file__).resolve().parents[4]
FIXTURES = REPO_ROOT / "tests" / "fixtures" / "images"
from ssim import display_ssim  # noqa: E402  (tests/unit/plugins, on the path through its conftest)

PHOTO_NAMES = ("astronaut.png", "chelsea.png", "camera.png", "coffee.jpg", "rocket.jpg")
COLOUR_PHOTO_NAMES = tuple(name for name in PHOTO_NAMES if name != "camera.png")
FEW_EXAMPLES = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def encode(image: Image.Image, image_format: str = "JPEG", **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, image_format, **options)
    return buffer.getvalue()


def load_photo(name: str) -> Image.Image:
    return _image.normalise(_image.decode((FIXTURES / name).read_bytes()))


def opened(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def jpeg_markers(data: bytes) -> list:
    return [marker for marker, _payload in _image._jpeg_segments(data)]


def gradient(size=(64, 48), mode="RGB") -> Image.Image:
    image = Image.linear_gradient("L").resize(size)
    return Image.merge("RGB", (image, image.rotate(90), ImageOps.invert(image))).convert(mode)


@pytest.fixture(scope="module")
def astronaut() -> Image.Image:
    return load_photo("astronaut.png")


def png_header_only(width: int, height: int) -> bytes:
    def chunk(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\0" * 64)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


# --- decode: accepted formats ---------------------------------------------------------------------

@pytest.mark.parametrize("image_format", ["JPEG", "PNG", "GIF", "WEBP", "BMP", "TIFF"])
def test_every_accepted_format_decodes(image_format):
    decoded = _image.decode(encode(gradient(), image_format))
    assert decoded.size == (64, 48)


def test_animated_gif_gives_its_first_frame():
    frames = [Image.new("RGB", (20, 20), colour) for colour in ("red", "blue", "green")]
    data = encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    first = _image.normalise(_image.decode(data))
    assert first.getpixel((10, 10)) == (255, 0, 0)


def test_an_8000_by_8000_photo_is_within_the_pixel_limit():
    assert _image.DEFAULT_MAX_PIXELS >= 8000 * 8000


# --- decode: refusals -----------------------------------------------------------------------------

@pytest.mark.parametrize("data, kind", [
    (b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"></svg>', "SVG"),
    (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "PDF"),
    (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic", "HEIC"),
    (b"hello, this is a text file\n", "text"),
])
def test_foreign_formats_are_refused_by_name(data, kind):
    with pytest.raises(ImageError, match=r"not an image this collection can read \({0}\).*JPEG, PNG".format(kind)):
        _image.decode(data)


def test_empty_input_is_refused():
    with pytest.raises(ImageError, match="empty"):
        _image.decode(b"")


def test_a_format_pillow_knows_but_we_do_not_accept_is_refused():
    with pytest.raises(ImageError, match="not an image this collection can read"):
        _image.decode(encode(gradient(), "PPM"))


def test_oversized_input_is_refused_before_decoding():
    with pytest.raises(ImageError, match="more than the limit of 1,000 bytes"):
        _image.decode(encode(gradient(), "PNG") + b"\0" * 1000, max_input_bytes=1000)


def test_decompression_bomb_is_refused_from_its_header():
    bomb = png_header_only(50000, 50000)
    assert len(bomb) < 100
    with pytest.raises(ImageError, match="scale it down"):
        _image.decode(bomb)
    with pytest.raises(ImageError, match="12000x12000"):
        _image.decode(png_header_only(12000, 12000))


def test_pixel_limit_is_configurable():
    with pytest.raises(ImageError, match="pixel limit"):
        _image.decode(encode(gradient(), "PNG"), max_pixels=100)


@pytest.mark.parametrize("image_format", ["JPEG", "PNG"])
def test_truncated_file_is_an_error(image_format):
    data = encode(gradient((200, 200)), image_format)
    with pytest.raises(ImageError, match="truncated or corrupt"):
        _image.decode(data[: len(data) // 2])


def test_pillow_globals_are_left_alone():
    before = (Image.MAX_IMAGE_PIXELS, ImageFile.LOAD_TRUNCATED_IMAGES)
    with pytest.raises(ImageError):
        _image.decode(png_header_only(50000, 50000))
    assert before == (Image.MAX_IMAGE_PIXELS, ImageFile.LOAD_TRUNCATED_IMAGES)


@FEW_EXAMPLES
@given(st.binary(max_size=2048))
def test_random_bytes_raise_only_image_error(data):
    with contextlib.suppress(ImageError):
        _image.prepare_photo(data, max_bytes=10240)


@FEW_EXAMPLES
@given(st.data())
def test_corrupted_real_files_raise_only_image_error(data):
    original = encode(gradient((40, 40)), data.draw(st.sampled_from(["JPEG", "PNG", "GIF", "WEBP", "BMP", "TIFF"])))
    position = data.draw(st.integers(0, len(original) - 1))
    damaged = original[:position] + data.draw(st.binary(min_size=1, max_size=16)) + original[position + 1:]
    with contextlib.suppress(ImageError):
        _image.describe(damaged)
    with contextlib.suppress(ImageError):
        _image.fingerprint(damaged)


# --- normalise ------------------------------------------------------------------------------------

def test_cmyk_jpeg_becomes_rgb():
    data = encode(Image.new("CMYK", (16, 16), (0, 255, 255, 0)), "JPEG", quality=95)
    assert opened(data).mode == "CMYK"
    rgb = _image.normalise(_image.decode(data))
    assert rgb.mode == "RGB"
    red, green, blue = rgb.getpixel((8, 8))
    assert red > 240 and green < 15 and blue < 15


def test_palette_with_transparency_is_flattened_onto_white():
    palette_image = Image.new("P", (10, 10), 0)
    palette_image.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    palette_image.putpixel((5, 5), 1)
    data = encode(palette_image, "PNG", transparency=0)
    flat = _image.normalise(_image.decode(data))
    assert flat.getpixel((0, 0)) == (255, 255, 255)
    assert flat.getpixel((5, 5)) == (255, 0, 0)


def test_transparency_uses_the_chosen_background():
    data = encode(Image.new("RGBA", (8, 8), (0, 0, 0, 0)), "PNG")
    flat = _image.normalise(_image.decode(data), background=_image.parse_color("#336699"))
    assert flat.getpixel((4, 4)) == (0x33, 0x66, 0x99)


def test_half_transparent_rgba_blends_with_the_background():
    data = encode(Image.new("RGBA", (8, 8), (0, 0, 0, 128)), "PNG")
    assert _image.normalise(_image.decode(data)).getpixel((4, 4)) == pytest.approx((127, 127, 127), abs=1)


def test_la_image_becomes_rgb_on_white():
    data = encode(Image.new("LA", (8, 8), (0, 0)), "PNG")
    assert _image.normalise(_image.decode(data)).getpixel((0, 0)) == (255, 255, 255)


def test_sixteen_bit_grayscale_is_scaled_not_clipped():
    sixteen_bit = Image.new("I;16", (8, 8), 32768)
    decoded = _image.decode(encode(sixteen_bit, "PNG"))
    assert decoded.mode.startswith("I")
    assert _image.normalise(decoded).getpixel((0, 0)) == pytest.approx((128, 128, 128), abs=1)


@pytest.mark.parametrize("mode, value, expected", [("I", 65535, 255), ("I", 200, 200), ("F", 100.0, 100)])
def test_wide_grayscale_modes_become_8_bit(mode, value, expected):
    assert _image.normalise(Image.new(mode, (4, 4), value)).getpixel((0, 0))[0] == expected


def test_exif_orientation_6_is_applied():
    exif = Image.Exif()
    exif[0x0112] = 6
    data = encode(Image.new("RGB", (60, 30), "red"), "JPEG", exif=exif.tobytes())
    assert _image.normalise(_image.decode(data)).size == (30, 60)


def test_metadata_is_stripped():
    exif = Image.Exif()
    exif[0x0112] = 1
    exif[0x8825] = {1: "N", 2: (52.0, 22.0, 0.0)}
    source = Image.new("RGB", (32, 32), "green")
    data = encode(source, "JPEG", exif=exif.tobytes(), comment=b"taken at home",
                  icc_profile=ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())
    clean = _image.normalise(_image.decode(data))
    assert clean.info == {}
    assert not clean.getexif()
    assert jpeg_markers(_image.prepare_photo(data, max_bytes=10240)) == jpeg_markers(encode(source, "JPEG"))


def test_non_srgb_icc_profile_is_converted_to_srgb():
    lab_profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("LAB"))
    lab_image = Image.new("LAB", (8, 8), (50 * 255 // 100, 128 + 60, 128))  # a clear red-magenta in Lab
    rgb = _image._to_srgb(lab_image, lab_profile.tobytes())
    red, green, blue = rgb.getpixel((0, 0))
    assert red > green + 60 and red > blue


def test_broken_icc_profile_falls_back_to_plain_conversion():
    data = encode(Image.new("RGB", (8, 8), (10, 200, 30)), "PNG", icc_profile=b"not a profile")
    assert _image.normalise(_image.decode(data)).getpixel((0, 0)) == (10, 200, 30)


def test_cielab_profile_on_rgb_pixels_does_not_fail():
    data = encode(Image.new("RGB", (8, 8), (10, 200, 30)), "PNG",
                  icc_profile=ImageCms.ImageCmsProfile(ImageCms.createProfile("LAB")).tobytes())
    assert _image.normalise(_image.decode(data)).mode == "RGB"


# --- parse_color and crop -------------------------------------------------------------------------

@pytest.mark.parametrize("value, expected", [("#ffffff", (255, 255, 255)), ("#f00", (255, 0, 0)),
                                             ("navy", (0, 0, 128)), (" white ", (255, 255, 255))])
def test_colours_parse(value, expected):
    assert _image.parse_color(value) == expected


@pytest.mark.parametrize("value", ["", "#12", "not-a-colour", "#gggggg", 42])
def test_junk_colour_is_an_image_error(value):
    with pytest.raises(ImageError, match="colour"):
        _image.parse_color(value)


def test_center_crop_takes_the_middle_square():
    portrait = Image.new("RGB", (100, 200))
    assert _image.crop(portrait, "center").size == (100, 100)
    portrait.paste((255, 0, 0), (0, 50, 100, 150))
    assert _image.crop(portrait, "center").getcolors() == [(10000, (255, 0, 0))]


def test_top_crop_keeps_a_small_margin_above():
    portrait = Image.new("RGB", (100, 300))
    portrait.paste((255, 0, 0), (0, 16, 100, 116))
    cropped = _image.crop(portrait, "top")
    assert cropped.size == (100, 100)
    assert cropped.getcolors() == [(10000, (255, 0, 0))]  # started at 8% of the 200 spare pixels


def test_landscape_top_crop_is_horizontally_centred():
    landscape = Image.new("RGB", (300, 100))
    landscape.paste((0, 0, 255), (100, 0, 200, 100))
    assert _image.crop(landscape, "top").getcolors() == [(10000, (0, 0, 255))]


def test_crop_none_is_unchanged():
    image = Image.new("RGB", (30, 10))
    assert _image.crop(image, "none") is image


def test_unknown_crop_mode_is_an_image_error():
    with pytest.raises(ImageError, match="crop mode 'left' is unknown"):
        _image.crop(Image.new("RGB", (4, 4)), "left")


# --- fit_to_budget --------------------------------------------------------------------------------

def is_baseline_jpeg_without_metadata(data: bytes) -> bool:
    return opened(data).format == "JPEG" and _image._is_plain_baseline_jpeg(data) and 0xE1 not in jpeg_markers(data)


@FEW_EXAMPLES
@given(budget=st.integers(1500, 60000), side=st.integers(50, 400), ratio=st.floats(0.5, 2.0))
def test_fitted_output_is_a_baseline_jpeg_within_budget(astronaut, budget, side, ratio):
    source = astronaut.resize((side, max(1, int(side * ratio))))
    fitted = _image.fit_to_budget(source, budget)
    assert len(fitted) <= budget
    assert is_baseline_jpeg_without_metadata(fitted)
    assert max(opened(fitted).size) <= max(source.size)


def test_fit_never_upscales_and_respects_max_dimension(astronaut):
    small = astronaut.resize((80, 80))
    assert opened(_image.fit_to_budget(small, 1_000_000)).size == (80, 80)
    assert opened(_image.fit_to_budget(astronaut, 1_000_000, max_dimension=96)).size == (96, 96)


def test_budget_too_small_is_an_image_error(astronaut):
    with pytest.raises(ImageError, match="too small"):
        _image.fit_to_budget(astronaut, 300)


@pytest.mark.parametrize("budget", [0, -5, "10k"])
def test_invalid_budget_is_an_image_error(astronaut, budget):
    with pytest.raises(ImageError, match="budget"):
        _image.fit_to_budget(astronaut, budget)


def test_astronaut_at_10240_bytes_looks_right_at_240_px(astronaut):
    fitted = opened(_image.fit_to_budget(astronaut, 10240))
    assert display_ssim(astronaut, fitted) >= 0.92


def test_landscape_photo_at_10240_bytes_looks_right_at_240_px():
    chelsea = load_photo("chelsea.png")
    fitted = opened(_image.fit_to_budget(chelsea, 10240))
    assert fitted.width > fitted.height
    assert display_ssim(chelsea, fitted) >= 0.92


def test_module_imports_without_pillow():
    code = ("import sys; sys.modules['PIL'] = None; "
            "from ansible_collections.m365.photos.plugins.module_utils import _image; "
            "assert not _image.HAS_PILLOW and 'PIL' in _image.PILLOW_IMPORT_ERROR")
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    subprocess.run([sys.executable, "-c", code], check=True, env=environment)


def test_fitting_a_3000_px_photo_is_fast(astronaut):
    big = astronaut.resize((3000, 3000), Image.Resampling.BICUBIC)
    started = time.perf_counter()
    assert len(_image.fit_to_budget(big, 10240)) <= 10240
    assert time.perf_counter() - started < 3.0  # the target is 1 s; CI machines are slower


@pytest.fixture(scope="module")
def every_quality(astronaut) -> tuple[Image.Image, dict]:
    """A 200 px astronaut and its 4:2:0 encoding at every quality the fit may use."""
    image = astronaut.resize((200, 200), Image.Resampling.LANCZOS)
    return image, {quality: _image.encode_jpeg(image, quality, _image.SUBSAMPLING_420)
                   for quality in range(_image.MIN_QUALITY, _image.MAX_QUALITY + 1)}


@FEW_EXAMPLES
@given(budget=st.integers(1000, 40000), misjudged=st.floats(-3, 3))
def test_quality_search_finds_the_highest_quality_that_fits_whatever_the_model_predicts(
        every_quality, budget, misjudged):
    image, encodings = every_quality
    model = _image._QualityModel()
    model.complexity[_image.SUBSAMPLING_420] = _image._TYPICAL_COMPLEXITY * 10 ** misjudged
    found = _image._best_fitting_quality(image, _image.SUBSAMPLING_420, budget, model)
    fitting = [quality for quality, data in encodings.items() if len(data) <= budget]
    if not fitting:
        assert found is None
    else:
        assert found == encodings[max(fitting)]


def test_quality_search_after_a_neighbouring_size_needs_few_encodings(astronaut, monkeypatch):
    encodings = []
    encode_jpeg = _image.encode_jpeg
    monkeypatch.setattr(_image, "encode_jpeg", lambda *arguments: encodings.append(arguments) or encode_jpeg(*arguments))
    model = _image._QualityModel()
    _image._best_fitting_quality(_image._resize(astronaut, 304), _image.SUBSAMPLING_420, 10240, model)
    encodings.clear()
    assert _image._best_fitting_quality(_image._resize(astronaut, 336), _image.SUBSAMPLING_420, 10240, model)
    assert len(encodings) <= 3  # a bisection over qualities 20-95 takes 8


def test_pyramid_reduces_only_as_far_as_a_size_needs(astronaut):
    pyramid = _image._Pyramid(astronaut)
    assert pyramid.scaled(400).size == (400, 400)
    assert sorted(pyramid.reduced) == [1]
    assert pyramid.scaled(100).tobytes() == astronaut.reduce(2).resize((100, 100), Image.Resampling.LANCZOS).tobytes()
    assert pyramid.scaled(60).tobytes() == astronaut.reduce(4).resize((60, 60), Image.Resampling.LANCZOS).tobytes()
    assert sorted(pyramid.reduced) == [1, 2, 4]


def test_reference_display_view_comes_from_a_reduction_three_times_the_display(astronaut):
    big = astronaut.resize((1500, 750), Image.Resampling.BICUBIC)
    pyramid = _image._Pyramid(big)
    view = pyramid.display_view()
    assert view.size == (240, 120)
    assert sorted(pyramid.reduced) == [1, 2]  # 750x375 is the smallest reduction at least 720 px long
    assert view.tobytes() == big.reduce(2).resize((240, 120), Image.Resampling.LANCZOS).tobytes()


def test_display_similarity_is_symmetric_and_one_for_the_same_picture(astronaut):
    first = astronaut.resize((_image.DISPLAY_SIZE, _image.DISPLAY_SIZE), Image.Resampling.LANCZOS)
    second = opened(_image.encode_jpeg(first, 30, _image.SUBSAMPLING_420)).convert("RGB")
    forward = _image.display_similarity(_image._float_planes(first), second)
    backward = _image.display_similarity(_image._float_planes(second), first)
    assert forward < 0.99
    assert forward == pytest.approx(backward, abs=1e-6)
    assert _image.display_similarity(_image._float_planes(first), first) == pytest.approx(1.0, abs=1e-6)


@pytest.mark.parametrize("name", PHOTO_NAMES)
def test_size_search_looks_as_good_as_trying_every_size(name):
    photo = load_photo(name)
    sides = _image._candidate_sides(max(photo.size), None)
    everything = _image._SizeSearch(photo, sides, 10240)
    for index in range(len(sides)):
        everything.best_score(index)
    best_possible = _image._pick(everything.candidates())
    fitted = _image.fit_to_budget(photo, 10240)
    score = _image._similarity(everything.reference, opened(fitted))
    assert score >= best_possible.score - _image.EQUAL_LOOK_TOLERANCE


# --- prepare_photo --------------------------------------------------------------------------------

def test_second_prepare_gives_identical_bytes():
    data = (FIXTURES / "chelsea.png").read_bytes()
    first = _image.prepare_photo(data, max_bytes=10240, crop_mode="top")
    assert first == _image.prepare_photo(data, max_bytes=10240, crop_mode="top")
    assert opened(first).size[0] == opened(first).size[1]


def test_prepared_output_is_accepted_as_it_is():
    data = (FIXTURES / "astronaut.png").read_bytes()
    prepared = _image.prepare_photo(data, max_bytes=10240)
    assert _image.prepare_photo(prepared, max_bytes=10240) == prepared


def test_plain_baseline_jpeg_within_limits_is_kept_unchanged():
    data = encode(gradient((96, 96)), "JPEG", quality=80)
    assert _image.prepare_photo(data, max_bytes=10240, crop_mode="center") == data


@pytest.mark.parametrize("reason, data, options", [
    ("progressive", encode(gradient((96, 96)), "JPEG", progressive=True), {}),
    ("comment", encode(gradient((96, 96)), "JPEG", comment=b"hi"), {}),
    ("exif", encode(gradient((96, 96)), "JPEG", exif=Image.Exif().tobytes()), {}),
    ("cmyk", encode(gradient((96, 96)).convert("CMYK"), "JPEG"), {}),
    ("too big", encode(gradient((96, 96)), "JPEG", quality=95), {"max_bytes": 1500}),
    ("too wide", encode(gradient((96, 96)), "JPEG"), {"max_dimension": 64}),
    ("needs crop", encode(gradient((96, 64)), "JPEG"), {"crop_mode": "center"}),
    ("non-srgb icc",
     encode(gradient((96, 96)), "JPEG", icc_profile=ImageCms.ImageCmsProfile(ImageCms.createProfile("LAB")).tobytes()),
     {}),
])
def test_jpeg_that_needs_work_is_re_encoded(reason, data, options):
    prepared = _image.prepare_photo(data, **{"max_bytes": 10240, **options})
    assert prepared != data, reason
    assert is_baseline_jpeg_without_metadata(prepared)


def test_prepare_checks_options_before_keeping_the_original():
    data = encode(gradient((96, 96)), "JPEG")
    with pytest.raises(ImageError, match="crop mode"):
        _image.prepare_photo(data, max_bytes=10240, crop_mode="diagonal")
    with pytest.raises(ImageError, match="colour"):
        _image.prepare_photo(data, max_bytes=10240, background="plaid")


# --- describe -------------------------------------------------------------------------------------

def test_describe_reads_the_header():
    data = (FIXTURES / "chelsea.png").read_bytes()
    facts = _image.describe(data)
    assert facts == {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest(),
                     "width": 451, "height": 300, "format": "PNG"}


def test_describe_refuses_non_images():
    with pytest.raises(ImageError, match="SVG"):
        _image.describe(b"<svg xmlns='http://www.w3.org/2000/svg'/>")


# --- fingerprints and compare ---------------------------------------------------------------------

def portrait_of(image: Image.Image) -> Image.Image:
    width, height = image.size
    side = min(width, height)
    left = (width - side * 3 // 4) // 2
    return image.crop((left, 0, left + side * 3 // 4, side))


def zoomed(image: Image.Image, share: float = 0.15) -> Image.Image:
    dx, dy = int(image.width * share / 2), int(image.height * share / 2)
    return image.crop((dx, dy, image.width - dx, image.height - dy)).resize(image.size, Image.Resampling.LANCZOS)


def hue_shifted(image: Image.Image) -> Image.Image:
    hue, saturation, value = image.convert("HSV").split()
    return Image.merge("HSV", (hue.point(lambda h: (h + 60) % 256), saturation, value)).convert("RGB")


def same_picture_variants(base: Image.Image):
    for side, quality in itertools.product((48, 64, 96, 240, 360, 648), (30, 50, 75, 95)):
        yield "{0}px q{1}".format(side, quality), encode(_image._resize(base, side), quality=quality)
    exif = Image.Exif()
    exif[0x8825] = {1: "N"}
    yield "with exif", encode(base, quality=90, exif=exif.tobytes(), comment=b"note")
    yield "service re-encode", encode(Image.open(io.BytesIO(encode(_image._resize(base, 240), quality=80))), quality=85)


def different_picture_variants(name: str, base: Image.Image):
    yield "mirrored", ImageOps.mirror(base)
    yield "inverted", ImageOps.invert(base)
    yield "zoomed 15%", zoomed(base)
    if name in COLOUR_PHOTO_NAMES:
        yield "grayscale", ImageOps.grayscale(base).convert("RGB")
        yield "hue-shifted", hue_shifted(base)


def test_compare_tells_same_from_different_across_the_corpus(capsys):
    same_scores, different_scores = [], []
    photos = {name: load_photo(name) for name in PHOTO_NAMES}
    for name, photo in photos.items():
        for shape, base in (("square", _image.crop(photo, "center")), ("portrait", portrait_of(photo))):
            reference = _image.fingerprint(base)
            for label, variant in same_picture_variants(base):
                score = _image.compare_fingerprints(reference, _image.fingerprint(variant)).score
                same_scores.append((score, name, shape, label))
            for label, variant in different_picture_variants(name, base):
                score = _image.compare_fingerprints(reference, _image.fingerprint(encode(variant, quality=90))).score
                different_scores.append((score, name, shape, label))
        portrait = portrait_of(photo)
        crop_score = _image.compare(_image.crop(portrait, "center"), _image.crop(portrait, "top")).score
        different_scores.append((crop_score, name, "portrait", "center vs top crop"))
    squares = [_image.fingerprint(_image.crop(photo, "center")) for photo in photos.values()]
    for (first, a), (second, b) in itertools.combinations(zip(photos, squares), 2):
        different_scores.append((_image.compare_fingerprints(a, b).score, first, second, "different photo"))
    lowest_same, highest_different = min(same_scores), max(different_scores)
    with capsys.disabled():
        print("\ncompare: {0} same-picture pairs, lowest score {1:.3f} {2}; {3} different pairs, highest "
              "score {4:.3f} {5}; threshold {6}, margins {7:.3f} / {8:.3f}".format(
                  len(same_scores), lowest_same[0], lowest_same[1:], len(different_scores), highest_different[0],
                  highest_different[1:],
                  _image.SAME_PICTURE_THRESHOLD, lowest_same[0] - _image.SAME_PICTURE_THRESHOLD,
                  _image.SAME_PICTURE_THRESHOLD - highest_different[0]))
    assert lowest_same[0] >= _image.SAME_PICTURE_THRESHOLD
    assert highest_different[0] < _image.SAME_PICTURE_THRESHOLD


def textbook_score(a: _image.Fingerprint, b: _image.Fingerprint) -> float:
    """compare_fingerprints' score written out as defined: Pearson's correlation of the neighbour differences of
    the two 16x16 luma grids, times one less the weighted mean absolute differences of luma and chroma."""
    def gradients(luma):
        side = _image.LUMA_SIDE
        return ([luma[row * side + col + 1] - luma[row * side + col] for row in range(side) for col in range(side - 1)]
                + [luma[(row + 1) * side + col] - luma[row * side + col] for row in range(side - 1) for col in range(side)])

    first, second = gradients(a.luma), gradients(b.luma)
    mean_first, mean_second = sum(first) / len(first), sum(second) / len(second)
    covariance = sum((x - mean_first) * (y - mean_second) for x, y in zip(first, second))
    spread = (sum((x - mean_first) ** 2 for x in first) * sum((y - mean_second) ** 2 for y in second)) ** 0.5
    structure = max(0.0, covariance / spread if spread else float(first == second))
    tone = 1 - 4.0 * sum(abs(x - y) for x, y in zip(a.luma, b.luma)) / (255.0 * len(a.luma))
    colour = 1 - 6.0 * sum(abs(x - y) for x, y in zip(a.chroma, b.chroma)) / (255.0 * len(a.chroma))
    return max(0.0, structure * tone * colour)


LUMA = st.binary(min_size=_image.LUMA_SIDE ** 2, max_size=_image.LUMA_SIDE ** 2)
CHROMA = st.binary(min_size=2 * _image.CHROMA_SIDE ** 2, max_size=2 * _image.CHROMA_SIDE ** 2)


@settings(max_examples=300, deadline=None)
@given(LUMA, CHROMA, st.data())
def test_the_score_is_the_textbook_formula_whatever_the_grids(luma, chroma, data):
    near = bytes(min(255, max(0, value + shift)) for value, shift in
                 zip(luma, data.draw(st.lists(st.integers(-12, 12), min_size=len(luma), max_size=len(luma)))))
    other = data.draw(st.sampled_from([near, luma, bytes(len(luma)), data.draw(LUMA)]))
    a = _image.Fingerprint(aspect=1.0, luma=luma, chroma=chroma)
    b = _image.Fingerprint(aspect=1.0, luma=other, chroma=data.draw(st.sampled_from([chroma, data.draw(CHROMA)])))
    assert _image.compare_fingerprints(a, b).score == pytest.approx(textbook_score(a, b), abs=1e-12)


def test_compare_accepts_bytes_and_images(astronaut):
    similarity = _image.compare(encode(astronaut, quality=70), astronaut)
    assert similarity.same and 0.0 <= similarity.score <= 1.0
    assert similarity.threshold == _image.SAME_PICTURE_THRESHOLD


def test_compare_applies_exif_orientation():
    photo = _image.crop(load_photo("chelsea.png"), "center")
    exif = Image.Exif()
    exif[0x0112] = 6
    stored_sideways = encode(photo.transpose(Image.Transpose.ROTATE_90), quality=90, exif=exif.tobytes())
    assert _image.compare(stored_sideways, photo).same


def test_different_aspect_ratio_is_a_different_picture(astronaut):
    assert _image.compare(astronaut, astronaut.crop((0, 0, 512, 400))).score == 0.0


def test_fingerprint_is_small_and_fast():
    data = encode(_image._resize(load_photo("astronaut.png"), 96), quality=80)
    fingerprint = _image.fingerprint(data)
    assert len(fingerprint.luma) + len(fingerprint.chroma) <= 1024
    started = time.perf_counter()
    for _attempt in range(100):
        _image.fingerprint(data)
    assert (time.perf_counter() - started) / 100 < 0.01
