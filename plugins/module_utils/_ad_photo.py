# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to the m365.photos collection: not a public API, may change without notice.
"""What ad_thumbnail_photo does for one entry, worked out before anything is written."""

from __future__ import annotations

from dataclasses import dataclass

from ansible_collections.m365.photos.plugins.module_utils import _image, _ldap, _photo_state


@dataclass
class Plan:
    """What to do for one entry, worked out before anything is written."""

    entry: dict
    dn: str | None = None
    current: bytes | None = None
    after: bytes | None = None
    decision: _photo_state.Decision | None = None
    error: str | None = None

    def result(self, return_thumbnails: bool) -> dict:
        decision = self.decision
        result = dict(identity=self.entry["identity"], dn=self.dn, state=self.entry["state"],
                      changed=bool(decision and decision.write and not self.error), failed=self.error is not None,
                      msg=self.error or "", reason=decision.reason if decision else None,
                      before=_photo_state.facts(self.current),
                      after=_photo_state.facts(self.after if decision and not self.error else self.current))
        if decision and decision.similarity is not None:
            result["similarity"] = round(decision.similarity, 4)
        if return_thumbnails and (result["changed"] or result["failed"]):
            result.update(before_thumbnail=_photo_state.thumbnail_b64(self.current), after_thumbnail=_photo_state.thumbnail_b64(self.after))
        return result


def desired_photo(entry: dict, params: dict) -> _photo_state.DesiredPhoto:
    return _photo_state.DesiredPhoto(
        _photo_state.photo_source(entry["src"], entry["content"]), max_bytes=params["max_bytes"],
        max_dimension=params["max_dimension"], crop_mode=params["crop"], background=params["background"])


def plan(pair: tuple, params: dict) -> Plan:
    """The Plan for one (entry, user-or-LdapError) pair; runs in worker processes, so it only reads."""
    entry, user = pair
    if isinstance(user, _ldap.LdapError):
        return Plan(entry, error=str(user))
    current = user["photo"]
    outcome = Plan(entry, dn=user["dn"], current=current)
    try:
        if entry["state"] == "absent":
            outcome.decision = _photo_state.Decision(current is not None,
                                                     "removing the photo" if current else "the user has no photo")
            return outcome
        desired = entry.get("desired") or desired_photo(entry, params)
        outcome.decision = _photo_state.decide(current, desired, entry["overwrite"])
        outcome.after = desired.fitted() if outcome.decision.write else current
    except _image.ImageError as error:
        outcome.error = str(error)
    return outcome
