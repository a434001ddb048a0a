# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to the m365.photos collection: not a public API, may change without notice.
"""Worker processes for image work (decoding, comparing, fitting), while the I/O stays in the parent.

Each worker runs under an address-space limit (RLIMIT_AS): a decode the budgets in _image did not foresee
fails with MemoryError (an ImageError for that entry) instead of growing the task. A worker that dies all
the same (killed, or crashed in a decoder) breaks its pool: the pool is then replaced on the next submit,
and the engine plans the jobs that were in flight again, each in a process of its own (isolated()).
"""

from __future__ import annotations

import multiprocessing
import os
import warnings
from concurrent.futures import Executor, ProcessPoolExecutor

try:
    import resource
except ImportError:  # not on every platform; the limit is then not set
    resource = None

# At most this many worker processes, one per CPU.
MAX_IMAGE_WORKERS = 4
# Below this many entries, forking workers costs more than it saves.
MIN_ENTRIES_FOR_WORKERS = 8
# What a worker may map beyond the address space it inherits from the parent: twice the largest decode
# budget (_image.SOURCE_BUDGET, 224 MiB), and room for Pillow's and numpy's own allocations.
WORKER_MEMORY_HEADROOM = 512 * 1024 * 1024


def image_workers(entry_count: int) -> int:
    """How many worker processes decode and compare pictures for entry_count entries (1: none, in threads)."""
    if entry_count < MIN_ENTRIES_FOR_WORKERS:
        return 1
    return max(1, min(MAX_IMAGE_WORKERS, os.cpu_count() or 1))


def _address_space() -> int | None:
    """Bytes of address space this process maps now (Linux), or None."""
    try:
        with open("/proc/self/statm", "rb") as statm:
            pages = int(statm.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return pages * os.sysconf("SC_PAGE_SIZE")


def limit_memory(headroom: int = WORKER_MEMORY_HEADROOM) -> int | None:
    """Cap this process's address space at what it maps now plus headroom; the limit set, or None."""
    mapped = _address_space()
    if resource is None or mapped is None:
        return None
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = mapped + headroom
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    if soft != resource.RLIM_INFINITY and soft <= limit:
        return soft
    try:
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    except (OSError, ValueError):
        return None
    return limit


def _ready() -> bool:
    return True


def _fork_pool(workers: int) -> ProcessPoolExecutor:
    with warnings.catch_warnings():
        # Python 3.12+ warns about forking a process with threads; the workers only compute.
        warnings.simplefilter("ignore", DeprecationWarning)
        pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("fork"),
                                   initializer=limit_memory)
        pool.submit(_ready).result()  # a fork-context pool starts every worker on the first submit
    return pool


class ImagePool(Executor):
    """Forked worker processes; a pool broken by a dead worker is replaced by a fresh one on the next submit."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._pool = _fork_pool(workers)

    def submit(self, fn, /, *args, **kwargs):  # pylint: disable=arguments-differ
        if getattr(self._pool, "_broken", False):
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = _fork_pool(self.workers)
        return self._pool.submit(fn, *args, **kwargs)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self._pool.shutdown(wait=wait, cancel_futures=cancel_futures)


def image_pool(workers: int):
    """A started pool of forked worker processes, or None (work then runs in threads of the parent).

    Create it before the event loop starts (asyncio.run): the workers are forked at once, from a parent with
    no loop and no threads yet, and later receive their work through loop.run_in_executor.
    """
    if workers <= 1 or "fork" not in multiprocessing.get_all_start_methods():
        return None
    return ImagePool(workers)


def isolated(fn, *args):
    """fn(*args) in a forked process of its own, under the memory limit; BrokenProcessPool if that process dies.

    Where processes cannot be forked, fn runs here.
    """
    if "fork" not in multiprocessing.get_all_start_methods():
        return fn(*args)
    pool = _fork_pool(1)
    try:
        return pool.submit(fn, *args).result()
    finally:
        pool.shutdown(wait=True)
