# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to the m365.photos collection: not a public API, may change without notice.
"""Many users in one module run: the photos entries, chunked lookups, bounded concurrency, a result each."""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from typing import Callable, Iterator

ENTRY_OPTIONS = ("state", "src", "content", "overwrite")
# Entries looked up and planned together: bounds memory (sources, current photos) whatever the entry count.
CHUNK_SIZE = 500


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


def planned(items: list, plan: Callable, concurrency: int) -> Iterator:
    """plan(item) for each item, concurrency at a time, in the items' order.

    Planning is image work (decoding, fitting), mostly Python-bound: forked worker processes use every
    CPU where threads would wait for each other. plan must be a module-level function (or a partial of
    one) and items picklable. Where fork is unavailable, threads do the work.
    """
    if concurrency <= 1 or len(items) <= 1:
        return map(plan, items)
    if "fork" in multiprocessing.get_all_start_methods():
        pool = ProcessPoolExecutor(max_workers=concurrency, mp_context=multiprocessing.get_context("fork"))
    else:
        pool = ThreadPoolExecutor(max_workers=concurrency)
    with pool:
        return iter(list(pool.map(plan, items, chunksize=max(1, len(items) // (4 * concurrency)))))


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
