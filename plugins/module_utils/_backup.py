# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to the m365.photos collection: not a public API, may change without notice.
"""Backups of the photos the engine replaces or removes: backup_dir/<realm>/<user>/<UTC time>.<ext>.

A backup is created exclusively (never over an existing file, never through a symlink), mode 0600 in
folders of mode 0700, and only then may the photo it keeps be replaced. One run stamps all its backups with
one time, so a run's backups are told apart by their names.
"""

from __future__ import annotations

import datetime
import os
import re

from ansible_collections.m365.photos.plugins.module_utils import _image
from ansible_collections.m365.photos.plugins.module_utils._photo_files import (
    make_private_folder, name_hash, safe_file_name, write_new,
)

EXTENSIONS = {"JPEG": "jpg", "PNG": "png", "GIF": "gif", "WEBP": "webp", "BMP": "bmp", "TIFF": "tif"}
# Bytes that are no picture are kept as they are too: they are what the server held.
UNKNOWN_EXTENSION = "bin"
STAMP_FORMAT = "%Y%m%dT%H%M%S.%fZ"
BACKUP_NAME = re.compile(r"^\d{8}T\d{6}\.\d{6}Z\.[a-z]+$")


def folder_name(name: str) -> str:
    """A file-system-safe folder name for a user or realm, distinct for distinct names (case aside: UPNs,
    sAMAccountNames, DNs and domains are all case-insensitive)."""
    lowered = name.lower()
    safe = safe_file_name(lowered)
    return safe if safe == lowered else "%s-%s" % (safe, name_hash(lowered))


def extension(photo: bytes | None) -> str:
    """The file extension for photo's format; for a photo not read yet (check mode), a JPEG's, the only
    format Microsoft Graph serves (a directory's photos are always read)."""
    if photo is None:
        return EXTENSIONS["JPEG"]
    try:
        format_name = _image.describe(photo)["format"]
    except _image.ImageError:
        format_name = None
    return EXTENSIONS.get((format_name or "").upper(), UNKNOWN_EXTENSION)


class Backups:
    """Where one run keeps the photos it replaces; keep: how many backups per user stay."""

    def __init__(self, root: str, keep: int, now: datetime.datetime | None = None) -> None:
        self.root = root
        self.keep = keep
        self.stamp = (now or datetime.datetime.now(datetime.timezone.utc)).strftime(STAMP_FORMAT)

    def path(self, realm: str, user: str, ext: str) -> str:
        return os.path.join(self.root, folder_name(realm), folder_name(user), "%s.%s" % (self.stamp, ext))

    def write(self, realm: str, user: str, photo: bytes) -> str:
        """Keep photo as the backup of user in realm and return its path; OSError when it cannot be kept."""
        path = self.path(realm, user, extension(photo))
        folder = os.path.dirname(path)
        make_private_folder(folder)
        write_new(path, photo)
        self._prune(folder)
        return path

    def _prune(self, folder: str) -> None:
        """Remove the oldest backups of a user beyond keep (only files this class names)."""
        backups = sorted(name for name in os.listdir(folder) if BACKUP_NAME.match(name))
        for name in backups[:-self.keep]:
            os.unlink(os.path.join(folder, name))
