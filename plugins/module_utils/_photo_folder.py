# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to the m365.photos collection: not a public API, may change without notice.
"""photos_from and shard, the options both photo modules share for a whole folder of photos (documented by the
m365.photos._photo_folder doc fragment): the folder listed into engine entries, and what maps to no user."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

from ansible_collections.m365.photos.plugins.module_utils import _shard
from ansible_collections.m365.photos.plugins.module_utils._converge import Entry
from ansible_collections.m365.photos.plugins.module_utils._errors import PhotoError
from ansible_collections.m365.photos.plugins.module_utils._graph_users import is_object_id, user_problem

# The photo_sync role's find patterns, matched case-insensitively.
PHOTO_EXTENSIONS = (".jpg", ".jpeg", ".png", ".gif", ".webp", ".bmp", ".tif", ".tiff")
# The keys each module's user option (identity for AD, user for Graph) can be named by.
FOLDER_KEYS = {"identity": ["upn", "sam_account_name", "object_id"], "user": ["upn", "object_id"]}
# Characters AD refuses in a sAMAccountName (and "@", which would make the name a userPrincipalName).
_NOT_IN_SAM_ACCOUNT_NAME = re.compile(r"[\"/\\\[\]:;|=,+*?<>@\s\x00-\x1f]")


def argument_spec(key: str) -> dict:
    return {
        "photos_from": dict(type="dict", options={
            "path": dict(type="path", required=True),
            "key": dict(type="str", default="upn", choices=FOLDER_KEYS[key]),
            "domains": dict(type="list", elements="str"),
        }),
        "shard": dict(type="dict", options={
            "index": dict(type="int", required=True),
            "count": dict(type="int", required=True),
        }),
    }


def mutually_exclusive(key: str) -> list:
    return [[key, "photos_from"], ["photos_from", "src"], ["photos_from", "content"], [key, "shard"]]


def key_problem(stem: str, key: str) -> str | None:
    """Why a file named stem (its name without extension) cannot name a user by key, or None."""
    if key == "object_id":
        return None if is_object_id(stem) else "the file name is not an object id (a GUID such as 7c3a3f0e-6a43-...)"
    if key == "upn":
        if is_object_id(stem) or user_problem(stem):
            return "the file name is not a user principal name (alice@corp.example.com)"
        return None
    if not stem or len(stem) > 20 or _NOT_IN_SAM_ACCOUNT_NAME.search(stem) or stem.strip(".") != stem:
        return ("the file name is not a sAMAccountName (at most 20 characters, none of \" / \\ [ ] : ; | = , + * ? < > @ "
                "or spaces)")
    return None


def photo_files(path: str) -> list:
    """[(stem, file path)] of the photo files directly in path (not hidden, not in subfolders), sorted by name;
    PhotoError when path is no folder or holds no photo file."""
    try:
        with os.scandir(path) as listing:
            files = sorted((item.name, item.path) for item in listing
                           if not item.name.startswith(".") and item.name.lower().endswith(PHOTO_EXTENSIONS)
                           and item.is_file())
    except FileNotFoundError:
        raise PhotoError("photos_from.path %s does not exist on the host running the module: give the folder holding "
                         "the photos." % path) from None
    except NotADirectoryError:
        raise PhotoError("photos_from.path %s is a file, not a folder: give the folder holding the photos, or use "
                         "src for one photo." % path) from None
    except OSError as error:
        raise PhotoError("Cannot list the photos in photos_from.path %s: %s." % (path, error.strerror or error)) from None
    if not files:
        raise PhotoError("photos_from.path %s holds no photo file (%s): check the folder, or leave photos_from out."
                         % (path, ", ".join(PHOTO_EXTENSIONS)))
    return [(os.path.splitext(name)[0], file) for name, file in files]


def _in_domains(stem: str, domains: list | None) -> bool:
    return not domains or stem.rpartition("@")[2].lower() in {domain.lower().lstrip("@") for domain in domains}


@dataclass
class Folder:
    """A photos_from folder, listed: an entry per file that names a user, and the files that name none."""

    key: str  # the module's user option: identity or user
    entries: list = field(default_factory=list)
    files: dict = field(default_factory=dict)  # user name, lower case -> its file
    unmatched: list = field(default_factory=list)  # {"file", key, "why"}

    def no_user(self, file: str, stem: str, why: str) -> None:
        self.unmatched.append({"file": file, self.key: stem, "why": why})

    def run_entries(self, entries: list) -> list:
        """The run's entries: the folder's, but for users one of entries names (that entry wins), then entries.
        files keeps only the users the run takes from the folder."""
        named = {entry.name.lower() for entry in entries}
        self.files = {name: file for name, file in self.files.items() if name not in named}
        return [entry for entry in self.entries if entry.name.lower() not in named] + entries


def in_shard(entries: list, shard: dict | None) -> list:
    """The entries whose user is in shard (every entry without one)."""
    return [entry for entry in entries if _shard.in_shard(entry.name, shard)]


def listed(params: dict, key: str) -> Folder | None:
    """The photos_from folder as entries of params' state and overwrite (None without photos_from); the files of
    other shards and, with domains, of other domains left out; PhotoError when two files name one user."""
    options = params.get("photos_from")
    if options is None:
        return None
    if options["domains"] and options["key"] != "upn":
        raise PhotoError("photos_from.domains selects users by the domain of their user principal name: it needs "
                         "photos_from.key=upn, not %s." % options["key"])
    folder = Folder(key)
    for stem, file in photo_files(options["path"]):
        if not _shard.in_shard(stem, params.get("shard")):
            continue
        problem = key_problem(stem, options["key"])
        if problem:
            folder.no_user(file, stem, problem)
            continue
        if not _in_domains(stem, options["domains"]):
            continue
        other = folder.files.setdefault(stem.lower(), file)
        if other != file:
            raise PhotoError("Two photos in %s are for the user %s: %s and %s. Keep one of them."
                             % (options["path"], stem, os.path.basename(other), os.path.basename(file)))
        folder.entries.append(Entry(name=stem, state=params["state"], src=file, overwrite=params["overwrite"]))
    return folder


def run_entries(params: dict, key: str, entries: list) -> tuple:
    """(the photos_from folder listed or None, the entries of the run): the folder's and entries (the task's photos
    entries), those of other shards left out."""
    shard = params.get("shard")
    if shard is not None:
        _shard.check_shard(shard)
    folder = listed(params, key)
    if folder is not None:
        entries = folder.run_entries(entries)
    return folder, in_shard(entries, shard)


def without_unknown_users(results: list, folder: Folder | None) -> list:
    """results but those of folder files whose user the directory does not know, which go to folder.unmatched."""
    kept = []
    for result in results:
        unknown = result.pop("unknown_user", False)
        file = folder.files.get(str(result[folder.key]).lower()) if folder is not None and unknown else None
        if file is not None:
            folder.no_user(file, result[folder.key], result["msg"])
        else:
            kept.append(result)
    if folder is not None:
        folder.unmatched.sort(key=lambda item: item["file"])
    return kept


def unmatched_warning(folder: Folder) -> str | None:
    if not folder.unmatched:
        return None
    shown = ", ".join("%s (%s)" % (os.path.basename(item["file"]), item["why"]) for item in folder.unmatched[:20])
    more = " and %d more" % (len(folder.unmatched) - 20) if len(folder.unmatched) > 20 else ""
    return ("%d photo files map to no user and were left out (see unmatched): %s%s."
            % (len(folder.unmatched), shown, more))
