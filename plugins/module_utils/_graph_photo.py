# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to the m365.photos collection: not a public API, may change without notice.
"""What exchange_online_photo does for many users: cheap batched reads, a plan per entry, bounded uploads.

Reads: per user the lookup (id), the photo metadata and, when pictures may have to be compared, the 96x96
size, all three in $batch requests of 20 items (0.15 HTTP requests per user). Plans: image work only, in
worker processes; a photo is fitted only when it is to be uploaded. Uploads: PUT image/jpeg (the SDK retries
429s), at most concurrency at once; then the new photos' metadata, batched again.
"""

from __future__ import annotations

import asyncio
import random
import urllib.parse
from dataclasses import dataclass

from ansible_collections.m365.photos.plugins.module_utils import _bulk, _graph, _graph_batch, _image, _photo_state

# Requests in flight at once (a $batch is one request): see the concurrency option's documentation.
DEFAULT_CONCURRENCY = 16
# Entries handed to a worker process at a time.
PLAN_GROUP = 16
# Chunks (of _bulk.CHUNK_SIZE entries) in flight at once: one planning while the next one reads.
CHUNKS_IN_FLIGHT = 2
# A write the SDK gave up on after its 3 retries (throttled all along) is tried again, this many rounds in all,
# waiting WRITE_BACKOFF_S, then twice as long each round (plus jitter), between them.
WRITE_ROUNDS = 4
WRITE_BACKOFF_S = 5.0


@dataclass
class Plan:
    """What to do for one entry: filled by the reads, then by plan() in a worker, then by the upload."""

    entry: dict
    user_id: str | None = None
    current: _graph.PhotoMetadata | None = None
    shown: bytes | None = None  # the current photo as downloaded to compare (96x96, or its largest size)
    after: bytes | None = None  # the photo to upload
    stored: _graph.PhotoMetadata | None = None  # what the service reports after the upload
    decision: _photo_state.Decision | None = None
    error: str | None = None
    needs_content: bool = False

    def after_facts(self) -> dict | None:
        if not (self.decision and self.decision.write) or self.error:
            return self.current.facts() if self.current else None
        if self.after is None:
            return None
        facts = _image.describe(self.after)
        side = _graph.served_side(facts["width"], facts["height"])
        after = dict(width=side, height=side, etag=None, bytes=facts["bytes"], sha256=facts["sha256"],
                     format=facts["format"])
        if self.stored:
            after.update(self.stored.facts())
        return after

    def result(self, return_thumbnails: bool) -> dict:
        decision = self.decision
        result = dict(user=self.entry["user"], user_id=self.user_id, state=self.entry["state"],
                      changed=bool(decision and decision.write and not self.error), failed=self.error is not None,
                      msg=self.error or "", reason=decision.reason if decision else None,
                      before=self.current.facts() if self.current else None, after=self.after_facts())
        if decision and decision.similarity is not None:
            result["similarity"] = round(decision.similarity, 4)
        if return_thumbnails and (result["changed"] or result["failed"]):
            result.update(before_thumbnail=_photo_state.thumbnail_b64(self.shown),
                          after_thumbnail=_photo_state.thumbnail_b64(self.after if decision and decision.write else self.shown))
        return result


# -- reads ---------------------------------------------------------------------------------------------------------

def _path(user: str) -> str:
    return "/users/" + urllib.parse.quote(user, safe="@")


def wants_picture(entry: dict, return_thumbnails: bool) -> bool:
    """Whether the 96x96 photo is read with the metadata: when pictures may be compared, or thumbnails shown."""
    return (entry["state"] == "present" and entry["overwrite"] == "different") or return_thumbnails


def read_items(index: int, entry: dict, return_thumbnails: bool) -> list:
    """The batch items that read what deciding for entry index needs."""
    path = _path(entry["user"])
    items = [_graph_batch.Item((index, "user"), "GET", path + "?$select=id,userPrincipalName"),
             _graph_batch.Item((index, "photo"), "GET", path + "/photo")]
    if wants_picture(entry, return_thumbnails):
        items.append(_graph_batch.Item((index, "shown"), "GET", "%s/photos/%dx%d/$value" % (
            path, _graph.COMPARISON_SIDE, _graph.COMPARISON_SIDE)))
    return items


def apply_answers(plans: list, items: list, answers: list, session) -> None:
    """Fill each plan from its items' answers; a failed read becomes the entry's error."""
    by_entry: dict = {}
    for item, answer in zip(items, answers):
        index, kind = item.key
        by_entry.setdefault(index, {})[kind] = answer
    for index, found in by_entry.items():
        outcome = plans[index]
        user = outcome.entry["user"]
        lookup = found["user"]
        if not lookup.ok:
            outcome.error = session.explain_answer(lookup, _graph.Operation(
                "looking up user '%s'" % user, _graph.USER_PERMISSION, user=user))
            continue
        outcome.user_id = (lookup.body or {}).get("id") if isinstance(lookup.body, dict) else None
        photo = found["photo"]
        if photo.status == 404:
            outcome.current = None
        elif photo.ok:
            outcome.current = _graph.metadata_of(photo.body if isinstance(photo.body, dict) else None)
        else:
            outcome.error = session.explain_answer(photo, _graph.Operation(
                "reading the photo of %s" % user, _graph.READ_PERMISSION))
            continue
        shown = found.get("shown")
        if shown is not None and shown.ok and isinstance(shown.body, (bytes, bytearray)) and outcome.current:
            outcome.shown = bytes(shown.body)
        elif shown is not None and not shown.ok and shown.status != 404:
            outcome.error = session.explain_answer(shown, _graph.Operation(
                "downloading the photo of %s" % user, _graph.READ_PERMISSION))


async def read(session, runner: _graph_batch.BatchRunner, plans: list, return_thumbnails: bool) -> None:
    items = [item for index, outcome in enumerate(plans)
             for item in read_items(index, outcome.entry, return_thumbnails)]
    apply_answers(plans, items, await runner.run(items), session)


# -- plans (worker processes) --------------------------------------------------------------------------------------

def desired_photo(entry: dict, params: dict) -> _photo_state.DesiredPhoto:
    return _photo_state.DesiredPhoto(
        _photo_state.photo_source(entry["src"], entry["content"]), max_bytes=params["max_bytes"],
        max_dimension=params["max_dimension"], crop_mode=params["crop"], background=params["background"])


def plan(outcome: Plan, params: dict) -> Plan:
    """Decide for one entry whose reads are in; runs in worker processes, so it only computes.

    The side the upload would be served at comes from the source's header: no fitting, no encoding, unless
    the photo is to be uploaded.
    """
    if outcome.error or outcome.decision is not None:
        return outcome
    entry, current = outcome.entry, outcome.current
    try:
        if entry["state"] == "absent":
            outcome.decision = _photo_state.Decision(current is not None,
                                                     "removing the photo" if current else "the user has no photo")
            return outcome
        desired = desired_photo(entry, params)
        desired_side = _graph.served_side(*desired.upload_size())
        decision = _photo_state.decide_by_size(current.side if current else None, desired_side, entry["overwrite"],
                                               params["max_dimension"])
        if decision is None:
            if outcome.shown is None:
                # The 96x96 size is not served (a photo smaller than that): its largest size is read next.
                outcome.needs_content = True
                return outcome
            decision = _photo_state.decide_by_preview(outcome.shown, desired)
        outcome.decision = decision
        if decision.write:
            outcome.after = desired.fitted()
    except _image.ImageError as error:
        outcome.error = str(error)
    return outcome


def plan_group(group: list, params: dict) -> list:
    return [plan(outcome, params) for outcome in group]


async def plan_all(plans: list, params: dict, pool) -> list:
    """plan() for every entry, PLAN_GROUP at a time in the pool (None: in threads), in order."""
    loop = asyncio.get_running_loop()
    image_params = {key: params[key] for key in ("max_bytes", "max_dimension", "crop", "background")}
    groups = list(_bulk.chunks(plans, PLAN_GROUP))
    planned = await asyncio.gather(*(loop.run_in_executor(pool, plan_group, group, image_params) for group in groups))
    return [outcome for group in planned for outcome in group]


# -- the run ---------------------------------------------------------------------------------------------------------

class BulkRun:
    """Converge many entries in one signed-in session."""

    def __init__(self, session, params: dict, check_mode: bool, pool) -> None:
        self.session = session
        self.params = params
        self.check_mode = check_mode
        self.pool = pool
        concurrency = params["concurrency"] or DEFAULT_CONCURRENCY
        self.runner = _graph_batch.BatchRunner(session.post_batch, concurrency)
        self.upload_slots = asyncio.Semaphore(concurrency)
        self.chunk_slots = asyncio.Semaphore(CHUNKS_IN_FLIGHT)

    async def converge(self, all_entries: list) -> list:
        chunked = await asyncio.gather(*(self._chunk(chunk) for chunk in _bulk.chunks(all_entries)))
        return [result for chunk in chunked for result in chunk]

    async def _chunk(self, chunk: list) -> list:
        async with self.chunk_slots:
            return_thumbnails = self.params["return_thumbnails"]
            plans = [Plan(entry) for entry in chunk]
            await read(self.session, self.runner, plans, return_thumbnails)
            plans = await plan_all(plans, self.params, self.pool)
            await self._read_largest(plans)
            if not self.check_mode:
                await asyncio.gather(*(self._write(outcome) for outcome in plans
                                       if outcome.decision and outcome.decision.write and not outcome.error))
                await self._read_stored([outcome for outcome in plans if outcome.decision and outcome.decision.write
                                         and not outcome.error and outcome.after is not None])
            return [outcome.result(return_thumbnails) for outcome in plans]

    async def _read_largest(self, plans: list) -> None:
        """For the rare photo smaller than 96x96: download its largest size and decide again."""
        waiting = [outcome for outcome in plans if outcome.needs_content]
        if not waiting:
            return
        items = [_graph_batch.Item((index, "shown"), "GET", _path(outcome.user_id or outcome.entry["user"]) + "/photo/$value")
                 for index, outcome in enumerate(waiting)]
        for outcome, answer in zip(waiting, await self.runner.run(items)):
            outcome.needs_content = False
            if answer.ok and isinstance(answer.body, (bytes, bytearray)):
                outcome.shown = bytes(answer.body)
            else:
                outcome.error = self.session.explain_answer(answer, _graph.Operation(
                    "downloading the photo of %s" % outcome.entry["user"], _graph.READ_PERMISSION))
        replanned = await plan_all(waiting, self.params, self.pool)
        for outcome, again in zip(waiting, replanned):
            outcome.__dict__.update(again.__dict__)
            if outcome.needs_content:
                outcome.needs_content = False
                outcome.error = "The current photo of %s could not be downloaded to compare it." % outcome.entry["user"]

    async def _write(self, outcome: Plan) -> None:
        """Upload or remove; a write still throttled after the SDK's own retries is sent again later."""
        for attempt in range(WRITE_ROUNDS):
            async with self.upload_slots:
                try:
                    if outcome.entry["state"] == "absent":
                        await self.session.delete_photo(outcome.user_id)
                    else:
                        await self.session.upload_photo(outcome.user_id, outcome.after)
                    outcome.error = None
                    return
                except _graph.GraphError as error:
                    outcome.error = str(error)
                    if error.status not in _graph_batch.RETRYABLE_STATUSES or attempt == WRITE_ROUNDS - 1:
                        return
            # Outside the slot, so other uploads go on meanwhile.
            await asyncio.sleep(min(_graph_batch.MAX_DELAY_S, WRITE_BACKOFF_S * 2 ** attempt + random.uniform(0, 1)))

    async def _read_stored(self, uploaded: list) -> None:
        """The uploaded photos' metadata (the media ETag the service gave them), batched; best effort."""
        if not uploaded:
            return
        items = [_graph_batch.Item(index, "GET", _path(outcome.user_id) + "/photo") for index, outcome in enumerate(uploaded)]
        for outcome, answer in zip(uploaded, await self.runner.run(items)):
            if answer.ok and isinstance(answer.body, dict):
                outcome.stored = _graph.metadata_of(answer.body)
