# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to the m365.photos collection: not a public API, may change without notice.
"""The convergence engine: every photo module and form (one user, or photos: in bulk) runs through it.

entries -> backend look-up (batched, chunk by chunk) -> _decision.decide() for each, in worker processes ->
backend writes (bounded concurrency, retried when the service says so) -> one result per entry.

A backend (an LDAP directory, Microsoft Graph, ...) knows nothing of the engine's flow; it supplies:
  key, ref_field      the entry option naming the user ("identity") and the result field naming what was
                      found ("dn")
  served              a _decision.ServedSizes: how the server shows what it is given
  write_concurrency   writes in flight at once
  look_up(jobs, memory)
                      fill each job's ref and current (a _decision.Current, None without photo) or error
                      (and unknown_user when the service has no such user); read a preview with it where
                      job.wants_preview. With memory (a _photo_memory.PhotoMemory: cache_dir), also the job's
                      stamp (the server's change stamp of the user or photo) and what memory recalls at it
                      (job.recalled), in place of reading what it already knows
  read_previews(jobs) fill current.preview for jobs whose decision needs pixels the look-up did not read (and
                      current.data, where the server keeps exact bytes)
  write(job)          write job.photo (None: remove it); raise a _errors.PhotoError
  read_back(jobs)     fill job.stored with what the server reports after the write (best effort)
  after_facts(job)    what the result says the user has after the write
  realm               the tenant or domain, naming the backups' folder
  read_originals(jobs) fill job.original with the current photo as served (the largest size), for backups
  prepare(names, memory)
                      optional: told every name the run looks up, before the first look_up
After the decisions, the engine keeps in memory what it learnt of each unchanged user's photo at its stamp.
"""

from __future__ import annotations

import asyncio
import random
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass

from ansible_collections.m365.photos.plugins.module_utils import _backup, _decision, _photo_facts, _photo_memory, _workers
from ansible_collections.m365.photos.plugins.module_utils._desired import DesiredPhoto, Fitting
from ansible_collections.m365.photos.plugins.module_utils._errors import PhotoError
from ansible_collections.m365.photos.plugins.module_utils._limits import CHUNK_SIZE
from ansible_collections.m365.photos.plugins.module_utils._photo_files import read_source
from ansible_collections.m365.photos.plugins.module_utils._source_cache import SourceCache

# Chunks in flight at once: one is planned while the next is looked up and the previous one written.
CHUNKS_IN_FLIGHT = 2
# Jobs handed to a worker process at a time: fewer round trips, still an even spread.
PLAN_GROUP = 16
# A write or look-up refused as retryable (throttled beyond the client's own retries, a directory restarting,
# a connection cut) is tried this many times in all, waiting the service's Retry-After, else WRITE_BACKOFF_S
# doubling each time (plus jitter), in between.
WRITE_ATTEMPTS = 4
WRITE_BACKOFF_S = 5.0
MAX_WRITE_DELAY_S = 60.0


@dataclass(frozen=True)
class Entry:
    """One user as the task declares them."""

    name: str
    state: str = "present"
    src: str | None = None
    content: str | None = None
    overwrite: str = "different"


@dataclass
class Job:
    """One entry on its way through the engine."""

    entry: Entry
    desired: DesiredPhoto | None = None  # built up front for a single user (its source is checked first)
    wants_preview: bool = False
    ref: str | None = None  # the backend's handle on the user: a DN, an object id
    current: _decision.Current | None = None
    decision: _decision.Decision | None = None
    photo: bytes | None = None  # what to write; None with state=absent
    stored: dict | None = None  # what the server reported after the write
    original: bytes | None = None  # the current photo as served, read to back it up
    backup_file: str | None = None
    error: str | None = None
    cache_stored: bool = False  # planning stored a source cache entry
    unknown_user: bool = False  # the error is that the service knows no such user
    stamp: str | None = None  # the server's change stamp of what current describes (with a memory only)
    recalled: _photo_memory.Recalled | None = None  # what the memory knew at that stamp

    @property
    def to_write(self) -> bool:
        return bool(self.decision and self.decision.write and not self.error)

    def forget(self) -> None:
        """Drop the photos, previews and fingerprints the job carried once its result is made: the task holds every
        job until the run ends, and 100,000 users' current photos (no cache_dir) would stay in memory with them."""
        self.desired = self.current = self.recalled = self.decision = None
        self.photo = self.original = None


def plan(job: Job, fitting: Fitting, served: _decision.ServedSizes, cache: SourceCache | None = None) -> Job:
    """Decide for one job whose look-up is in; runs in worker processes, so it reads, computes and only writes
    the source cache."""
    if job.error:
        return job
    entry = job.entry
    try:
        desired = None
        if entry.state == "present":
            desired = job.desired or DesiredPhoto(read_source(entry.src, entry.content), fitting, cache)
        job.decision = _decision.decide(job.current, desired, entry.overwrite, served)
        job.photo = desired.fitted() if desired is not None and job.decision.write else None
        job.cache_stored = desired is not None and desired.remember()
    except PhotoError as error:
        job.error = str(error)
    return job


def _plan_group(group: list, fitting: Fitting, served: _decision.ServedSizes, cache: SourceCache | None) -> list:
    return [plan(job, fitting, served, cache) for job in group]


def _chunks(items: list, size: int):
    for start in range(0, len(items), size):
        yield items[start:start + size]


def write_delay(error: PhotoError, attempt: int) -> float:
    if error.retry_after is not None:
        return min(MAX_WRITE_DELAY_S, max(0.0, error.retry_after))
    return min(MAX_WRITE_DELAY_S, WRITE_BACKOFF_S * 2 ** attempt + random.uniform(0, 1))


class Engine:
    """Converges jobs through one opened backend."""

    def __init__(self, backend, fitting: Fitting, *, check_mode: bool, return_thumbnails: bool, pool=None,
                 backups: _backup.Backups | None = None, cache: SourceCache | None = None) -> None:
        self.backend = backend
        self.fitting = fitting
        self.check_mode = check_mode
        self.return_thumbnails = return_thumbnails
        self.pool = pool
        self.backups = backups
        self.cache = cache
        self.memory = _photo_memory.PhotoMemory(cache, backend.key, backend.realm) if cache is not None else None
        self.cache_grew = False
        self.chunk_slots = asyncio.Semaphore(CHUNKS_IN_FLIGHT)
        self.write_slots = asyncio.Semaphore(max(1, backend.write_concurrency))

    async def converge(self, jobs: list) -> list:
        """One result (a dict) per job, in order."""
        prepare = getattr(self.backend, "prepare", None)
        if prepare is not None:
            await self._retried(lambda: prepare([job.entry.name for job in jobs], self.memory))
        chunked = await asyncio.gather(*(self._chunk(chunk) for chunk in _chunks(jobs, CHUNK_SIZE)))
        return [result for chunk in chunked for result in chunk]

    async def _chunk(self, jobs: list) -> list:
        looked_up = jobs  # the task's own jobs: planning hands back copies
        async with self.chunk_slots:
            for job in jobs:
                job.wants_preview = self.return_thumbnails or (
                    job.entry.state == "present" and job.entry.overwrite == "different")
            await self._retried(lambda: self.backend.look_up(jobs, self.memory))
            jobs = await self._plan(jobs)
            await self._replan_with_previews(jobs)
            self._remember_photos(jobs)
            if self.return_thumbnails:
                await self._read_previews_to_show(jobs)
            if self.backups is not None:
                await self._back_up([job for job in jobs if job.to_write and job.current is not None])
            if not self.check_mode:
                writing = [job for job in jobs if job.to_write]
                await asyncio.gather(*(self._write(job) for job in writing))
                await self.backend.read_back([job for job in writing if not job.error and job.photo is not None])
            results = [self.result(job) for job in jobs]
            for job in looked_up:
                job.forget()
            return results

    async def _plan(self, jobs: list) -> list:
        loop = asyncio.get_running_loop()
        groups = list(_chunks(jobs, PLAN_GROUP))
        planned = await asyncio.gather(*(
            loop.run_in_executor(self.pool, _plan_group, group, self.fitting, self.backend.served, self.cache)
            for group in groups), return_exceptions=True)
        for index, outcome in enumerate(planned):
            if isinstance(outcome, BrokenProcessPool):
                # A worker died (killed for its memory, or crashed in a decoder) with these jobs in flight: plan
                # each again in a process of its own, so only the entry that kills one fails.
                planned[index] = [await self._plan_alone(job) for job in groups[index]]
            elif isinstance(outcome, BaseException):
                raise outcome
        jobs = [job for group in planned for job in group]
        self.cache_grew = self.cache_grew or any(job.cache_stored for job in jobs)
        return jobs

    async def _plan_alone(self, job: Job) -> Job:
        try:
            return (await asyncio.get_running_loop().run_in_executor(
                None, _workers.isolated, _plan_group, [job], self.fitting, self.backend.served, self.cache))[0]
        except BrokenProcessPool:
            job.error = ("The photo of %s was left as it is: the worker process deciding it died (out of memory, or "
                         "crashed decoding a picture). Check its source file and current photo." % job.entry.name)
            return job

    async def _replan_with_previews(self, jobs: list) -> None:
        """For decisions that need pixels the look-up did not read (a photo smaller than the preview size)."""
        waiting = [index for index, job in enumerate(jobs) if job.decision and job.decision.needs_preview]
        if not waiting:
            return
        await self.backend.read_previews([jobs[index] for index in waiting])
        for index, job in zip(waiting, await self._plan([jobs[index] for index in waiting])):
            if job.decision and job.decision.needs_preview and not job.error:
                job.error = "The current photo of %s could not be read to compare it." % job.entry.name
            jobs[index] = job

    def _remember_photos(self, jobs: list) -> None:
        """Keep what this run learnt of the photos it leaves as they are (a written one gets a new stamp)."""
        if self.memory is None:
            return
        for job in jobs:
            if job.stamp and not job.error and job.decision and not job.to_write:
                stored = self.memory.keep(job.ref, job.stamp, job.current, job.recalled)
                self.cache_grew = self.cache_grew or stored

    async def _read_previews_to_show(self, jobs: list) -> None:
        """A before_thumbnail where the look-up's preview size was missing (Entra ID answers it 1X1) and the decision
        did not need pixels (a smaller photo is replaced unseen)."""
        missing = [job for job in jobs if job.to_write and job.current is not None and job.current.preview is None]
        if missing:
            await self.backend.read_previews(missing)
            for job in missing:
                job.error = None  # a thumbnail is never worth failing a write for

    async def _back_up(self, jobs: list) -> None:
        """Keep the photo each job replaces or removes; a job whose backup fails is not written (to_write)."""
        realm = self.backend.realm
        if self.check_mode:
            for job in jobs:
                job.backup_file = self.backups.path(realm, job.entry.name, _backup.extension(job.current.data))
            return
        await self.backend.read_originals(jobs)
        loop = asyncio.get_running_loop()
        for job in jobs:
            if job.error:
                continue
            try:
                job.backup_file = await loop.run_in_executor(None, self.backups.write, realm, job.entry.name,
                                                             job.original)
            except OSError as error:
                job.error = ("The photo of %s was left as it is: its backup could not be written to %s (%s). "
                             "Make backup_dir writable, or set backup=false to replace photos without a backup."
                             % (job.entry.name, self.backups.root, error.strerror or error))
            job.original = None

    async def _write(self, job: Job) -> None:
        try:
            await self._retried(lambda: self.backend.write(job), self.write_slots)
        except PhotoError as error:
            job.error = str(error)

    @staticmethod
    async def _retried(action, slots: asyncio.Semaphore | None = None):
        """await action() (holding one of slots) until it succeeds, fails for good or was tried WRITE_ATTEMPTS times.

        A backend write replaces the whole photo and a look-up only reads, so trying either again is safe even
        when the first try may have reached the server (a connection cut before the answer).
        """
        attempt = 0
        while True:
            try:
                if slots is None:
                    return await action()
                async with slots:
                    return await action()
            except PhotoError as error:
                attempt += 1
                if not error.retryable or attempt == WRITE_ATTEMPTS:
                    raise
                # Outside the slot (the with-block has ended), so other writes go on meanwhile.
                await asyncio.sleep(write_delay(error, attempt - 1))

    def result(self, job: Job) -> dict:
        backend, decision, current = self.backend, job.decision, job.current
        before = current.facts if current else None
        result = {backend.key: job.entry.name, backend.ref_field: job.ref, "state": job.entry.state,
                  "changed": job.to_write, "failed": job.error is not None, "msg": job.error or "",
                  "reason": decision.reason if decision else None, "before": before,
                  "after": backend.after_facts(job) if job.to_write else before}
        if decision and decision.similarity is not None:
            result["similarity"] = round(decision.similarity, 4)
        if job.unknown_user:
            result["unknown_user"] = True  # for the task's own use (photos_from): it removes the key
        if self.backups is not None:
            result["backup_file"] = job.backup_file
        if self.return_thumbnails and (result["changed"] or result["failed"]):
            shown = current.preview if current else None
            result["before_thumbnail"] = _photo_facts.thumbnail_b64(shown)
            result["after_thumbnail"] = _photo_facts.thumbnail_b64(job.photo if job.to_write else shown)
        return result


def run(open_backend, jobs: list, fitting: Fitting, *, check_mode: bool, return_thumbnails: bool,
        backups: _backup.Backups | None = None, cache: SourceCache | None = None) -> list:
    """Converge jobs in one asyncio.run, through the backend open_backend() opens (an async context manager);
    with cache, sources seen by earlier runs are decided from what they gave then.

    The worker pool is forked before the event loop starts, from a parent with no threads yet.
    """
    pool = _workers.image_pool(_workers.image_workers(len(jobs)))

    async def converge() -> list:
        async with open_backend() as backend:
            engine = Engine(backend, fitting, check_mode=check_mode, return_thumbnails=return_thumbnails, pool=pool,
                            backups=backups, cache=cache)
            results = await engine.converge(jobs)
            # Pruning lists the whole cache: only worth it after a run that added to it.
            if cache is not None and engine.cache_grew:
                cache.prune()
            return results

    try:
        return asyncio.run(converge())
    finally:
        if pool is not None:
            pool.shutdown()


def summary(results: list) -> dict:
    failed = sum(1 for result in results if result["failed"])
    changed = sum(1 for result in results if result["changed"])
    return dict(entries=len(results), changed=changed, unchanged=len(results) - changed - failed, failed=failed)


def failure_message(results: list, key: str) -> str:
    failed = [result for result in results if result["failed"]]
    names = ", ".join(str(result[key]) for result in failed[:20])
    more = " and %d more" % (len(failed) - 20) if len(failed) > 20 else ""
    return "%d of %d photos failed (%s%s); each result's msg says why. The other photos were handled." % (
        len(failed), len(results), names, more)
