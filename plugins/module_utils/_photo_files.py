# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to the m365.photos collection: not a public API, may change without notice.
"""File I/O of the photo modules: reading a source (src or base64 content), exporting photos to a folder."""

from __future__ import annotations

import base64
import binascii
import os
import re

from ansible_collections.m365.photos.plugins.module_utils._image import ImageError


def decode_content(content: str) -> bytes:
    """The photo given as base64 in the content option; ImageError when it is not base64."""
    try:
        return base64.b64decode("".join(content.split()), validate=True)
    except (binascii.Error, ValueError):
        raise ImageError("content is not valid base64: give the photo file base64 encoded "
                         "(for example with the b64encode filter), or use src.") from None


def read_source(src: str | None, content: str | None) -> bytes:
    """The bytes of the photo given by src (a file on the host running the module) or content (base64)."""
    if src:
        try:
            with open(src, "rb") as source:
                return source.read()
        except OSError as error:
            raise ImageError("Cannot read the photo file %s: %s" % (src, error.strerror)) from None
    return decode_content(content)


def export_photo(photo: bytes, name: str, dest: str, extension: str = "jpg") -> str:
    """Write photo into folder dest as <name>.<extension>; name (a UPN, say) is made safe as a file name."""
    safe_name = re.sub(r"[^A-Za-z0-9@._-]", "_", name).lstrip(".")
    path = os.path.join(dest, "%s.%s" % (safe_name, extension))
    with open(path, "wb") as target:
        target.write(photo)
    return path
