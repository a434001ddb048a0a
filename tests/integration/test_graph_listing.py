"""exchange_online_photo naming at least SCAN_MIN_NAMES users finds their ids in one listing of the tenant's users
(GraphBackend.prepare) and reads only their photos, through a real playbook against a private emulator.

Its contoso tenant has 1,100 users in listing.example and a page holds at most 250 (Graph's own limit is 999), so
the listing takes five pages. What is asserted is what the emulator holds and its request log.
"""

from __future__ import annotations

import base64
import io

import pytest
from PIL import Image

from ansible_collections.m365.photos.plugins.module_utils._limits import SCAN_MIN_NAMES

from graph_sandbox import Sandbox, paged_emulator
from photo_fixtures import fixture_bytes, jpeg
from playbook_runner import run_task

DOMAIN = "listing.example"
COUNT = 1100
PAGE = 250
GHOST = "ghost@%s" % DOMAIN


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    emulator = paged_emulator(tmp_path_factory.mktemp("graph-listing"), DOMAIN, COUNT, PAGE)
    yield Sandbox(emulator)
    emulator.stop()


@pytest.fixture(autouse=True)
def seed_state(sandbox):
    sandbox.admin("POST", "/reset")


def user(number: int) -> str:
    return "user%04d@%s" % (number, DOMAIN)


def requests_to(sandbox: Sandbox, pattern: str) -> dict:
    return sandbox.admin("GET", "/log")["by_endpoint"].get(pattern, {"count": 0, "statuses": {}})


def test_a_run_naming_many_users_lists_them_once_and_reads_only_their_photos(sandbox):
    picture = Image.open(io.BytesIO(fixture_bytes("coffee.jpg")))
    side = min(picture.size)
    square = picture.crop((0, 0, side, side)).resize((600, 600))
    sandbox.store(user(3), jpeg(square, quality=80))  # the same picture: already right
    sandbox.admin("POST", "/log/reset")
    named = {1: user(1).upper(), 2: sandbox.user_id(2).upper(), 3: user(3)}
    photos = [dict(user=named[number], content=base64.b64encode(jpeg(square)).decode()) for number in named]
    photos += [dict(user=user(number), state="absent") for number in range(4, SCAN_MIN_NAMES + 4)]
    photos.append(dict(user=GHOST, state="absent"))
    outcome = run_task({"m365.photos.exchange_online_photo": dict(photos=photos)}, module_defaults=sandbox.defaults())

    results = outcome.result["results"]
    assert [result["user_id"] for result in results[:3]] == [sandbox.user_id(number) for number in named]
    assert [result["changed"] for result in results[:3]] == [True, True, False], results[:3]
    assert not any(result["changed"] or result["failed"] for result in results[3:-1])
    ghost = results[-1]
    assert ghost["failed"] and ghost["msg"].startswith("No user '%s' in the tenant" % GHOST), ghost
    assert outcome.failed and outcome.result["summary"] == dict(entries=len(photos), changed=2, unchanged=len(photos) - 3,
                                                                failed=1)
    for number in (1, 2):
        assert Image.open(io.BytesIO(sandbox.stored(user(number)))).format == "JPEG"
    # Five pages of users; then each named user's photo, and a look-up only for the name the listing lacks.
    assert requests_to(sandbox, "GET /users")["count"] == 5
    assert requests_to(sandbox, "GET /users/{user}")["statuses"] == {"404": 1}
    assert requests_to(sandbox, "GET /users/{user}/photo")["count"] >= len(photos) - 1


def test_a_run_naming_few_users_looks_each_up_and_lists_nobody(sandbox):
    sandbox.admin("POST", "/log/reset")
    photos = [dict(user=user(number), state="absent") for number in range(1, 11)]
    outcome = run_task({"m365.photos.exchange_online_photo": dict(photos=photos)}, module_defaults=sandbox.defaults())
    assert not outcome.failed and outcome.result["summary"]["unchanged"] == 10, outcome.msg
    assert requests_to(sandbox, "GET /users")["count"] == 0
    assert requests_to(sandbox, "GET /users/{user}")["statuses"] == {"200": 10}
