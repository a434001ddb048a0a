# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to the m365.photos collection: not a public API, may change without notice.
"""exchange_online_photo_info's reads, in $batch requests of 20 like the photo module's look-ups (_graph_backend).

Per user its look-up (unless a listing already named it) and its photo's metadata; then, to return or export
them, the photos at the size asked for, and the largest size where that one is missing.
"""

from __future__ import annotations

import base64

from ansible_collections.m365.photos.plugins.module_utils import _graph_batch, _graph_photo_answers as answers
from ansible_collections.m365.photos.plugins.module_utils._graph_errors import (
    READ_PERMISSION, USER_PERMISSION, GraphError, Operation,
)
from ansible_collections.m365.photos.plugins.module_utils._graph_users import user_path, user_problem
from ansible_collections.m365.photos.plugins.module_utils._limits import GRAPH_DEFAULT_CONCURRENCY, GRAPH_READ_CEILING


class InfoReader:
    """Reads users' photo facts (and photos) through one session, within a budget that ramps up until throttled."""

    def __init__(self, session, params: dict, export=None) -> None:
        self.session = session
        budget = _graph_batch.RequestBudget(GRAPH_DEFAULT_CONCURRENCY, ceiling=GRAPH_READ_CEILING)
        self.runner = _graph_batch.BatchRunner(session.post_batch, GRAPH_DEFAULT_CONCURRENCY, budget=budget)
        self.params = params
        self.export = export

    def _explain(self, answer, operation: Operation) -> str:
        return self.session.explain_answer(answer, operation)

    async def read(self, wanted: list) -> list:
        """One entry per (user, found) in wanted, found being {id, user_principal_name} or None to look it up."""
        items = []
        for index, (user, found) in enumerate(wanted):
            if found is None:
                problem = user_problem(user)
                if problem:
                    raise GraphError(problem)
                items.append(_graph_batch.Item((index, "user"), "GET", user_path(user) + "?$select=id,userPrincipalName"))
            items.append(_graph_batch.Item((index, "photo"), "GET", user_path(found["id"] if found else user) + "/photo"))
        read = _graph_batch.by_key(items, await self.runner.run(items))
        entries = [self._entry(user, found, read[index]) for index, (user, found) in enumerate(wanted)]
        if self.params["return_content"] or self.export is not None:
            await self._add_photos([entry for entry in entries if entry["has_photo"]])
        for entry in entries:
            entry.pop("side", None)
        return entries

    def _entry(self, user: str, found: dict | None, read: dict) -> dict:
        if found is None:
            lookup = read["user"]
            if not lookup.ok:
                raise GraphError(self._explain(lookup, Operation("looking up user '%s'" % user, USER_PERMISSION, user=user)))
            body = lookup.body if isinstance(lookup.body, dict) else {}
            if not body.get("id"):
                raise GraphError("Microsoft Graph answered the look-up of user '%s' without an id." % user)
            found = dict(id=body["id"], user_principal_name=body.get("userPrincipalName"))
        entry = dict(user=user, id=found["id"], user_principal_name=found["user_principal_name"],
                     has_photo=False, width=None, height=None, etag=None)
        photo = read["photo"]
        if answers.no_photo(photo):
            return entry
        if not photo.ok:
            entry.update(has_photo=None, error=self._explain(photo, Operation(
                "reading the photo of %s" % user, READ_PERMISSION, photo=True)))
            return entry
        metadata = answers.metadata(photo)
        entry.update(metadata.facts(), has_photo=True, side=metadata.side)
        return entry

    async def _add_photos(self, entries: list) -> None:
        """Each entry's photo at size (the largest where the user has no such size), returned or exported."""
        wanted = self.params["size"]
        sized = [entry for entry in entries if wanted and wanted <= entry["side"]]
        photos = await self._download(sized, "/photos/%dx%d/$value" % (wanted, wanted)) if sized else []
        largest = [entry for entry in entries if not (wanted and wanted <= entry["side"])]
        largest += [entry for entry, photo in zip(sized, photos) if photo is None and "error" not in entry]
        for entry, photo in list(zip(sized, photos)) + list(zip(largest, await self._download(largest, "/photo/$value"))):
            if photo is None:
                continue
            if self.params["return_content"]:
                entry["content"] = base64.b64encode(photo).decode("ascii")
            if self.export is not None:
                entry["path"] = self.export.write(photo, entry["user_principal_name"] or entry["id"])

    async def _download(self, entries: list, suffix: str) -> list:
        """The bytes at user_path + suffix per entry; None where the size is missing, or failed (entry["error"])."""
        if not entries:
            return []
        items = [_graph_batch.Item(index, "GET", user_path(entry["id"]) + suffix) for index, entry in enumerate(entries)]
        photos = []
        for entry, answer in zip(entries, await self.runner.run(items)):
            photos.append(answers.picture(answer))
            if photos[-1] is None and not answers.no_photo(answer):
                entry["error"] = self._explain(answer, Operation("downloading the photo of %s" % entry["user"],
                                                                 READ_PERMISSION, photo=True))
        return photos
