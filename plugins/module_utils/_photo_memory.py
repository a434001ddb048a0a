# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to the m365.photos collection: not a public API, may change without notice.
"""What each user's current photo was when it was last read, under the server's change stamp (kept in cache_dir).

A server that says when a user (or a photo) last changed lets a no-change run decide without reading the photo
again. The stamps:
  Active Directory  the user's uSNChanged on the domain controller that answered, with that DC's invocationId:
                    USNs are each DC's own, every change to the object (a replicated one too) gives it a new one,
                    and a DC restored from a backup takes a new invocationId
  Microsoft Graph   the photo's media ETag
An entry is keyed by the backend, the realm, the user's handle (a DN, an object id) and the stamp, so a changed
user is a miss. It holds what deciding needs of the photo: whether there is one, its facts (for a directory, with
the SHA-256 of its bytes) and the fingerprint it was compared by. Entries share the source cache's folder and
rules (_source_cache): a corrupt or foreign entry is a miss, and what they say only ever lets a run keep a photo.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from ansible_collections.m365.photos.plugins.module_utils import _image
from ansible_collections.m365.photos.plugins.module_utils._decision import Current
from ansible_collections.m365.photos.plugins.module_utils._source_cache import (
    SHA256_HEX, SourceCache, fingerprint_from_json, fingerprint_to_json,
)

ENTRY_FORMAT = "m365.photos current photo entry"
_FACT_VALUE_TYPES = (str, int, type(None))
_MAX_FACTS = 16


@dataclass(frozen=True)
class Recalled:
    """A user's photo as it was at a stamp: present or not, its facts, and its comparison (fingerprint, square)."""

    present: bool
    facts: dict | None = None
    comparison: tuple | None = None

    def current(self) -> Current | None:
        """The photo as a _decision.Current whose bytes were not read (None: the user had no photo)."""
        if not self.present:
            return None
        return Current(facts=dict(self.facts or {}), digest=(self.facts or {}).get("sha256"),
                       comparison=self.comparison)


def of(current: Current | None) -> Recalled:
    """What an entry keeps of a photo as read (None: no photo)."""
    if current is None:
        return Recalled(present=False)
    return Recalled(present=True, facts=dict(current.facts), comparison=current.comparison)


def _facts_from_json(value) -> dict | None:
    if not (isinstance(value, dict) and len(value) <= _MAX_FACTS and all(
            isinstance(name, str) and isinstance(fact, _FACT_VALUE_TYPES) and not isinstance(fact, bool)
            for name, fact in value.items())):
        return None
    if value.get("sha256") is not None and not SHA256_HEX.match(value["sha256"]):
        return None
    return value


def _recalled_from_json(entry: dict) -> Recalled | None:
    if entry.get("present") is False:
        return Recalled(present=False)
    if entry.get("present") is not True:
        return None
    facts = _facts_from_json(entry.get("facts"))
    if facts is None:
        return None
    comparison = entry.get("comparison")
    if comparison is None:
        return Recalled(present=True, facts=facts)
    if not isinstance(comparison, dict) or not isinstance(comparison.get("square"), bool):
        return None
    fingerprint = fingerprint_from_json(comparison.get("fingerprint"))
    if fingerprint is None:
        return None
    return Recalled(present=True, facts=facts, comparison=(fingerprint, comparison["square"]))


def _recalled_to_json(recalled: Recalled) -> dict:
    entry = {"present": recalled.present, "facts": recalled.facts, "comparison": None}
    if recalled.comparison is not None:
        fingerprint, square = recalled.comparison
        entry["comparison"] = {"fingerprint": fingerprint_to_json(fingerprint), "square": square}
    return entry


class PhotoMemory:
    """The current photos of one backend's users in one realm, in a SourceCache's folder."""

    def __init__(self, cache: SourceCache, backend_key: str, realm: str) -> None:
        self.cache = cache
        self.scope = [backend_key, realm]

    def _key(self, ref: str, stamp: str) -> str:
        parts = [ENTRY_FORMAT, _image.PIPELINE_VERSION] + self.scope + [ref, stamp]
        return hashlib.sha256(json.dumps(parts).encode("utf-8")).hexdigest()

    def recall(self, ref: str | None, stamp: str | None) -> Recalled | None:
        """What the user's photo was at stamp, None when not known."""
        if not ref or not stamp:
            return None
        entry = self.cache.read_entry(self._key(ref, stamp), ENTRY_FORMAT)
        return _recalled_from_json(entry) if entry is not None else None

    def keep(self, ref: str | None, stamp: str | None, current: Current | None, recalled: Recalled | None) -> bool:
        """Keep the photo as this run knows it at stamp, unless recalled already said as much; whether it stored."""
        known = of(current)
        if not ref or not stamp or self.cache.read_only or known == recalled:
            return False
        self.cache.write_entry(self._key(ref, stamp), ENTRY_FORMAT, _recalled_to_json(known))
        return True
