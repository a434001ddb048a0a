# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to the m365.photos collection: not a public API, may change without notice.
"""What a photo module's task does, whatever the backend: its users through the engine, then one answer."""

from __future__ import annotations

from ansible_collections.m365.photos.plugins.module_utils import _converge, _photo_folder, _photo_options
from ansible_collections.m365.photos.plugins.module_utils._desired import DesiredPhoto
from ansible_collections.m365.photos.plugins.module_utils._photo_files import read_source

SINGLE_OPTIONAL = ("similarity", "backup_file", "before_thumbnail", "after_thumbnail")


def converge(module, limits: _photo_options.PhotoLimits, open_backend, ref_field: str) -> None:
    """Converge the task's users through open_backend(params) and exit (or fail) the module.

    The single-user form is a run of one entry; its source is checked before anything is sent, and it
    answers with that entry's result at the top level (changed, ref_field, before, after, reason, diff).
    """
    params = module.params
    with module.failing_on_errors():
        _photo_options.check_limits(params, limits)
        folder, entries = _photo_folder.run_entries(params, limits.key, _photo_options.entries(params, limits.key))
        fitting = _photo_options.fitting(params)
        cache = _photo_options.source_cache(params, module.check_mode)
        jobs = [_converge.Job(entry) for entry in entries]
        single = _photo_options.is_single(params)
        if single and entries[0].state == "present":
            jobs[0].desired = DesiredPhoto(read_source(entries[0].src, entries[0].content), fitting, cache)
            jobs[0].desired.check()
        results = _converge.run(lambda: open_backend(params), jobs, fitting, check_mode=module.check_mode,
                                return_thumbnails=params["return_thumbnails"],
                                backups=_photo_options.backups(params), cache=cache)
    if single:
        exit_single(module, results[0], ref_field)
    results = _photo_folder.without_unknown_users(results, folder)
    summary = _converge.summary(results)
    failure = _converge.failure_message(results, limits.key) if summary["failed"] else None
    if not params["return_unchanged"]:
        results = [result for result in results if result["changed"] or result["failed"]]
    outcome = dict(changed=bool(summary["changed"]), results=results, summary=summary)
    if folder is not None:
        outcome.update(unmatched=folder.unmatched, summary=dict(summary, unmatched=len(folder.unmatched)))
        module.warn_each([_photo_folder.unmatched_warning(folder)] if folder.unmatched else [])
    if failure:
        module.fail_json(msg=failure, **outcome)
    module.exit_json(**outcome)


def exit_single(module, result: dict, ref_field: str) -> None:
    if result["failed"]:
        module.fail_json(msg=result["msg"], **{ref_field: result[ref_field]})
    single = {"changed": result["changed"], ref_field: result[ref_field], "before": result["before"],
              "after": result["after"], "reason": result["reason"],
              "diff": dict(before=result["before"] or {}, after=result["after"] or {})}
    single.update({key: result[key] for key in SINGLE_OPTIONAL if key in result})
    module.exit_json(**single)
