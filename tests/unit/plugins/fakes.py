"""A fake convergence backend: a server in memory, with the served-size model of a directory or of Graph."""

from __future__ import annotations

from contextlib import asynccontextmanager

from ansible_collections.m365.photos.plugins.module_utils import _graph_sizes, _photo_facts
from ansible_collections.m365.photos.plugins.module_utils._decision import STORED_AS_WRITTEN
from ansible_collections.m365.photos.plugins.module_utils._errors import PhotoError

from photo_models import directory_holds, graph_serves


class Refusal(PhotoError):
    def __init__(self, message: str, retryable: bool = False) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.retry_after = 0.0


class FakeBackend:
    """Users by name; photos by ref; every call logged. graph=True serves like Exchange Online."""

    def __init__(self, users, *, graph: bool = False, photos: dict | None = None, key: str = "identity",
                 ref_field: str = "dn", write_concurrency: int = 2) -> None:
        self.refs = {name: "ref-%s" % name for name in users}
        self.photos = dict(photos or {})  # ref -> bytes as written
        self.graph = graph
        self.served = _graph_sizes.SERVED if graph else STORED_AS_WRITTEN
        self.key, self.ref_field, self.write_concurrency = key, ref_field, write_concurrency
        self.refusals: dict = {}  # ref -> list of errors raised by the next writes
        self.look_up_refusals: list = []  # errors raised by the next look-ups
        self.calls: list = []
        self.realm = "fake.example"
        self.unreadable: set = set()  # refs whose photo cannot be downloaded (read_originals)
        self.versions: dict = {}  # ref -> how many times its photo was set: the change stamp given to a memory
        self.photo_reads = 0

    def set_photo(self, ref: str, photo: bytes | None) -> None:
        """Change a photo behind the engine's back (the stamp changes with it)."""
        self.photos[ref] = photo
        self.versions[ref] = self.versions.get(ref, 0) + 1

    def _holds(self, ref: str, preview: bool):
        photo = self.photos.get(ref)
        if photo is None:
            return None
        current = graph_serves(photo) if self.graph else directory_holds(photo)
        if self.graph and not preview:
            current.preview = None
        return current

    async def look_up(self, jobs, memory=None):
        self.calls.append(("look_up", len(jobs)))
        if self.look_up_refusals:
            raise self.look_up_refusals.pop(0)
        for job in jobs:
            ref = self.refs.get(job.entry.name) or self.refs.get(job.entry.name.lower())  # services ignore case
            if ref is None:
                job.error = "No user matches identity '%s'." % job.entry.name
                job.unknown_user = True
                continue
            job.ref = ref
            if memory is not None and not self.graph:
                job.stamp = "v%d" % self.versions.get(ref, 0)
                job.recalled = memory.recall(ref, job.stamp)
                if job.recalled is not None:
                    job.current = job.recalled.current()
                    continue
            self.photo_reads += ref in self.photos
            job.current = self._holds(ref, job.wants_preview)

    async def read_previews(self, jobs):
        self.calls.append(("read_previews", len(jobs)))
        for job in jobs:
            self.photo_reads += 1
            job.current.preview = self.photos[job.ref]
            if not self.graph:
                job.current.data = self.photos[job.ref]

    async def read_originals(self, jobs):
        self.calls.append(("read_originals", len(jobs)))
        for job in jobs:
            if job.ref in self.unreadable:
                job.error = "The photo of %s could not be downloaded." % job.entry.name
            else:
                job.original = self.photos[job.ref]

    async def write(self, job):
        self.calls.append(("write", job.ref))
        refusals = self.refusals.get(job.ref)
        if refusals:
            raise refusals.pop(0)
        if job.photo is None:
            self.photos.pop(job.ref, None)
        else:
            self.photos[job.ref] = job.photo
        self.versions[job.ref] = self.versions.get(job.ref, 0) + 1

    async def read_back(self, jobs):
        for job in jobs:
            job.stored = {"etag": 'W/"new"'} if self.graph else None

    @staticmethod
    def after_facts(job):
        return _photo_facts.facts(job.photo)

    def opener(self):
        @asynccontextmanager
        async def opened(params=None):
            yield self
        return opened
