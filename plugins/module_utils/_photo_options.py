# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to the m365.photos collection: not a public API, may change without notice.
"""The options both photo modules share (documented by the m365.photos._photo doc fragment): the argument
spec, the limits each module sets, and the task's users as engine entries."""

from __future__ import annotations

from dataclasses import dataclass

from ansible_collections.m365.photos.plugins.module_utils import _photo_folder
from ansible_collections.m365.photos.plugins.module_utils._backup import Backups
from ansible_collections.m365.photos.plugins.module_utils._converge import Entry
from ansible_collections.m365.photos.plugins.module_utils._desired import Fitting
from ansible_collections.m365.photos.plugins.module_utils._errors import PhotoError
from ansible_collections.m365.photos.plugins.module_utils._source_cache import SourceCache

ENTRY_OPTIONS = ("state", "src", "content", "overwrite")


@dataclass(frozen=True)
class PhotoLimits:
    """What one module accepts: its user option, size defaults and bounds, and why they are what they are."""

    key: str  # the option naming the user: identity, user
    default_max_bytes: int
    max_bytes_limit: int
    max_bytes_why: str
    default_max_dimension: int | None = None
    min_dimension: int = 1
    min_dimension_why: str = ""


def argument_spec(limits: PhotoLimits) -> dict:
    """One user named by limits.key, or photos entries; the picture options with the module's own defaults."""
    key = limits.key
    spec = {
        key: dict(type="str"),
        "photos": dict(type="list", elements="dict", options={
            key: dict(type="str", required=True),
            "state": dict(type="str", choices=["present", "absent"]),
            "src": dict(type="path"),
            "content": dict(type="str"),
            "overwrite": dict(type="str", choices=["different", "always", "if_missing"]),
        }),
        "state": dict(type="str", default="present", choices=["present", "absent"]),
        "src": dict(type="path"),
        "content": dict(type="str"),
        "overwrite": dict(type="str", default="different", choices=["different", "always", "if_missing"]),
        "max_bytes": dict(type="int", default=limits.default_max_bytes),
        "max_dimension": dict(type="int", default=limits.default_max_dimension),
        "crop": dict(type="str", default="none", choices=["none", "center", "top"]),
        "background": dict(type="str", default="#ffffff"),
        "concurrency": dict(type="int"),
        "return_thumbnails": dict(type="bool", default=False),
        "return_unchanged": dict(type="bool", default=True),
        "backup": dict(type="bool", default=False),
        "backup_dir": dict(type="path"),
        "backup_keep": dict(type="int", default=5),
        "cache_dir": dict(type="path"),
    }
    spec.update(_photo_folder.argument_spec(key))
    return spec


def module_rules(key: str) -> dict:
    """The AnsibleModule keyword arguments that go with argument_spec()."""
    return dict(
        mutually_exclusive=[["src", "content"], [key, "photos"], ["photos", "src"], ["photos", "content"]]
        + _photo_folder.mutually_exclusive(key),
        required_one_of=[[key, "photos", "photos_from"]],
        required_if=[["backup", True, ["backup_dir"]]],
    )


def check_limits(params: dict, limits: PhotoLimits) -> None:
    """PhotoError naming the option and its bounds when a value is outside what the module accepts."""
    if not 0 < params["max_bytes"] <= limits.max_bytes_limit:
        raise PhotoError("max_bytes must be between 1 and %d, %s" % (limits.max_bytes_limit, limits.max_bytes_why))
    if params["max_dimension"] is not None and params["max_dimension"] < limits.min_dimension:
        raise PhotoError("max_dimension must be at least %d pixels%s." % (limits.min_dimension, limits.min_dimension_why))
    if params["concurrency"] is not None and params["concurrency"] < 1:
        raise PhotoError("concurrency must be at least 1.")
    if params["backup_keep"] < 1:
        raise PhotoError("backup_keep must be at least 1: the backup just written is always kept.")


def backups(params: dict) -> Backups | None:
    """Where the run keeps the photos it replaces or removes, with backup=true."""
    return Backups(params["backup_dir"], params["backup_keep"]) if params["backup"] else None


def source_cache(params: dict, check_mode: bool) -> SourceCache | None:
    """The cache of what sources gave in earlier runs, with cache_dir; PhotoError when it cannot be used."""
    if not params["cache_dir"]:
        return None
    cache = SourceCache(params["cache_dir"], read_only=check_mode)
    cache.check()
    return cache


def fitting(params: dict) -> Fitting:
    return Fitting(max_bytes=params["max_bytes"], max_dimension=params["max_dimension"], crop=params["crop"],
                   background=params["background"])


def is_single(params: dict) -> bool:
    """Whether the task names one user (rather than photos or photos_from)."""
    return params["photos"] is None and params["photos_from"] is None


def entries(params: dict, key: str) -> list:
    """The task's users: the single-user options as one entry, or each photos entry, whose state and
    overwrite default to the task's; PhotoError naming every entry that cannot work as written."""
    single = is_single(params)
    if single:
        raw = [dict({key: params[key]}, **{option: params[option] for option in ENTRY_OPTIONS})]
    else:
        raw = [dict(entry, state=entry["state"] or params["state"], overwrite=entry["overwrite"] or params["overwrite"])
               for entry in params["photos"] or []]
    problems = []
    for number, entry in enumerate(raw, start=1):
        where = "" if single else "photos entry %d (%s): " % (number, entry[key])
        if entry["src"] and entry["content"]:
            problems.append(where + "src and content are mutually exclusive")
        elif entry["state"] == "present" and not (entry["src"] or entry["content"]):
            problems.append(where + "state=present needs src or content")
    if problems:
        raise PhotoError("; ".join(problems))
    return [Entry(name=entry[key], **{option: entry[option] for option in ENTRY_OPTIONS}) for entry in raw]
