"""exchange_online_photo and exchange_online_photo_info against the answers Microsoft's real service gives that a
happy path leaves out: users whose photo cannot be reached (no Exchange Online mailbox, an on-premises mailbox,
no licence), each form of "no photo", and photos kept in Entra ID at their own dimensions (docs/sandbox.md).

A private emulator (own CA, state and port) serves this file; every test starts from its seed state.
"""

from __future__ import annotations

import base64
import io

import pytest
from PIL import Image

from ansible_collections.m365.photos.plugins.module_utils import _image

from graph_sandbox import Sandbox, start_emulator
from photo_fixtures import b64, fixture_bytes, jpeg
from playbook_runner import run_task, run_tasks

DOMAIN = "variants.example"
ASTRONAUT = fixture_bytes("astronaut.png")
# 900x600, wider than high and larger than the largest size Exchange Online serves.
WIDE = jpeg(Image.open(io.BytesIO(fixture_bytes("coffee.jpg"))).resize((900, 600)))
CAUSES = {"none": "no Exchange Online mailbox", "on_premises": "mailbox is on-premises",
          "unlicensed": "no licence that includes Exchange Online"}


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    emulator = start_emulator(str(tmp_path_factory.mktemp("graph-variants")),
                              extra_args=("--domain", DOMAIN, "--users", "40"))
    yield Sandbox(emulator)
    emulator.stop()


@pytest.fixture(autouse=True)
def seed_state(sandbox):
    sandbox.admin("POST", "/reset")


def user(number: int) -> str:
    return "user%04d@%s" % (number, DOMAIN)


def photo_task(**options) -> dict:
    return {"m365.photos.exchange_online_photo": options}


def info_task(**options) -> dict:
    return {"m365.photos.exchange_online_photo_info": options}


@pytest.mark.parametrize("kind", sorted(CAUSES))
def test_a_user_whose_photo_cannot_be_reached_fails_its_entry_with_the_cause(sandbox, kind):
    sandbox.store(user(2), jpeg(Image.open(io.BytesIO(ASTRONAUT))))
    sandbox.admin("PUT", "/tenants/contoso/users/%s/mailbox" % user(1), {"kind": kind})
    present, absent, bulk, info = run_tasks([
        photo_task(user=user(1), content=b64(ASTRONAUT)),
        photo_task(user=user(1), state="absent"),
        photo_task(photos=[dict(user=user(1), content=b64(ASTRONAUT)), dict(user=user(3), content=b64(ASTRONAUT))]),
        info_task(users=[user(1), user(2), user(40)]),
    ], module_defaults=sandbox.defaults())
    for single in (present, absent):
        assert single.failed and CAUSES[kind] in single.msg and user(1) in single.msg, single.result
    # The bulk form keeps going: the other user gets the photo, the task fails naming the one that did not.
    assert bulk.failed and user(1) in bulk.msg, bulk.result
    assert _image.compare(sandbox.stored(user(3)), ASTRONAUT).same
    failed = [entry for entry in bulk.result["results"] if entry["failed"]]
    assert [entry["user"] for entry in failed] == [user(1)] and CAUSES[kind] in failed[0]["msg"]
    assert not info.failed, info.result
    first, second, third = info.result["users"]
    assert first["has_photo"] is None and CAUSES[kind] in first["error"]
    assert second["has_photo"] is True and third["has_photo"] is False and "error" not in second
    assert any(user(1) in warning for warning in info.result.get("warnings", []))


@pytest.mark.parametrize("answer", ["ImageNotFound", "ErrorEntityNotFound", "1x1"])
def test_each_no_photo_answer_means_no_photo(sandbox, answer):
    sandbox.admin("PUT", "/config", {"no_photo_answer": answer})
    absent, info, present = run_tasks([
        photo_task(user=user(4), state="absent"),
        info_task(users=[user(4)], return_content=True),
        photo_task(user=user(5), content=b64(ASTRONAUT)),
    ], module_defaults=sandbox.defaults())
    assert not absent.failed and not absent.changed, absent.result
    assert not info.failed and info.result["users"][0]["has_photo"] is False, info.result
    assert "content" not in info.result["users"][0] and "error" not in info.result["users"][0]
    assert present.changed and not present.failed and present.result["before"] is None, present.result
    assert _image.compare(sandbox.stored(user(5)), ASTRONAUT).same


@pytest.mark.parametrize("store", ["exchange", "entra"])
def test_the_photo_module_converges_on_either_photo_store(sandbox, store):
    sandbox.admin("PUT", "/config", {"photo_store": store})
    tasks = [photo_task(user=user(6), content=b64(ASTRONAUT)), photo_task(user=user(7), content=b64(WIDE)),
             photo_task(user=user(8), content=b64(WIDE), max_dimension=1000),
             photo_task(photos=[dict(user=user(number), content=b64(WIDE if number % 2 else ASTRONAUT))
                                for number in range(9, 15)])]
    first = run_tasks(tasks, module_defaults=sandbox.defaults())
    assert all(outcome.changed and not outcome.failed for outcome in first), [o.result for o in first]
    etags = {number: sandbox.etag(user(number)) for number in range(6, 15)}
    second = run_tasks(tasks, module_defaults=sandbox.defaults())
    assert not any(outcome.changed or outcome.failed for outcome in second), [o.result for o in second]
    assert {number: sandbox.etag(user(number)) for number in range(6, 15)} == etags
    sizes = {number: Image.open(io.BytesIO(sandbox.stored(user(number)))).size for number in (6, 7, 8)}
    assert _image.compare(sandbox.stored(user(6)), ASTRONAUT).same
    if store == "entra":
        # Kept as uploaded: not cropped, and larger than 648 px where max_dimension allows it.
        assert sizes == {6: (512, 512), 7: (648, 432), 8: (900, 600)}
    else:
        assert sizes == {6: (504, 504), 7: (432, 432), 8: (504, 504)}


def test_info_reads_an_entra_photo_at_its_own_size_when_the_size_asked_for_is_missing(sandbox):
    sandbox.admin("PUT", "/config", {"photo_store": "entra"})
    sandbox.store(user(15), WIDE)
    outcome = run_task(info_task(users=[user(15)], size=96, return_content=True), module_defaults=sandbox.defaults())
    entry = outcome.result["users"][0]
    assert (entry["has_photo"], entry["width"], entry["height"]) == (True, 900, 600), outcome.result
    assert _image.describe(base64.b64decode(entry["content"]))["width"] == 900
