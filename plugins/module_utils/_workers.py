# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to the m365.photos collection: not a public API, may change without notice.
"""Worker processes for image work (decoding, comparing, fitting), while the I/O stays in the parent."""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor

# At most this many worker processes, one per CPU.
MAX_IMAGE_WORKERS = 4
# Below this many entries, forking workers costs more than it saves.
MIN_ENTRIES_FOR_WORKERS = 8


def image_workers(entry_count: int) -> int:
    """How many worker processes decode and compare pictures for entry_count entries (1: none, in threads)."""
    if entry_count < MIN_ENTRIES_FOR_WORKERS:
        return 1
    return max(1, min(MAX_IMAGE_WORKERS, os.cpu_count() or 1))


def _ready() -> bool:
    return True


def image_pool(workers: int):
    """A started pool of forked worker processes, or None (work then runs in threads of the parent).

    Create it before the event loop starts (asyncio.run): the workers are forked at once, from a parent with
    no loop and no threads yet, and later receive their work through loop.run_in_executor.
    """
    if workers <= 1 or "fork" not in multiprocessing.get_all_start_methods():
        return None
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("fork"))
    pool.submit(_ready).result()  # a fork-context pool starts every worker on the first submit
    return pool
