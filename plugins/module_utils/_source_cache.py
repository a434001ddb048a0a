# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to the m365.photos collection: not a public API, may change without notice.
"""What a source photo gave when it was last decoded and fitted, kept between runs (the cache_dir option).

A no-change run then decides without decoding sources it has seen: an entry holds the fingerprints of the picture
as shown, the size of the photo the fit gives and the SHA-256 of the fitted bytes. An entry is keyed by the
source's SHA-256, the fitting options and _image.PIPELINE_VERSION, so a changed source, option or pipeline is a
miss. Entries only ever let a run keep a photo; what is written is always fitted afresh from the source. A
corrupt, foreign or unreadable entry is a miss, the folder can be deleted at any time, and it is pruned to
MAX_ENTRIES, the least recently used first.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import math
import os
import re
import tempfile
import time
from dataclasses import asdict, dataclass, field

from ansible_collections.m365.photos.plugins.module_utils import _image
from ansible_collections.m365.photos.plugins.module_utils._errors import PhotoError
from ansible_collections.m365.photos.plugins.module_utils._photo_files import make_private_folder, write_private

ENTRY_FORMAT = "m365.photos source cache entry"
# About 1 KB an entry: the whole cache stays near 400 MB, above a 100,000-user tenant's sources and (_photo_memory)
# current photos twice over.
MAX_ENTRIES = 400_000
# A pruned cache keeps this share of MAX_ENTRIES, so pruning is not due again on the next run.
PRUNED_SHARE = 0.9
# An entry's mtime is its last use, for pruning; it is brought up to date when it is older than this, not on every
# read (a metadata write per entry, 200,000 of them in a 100,000-user no-change run).
TOUCH_AFTER_S = 3600
SHA256_HEX = re.compile(r"[0-9a-f]{64}\Z")
_LUMA_BYTES = _image.LUMA_SIDE ** 2
_CHROMA_BYTES = 2 * _image.CHROMA_SIDE ** 2
_FINGERPRINT_VIEWS = {"shown": False, "square": True}


@dataclass
class KnownFit:
    """What the cache knows of one source under one fitting: any part may be missing (not computed yet)."""

    fingerprints: dict = field(default_factory=dict)  # square (bool) -> _image.Fingerprint
    size: tuple | None = None
    fitted_sha256: str | None = None


def entry_key(source: bytes, fitting) -> str:
    """The key of source fitted as fitting (a _desired.Fitting) by this version of the pipeline."""
    parts = [_image.PIPELINE_VERSION, hashlib.sha256(source).hexdigest(), asdict(fitting)]
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode("ascii")).hexdigest()


def fingerprint_to_json(fingerprint: _image.Fingerprint) -> dict:
    return {"aspect": fingerprint.aspect, "luma": base64.b64encode(fingerprint.luma).decode("ascii"),
            "chroma": base64.b64encode(fingerprint.chroma).decode("ascii")}


def fingerprint_from_json(value: dict) -> _image.Fingerprint | None:
    try:
        aspect = float(value["aspect"])
        luma = base64.b64decode(value["luma"], validate=True)
        chroma = base64.b64decode(value["chroma"], validate=True)
    except (KeyError, TypeError, ValueError, binascii.Error):
        return None
    if not (math.isfinite(aspect) and aspect > 0 and len(luma) == _LUMA_BYTES and len(chroma) == _CHROMA_BYTES):
        return None
    return _image.Fingerprint(aspect=aspect, luma=luma, chroma=chroma)


def _size_from_json(value) -> tuple | None:
    if (isinstance(value, list) and len(value) == 2
            and all(isinstance(side, int) and not isinstance(side, bool) and 0 < side <= _image.JPEG_MAX_SIDE
                    for side in value)):
        return tuple(value)
    return None


def _known_from_json(entry: dict) -> KnownFit | None:
    """The entry's facts, or None unless it is well formed."""
    known = KnownFit()
    fingerprints = entry.get("fingerprints")
    if not isinstance(fingerprints, dict):
        return None
    for view, square in _FINGERPRINT_VIEWS.items():
        if view in fingerprints:
            fingerprint = fingerprint_from_json(fingerprints[view])
            if fingerprint is None:
                return None
            known.fingerprints[square] = fingerprint
    if entry.get("size") is not None:
        known.size = _size_from_json(entry["size"])
        if known.size is None:
            return None
    fitted = entry.get("fitted_sha256")
    if fitted is not None:
        if not (isinstance(fitted, str) and SHA256_HEX.match(fitted)):
            return None
        known.fitted_sha256 = fitted
    return known


class SourceCache:
    """Entries as <root>/<2 hex digits>/<key>.json, mode 0600 in folders of mode 0700; read_only (check mode)
    reads entries and never writes or prunes."""

    def __init__(self, root: str, read_only: bool = False) -> None:
        self.root = root
        self.read_only = read_only

    def check(self) -> None:
        """PhotoError now, before any user is handled, when the folder cannot be made or written."""
        if self.read_only:
            return
        try:
            make_private_folder(self.root)
            # A probe of its own: shard hosts of one tenant check the same folder at the same time.
            descriptor, probe = tempfile.mkstemp(prefix=".writable.", dir=self.root)
            os.close(descriptor)
            os.unlink(probe)
        except OSError as error:
            raise PhotoError("cache_dir %s cannot be used (%s): make it a writable folder, or leave cache_dir out."
                             % (self.root, error.strerror or error))

    def _path(self, key: str) -> str:
        return os.path.join(self.root, key[:2], key + ".json")

    def read_entry(self, key: str, entry_format: str) -> dict | None:
        """The entry of entry_format stored under key; None when it is missing, unreadable, or not such an entry of
        this very key (corrupt, foreign, another kind's)."""
        path = self._path(key)
        try:
            with open(path, "rb") as handle:
                entry = json.loads(handle.read(64 * 1024))
                last_used = os.fstat(handle.fileno()).st_mtime
            if time.time() - last_used > TOUCH_AFTER_S:
                os.utime(path)
        except (OSError, ValueError):
            return None
        if not isinstance(entry, dict) or entry.get("format") != entry_format or entry.get("key") != key:
            return None
        return entry

    def write_entry(self, key: str, entry_format: str, entry: dict) -> None:
        """Best effort: a cache that cannot be written only makes the next run decode (or read) again."""
        if self.read_only:
            return
        path = self._path(key)
        try:
            make_private_folder(os.path.dirname(path))
            write_private(path, json.dumps(dict(entry, format=entry_format, key=key), sort_keys=True).encode("ascii"))
        except OSError:
            pass

    def load(self, key: str) -> KnownFit | None:
        entry = self.read_entry(key, ENTRY_FORMAT)
        return _known_from_json(entry) if entry is not None else None

    def store(self, key: str, known: KnownFit) -> None:
        self.write_entry(key, ENTRY_FORMAT, {
            "fingerprints": {view: fingerprint_to_json(known.fingerprints[square])
                             for view, square in _FINGERPRINT_VIEWS.items() if square in known.fingerprints},
            "size": list(known.size) if known.size else None, "fitted_sha256": known.fitted_sha256})

    def _entries(self) -> list:
        found = []
        try:
            shards = [shard for shard in os.scandir(self.root) if shard.is_dir() and len(shard.name) == 2]
        except OSError:
            return found
        for shard in shards:
            try:
                found.extend(entry for entry in os.scandir(shard.path) if entry.name.endswith(".json"))
            except OSError:
                continue
        return found

    def prune(self, max_entries: int = MAX_ENTRIES) -> int:
        """Remove the least recently used entries when there are more than max_entries; how many went."""
        entries = [] if self.read_only else self._entries()
        if len(entries) <= max_entries:
            return 0

        def last_used(entry) -> float:
            try:
                return entry.stat().st_mtime
            except OSError:
                return 0.0

        entries.sort(key=last_used)
        removed = 0
        for entry in entries[:len(entries) - int(max_entries * PRUNED_SHARE)]:
            try:
                os.unlink(entry.path)
                removed += 1
            except OSError:
                continue
        return removed
