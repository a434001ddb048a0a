"""The decision table: whether a user's photo is already right, for a directory and for Microsoft Graph."""

from __future__ import annotations

import pytest
from PIL import Image, ImageOps

from ansible_collections.m365.photos.plugins.module_utils import _graph_sizes, _image
from ansible_collections.m365.photos.plugins.module_utils._decision import STORED_AS_WRITTEN, Current, decide
from ansible_collections.m365.photos.plugins.module_utils._desired import DesiredPhoto, Fitting

from photo_models import directory_holds, graph_serves, jpeg, portrait

AD = STORED_AS_WRITTEN
GRAPH = _graph_sizes.SERVED
SERVERS = {"directory": (AD, directory_holds, 10240), "graph": (GRAPH, graph_serves, 4000000)}


def desired_from(image: Image.Image, **fitting) -> DesiredPhoto:
    return DesiredPhoto(jpeg(image, 95), Fitting(**dict(dict(max_bytes=10240), **fitting)))


@pytest.fixture(name="desired")
def desired_portrait() -> DesiredPhoto:
    return desired_from(portrait())


# -- rows that need no pixels ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("served", [AD, GRAPH])
def test_absent_removes_a_photo_and_leaves_no_photo_alone(served):
    assert decide(directory_holds(jpeg(portrait())), None, "different", served).write
    decision = decide(None, None, "different", served)
    assert not decision.write and decision.reason == "the user has no photo"


@pytest.mark.parametrize("served", [AD, GRAPH])
@pytest.mark.parametrize("overwrite", ["different", "always", "if_missing"])
def test_no_current_photo_is_written_whatever_overwrite_says(desired, served, overwrite):
    assert decide(None, desired, overwrite, served).write


@pytest.mark.parametrize("served", [AD, GRAPH])
def test_if_missing_leaves_any_existing_photo(desired, served):
    assert not decide(directory_holds(jpeg(ImageOps.mirror(portrait()))), desired, "if_missing", served).write


def test_always_keeps_exactly_the_bytes_a_directory_already_holds(desired):
    assert not decide(directory_holds(desired.fitted()), desired, "always", AD).write
    assert decide(directory_holds(jpeg(portrait(), 60, 120)), desired, "always", AD).write


def test_always_uploads_to_graph_which_never_holds_the_uploaded_bytes(desired):
    assert decide(graph_serves(desired.fitted()), desired, "always", GRAPH).write


def test_a_directory_photo_over_the_byte_budget_is_replaced(desired):
    big = jpeg(Image.effect_noise((400, 400), 60).convert("RGB"), 95)
    assert len(big) > desired.max_bytes
    assert "over max_bytes" in decide(directory_holds(big), desired, "different", AD).reason


@pytest.mark.parametrize("served", [AD, GRAPH])
def test_bytes_that_are_no_image_are_replaced(desired, served):
    garbage = Current(data=b"garbage") if served is AD else Current(facts=dict(width=504, height=504), preview=b"junk")
    assert "cannot be read" in decide(garbage, desired, "different", served).reason


@pytest.mark.parametrize("served, holds", [(AD, directory_holds), (GRAPH, graph_serves)])
def test_a_photo_larger_than_max_dimension_is_replaced(served, holds):
    desired = desired_from(portrait(), max_dimension=96, max_bytes=4000000)
    decision = decide(holds(jpeg(portrait(), 80, 256)), desired, "different", served)
    assert decision.write and "max_dimension 96" in decision.reason


@pytest.mark.parametrize("current_side, write", [(96, True), (360, True), (432, True), (504, False), (648, False)])
def test_graph_replaces_a_much_smaller_photo_without_comparing_pixels(current_side, write):
    desired = desired_from(portrait(700, 700), max_bytes=4000000, max_dimension=648)
    current = Current(facts=dict(width=current_side, height=current_side, etag=None))  # no preview read
    decision = decide(current, desired, "different", GRAPH)
    assert decision.write == write
    assert decision.needs_preview == (not write)  # comparable: the pictures must be compared next


def test_a_directory_keeps_a_small_photo_of_the_same_picture(desired):
    assert not decide(directory_holds(jpeg(portrait(), 80, 64)), desired, "different", AD).write


# -- rows that compare pictures --------------------------------------------------------------------------------------

@pytest.mark.parametrize("server", SERVERS)
def test_the_same_picture_re_encoded_is_left_alone_without_fitting(server):
    served, holds, max_bytes = SERVERS[server]
    desired = desired_from(portrait(), max_bytes=max_bytes)
    decision = decide(holds(jpeg(portrait(), 60, 240)), desired, "different", served)
    assert not decision.write and decision.similarity >= _image.SAME_PICTURE_THRESHOLD
    assert desired._fitted is None


@pytest.mark.parametrize("server", SERVERS)
@pytest.mark.parametrize("other", [ImageOps.mirror, ImageOps.invert, lambda image: image.rotate(90)])
def test_a_different_or_mirrored_picture_is_replaced(server, other):
    served, holds, max_bytes = SERVERS[server]
    desired = desired_from(portrait(), max_bytes=max_bytes)
    decision = decide(holds(jpeg(other(portrait()), 80, 240)), desired, "different", served)
    assert decision.write and decision.reason == "the current photo shows a different picture"


# -- what was written is then right: every budget, dimension, shape and crop -----------------------------------------

def converged(server: str, source: Image.Image, **fitting) -> None:
    served, holds = SERVERS[server][:2]
    desired = desired_from(source, **fitting)
    after_write = holds(desired.fitted())
    again = DesiredPhoto(desired.source, desired.fitting)  # the next run starts from the source again
    decision = decide(after_write, again, "different", served)
    assert not decision.write, decision


@pytest.mark.parametrize("server", SERVERS)
@pytest.mark.parametrize("max_bytes", [1024, 10240, 20000, 102400, 4000000])
def test_what_was_written_is_right_on_the_next_run_for_every_byte_budget(server, max_bytes):
    converged(server, portrait(512, 512), max_bytes=max_bytes)


@pytest.mark.parametrize("server", SERVERS)
@pytest.mark.parametrize("max_dimension", [48, 96, 240, 648, 1000])
def test_what_was_written_is_right_on_the_next_run_for_every_max_dimension(server, max_dimension):
    converged(server, portrait(800, 800), max_bytes=4000000, max_dimension=max_dimension)


@pytest.mark.parametrize("server", SERVERS)
@pytest.mark.parametrize("crop", ["none", "center", "top"])
@pytest.mark.parametrize("size", [(600, 400), (400, 600), (300, 300)])
def test_what_was_written_is_right_on_the_next_run_for_every_shape_and_crop(server, crop, size):
    converged(server, portrait(*size), max_bytes=SERVERS[server][2], crop=crop)


@pytest.mark.parametrize("server", SERVERS)
def test_a_source_smaller_than_the_smallest_served_size_converges(server):
    converged(server, portrait(40, 40), max_bytes=SERVERS[server][2])


def test_the_size_of_the_upload_needs_a_fit_only_when_the_byte_budget_can_shrink_it():
    small_budget = desired_from(portrait(512, 512), max_bytes=10240)
    fitted = _image.describe(small_budget.fitted())
    assert small_budget.size() == (fitted["width"], fitted["height"])
    generous = desired_from(portrait(512, 512), max_bytes=4000000)
    assert generous.size() == (512, 512) and generous._fitted is None
