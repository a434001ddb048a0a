"""exchange_online_photo and exchange_online_photo_info in real playbooks against the Graph sandbox.

A private emulator (own CA, state and port) serves this file, so its fault, throttling and policy
settings never disturb other suites, and its request log counts only our requests. What is asserted is
what the emulator holds afterwards (read through its admin API), not only what the module said.
"""

from __future__ import annotations

import base64
import io
import json
import math
import uuid

import pytest
from PIL import Image

from ansible_collections.m365.photos.plugins.module_utils import _image

from photo_fixtures import b64, fixture_bytes, jpeg
from graph_sandbox import TENANTS, Sandbox, start_emulator
from playbook_runner import run_task, run_tasks


@pytest.fixture(scope="module", params=["exchange", "entra"])
def sandbox(request, tmp_path_factory):
    """The emulator with either photo store (docs/sandbox.md): Exchange Online's square sizes, or Entra ID's own
    dimensions with 1X1 answers for named sizes. Every test runs against both."""
    workdir = tmp_path_factory.mktemp("graph-sandbox-%s" % request.param)
    config = workdir / "config.json"
    config.write_text(json.dumps({"photo_store": request.param}))
    emulator = start_emulator(str(workdir), extra_args=("--config", str(config)))
    yield Sandbox(emulator, photo_store=request.param)
    emulator.stop()


@pytest.fixture(autouse=True)
def seed_state(sandbox):
    sandbox.admin("POST", "/reset")


def photo_task(**options) -> dict:
    return {"m365.photos.exchange_online_photo": options}


def user(number: int) -> str:
    return "user%04d@test.example" % number


def puts(requests: list) -> list:
    return [request for request in requests if request["method"] == "PUT"]


ASTRONAUT = fixture_bytes("astronaut.png")
EXCHANGE_SIDES = (48, 64, 96, 120, 240, 360, 432, 504, 648)


def served_side(sandbox, side: int) -> int:
    """The side a square upload of side px is served at: Exchange Online's largest size at or below it, Entra ID's own."""
    return max(size for size in EXCHANGE_SIDES if size <= side) if sandbox.photo_store == "exchange" else side


def test_present_uploads_a_photo_the_service_shows_as_the_source(sandbox):
    outcome = run_task(photo_task(user=user(1), content=b64(ASTRONAUT)), module_defaults=sandbox.defaults())
    assert outcome.changed and not outcome.failed, outcome.result
    stored = sandbox.stored(user(1))
    assert _image.compare(stored, ASTRONAUT).same
    side = served_side(sandbox, 512)  # astronaut.png's 512 px
    assert _image.describe(stored)["width"] == side
    assert outcome.result["before"] is None
    assert outcome.result["after"]["width"] == side and outcome.result["after"]["etag"]
    # The emulator derives its users' object ids from the tenant id and the user's number.
    assert outcome.result["user_id"] == str(uuid.uuid5(uuid.NAMESPACE_URL, "%s/1" % sandbox.env["SANDBOX_TENANT_ID"]))


def test_second_run_changes_nothing_although_the_service_re_encoded_the_photo(sandbox):
    first = run_task(photo_task(user=user(2), content=b64(ASTRONAUT)), module_defaults=sandbox.defaults())
    stored = sandbox.stored(user(2))
    sandbox.admin("POST", "/log/reset")
    second = run_task(photo_task(user=user(2), content=b64(ASTRONAUT)), module_defaults=sandbox.defaults())
    assert first.changed and not second.changed, second.result
    assert second.result["similarity"] >= _image.SAME_PICTURE_THRESHOLD
    assert sandbox.stored(user(2)) == stored
    requests = sandbox.requests()
    assert not puts(requests)
    # Two HTTP requests: the token, and one $batch of three reads (user, photo metadata, 96x96 photo).
    assert [request["path"] for request in requests if not request["batch_item"]][-1].endswith("/$batch"), requests
    items = [request["path"] for request in requests if request["batch_item"]]
    assert any(path.endswith("/photos/96x96/$value") for path in items), items
    if sandbox.photo_store == "exchange":
        assert len([request for request in requests if not request["batch_item"]]) == 2, requests
        assert len(items) == 3, items
    else:  # Entra ID answers the 96x96 size with 1X1: one more batch reads the largest size to compare
        assert len([request for request in requests if not request["batch_item"]]) == 3, requests
        assert len(items) == 4 and items[-1].endswith("/photo/$value"), items


def test_a_small_photo_synced_from_ad_is_replaced_without_downloading_its_largest_size(sandbox):
    sandbox.store(user(3), jpeg(Image.open(io.BytesIO(ASTRONAUT)).resize((96, 96))))
    sandbox.admin("POST", "/log/reset")
    outcome = run_task(photo_task(user=user(3), content=b64(ASTRONAUT)), module_defaults=sandbox.defaults())
    assert outcome.changed, outcome.result
    assert "96x96" in outcome.result["reason"]
    assert not [request for request in sandbox.requests() if request["method"] == "GET" and
                request["path"].endswith("/photo/$value")]
    assert _image.describe(sandbox.stored(user(3)))["width"] == served_side(sandbox, 512)


def test_the_same_picture_stored_at_full_size_and_re_encoded_is_kept(sandbox):
    held = jpeg(Image.open(io.BytesIO(ASTRONAUT)).resize((648, 648)), quality=60)
    sandbox.store(user(4), held)
    etag = sandbox.etag(user(4))
    outcome = run_task(photo_task(user=user(4), content=b64(ASTRONAUT)), module_defaults=sandbox.defaults())
    assert not outcome.changed, outcome.result
    assert sandbox.etag(user(4)) == etag


def test_a_different_picture_is_replaced(sandbox):
    sandbox.store(user(5), jpeg(Image.open(io.BytesIO(fixture_bytes("coffee.jpg"))).resize((648, 648))))
    outcome = run_task(photo_task(user=user(5), content=b64(ASTRONAUT)), module_defaults=sandbox.defaults())
    assert outcome.changed and outcome.result["similarity"] < _image.SAME_PICTURE_THRESHOLD
    assert _image.compare(sandbox.stored(user(5)), ASTRONAUT).same


def test_check_mode_predicts_the_change_and_uploads_nothing(sandbox):
    sandbox.admin("POST", "/log/reset")
    outcome = run_task(photo_task(user=user(6), content=b64(ASTRONAUT)), module_defaults=sandbox.defaults(), check=True)
    assert outcome.changed and not outcome.failed, outcome.result
    assert outcome.result["after"]["width"] == 504 and outcome.result["after"]["etag"] is None
    assert not puts(sandbox.requests())
    assert sandbox.stored(user(6)) is None


def test_diff_shows_photo_facts_never_bytes(sandbox):
    sandbox.store(user(7), jpeg(Image.open(io.BytesIO(fixture_bytes("coffee.jpg"))).resize((96, 96))))
    outcome = run_task(photo_task(user=user(7), content=b64(fixture_bytes("rocket.jpg"))),
                       module_defaults=sandbox.defaults(), diff=True)
    diff = outcome.result["diff"]
    assert set(diff["before"]) == {"width", "height", "etag"}
    assert {"width", "height", "etag", "bytes", "sha256", "format"} == set(diff["after"])
    assert "sha256" in outcome.stdout and "/9j/" not in outcome.stdout


def test_absent_removes_the_photo_and_a_second_absent_changes_nothing(sandbox):
    sandbox.store(user(8), jpeg(Image.new("RGB", (96, 96), "teal")))
    first, second = run_tasks([photo_task(user=user(8), state="absent")] * 2, module_defaults=sandbox.defaults())
    assert first.changed and not first.failed, first.result
    assert not second.changed and not second.failed, second.result
    assert sandbox.stored(user(8)) is None


def test_if_missing_keeps_an_existing_photo_and_fills_an_empty_one(sandbox):
    existing = jpeg(Image.open(io.BytesIO(fixture_bytes("coffee.jpg"))).resize((96, 96)))
    sandbox.store(user(9), existing)
    held = sandbox.stored(user(9))
    kept, filled = run_tasks([photo_task(user=user(number), content=b64(ASTRONAUT), overwrite="if_missing")
                              for number in (9, 10)], module_defaults=sandbox.defaults())
    assert not kept.changed and sandbox.stored(user(9)) == held
    assert filled.changed and sandbox.stored(user(10)) is not None


def test_an_8000_pixel_source_of_several_megabytes_is_fitted(sandbox, tmp_path):
    base = Image.open(io.BytesIO(ASTRONAUT)).convert("RGB").resize((8000, 8000), Image.BILINEAR)
    noisy = Image.blend(base, Image.effect_noise((8000, 8000), 60).convert("RGB"), 0.15)
    source = tmp_path / "huge.jpg"
    noisy.save(source, "JPEG", quality=85)
    assert source.stat().st_size >= 5 * 1024 * 1024
    outcome = run_task(photo_task(user=user(11), src=str(source)), module_defaults=sandbox.defaults())
    assert outcome.changed and not outcome.failed, outcome.msg
    assert outcome.result["after"]["bytes"] <= 4000000
    assert outcome.result["after"]["width"] == 648
    assert _image.compare(sandbox.stored(user(11)), ASTRONAUT).same


def test_src_is_read_on_the_controller_from_the_files_folder(sandbox, tmp_path):
    (tmp_path / "files").mkdir()
    (tmp_path / "files" / "portrait.jpg").write_bytes(fixture_bytes("rocket.jpg"))
    outcome = run_task(photo_task(user=user(12), src="portrait.jpg"), module_defaults=sandbox.defaults(), cwd=str(tmp_path))
    assert outcome.changed, outcome.msg
    assert sandbox.stored(user(12)) is not None


def test_every_tenant_with_every_credential_kind(sandbox):
    env, tasks = sandbox.env, []
    for suffix in TENANTS:
        credentials = [
            dict(client_secret=env["SANDBOX_CLIENT_SECRET" + suffix]),
            dict(auth_method="certificate", client_certificate_path=env["SANDBOX_CLIENT_CERTIFICATE_PATH" + suffix]),
            dict(client_certificate_path=env["SANDBOX_CLIENT_CERTIFICATE_PFX_PATH" + suffix],
                 client_certificate_password=env["SANDBOX_CLIENT_CERTIFICATE_PASSWORD" + suffix]),
            dict(auth_method="workload_identity", federated_token_file=env["SANDBOX_FEDERATED_TOKEN_FILE" + suffix]),
        ]
        for number, credential in enumerate(credentials, start=1):
            connection = dict(sandbox.defaults(suffix)["group/m365.photos.graph"], client_secret=None)
            connection.update(credential)
            target = "%s%04d@%s" % (env["SANDBOX_GRAPH_USER_PREFIX" + suffix], number, env["SANDBOX_TENANT_DOMAIN" + suffix])
            tasks.append(photo_task(user=target, content=b64(fixture_bytes("rocket.jpg")),
                                    **{key: value for key, value in connection.items() if value is not None}))
    outcomes = run_tasks(tasks)
    for task, outcome in zip(tasks, outcomes):
        assert outcome.changed and not outcome.failed, (task, outcome.msg)
    for suffix in TENANTS:
        tenant = env["SANDBOX_TENANT_NAME" + suffix]
        for number in range(1, 5):
            target = "%s%04d@%s" % (env["SANDBOX_GRAPH_USER_PREFIX" + suffix], number, env["SANDBOX_TENANT_DOMAIN" + suffix])
            assert sandbox.stored(target, tenant) is not None


def test_credentials_come_from_the_azure_environment_variables(sandbox):
    env = sandbox.env
    azure = dict(AZURE_TENANT_ID=env["SANDBOX_TENANT_ID"], AZURE_CLIENT_ID=env["SANDBOX_CLIENT_ID"],
                 AZURE_CLIENT_SECRET=env["SANDBOX_CLIENT_SECRET"], AZURE_AUTHORITY_HOST=env["SANDBOX_AUTHORITY_URL"])
    outcome = run_task(photo_task(user=user(13), content=b64(ASTRONAUT), graph_url=env["SANDBOX_GRAPH_URL"],
                                  ca_file=env["SANDBOX_CA_FILE"]), env=azure)
    assert outcome.changed, outcome.msg
    assert sandbox.stored(user(13)) is not None


ERROR_CASES = {
    "missing permission": (dict(client_id="SANDBOX_READONLY_CLIENT_ID", client_secret="SANDBOX_READONLY_CLIENT_SECRET"),
                           {}, "ProfilePhoto.ReadWrite.All"),
    "unknown user": ({}, dict(user="nobody@test.example"), "No user 'nobody@test.example'"),
    "wrong secret": (dict(client_secret="not-the-secret"), {}, "client secret is wrong"),
    "expired secret": (dict(client_id="SANDBOX_EXPIRED_CLIENT_ID", client_secret="SANDBOX_EXPIRED_CLIENT_SECRET"), {},
                       "client secret has expired"),
    "unknown app": (dict(client_id="00000000-0000-0000-0000-000000000001"), {}, "no app with this client_id"),
    "unknown tenant": (dict(tenant_id="00000000-0000-0000-0000-000000000002"), {}, "tenant was not found"),
    "wrong cloud": (dict(cloud="china", graph_url=None, authority_url=None, timeout=3), {}, "login.chinacloudapi.cn"),
    "untrusted certificate": (dict(ca_file=None), {}, "Set ca_file"),
    "corrupt source": ({}, dict(content=b64(b"\xff\xd8\xff\xe0" + b"\x00" * 200)), "JPEG"),
    "not an image": ({}, dict(content=b64(b"<svg xmlns='http://www.w3.org/2000/svg'/>")), "SVG"),
    "budget above the Graph limit": ({}, dict(max_bytes=4194305), "4194304"),
    "missing token file": (dict(client_secret=None, federated_token_file="/nonexistent/token.jwt"), {}, "token.jwt"),
}


@pytest.fixture(scope="module")
def error_outcomes(sandbox):
    """Every error case in one playbook run; each task carries its own connection options."""
    sandbox.admin("POST", "/reset")
    sandbox.store(user(14), jpeg(Image.open(io.BytesIO(fixture_bytes("coffee.jpg"))).resize((96, 96))))
    sandbox.admin("POST", "/log/reset")
    tasks = []
    for case in sorted(ERROR_CASES):
        connection_changes, task_changes = ERROR_CASES[case][:2]
        connection = dict(sandbox.defaults()["group/m365.photos.graph"])
        connection.update({key: sandbox.env.get(value, value) if isinstance(value, str) else value
                           for key, value in connection_changes.items()})
        options = dict(connection, user=user(14), content=b64(ASTRONAUT))
        options.update(task_changes)
        tasks.append(photo_task(**{key: value for key, value in options.items() if value is not None}))
    return dict(zip(sorted(ERROR_CASES), run_tasks(tasks))), sandbox.requests(), sandbox.stored(user(14))


@pytest.mark.parametrize("case", sorted(ERROR_CASES))
def test_error_gives_one_clear_message_and_keeps_the_old_photo(sandbox, error_outcomes, case):
    outcomes, requests, stored = error_outcomes
    outcome = outcomes[case]
    assert outcome.failed, outcome.result
    assert ERROR_CASES[case][2] in outcome.msg, outcome.msg
    assert "Traceback (most recent call last)" not in outcome.stdout + outcome.msg
    for secret in ("SANDBOX_CLIENT_SECRET", "SANDBOX_READONLY_CLIENT_SECRET", "SANDBOX_EXPIRED_CLIENT_SECRET",
                   "SANDBOX_CLIENT_CERTIFICATE_PASSWORD"):
        assert sandbox.env[secret] not in outcome.stdout
    assert not [request for request in requests if request["method"] == "PUT" and request["status"] == 200]
    assert stored is not None and _image.describe(stored)["width"] == 96


def test_a_bad_source_fails_before_any_request(sandbox, error_outcomes):
    # The error playbook ran the corrupt and non-image cases among others: run one alone and count.
    sandbox.admin("POST", "/log/reset")
    outcome = run_task(photo_task(user=user(15), content=b64(b"GIF89a" + b"\x00" * 20)), module_defaults=sandbox.defaults())
    assert outcome.failed
    assert sandbox.requests() == []


def test_a_tenant_that_keeps_photos_on_premises_is_named_as_the_reason(sandbox):
    sandbox.admin("PUT", "/tenants/contoso/photoUpdateSettings", {"source": "onPremises"})
    try:
        outcome = run_task(photo_task(user=user(16), content=b64(ASTRONAUT)), module_defaults=sandbox.defaults())
    finally:
        sandbox.admin("PUT", "/tenants/contoso/photoUpdateSettings", {"source": "cloud"})
    assert outcome.failed and "onPremises" in outcome.msg and "ad_thumbnail_photo" in outcome.msg, outcome.msg
    assert sandbox.stored(user(16)) is None


def test_throttled_upload_is_retried_after_retry_after(sandbox):
    sandbox.admin("POST", "/faults", {"status": 429, "match": "/photo/$value", "method": "PUT", "count": 2, "retry_after": 1})
    outcome = run_task(photo_task(user=user(17), content=b64(ASTRONAUT)), module_defaults=sandbox.defaults())
    assert outcome.changed and not outcome.failed, outcome.msg
    statuses = [request["status"] for request in puts(sandbox.requests())]
    assert statuses == [429, 429, 200]
    assert sandbox.stored(user(17)) is not None


def test_throttling_beyond_the_retries_says_what_to_do(sandbox):
    # The SDK tries 4 times per attempt, and the module makes 4 attempts: 16 throttled answers in all.
    sandbox.admin("POST", "/faults", {"status": 429, "match": "/photo/$value", "method": "PUT", "count": 40, "retry_after": 1})
    outcome = run_task(photo_task(user=user(18), content=b64(ASTRONAUT)), module_defaults=sandbox.defaults())
    assert outcome.failed and "throttling" in outcome.msg and "fewer tasks" in outcome.msg, outcome.msg
    assert sandbox.stored(user(18)) is None


def test_unavailable_service_and_dropped_connections_are_survived(sandbox):
    sandbox.admin("POST", "/faults", {"status": 503, "match": "/photo", "method": "GET", "count": 2, "retry_after": 1})
    sandbox.admin("POST", "/faults", {"status": "drop", "match": "/users/", "method": "GET", "count": 1})
    sandbox.admin("POST", "/faults", {"status": "drop", "match": "/photo/$value", "method": "PUT", "count": 1})
    outcome = run_task(photo_task(user=user(19), content=b64(ASTRONAUT)), module_defaults=sandbox.defaults())
    assert outcome.changed and not outcome.failed, outcome.msg
    assert _image.compare(sandbox.stored(user(19)), ASTRONAUT).same


def test_a_service_that_stays_unavailable_is_reported(sandbox):
    sandbox.admin("POST", "/faults", {"status": 503, "match": "/photo", "count": 20, "retry_after": 1})
    outcome = run_task(photo_task(user=user(20), content=b64(ASTRONAUT)), module_defaults=sandbox.defaults())
    assert outcome.failed and "unavailable" in outcome.msg and "Try again later" in outcome.msg, outcome.msg


def test_info_reports_photos_as_the_service_holds_them_and_exports_them(sandbox, tmp_path):
    sandbox.store(user(21), jpeg(Image.open(io.BytesIO(ASTRONAUT))))
    etag = sandbox.etag(user(21))
    dest = tmp_path / "export"
    outcome = run_task({"m365.photos.exchange_online_photo_info": dict(
        users=[user(21), user(22)], return_content=True, dest=str(dest), size=96)}, module_defaults=sandbox.defaults())
    assert not outcome.failed and not outcome.changed, outcome.msg
    with_photo, without = outcome.result["users"]
    assert with_photo["user"] == user(21) and with_photo["has_photo"]
    side = served_side(sandbox, 512)
    assert (with_photo["width"], with_photo["height"]) == (side, side)
    assert with_photo["etag"] == etag
    exported = open(with_photo["path"], "rb").read()
    assert base64.b64decode(with_photo["content"]) == exported
    # Entra ID has no 96x96 size: the largest (its only one) is exported instead.
    assert _image.describe(exported)["width"] == (96 if sandbox.photo_store == "exchange" else side)
    assert _image.compare(exported, ASTRONAUT).same
    assert without == dict(user=user(22), id=without["id"], user_principal_name=user(22), has_photo=False,
                           width=None, height=None, etag=None)


def test_info_with_a_read_only_app_and_an_unknown_user(sandbox):
    env = sandbox.env
    read_only = sandbox.defaults(client_id=env["SANDBOX_READONLY_CLIENT_ID"], client_secret=env["SANDBOX_READONLY_CLIENT_SECRET"])
    reads, unknown = run_tasks([{"m365.photos.exchange_online_photo_info": dict(users=[user(23)])},
                                {"m365.photos.exchange_online_photo_info": dict(users=[user(23), "ghost@test.example"])}],
                               module_defaults=read_only)
    assert not reads.failed and reads.result["users"][0]["has_photo"] is False, reads.msg
    assert unknown.failed and "No user 'ghost@test.example'" in unknown.msg


# -- the bulk form (photos) ------------------------------------------------------------------------------------------

SOURCES = ("astronaut.png", "chelsea.png", "coffee.jpg", "rocket.jpg", "camera.png")


def bulk_task(**options) -> dict:
    return {"m365.photos.exchange_online_photo": options}


def shows(sandbox, stored: bytes | None, source: bytes) -> bool:
    """Whether the service's photo shows source: Exchange Online cuts it to its centred square, Entra ID keeps it whole."""
    picture = _image.normalise(_image.decode(source))
    if sandbox.photo_store == "exchange":
        picture = _image.crop(picture, "center")
    return stored is not None and _image.compare(stored, picture).same


def batches(requests: list) -> list:
    return [request for request in requests if request["path"].endswith("/$batch") and not request["batch_item"]]


def on_the_wire(requests: list) -> list:
    return [request for request in requests if not request["batch_item"]]


def test_bulk_converges_every_entry_reports_each_and_names_the_failures(sandbox, tmp_path):
    numbers = list(range(22, 34))
    sandbox.store(user(34), jpeg(Image.new("RGB", (96, 96), "navy")))
    sandbox.store(user(22), jpeg(Image.open(io.BytesIO(fixture_bytes("coffee.jpg"))).resize((96, 96))))
    photos = []
    for index, number in enumerate(numbers):
        path = tmp_path / ("%d-%s" % (number, SOURCES[index % len(SOURCES)]))
        path.write_bytes(fixture_bytes(SOURCES[index % len(SOURCES)]))
        photos.append(dict(user=user(number), src=str(path)) if index % 2 else dict(user=user(number), content=b64(path.read_bytes())))
    photos += [dict(user=user(34), state="absent"),
               dict(user="no-such-user@test.example", content=b64(fixture_bytes("rocket.jpg"))),
               dict(user=user(35), content=b64(b"not an image at all"))]
    first = run_task(bulk_task(photos=photos, return_thumbnails=True), module_defaults=sandbox.defaults())
    assert first.failed and "2 of 15 photos failed (no-such-user@test.example, %s)" % user(35) in first.msg, first.msg
    results = first.result["results"]
    assert [result["user"] for result in results] == [entry["user"] for entry in photos]
    assert first.result["summary"] == dict(entries=15, changed=13, unchanged=0, failed=2)
    for index, number in enumerate(numbers):
        assert shows(sandbox, sandbox.stored(user(number)), fixture_bytes(SOURCES[index % len(SOURCES)]))
        assert results[index]["changed"] and results[index]["after_thumbnail"], results[index]
        assert results[index]["after"]["etag"] == sandbox.etag(user(number))
        assert results[index]["user_id"]
    assert results[0]["before"]["width"] == 96 and results[0]["before_thumbnail"]
    assert sandbox.stored(user(34)) is None and results[12]["before_thumbnail"] and results[12]["after"] is None
    assert "No user 'no-such-user@test.example'" in results[13]["msg"]
    assert "not an image" in results[14]["msg"] and sandbox.stored(user(35)) is None
    sandbox.admin("POST", "/log/reset")
    second = run_task(bulk_task(photos=photos[:13]), module_defaults=sandbox.defaults())
    assert not second.failed and not second.changed, second.result
    assert second.result["summary"] == dict(entries=13, changed=0, unchanged=13, failed=0)
    assert not puts(sandbox.requests())


def test_bulk_check_mode_plans_everything_and_uploads_nothing(sandbox):
    photos = [dict(user=user(number), content=b64(ASTRONAUT)) for number in range(36, 42)]
    sandbox.admin("POST", "/log/reset")
    outcome = run_task(bulk_task(photos=photos, concurrency=2), module_defaults=sandbox.defaults(), check=True)
    assert outcome.changed and outcome.result["summary"]["changed"] == len(photos), outcome.result
    assert all(result["after"]["width"] == 504 and result["after"]["etag"] is None for result in outcome.result["results"])
    assert not puts(sandbox.requests())
    assert all(sandbox.stored(entry["user"]) is None for entry in photos)


def test_bulk_entries_inherit_task_state_and_overwrite(sandbox):
    existing = jpeg(Image.open(io.BytesIO(fixture_bytes("coffee.jpg"))).resize((96, 96)))
    sandbox.store(user(42), existing)
    held = sandbox.stored(user(42))
    photos = [dict(user=user(42), content=b64(ASTRONAUT)), dict(user=user(43), content=b64(ASTRONAUT))]
    outcome = run_task(bulk_task(photos=photos, overwrite="if_missing"), module_defaults=sandbox.defaults())
    assert [result["changed"] for result in outcome.result["results"]] == [False, True]
    assert sandbox.stored(user(42)) == held


def test_bulk_entry_without_source_fails_the_task_before_anything_is_done(sandbox):
    outcome = run_task(bulk_task(photos=[dict(user=user(44), content=b64(ASTRONAUT)), dict(user=user(45))]),
                       module_defaults=sandbox.defaults())
    assert outcome.failed and "photos entry 2 (%s): state=present needs src or content" % user(45) in outcome.msg
    assert sandbox.stored(user(44)) is None


def test_bulk_throttling_loses_nothing(sandbox):
    numbers = list(range(1, 21))
    # A tight per-app budget: reads (batch items) and uploads are throttled with Retry-After, again and again.
    sandbox.admin("PUT", "/config", {"throttle": {"app_requests": 30, "app_window_s": 2}})
    sandbox.admin("POST", "/faults", {"status": 429, "match": "/photo/$value", "method": "PUT", "count": 3, "retry_after": 1})
    sandbox.admin("POST", "/faults", {"status": 429, "match": "/photo", "method": "GET", "count": 5, "retry_after": 1})
    photos = [dict(user=user(number), content=b64(fixture_bytes(SOURCES[number % len(SOURCES)]))) for number in numbers]
    outcome = run_task(bulk_task(photos=photos), module_defaults=sandbox.defaults())
    log = sandbox.admin("GET", "/log")
    sandbox.admin("PUT", "/config", {"throttle": {"app_requests": 0}})
    assert not outcome.failed and outcome.result["summary"]["changed"] == len(numbers), outcome.result
    assert log["throttled"] >= 8, log["by_status"]
    for number in numbers:
        assert shows(sandbox, sandbox.stored(user(number)), fixture_bytes(SOURCES[number % len(SOURCES)]))


def test_bulk_no_change_run_of_40_users_needs_few_requests(sandbox):
    numbers = list(range(1, 41))
    for number in numbers:
        sandbox.store(user(number), jpeg(Image.open(io.BytesIO(fixture_bytes(SOURCES[number % len(SOURCES)])))))
    photos = [dict(user=user(number), content=b64(fixture_bytes(SOURCES[number % len(SOURCES)]))) for number in numbers]
    sandbox.admin("POST", "/log/reset")
    outcome = run_task(bulk_task(photos=photos), module_defaults=sandbox.defaults())
    assert not outcome.failed and not outcome.changed, outcome.result
    log = sandbox.admin("GET", "/log")
    # Token request and 6 batches (40 users x 3 reads / 20): far below the 1.1 requests per user allowed. Entra ID
    # answers 96x96 with 1X1, so its photos' largest size is read too: 2 more batches.
    largest = 0 if sandbox.photo_store == "exchange" else len(numbers)
    assert log["requests"] <= 1.1 * len(numbers), log
    assert log["requests"] <= 1 + 6 + 1 + math.ceil(largest / 20), log["by_endpoint"]
    assert log["operations"] == 3 * len(numbers) + largest, log["by_endpoint"]
    assert all(result["similarity"] >= _image.SAME_PICTURE_THRESHOLD for result in outcome.result["results"])


def test_names_graph_cannot_look_up_fail_with_a_sentence_and_send_nothing(sandbox):
    sandbox.admin("POST", "/log/reset")
    single, bulk = run_tasks([photo_task(user=".", state="absent"),
                              photo_task(photos=[dict(user="..", state="absent"), dict(user=user(24), state="absent")])],
                             module_defaults=sandbox.defaults())
    assert single.failed and "'.' is not a user Microsoft Graph can look up" in single.msg, single.result
    assert "Traceback" not in single.stdout and "user_id cannot be null" not in single.stdout
    first, second = bulk.result["results"]
    assert first["failed"] and "'..' is not a user" in first["msg"] and not second["failed"]
    assert not [request for request in sandbox.requests() if request["path"].rstrip("/").endswith(("/users", "/v1.0"))]


def test_info_exports_nothing_in_check_mode(sandbox, tmp_path):
    sandbox.store(user(25), jpeg(Image.open(io.BytesIO(fixture_bytes("coffee.jpg"))).resize((96, 96))))
    dest = tmp_path / "exports"
    task = {"m365.photos.exchange_online_photo_info": dict(users=[user(25)], dest=str(dest))}
    planned = run_task(task, module_defaults=sandbox.defaults(), check=True)
    assert not planned.failed and planned.result["users"][0]["path"] == str(dest / (user(25) + ".jpg"))
    assert not dest.exists()
    exported = run_task(task, module_defaults=sandbox.defaults())
    assert (dest / (user(25) + ".jpg")).read_bytes() == sandbox.stored(user(25))
    assert oct((dest / (user(25) + ".jpg")).stat().st_mode & 0o777) == "0o600" and not exported.failed
