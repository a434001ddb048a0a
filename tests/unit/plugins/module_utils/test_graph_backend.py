"""After a write, a result says what was written; a read-back counts only when it shows the new photo."""

from __future__ import annotations

import asyncio
import base64
import io
import types

import pytest
from PIL import Image

from ansible_collections.m365.photos.plugins.module_utils import _graph_session
from ansible_collections.m365.photos.plugins.module_utils._decision import Current
from ansible_collections.m365.photos.plugins.module_utils._graph_backend import GraphBackend, shows_new_photo
from ansible_collections.m365.photos.plugins.module_utils._graph_errors import GraphError
from ansible_collections.m365.photos.plugins.module_utils._limits import GRAPH_READ_CEILING, SCAN_MIN_NAMES

OLD = Current(facts=dict(width=96, height=96, etag='W/"old"'))


def jpeg(side):
    out = io.BytesIO()
    Image.new("RGB", (side, side), (10, 120, 200)).save(out, "JPEG")
    return out.getvalue()


@pytest.mark.parametrize("current, stored, shown", [
    (OLD, dict(width=96, height=96, etag='W/"old"'), False),  # still the photo from before the write
    (OLD, dict(width=432, height=432, etag='W/"new"'), True),
    (None, dict(width=432, height=432, etag='W/"new"'), True),
    (Current(facts=dict(width=1, height=1, etag=None)), dict(width=432, height=432, etag='W/"new"'), True),
])
def test_a_read_back_counts_only_when_its_etag_changed(current, stored, shown):
    assert shows_new_photo(current, stored) is shown


def test_after_is_the_uploaded_jpeg_until_the_service_shows_it():
    job = types.SimpleNamespace(photo=jpeg(432), stored=None)
    after = GraphBackend.after_facts(job)
    assert (after["width"], after["height"], after["etag"], after["format"]) == (432, 432, None, "JPEG")
    job.stored = dict(width=432, height=432, etag='W/"new"')
    assert GraphBackend.after_facts(job)["etag"] == 'W/"new"'


def test_a_photo_downloaded_to_show_or_compare_is_not_downloaded_again_for_its_backup():
    photo = jpeg(300)
    urls = []

    class Session:
        async def post_batch(self, body):
            urls.extend(request["url"] for request in body["requests"])
            return {"responses": [{"id": request["id"], "status": 200, "headers": {"Content-Type": "image/jpeg"},
                                   "body": base64.b64encode(photo).decode()} for request in body["requests"]]}

    def job(name):
        return types.SimpleNamespace(entry=types.SimpleNamespace(name=name), ref="id-" + name, error=None,
                                     original=None, current=Current(facts=dict(width=300, height=300, etag='W/"1"')))

    backend, shown, other = GraphBackend(Session(), None), job("shown"), job("other")

    async def main():
        await backend.read_previews([shown])
        await backend.read_originals([shown, other])

    asyncio.run(main())
    assert shown.current.preview == shown.original == photo and other.original == photo
    assert urls == ["/users/id-shown/photo/$value", "/users/id-other/photo/$value"]


def test_look_ups_ramp_up_unless_the_task_fixes_concurrency():
    ramping, fixed = GraphBackend(types.SimpleNamespace(post_batch=None), None), GraphBackend(
        types.SimpleNamespace(post_batch=None), 6)
    assert (ramping.write_concurrency, ramping.budget.capacity, ramping.budget.ceiling) == (
        GRAPH_READ_CEILING, 4, GRAPH_READ_CEILING)
    assert (fixed.write_concurrency, fixed.budget.capacity, fixed.budget.ceiling) == (6, 6, 6)


def test_writes_ramp_the_budget_up_and_the_first_throttled_one_puts_it_back_to_4():
    class Session:
        post_batch = None
        throttle_after = 12
        writes = 0

        async def upload_photo(self, user_id, data):
            self.writes += 1
            if self.writes > self.throttle_after:
                raise GraphError("HTTP 429 while uploading the photo of %s" % user_id, 429, 1.0)

    backend = GraphBackend(Session(), None)
    job = types.SimpleNamespace(ref="id-1", photo=b"jpeg")
    for _attempt in range(12):
        asyncio.run(backend.write(job))
    assert backend.budget.capacity == 16  # 4 answers: 8, 8 more: 16
    with pytest.raises(GraphError) as raised:
        asyncio.run(backend.write(job))
    assert raised.value.retryable and raised.value.retry_after == 1.0
    assert (backend.budget.capacity, backend.budget.ceiling) == (4, 4)


def test_writes_go_without_the_sdks_retries_so_their_429_reaches_the_budget():
    configuration = _graph_session.write_configuration("image/jpeg")
    assert [option.should_retry for option in configuration.options] == [False]
    assert configuration.headers.get("Content-Type") == {"image/jpeg"}
    assert not _graph_session.write_configuration().headers.get("Content-Type")


@pytest.mark.parametrize("status, unknown", [(404, True), (403, False)])
def test_a_user_the_tenant_does_not_have_is_marked_unknown_and_a_refused_look_up_is_not(status, unknown):
    class Session:
        async def post_batch(self, body):
            return {"responses": [{"id": request["id"], "status": status, "headers": {},
                                   "body": {"error": {"code": "Request_ResourceNotFound", "message": "gone"}}}
                                  for request in body["requests"]]}

        @staticmethod
        def explain_answer(answer, operation):
            return "HTTP %d while %s" % (answer.status, operation.doing)

    job = types.SimpleNamespace(entry=types.SimpleNamespace(name="ghost@contoso.com"), wants_preview=False, error=None,
                                unknown_user=False, ref=None, current=None)
    asyncio.run(GraphBackend(Session(), None).look_up([job]))
    assert job.unknown_user is unknown and job.error == "HTTP %d while looking up user 'ghost@contoso.com'" % status


class ListingSession:
    """Lists users from the listing (a GraphError when None), answers every batch item 404 (no photo), and records
    the batches' URLs."""

    def __init__(self, listing) -> None:
        self.listing = listing
        self.urls: list = []
        self.pages_asked = 0
        self.where = types.SimpleNamespace(graph_url="https://graph.example/v1.0")

    async def get_page(self, operation, url):
        self.pages_asked += 1
        if self.listing is None:
            raise GraphError("HTTP 403 while %s" % operation.doing)
        return {"value": self.listing}

    async def post_batch(self, body):
        self.urls.extend(request["url"] for request in body["requests"])
        return {"responses": [{"id": request["id"], "status": 200 if "$select" in request["url"] else 404,
                               "headers": {}, "body": {"id": "looked-up"} if "$select" in request["url"] else
                               {"error": {"code": "ImageNotFound", "message": "no photo"}}}
                              for request in body["requests"]]}


def look_up_after_listing(listing, names: list, looked_up: str) -> tuple:
    session, jobs = ListingSession(listing), [
        types.SimpleNamespace(entry=types.SimpleNamespace(name=name), wants_preview=False, error=None,
                              unknown_user=False, ref=None, current=None) for name in names]

    async def main():
        backend = GraphBackend(session, None)
        await backend.prepare(names + ["u%d@x.example" % number for number in range(SCAN_MIN_NAMES)])
        await backend.look_up(jobs)

    asyncio.run(main())
    return [job.ref for job in jobs], [url for url in session.urls if looked_up in url]


def test_a_run_naming_many_users_reads_only_the_photos_of_those_the_listing_names():
    alice = "0b9d5c3e-6a1f-4e2b-8c7d-9f0a1b2c3d4e"
    listing = [{"id": alice, "userPrincipalName": "Alice@x.example"}]
    refs, urls = look_up_after_listing(listing, ["alice@X.example", alice.upper(), "bob@x.example"], "")
    assert refs == [alice, alice, "looked-up"]
    assert urls == ["/users/%s/photo" % alice, "/users/%s/photo" % alice,
                    "/users/bob@x.example?$select=id,userPrincipalName", "/users/bob@x.example/photo"]


@pytest.mark.parametrize("listing", [None, [{"id": "id-%d" % number, "userPrincipalName": "u%d@x.example" % number}
                                            for number in range(2 * SCAN_MIN_NAMES + 1)]])
def test_a_failed_listing_or_a_tenant_much_larger_than_the_run_leaves_every_user_to_its_look_up(listing):
    refs, urls = look_up_after_listing(listing, ["u1@x.example"], "u1@")
    assert refs == ["looked-up"]
    assert urls == ["/users/u1@x.example?$select=id,userPrincipalName", "/users/u1@x.example/photo"]


def test_a_run_naming_few_users_lists_nobody():
    session = ListingSession([])
    asyncio.run(GraphBackend(session, None).prepare(
        ["u%d@x.example" % number for number in range(SCAN_MIN_NAMES - 1)] + ["U1@x.example"]))
    assert session.pages_asked == 0
