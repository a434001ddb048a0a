"""exchange_online_photo against Microsoft's stricter behaviour: throttling, late visibility, policy, sign-in.

A private emulator (own CA, state and port; domain limits.example, 60 users) serves this file, switched to the
strictest documented limits where a test says so: 4 requests in flight per app whatever the mailbox, 4 items
of a $batch at once, Retry-After left out, an upload byte window, writes visible only seconds later.
"""

from __future__ import annotations

import hashlib
import io
import time

import pytest
from PIL import Image, ImageDraw

from ansible_collections.m365.photos.plugins.module_utils import _image

from graph_sandbox import Sandbox, start_emulator
from photo_fixtures import b64, fixture_bytes, jpeg
from playbook_runner import run_task

DOMAIN = "limits.example"
STRICT = {"throttle": {"app_concurrency": 4, "mailbox_concurrency": 4}, "batch_parallelism": 4,
          "retry_after_omit_rate": 1.0, "latency_ms": 20}
DELAY_S = 5


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    emulator = start_emulator(str(tmp_path_factory.mktemp("graph-limits")),
                              extra_args=("--domain", DOMAIN, "--users", "60"))
    yield Sandbox(emulator)
    emulator.stop()


@pytest.fixture(autouse=True)
def seed_state(sandbox):
    sandbox.admin("POST", "/reset")


def user(number: int) -> str:
    return "user%04d@%s" % (number, DOMAIN)


def photo_task(**options) -> dict:
    return {"m365.photos.exchange_online_photo": options}


def picture(number: int) -> bytes:
    image = Image.new("RGB", (400, 400), (250, 250, 250))
    draw = ImageDraw.Draw(image)
    for ring in range(0, 200, 25):
        draw.ellipse((ring, ring, 399 - ring, 399 - ring), fill=((number * 41 + ring) % 256, ring, 255 - ring))
    return jpeg(image)


def written(sandbox, kind: str) -> list:
    return [r for r in sandbox.requests() if r["method"] == kind and r["path"].endswith("/photo/$value")]


@pytest.mark.parametrize("concurrency", [4, None], ids=["fixed", "ramping"])
def test_a_bulk_run_under_strict_limits_and_late_visibility_converges(sandbox, concurrency):
    """Fixed at 4, nothing is throttled; by default the look-ups ramp up, are throttled once the app's limit is
    crossed, fall back to 4, and the run converges just the same."""
    old = jpeg(Image.open(io.BytesIO(fixture_bytes("coffee.jpg"))).resize((240, 240)))
    for number in range(1, 41):
        sandbox.store(user(number), old)
    sandbox.admin("PUT", "/config", dict(STRICT, write_visibility_delay_s=DELAY_S))
    photos = [dict(user=user(n), content=b64(picture(n))) for n in range(1, 31)]
    photos += [dict(user=user(n), state="absent") for n in range(31, 41)]
    first = run_task(photo_task(photos=photos, concurrency=concurrency), module_defaults=sandbox.defaults())
    assert not first.failed and first.result["summary"]["changed"] == 40, first.result.get("summary", first.msg)
    for number, result in enumerate(first.result["results"], start=1):
        stored = sandbox.stored(user(number))
        if number > 30:
            assert stored is None and result["after"] is None
            continue
        after = result["after"]
        # What was written, not the old photo the service still serves for a while.
        assert after["etag"] is None or after["etag"] != result["before"]["etag"], result
        assert (after["width"], after["height"]) == (_image.describe(stored)["width"],) * 2
        assert after["sha256"] != hashlib.sha256(old).hexdigest() and after["bytes"] > 0
        assert _image.compare(stored, picture(number)).same
    log = sandbox.admin("GET", "/log")
    if concurrency == 4:
        assert log["throttled"] == 0, log["by_status"]  # a budget of 4 in flight never crossed the app's limit

    time.sleep(DELAY_S + 0.5)
    sandbox.admin("POST", "/log/reset")
    second = run_task(photo_task(photos=photos, concurrency=concurrency), module_defaults=sandbox.defaults())
    assert second.result["summary"] == dict(entries=40, changed=0, unchanged=40, failed=0), second.result
    assert not written(sandbox, "PUT") and not written(sandbox, "DELETE")


def test_a_second_run_inside_the_delay_writes_again_and_one_after_it_changes_nothing(sandbox):
    # As documented: the module keeps no state between runs, so a write it cannot see yet is written again.
    sandbox.store(user(46), picture(1))
    sandbox.admin("PUT", "/config", {"write_visibility_delay_s": 8})
    task = photo_task(user=user(46), content=b64(picture(46)))
    first, inside = run_task(task, module_defaults=sandbox.defaults()), run_task(task, module_defaults=sandbox.defaults())
    assert first.changed and inside.changed and not inside.failed, inside.msg
    assert inside.result["after"]["etag"] is None or inside.result["after"]["etag"] != inside.result["before"]["etag"]
    time.sleep(8.5)
    after_the_delay = run_task(task, module_defaults=sandbox.defaults())
    assert not after_the_delay.changed and not after_the_delay.failed, after_the_delay.msg
    assert _image.compare(sandbox.stored(user(46)), picture(46)).same


def test_throttling_without_retry_after_is_retried_with_backoff(sandbox):
    sandbox.admin("PUT", "/config", STRICT)
    sandbox.admin("POST", "/faults", {"status": 429, "match": "/photo/$value", "method": "PUT", "count": 2})
    sandbox.admin("POST", "/faults", {"status": 429, "match": "/photo", "method": "GET", "count": 2})
    outcome = run_task(photo_task(user=user(41), content=b64(picture(41))), module_defaults=sandbox.defaults())
    assert outcome.changed and not outcome.failed, outcome.msg
    assert [request["status"] for request in written(sandbox, "PUT")] == [429, 429, 200]
    assert sandbox.stored(user(41)) is not None


def test_the_upload_byte_window_is_waited_out(sandbox):
    first = run_task(photo_task(user=user(42), content=b64(picture(42))), module_defaults=sandbox.defaults())
    assert first.changed, first.msg
    # The window opened with the first upload, so it must outlast the second ansible-playbook's start (4 s did not
    # on a loaded machine): the second upload is then refused and waited out (Retry-After: what is left of it).
    sandbox.admin("PUT", "/config", {"throttle": {"upload_bytes": first.result["after"]["bytes"] + 1000,
                                                  "upload_window_s": 15}})
    second = run_task(photo_task(user=user(42), content=b64(picture(7))), module_defaults=sandbox.defaults())
    assert second.changed and not second.failed, second.msg
    assert [request["status"] for request in written(sandbox, "PUT")] == [200, 429, 200]
    assert _image.compare(sandbox.stored(user(42)), picture(7)).same


@pytest.mark.parametrize("roles, expected", [
    (None, "photoUpdateSettings source is onPremises"),
    (["ProfilePhoto.ReadWrite.All", "User.Read.All"],
     "grant PeopleSettings.Read.All to let this module tell (the setting could not be read: HTTP 403)"),
])
def test_a_write_refused_under_photo_update_settings_is_explained(sandbox, roles, expected):
    sandbox.admin("PUT", "/tenants/contoso/photoUpdateSettings", {"source": "onpremises"})
    if roles:
        sandbox.admin("PUT", "/tenants/contoso/apps/%s/roles" % sandbox.env["SANDBOX_CLIENT_ID"], {"roles": roles})
    outcome = run_task(photo_task(user=user(43), content=b64(picture(43))), module_defaults=sandbox.defaults())
    assert outcome.failed and expected in outcome.msg, outcome.msg
    assert sandbox.stored(user(43)) is None


@pytest.mark.parametrize("claims, expected", [
    ({"subject": "REPO:m365/photos:environment:sandbox"}, "only when case is ignored"),
    ({"subject": "repo:someone/else:ref:refs/heads/main"}, "subject matches no federated credential"),
    ({"audience": "api://SomethingElse"}, "issuer and audience match no federated credential"),
])
def test_a_federated_token_that_matches_no_credential_gets_a_sentence(sandbox, tmp_path, claims, expected):
    token_file = tmp_path / "token.jwt"
    token_file.write_text(sandbox.admin("POST", "/oidc/token", claims)["token"])
    defaults = sandbox.defaults(client_secret=None, auth_method="workload_identity", federated_token_file=str(token_file))
    outcome = run_task(photo_task(user=user(44), content=b64(picture(44))), module_defaults=defaults)
    assert outcome.failed and expected in outcome.msg and "AADSTS" in outcome.msg, outcome.msg


def test_looking_users_up_needs_user_read_all(sandbox):
    sandbox.admin("PUT", "/tenants/contoso/apps/%s/roles" % sandbox.env["SANDBOX_CLIENT_ID"],
                  {"roles": ["ProfilePhoto.ReadWrite.All"]})
    outcome = run_task(photo_task(user=user(45), content=b64(picture(45))), module_defaults=sandbox.defaults())
    assert outcome.failed and "Grant it the Microsoft Graph application permission User.Read.All" in outcome.msg, \
        outcome.msg
    sandbox.admin("PUT", "/config", {"require_user_read_permission": False})
    outcome = run_task(photo_task(user=user(45), content=b64(picture(45))), module_defaults=sandbox.defaults())
    assert outcome.changed and not outcome.failed, outcome.msg
