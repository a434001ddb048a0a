"""When a user's current photo must be replaced: by picture, not by bytes."""

from __future__ import annotations

import io

import pytest
from PIL import Image, ImageOps

from ansible_collections.m365.photos.plugins.module_utils import _image, _photo_state

BUDGET = 10240


def portrait() -> Image.Image:
    """A left-right asymmetric test picture, so its mirror image is a different picture."""
    image = Image.linear_gradient("L").rotate(90).resize((256, 256)).convert("RGB")
    image.paste((200, 40, 40), (20, 40, 120, 220))
    image.paste((20, 20, 120), (150, 60, 230, 120))
    return image


def jpeg(image: Image.Image, quality: int = 85, size: int | None = None) -> bytes:
    if size:
        image = image.resize((size, size), Image.LANCZOS)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality)
    return out.getvalue()


def desired_from(source: bytes, **options) -> _photo_state.DesiredPhoto:
    return _photo_state.DesiredPhoto(source, **dict(dict(max_bytes=BUDGET), **options))


@pytest.fixture(name="desired")
def desired_photo() -> _photo_state.DesiredPhoto:
    return desired_from(jpeg(portrait(), 95))


def test_no_current_photo_is_written(desired):
    assert _photo_state.decide(None, desired, "different").write


def test_identical_bytes_are_never_rewritten_even_with_always(desired):
    assert not _photo_state.decide(desired.fitted(), desired, "always").write


def test_always_rewrites_the_same_picture_in_other_bytes(desired):
    assert _photo_state.decide(jpeg(portrait(), 60, 120), desired, "always").write


def test_deciding_a_no_change_does_not_fit_the_photo(desired):
    assert not _photo_state.decide(jpeg(portrait(), 60, 120), desired, "different").write
    assert desired._fitted is None


def test_same_picture_reencoded_is_left_alone(desired):
    decision = _photo_state.decide(jpeg(portrait(), 60, 120), desired, "different")
    assert not decision.write and decision.similarity >= _image.SAME_PICTURE_THRESHOLD


def test_mirrored_picture_is_replaced(desired):
    decision = _photo_state.decide(jpeg(ImageOps.mirror(portrait()), 80, 128), desired, "different")
    assert decision.write and decision.reason == "the current photo shows a different picture"


def test_same_picture_over_the_budget_is_replaced(desired):
    big = jpeg(Image.effect_noise((400, 400), 60).convert("RGB"), 95)
    assert len(big) > BUDGET
    assert _photo_state.decide(big, desired, "different").write


def test_if_missing_leaves_any_existing_photo(desired):
    assert not _photo_state.decide(jpeg(ImageOps.mirror(portrait())), desired, "if_missing").write


def test_bytes_that_are_no_image_are_replaced_and_still_described(desired):
    assert _photo_state.decide(b"garbage", desired, "different").write
    facts = _photo_state.facts(b"garbage")
    assert facts["bytes"] == 7 and facts["width"] is None and len(facts["sha256"]) == 64


def test_photo_larger_than_max_dimension_is_replaced():
    large = jpeg(portrait(), 50, 256)
    desired = desired_from(jpeg(portrait(), 95), max_dimension=96)
    assert _photo_state.decide(large, desired, "different").write


def test_content_accepts_wrapped_base64_and_refuses_junk():
    assert _photo_state.decode_content("aGVs\nbG8=\n") == b"hello"
    with pytest.raises(_image.ImageError, match="not valid base64"):
        _photo_state.decode_content("not base64 at all!")
