# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to the m365.photos collection: not a public API, may change without notice.
"""Which users a selection names in Microsoft Graph: a group's members (nested included), a $filter, or everyone.

Lists are read page by page, following @odata.nextLink (https://learn.microsoft.com/graph/paging), through the
session's request adapter, so a throttled page (429, 503, 504) is retried after its Retry-After like any call.
"""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass

from ansible_collections.m365.photos.plugins.module_utils._errors import PhotoError
from ansible_collections.m365.photos.plugins.module_utils._graph_errors import GraphError, Operation
from ansible_collections.m365.photos.plugins.module_utils._graph_users import is_object_id

# The most users or members Graph returns in one page.
PAGE_SIZE = 999
USER_FIELDS = "id,userPrincipalName"
# Application permissions, least privileged first (user-list, group-list-transitivemembers).
LIST_USERS_PERMISSION = "User.Read.All"
MEMBERS_PERMISSION = "GroupMember.Read.All (Group.Read.All or Directory.Read.All also do)"
USER_TYPE = "#microsoft.graph.user"


@dataclass(frozen=True)
class Selection:
    """The users of group (an object id), those query_filter selects, or, with neither, every user."""
    group: str | None = None
    query_filter: str | None = None

    def problem(self) -> str | None:
        if self.group is not None and not is_object_id(self.group):
            return "group must be an Entra group's object id (a GUID), not '%s'." % self.group
        if self.query_filter is not None and not self.query_filter.strip():
            return "filter is empty: give a Microsoft Graph $filter on users, or leave it out to read every user."
        return None

    def first_url(self, graph_url: str) -> str:
        """The first page: user principal names and ids only, as many a page as Graph gives."""
        if self.group is not None:
            path = "/groups/%s/transitiveMembers/microsoft.graph.user" % urllib.parse.quote(self.group, safe="")
        else:
            path = "/users"
        query = [("$filter", self.query_filter)] if self.query_filter is not None else []
        query += [("$select", USER_FIELDS), ("$top", str(PAGE_SIZE))]
        return "%s%s?%s" % (graph_url, path, urllib.parse.urlencode(query, quote_via=urllib.parse.quote, safe="$,"))

    def operation(self) -> Operation:
        if self.group is not None:
            return Operation("listing the members of group %s" % self.group, MEMBERS_PERMISSION, group=self.group)
        if self.query_filter is not None:
            return Operation("listing the users matching the filter \"%s\"" % self.query_filter, LIST_USERS_PERMISSION,
                             query_filter=self.query_filter)
        return Operation("listing the users of the tenant", LIST_USERS_PERMISSION)


def selection_of(params: dict) -> Selection | None:
    """The module's selection, or None when it names its users (users)."""
    if params.get("users") is not None:
        return None
    return Selection(group=params.get("group"), query_filter=params.get("filter"))


def _same_origin(url: str, graph_url: str) -> bool:
    link, graph = urllib.parse.urlsplit(url), urllib.parse.urlsplit(graph_url)
    return (link.scheme, link.netloc.lower()) == (graph.scheme, graph.netloc.lower())


def listed_users(objects: list, operation: Operation) -> list:
    """[{id, user_principal_name}] of the users among objects, each once, sorted by user principal name.

    Objects of other types (a cast should leave none) are skipped. A user without its user principal name is what
    Graph returns to an app that may list the members but not read users ("limited information").
    """
    users: dict = {}
    for item in objects:
        if not isinstance(item, dict) or item.get("@odata.type", USER_TYPE) != USER_TYPE or not item.get("id"):
            continue
        if not item.get("userPrincipalName"):
            raise GraphError("Microsoft Graph gave user %s without its user principal name while %s: the app may not "
                             "read users; grant it the Microsoft Graph application permission %s with admin consent."
                             % (item["id"], operation.doing, LIST_USERS_PERMISSION))
        users[item["id"]] = dict(id=item["id"], user_principal_name=item["userPrincipalName"])
    return sorted(users.values(), key=lambda user: (user["user_principal_name"].lower(), user["id"]))


async def _listed(session, selection: Selection, most: int | None = None) -> list | None:
    """Every object of the selection's pages, read in order; None once more than most are listed (the pages after
    that are not read)."""
    problem = selection.problem()
    if problem:
        raise PhotoError(problem)
    operation = selection.operation()
    graph_url = session.where.graph_url
    url, seen, objects = selection.first_url(graph_url), set(), []
    while url:
        if url in seen or not _same_origin(url, graph_url):
            raise GraphError("Microsoft Graph sent a next page link that %s while %s: %s" % (
                "repeats an earlier one" if url in seen else "leaves graph_url", operation.doing, url))
        seen.add(url)
        page = await session.get_page(operation, url)
        objects.extend(page.get("value") or [])
        if most is not None and len(objects) > most:
            return None
        url = page.get("@odata.nextLink")
    return objects


async def list_users(session, selection: Selection) -> list:
    """The selection's users ([{id, user_principal_name}], sorted), every page read; GraphError on failure."""
    return listed_users(await _listed(session, selection), selection.operation())


async def user_ids(session, most: int) -> dict | None:
    """The object id of every user of the tenant under its user principal name and its id, both in lower case (Graph
    matches either whatever the case); None when the tenant has more than most users. GraphError on failure."""
    objects = await _listed(session, Selection(), most)
    if objects is None:
        return None
    ids: dict = {}
    for item in objects:
        if isinstance(item, dict) and isinstance(item.get("id"), str) and item["id"]:
            ids[item["id"].lower()] = item["id"]
            if isinstance(item.get("userPrincipalName"), str):
                ids[item["userPrincipalName"].lower()] = item["id"]
    return ids
