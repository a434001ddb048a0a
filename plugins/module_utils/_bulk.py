# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to the m365.photos collection: not a public API, may change without notice.
"""Many users in one module run: the photos entries, chunked lookups, bounded concurrency, a result each."""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from typing import Iterator

ENTRY_OPTIONS = ("state", "src", "content", "overwrite")
# Entries looked up and planned together: bounds memory (sources, current photos) whatever the entry count.
CHUNK_SIZE = 500
# Entries sent to a worker process at once: fewer round trips to the workers, still an even spread.
PLAN_BATCH = 25


def photo_argument_spec(key: str, max_bytes: int, max_dimension: int | None) -> dict:
    """The options both photo modules share (documented by the m365.photos._photo doc fragment and the modules):
    one user named by key, or photos entries; the picture options with the module's own size defaults."""
    return {
        key: dict(type="str"),
        "photos": photos_option(key),
        "state": dict(type="str", default="present", choices=["present", "absent"]),
        "src": dict(type="path"),
        "content": dict(type="str"),
        "overwrite": dict(type="str", default="different", choices=["different", "always", "if_missing"]),
        "max_bytes": dict(type="int", default=max_bytes),
        "max_dimension": dict(type="int", default=max_dimension),
        "crop": dict(type="str", default="none", choices=["none", "center", "top"]),
        "background": dict(type="str", default="#ffffff"),
        "concurrency": dict(type="int"),
        "return_thumbnails": dict(type="bool", default=False),
    }


def photos_option(key: str) -> dict:
    """The photos option: a list of entries, each with the single-user options."""
    return dict(type="list", elements="dict", options={
        key: dict(type="str", required=True),
        "state": dict(type="str", choices=["present", "absent"]),
        "src": dict(type="path"),
        "content": dict(type="str"),
        "overwrite": dict(type="str", choices=["different", "always", "if_missing"]),
    })


def entries(params: dict, key: str) -> list:
    """The task's users as entries: the single-user options as one entry, or each photos entry, whose
    state and overwrite default to the task's."""
    if params["photos"] is None:
        return [dict({key: params[key]}, **{option: params[option] for option in ENTRY_OPTIONS})]
    return [dict(entry, state=entry["state"] or params["state"], overwrite=entry["overwrite"] or params["overwrite"])
            for entry in params["photos"]]


def invalid_entries(all_entries: list, key: str) -> list:
    """Sentences for entries that cannot work as written, to fail the task before anything is done."""
    problems = []
    for number, entry in enumerate(all_entries, start=1):
        if entry["src"] and entry["content"]:
            problems.append("photos entry %d (%s): src and content are mutually exclusive" % (number, entry[key]))
        elif entry["state"] == "present" and not (entry["src"] or entry["content"]):
            problems.append("photos entry %d (%s): state=present needs src or content" % (number, entry[key]))
    return problems


def chunks(items: list, size: int = CHUNK_SIZE) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


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


# Worker processes for image work when the I/O stays in an event loop of the parent: at most this many.
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
