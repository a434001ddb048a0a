# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to the m365.photos collection: not a public API, may change without notice.
"""File I/O of the photo modules: reading a source (src or base64 content), writing photos and reports.

Sources are read only from regular files and never past a byte limit (a device, a FIFO or a growing file
cannot exhaust memory or hang the task). Everything written holds photos of people, so it is private
(0600, new folders 0700) and replaced atomically through a temporary file of its own: a planted file or
symlink at the target's name is replaced, never written through.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import re
import stat
import tempfile

from ansible_collections.m365.photos.plugins.module_utils._errors import PhotoError
from ansible_collections.m365.photos.plugins.module_utils._image import ImageError
from ansible_collections.m365.photos.plugins.module_utils._limits import MAX_SOURCE_BYTES

_READ_CHUNK = 1024 * 1024
_KINDS = ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"),
          (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"))


def decode_content(content: str) -> bytes:
    """The photo given as base64 in the content option; ImageError when it is not base64."""
    try:
        return base64.b64decode("".join(content.split()), validate=True)
    except (binascii.Error, ValueError):
        raise ImageError("content is not valid base64: give the photo file base64 encoded "
                         "(for example with the b64encode filter), or use src.") from None


def _not_regular(path: str, mode: int) -> ImageError:
    kind = next((name for test, name in _KINDS if test(mode)), "not a regular file")
    return ImageError("The photo file %s is %s: give the path of a photo file." % (path, kind))


def _too_large(path: str, limit: int) -> ImageError:
    return ImageError("The photo file %s is larger than the %d bytes this collection reads; use a smaller file."
                      % (path, limit))


def check_photo_file(path: str, limit: int = MAX_SOURCE_BYTES) -> None:
    """ImageError unless path is a regular file of at most limit bytes (symlinks are followed)."""
    try:
        info = os.stat(path)
    except OSError as error:
        raise ImageError("Cannot read the photo file %s: %s" % (path, error.strerror)) from None
    if not stat.S_ISREG(info.st_mode):
        raise _not_regular(path, info.st_mode)
    if info.st_size > limit:
        raise _too_large(path, limit)


def read_photo_file(path: str, limit: int = MAX_SOURCE_BYTES) -> bytes:
    """The bytes of a regular file of at most limit bytes; ImageError for anything else."""
    try:
        # O_NONBLOCK: opening a FIFO for reading must not wait for a writer (it is refused just below).
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    except OSError as error:
        raise ImageError("Cannot read the photo file %s: %s" % (path, error.strerror)) from None
    mode = os.fstat(descriptor).st_mode
    if not stat.S_ISREG(mode):
        os.close(descriptor)
        raise _not_regular(path, mode)
    with os.fdopen(descriptor, "rb") as source:
        chunks, size = [], 0
        while size <= limit:
            chunk = source.read(min(_READ_CHUNK, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    if size > limit:
        raise _too_large(path, limit)
    return b"".join(chunks)


def read_source(src: str | None, content: str | None) -> bytes:
    """The bytes of the photo given by src (a file on the host running the module) or content (base64)."""
    if src:
        return read_photo_file(src)
    data = decode_content(content)
    if len(data) > MAX_SOURCE_BYTES:
        raise ImageError("content is %d bytes, more than the %d bytes this collection reads; use a smaller photo."
                         % (len(data), MAX_SOURCE_BYTES))
    return data


def make_private_folder(path: str) -> None:
    """Create path and its missing parents, each with mode 0700; existing folders keep their mode."""
    missing = []
    while path and not os.path.isdir(path):
        missing.append(path)
        path = os.path.dirname(path)
    for folder in reversed(missing):
        try:
            os.mkdir(folder, 0o700)
        except FileExistsError:
            if not os.path.isdir(folder):
                raise


def _written_beside(path: str, data: bytes) -> str:
    """A new private file (0600, created exclusively) beside path holding data, on disk; its path."""
    folder, name = os.path.split(path)
    descriptor, partial = tempfile.mkstemp(prefix=".%s." % name, suffix=".partial", dir=folder or ".")
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        os.unlink(partial)
        raise
    return partial


def write_private(path: str, data: bytes) -> None:
    """Replace path atomically with data, mode 0600."""
    partial = _written_beside(path, data)
    try:
        os.replace(partial, path)
    except OSError:
        os.unlink(partial)
        raise


def write_new(path: str, data: bytes) -> None:
    """Create path with data, mode 0600, whole or not at all; FileExistsError when the name is taken."""
    partial = _written_beside(path, data)
    try:
        os.link(partial, path)  # link() never replaces an existing name
    finally:
        os.unlink(partial)


def safe_file_name(name: str) -> str:
    """name (a UPN, say) as a file name: letters, digits, @ . _ - kept, anything else replaced."""
    return re.sub(r"[^A-Za-z0-9@._-]", "_", name).lstrip(".") or "_"


def name_hash(name: str) -> str:
    """A short hash of name, appended to a file name to tell apart names that safe_file_name makes alike."""
    return hashlib.sha256(name.encode("utf-8")).hexdigest()[:8]


class PhotoExport:
    """Photos exported into one folder as <name>.<ext>, one per user.

    Two users whose names make the same file name (a b@x and a_b@x) do not overwrite each other: the later
    one's file gets a short hash of its name appended, and warnings() says so. In check mode nothing is
    written, and the paths are where the photos would go.
    """

    def __init__(self, dest: str, check_mode: bool) -> None:
        self.dest = dest
        self.check_mode = check_mode
        self._owners: dict = {}  # file name (lower case: file systems may ignore case) -> user name
        self._collisions: list = []

    def open(self) -> None:
        if not self.check_mode:
            try:
                make_private_folder(self.dest)
            except OSError as error:
                raise PhotoError("Cannot export photos to %s: %s." % (self.dest, error.strerror or error)) from None

    def write(self, photo: bytes, name: str, extension: str = "jpg") -> str:
        file_name = "%s.%s" % (safe_file_name(name), extension)
        owner = self._owners.setdefault(file_name.lower(), name)
        if owner != name:
            file_name = "%s-%s.%s" % (safe_file_name(name), name_hash(name), extension)
            self._collisions.append("%s (as %s, since %s has %s.%s)" % (
                name, file_name, owner, safe_file_name(owner), extension))
        path = os.path.join(self.dest, file_name)
        if not self.check_mode:
            try:
                write_private(path, photo)
            except OSError as error:
                raise PhotoError("Cannot export the photo of %s to %s: %s." % (
                    name, path, error.strerror or error)) from None
        return path

    def warnings(self) -> list:
        if not self._collisions:
            return []
        return ["%d users' names make a file name another user's photo already has, so their photos were exported "
                "under names with a hash appended: %s." % (len(self._collisions), "; ".join(self._collisions[:20]))]
