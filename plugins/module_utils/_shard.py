# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to the m365.photos collection: not a public API, may change without notice.
"""Which of n shards a user is in: the one definition the photo modules and the photo_sync role share.

A stable hash of the user's name in lower case (SHA-256, not Python's hash(), which changes from process to
process), so every host of a tenant, on every run and every Python, puts a user in the same shard.
"""

from __future__ import annotations

import hashlib

from ansible_collections.m365.photos.plugins.module_utils._errors import PhotoError


def shard_of(name: str, count: int) -> int:
    """The shard (0 to count - 1) the user named name is in."""
    digest = hashlib.sha256(name.strip().lower().encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % count


def check_shard(shard: dict) -> None:
    """PhotoError unless shard is {index, count} with 0 <= index < count."""
    index, count = shard.get("index"), shard.get("count")
    if not isinstance(count, int) or count < 1:
        raise PhotoError("shard.count must be at least 1, not %s." % count)
    if not isinstance(index, int) or not 0 <= index < count:
        raise PhotoError("shard.index must be between 0 and shard.count - 1 (%d), not %s." % (count - 1, index))


def in_shard(name: str, shard: dict | None) -> bool:
    """Whether the user named name belongs to shard ({index, count}); every user does without a shard."""
    return shard is None or shard_of(name, shard["count"]) == shard["index"]
