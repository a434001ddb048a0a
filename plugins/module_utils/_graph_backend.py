# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to the m365.photos collection: not a public API, may change without notice.
"""The convergence engine's backend for Microsoft 365: profile photos through Microsoft Graph (see _converge).

Look-ups are $batch requests of 20 items: per user the lookup (id), the photo's metadata and, where pictures
may be compared, its 96x96 size (0.15 HTTP requests per user; a single user: the token and one batch). With a
memory (cache_dir), the 96x96 sizes follow in batches of their own, only for photos it does not recall at their
media ETag (0.10 requests per user when it recalls them all). A run naming at least SCAN_MIN_NAMES users lists
the tenant's users first (999 a page) and looks up only those the listing does not name: 0.10 and 0.05 requests
per user.
Uploads are PUT image/jpeg, removals DELETE; the uploaded photos' metadata is read back, batched again.
Batches and writes share one RequestBudget, a batch counting as the 4 items Graph runs of it at once. It starts at 4
requests in flight (the strictest reading of Microsoft's limits; see _limits) and, unless concurrency fixes it,
doubles while nothing is throttled up to GRAPH_READ_CEILING, back to 4 for the rest of the run at the first 429.
A throttled write is not retried inside the SDK, where the budget would not see its 429: the engine retries it.

Writes are not visible at once: for seconds to hours reads may serve the photo (and media ETag) from before.
So a result's after is what was written, and the read-back only adds what it shows of a new photo (its ETag
differs from the one before the write).
"""

from __future__ import annotations

from contextlib import asynccontextmanager

from ansible_collections.m365.photos.plugins.module_utils import (
    _graph_batch, _graph_directory, _graph_photo_answers as answers, _graph_session, _image,
)
from ansible_collections.m365.photos.plugins.module_utils._decision import Current
from ansible_collections.m365.photos.plugins.module_utils._errors import PhotoError
from ansible_collections.m365.photos.plugins.module_utils._graph_errors import (
    READ_PERMISSION, USER_PERMISSION, GraphError, Operation,
)
from ansible_collections.m365.photos.plugins.module_utils._graph_users import user_path, user_problem
from ansible_collections.m365.photos.plugins.module_utils._graph_sizes import COMPARISON_SIDE, SERVED
from ansible_collections.m365.photos.plugins.module_utils._limits import (
    GRAPH_DEFAULT_CONCURRENCY, GRAPH_READ_CEILING, SCAN_MAX_USERS_PER_NAME, SCAN_MIN_NAMES,
)


class GraphBackend:
    """Users found by user principal name or object id; their photo as Graph serves it."""

    key = "user"
    ref_field = "user_id"
    served = SERVED

    def __init__(self, session, concurrency: int | None, tenant_id: str | None = None) -> None:
        self.session = session
        # Managed identity and Azure CLI sign in without naming the tenant.
        self.realm = tenant_id or "default-tenant"
        # Requests for different users touch different mailboxes: reads and writes ramp up together in one budget
        # unless the task fixed concurrency; the engine's own bound on writes is then the budget's ceiling.
        start = concurrency or GRAPH_DEFAULT_CONCURRENCY
        self.budget = _graph_batch.RequestBudget(start, ceiling=GRAPH_READ_CEILING if concurrency is None else None)
        self.write_concurrency = self.budget.ceiling
        self.runner = _graph_batch.BatchRunner(session.post_batch, start, budget=self.budget)
        self._ids: dict | None = None  # user ids by lower-case name, from prepare()'s listing of the tenant's users

    def _explain(self, answer, doing: str, permission: str = READ_PERMISSION, user: str | None = None) -> str:
        """A failed answer's sentence; every call but the user's look-up is one on the photo."""
        return self.session.explain_answer(answer, Operation(doing, permission, user=user, photo=user is None))

    async def prepare(self, names: list, memory=None) -> None:
        """Before the first look-up, told every name the run looks up: a run that names many users finds their ids
        in one listing of the tenant's users (999 a page) instead of a look-up each, which spares a batch item per
        user. A failed listing, or a tenant with more than SCAN_MAX_USERS_PER_NAME users per name, is left for the
        look-ups, which say per user what went wrong."""
        distinct = len({name.lower() for name in names})
        if distinct < SCAN_MIN_NAMES:
            return
        try:
            self._ids = await _graph_directory.user_ids(self.session, SCAN_MAX_USERS_PER_NAME * distinct)
        except PhotoError:
            self._ids = None

    async def look_up(self, jobs: list, memory=None) -> None:
        """A user the listing named has only its photo read; the others are looked up too, in the same batches.
        With memory, the 96x96 previews are asked for only after the metadata, for the photos it does not recall
        at their media ETag."""
        items = []
        for index, job in enumerate(jobs):
            job.error = user_problem(job.entry.name)
            if job.error:
                continue
            job.ref = self._ids.get(job.entry.name.lower()) if self._ids else None
            if job.ref is None:
                items.append(_graph_batch.Item((index, "user"), "GET",
                                               user_path(job.entry.name) + "?$select=id,userPrincipalName"))
            path = user_path(job.ref or job.entry.name)
            items.append(_graph_batch.Item((index, "photo"), "GET", path + "/photo"))
            if job.wants_preview and memory is None:
                items.append(_preview_item(index, path))
        found = _graph_batch.by_key(items, await self.runner.run(items))
        for index, job in enumerate(jobs):
            if index in found:
                self._apply(job, found[index])
        if memory is not None:
            await self._recall_or_read_previews(jobs, memory)

    async def _recall_or_read_previews(self, jobs: list, memory) -> None:
        unknown = []
        for index, job in enumerate(jobs):
            if job.error or job.current is None:
                continue
            job.stamp = job.current.facts.get("etag")
            job.recalled = memory.recall(job.ref, job.stamp)
            if job.recalled is not None and job.recalled.comparison is not None:
                job.current.comparison = job.recalled.comparison
            elif job.wants_preview:
                unknown.append(_preview_item(index, user_path(job.ref)))
        for item, answer in zip(unknown, await self.runner.run(unknown)):
            self._apply_preview(jobs[item.key[0]], answer)

    def _apply(self, job, found: dict) -> None:
        name = job.entry.name
        lookup, photo, preview = found.get("user"), found["photo"], found.get("preview")
        if lookup is not None and not lookup.ok:
            job.error = self._explain(lookup, "looking up user '%s'" % name, USER_PERMISSION, user=name)
            job.unknown_user = lookup.status == 404
            return
        if lookup is not None:
            job.ref = lookup.body.get("id") if isinstance(lookup.body, dict) else None
        if not job.ref:
            job.error = "Microsoft Graph answered the look-up of user '%s' without an id; nothing was changed." % name
            return
        if answers.no_photo(photo):
            return
        if not photo.ok:
            job.error = self._explain(photo, "reading the photo of %s" % name)
            return
        job.current = Current(facts=answers.metadata(photo).facts())
        if preview is not None:
            self._apply_preview(job, preview)

    def _apply_preview(self, job, preview) -> None:
        if answers.no_photo(preview):
            return  # no 96x96 size (a smaller photo, or one kept in Entra ID): decide() asks for the largest
        job.current.preview = answers.picture(preview)
        if not preview.ok:
            job.error = self._explain(preview, "downloading the photo of %s" % job.entry.name)

    async def _download_largest(self, jobs: list) -> list:
        """The largest size of each job's photo (bytes), or None where it could not be read (job.error says why)."""
        items = [_graph_batch.Item(index, "GET", user_path(job.ref or job.entry.name) + "/photo/$value")
                 for index, job in enumerate(jobs)]
        photos = []
        for job, answer in zip(jobs, await self.runner.run(items)):
            photos.append(answers.picture(answer))
            if photos[-1] is None:
                job.error = self._explain(answer, "downloading the photo of %s" % job.entry.name)
        return photos

    async def read_previews(self, jobs: list) -> None:
        """The largest size, for photos smaller than the 96x96 the look-up asked for (or kept in Entra ID, which
        answers it 1X1); kept as the job's original too, so a backup does not download it again."""
        for job, photo in zip(jobs, await self._download_largest(jobs)):
            if photo is not None:
                job.current.preview = job.original = photo

    async def read_originals(self, jobs: list) -> None:
        """The largest size Graph serves: what a backup keeps (downloaded unless read_previews already did)."""
        missing = [job for job in jobs if job.original is None]
        for job, photo in zip(missing, await self._download_largest(missing)):
            job.original = photo

    async def write(self, job) -> None:
        """One upload or removal within the budget, which learns whether it was throttled (the engine retries it)."""
        async with self.budget.hold():
            try:
                if job.photo is None:
                    await self.session.delete_photo(job.ref)
                else:
                    await self.session.upload_photo(job.ref, job.photo)
            except GraphError as error:
                self.budget.learn_statuses([error.status])
                raise
            self.budget.learn_statuses([200])

    async def read_back(self, jobs: list) -> None:
        """What the service shows of the uploaded photos (their media ETag), where it already shows them; best effort."""
        if not jobs:
            return
        items = [_graph_batch.Item(index, "GET", user_path(job.ref) + "/photo") for index, job in enumerate(jobs)]
        for job, answer in zip(jobs, await self.runner.run(items)):
            stored = answers.metadata(answer)
            job.stored = stored.facts() if stored and shows_new_photo(job.current, stored.facts()) else None

    @staticmethod
    def after_facts(job) -> dict | None:
        """The uploaded JPEG's facts, at the size the service serves it, with what it reported afterwards."""
        if job.photo is None:
            return None
        facts = _image.describe(job.photo)
        width, height = SERVED.served(facts["width"], facts["height"])
        after = dict(width=width, height=height, etag=None, bytes=facts["bytes"], sha256=facts["sha256"],
                     format=facts["format"])
        after.update(job.stored or {})
        return after


def _preview_item(index: int, path: str):
    url = "%s/photos/%dx%d/$value" % (path, COMPARISON_SIDE, COMPARISON_SIDE)
    return _graph_batch.Item((index, "preview"), "GET", url)


def shows_new_photo(current, stored: dict) -> bool:
    """Whether a read after a write shows the photo written, not the one before it (still served for a while)."""
    before = current.facts.get("etag") if current is not None else None
    return not before or stored.get("etag") != before


@asynccontextmanager
async def opened(params: dict):
    """A GraphBackend over a signed-in session, for the duration of the with-block."""
    async with _graph_session.signed_in(params) as session:
        yield GraphBackend(session, params["concurrency"], params["tenant_id"])
