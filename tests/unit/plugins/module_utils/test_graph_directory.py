"""Selecting users in Graph: the first page's URL, following every next page, and what a listing yields."""

from __future__ import annotations

import asyncio
import types
import urllib.parse

import pytest

from ansible_collections.m365.photos.plugins.module_utils import _graph_directory
from ansible_collections.m365.photos.plugins.module_utils._errors import PhotoError
from ansible_collections.m365.photos.plugins.module_utils._graph_directory import Selection
from ansible_collections.m365.photos.plugins.module_utils._graph_errors import GraphError

GRAPH = "https://graph.example:8443/v1.0"
GROUP = "3c9e1f6a-2b4d-4f8e-9a7c-5d1b2e3f4a6b"


def user(number: int, upn: str | None = None, odata_type: str | None = "#microsoft.graph.user") -> dict:
    item = {"id": "id-%d" % number, "userPrincipalName": upn or "user%04d@x.example" % number}
    if odata_type:
        item["@odata.type"] = odata_type
    return item


class FakeSession:
    """Answers get_page from pages keyed by URL, and records the URLs asked for."""

    def __init__(self, pages: dict) -> None:
        self.pages = pages
        self.asked: list = []
        self.where = types.SimpleNamespace(graph_url=GRAPH)

    async def get_page(self, operation, url):
        self.asked.append(url)
        return self.pages[url]


def listing(selection: Selection, pages: dict) -> tuple:
    session = FakeSession(pages)
    return asyncio.run(_graph_directory.list_users(session, selection)), session.asked


@pytest.mark.parametrize("selection, path, query", [
    (Selection(group=GROUP), "/groups/%s/transitiveMembers/microsoft.graph.user" % GROUP, {}),
    (Selection(), "/users", {}),
    (Selection(query_filter="department eq 'R&D' and startswith(displayName,'A+B #1')"), "/users",
     {"$filter": "department eq 'R&D' and startswith(displayName,'A+B #1')"}),
])
def test_the_first_page_asks_for_ids_and_names_999_at_a_time(selection, path, query):
    url = urllib.parse.urlsplit(selection.first_url(GRAPH))
    assert "%s://%s%s" % (url.scheme, url.netloc, url.path) == GRAPH + path
    assert dict(urllib.parse.parse_qsl(url.query)) == dict(query, **{"$select": "id,userPrincipalName", "$top": "999"})
    if query:
        encoded_filter = url.query.partition("&$select=")[0].partition("$filter=")[2]
        assert not any(character in encoded_filter for character in " +#&'")  # percent-encoded, whole


def test_every_page_is_read_and_the_users_come_sorted_by_name_each_once():
    first = Selection().first_url(GRAPH)
    second, third = GRAPH + "/users?$skiptoken=a", GRAPH + "/users?$skiptoken=b"
    users, asked = listing(Selection(), {
        first: {"value": [user(3), user(1, "Zed@x.example")], "@odata.nextLink": second},
        second: {"value": [user(2, "alice@x.example"), user(3)], "@odata.nextLink": third},
        third: {"value": [user(4, "Bob@x.example", odata_type=None)]},
    })
    assert asked == [first, second, third]
    assert [entry["user_principal_name"] for entry in users] == [
        "alice@x.example", "Bob@x.example", "user0003@x.example", "Zed@x.example"]
    assert users[0] == {"id": "id-2", "user_principal_name": "alice@x.example"}


def test_members_that_are_not_users_are_left_out():
    users = listing(Selection(group=GROUP), {Selection(group=GROUP).first_url(GRAPH): {"value": [
        user(1), {"@odata.type": "#microsoft.graph.device", "id": "d1", "displayName": "kiosk"},
        {"@odata.type": "#microsoft.graph.group", "id": "g1"}, "junk", {"@odata.type": "#microsoft.graph.user"}]}})[0]
    assert [entry["id"] for entry in users] == ["id-1"]


def test_a_user_without_its_name_asks_for_user_read_all():
    first = Selection(group=GROUP).first_url(GRAPH)
    with pytest.raises(GraphError, match="without its user principal name.*User.Read.All"):
        listing(Selection(group=GROUP), {first: {"value": [{"@odata.type": "#microsoft.graph.user", "id": "x",
                                                            "userPrincipalName": None}]}})


@pytest.mark.parametrize("link, words", [
    ("https://elsewhere.example/v1.0/users?$skiptoken=a", "leaves graph_url"),
    (None, "repeats an earlier one"),
])
def test_a_next_link_elsewhere_or_in_a_loop_is_refused(link, words):
    first = Selection().first_url(GRAPH)
    with pytest.raises(GraphError, match=words):
        listing(Selection(), {first: {"value": [], "@odata.nextLink": link or first}})


@pytest.mark.parametrize("selection, words", [
    (Selection(group="photo-team"), "object id \\(a GUID\\), not 'photo-team'"),
    (Selection(query_filter="  "), "filter is empty"),
])
def test_a_bad_selection_fails_before_any_request(selection, words):
    session = FakeSession({})
    with pytest.raises(PhotoError, match=words):
        asyncio.run(_graph_directory.list_users(session, selection))
    assert not session.asked


def test_the_selection_comes_from_the_options():
    assert _graph_directory.selection_of(dict(users=[], group=None, filter=None)) is None
    assert _graph_directory.selection_of(dict(users=None, group=GROUP, filter=None)) == Selection(group=GROUP)
    assert _graph_directory.selection_of(dict(users=None, group=None, filter=None)) == Selection()
    assert "GroupMember.Read.All" in Selection(group=GROUP).operation().permission
    assert Selection(query_filter="a eq 'b'").operation().permission == "User.Read.All"


def test_the_ids_of_every_user_are_found_by_name_or_id_whatever_the_case():
    first, second = Selection().first_url(GRAPH), GRAPH + "/users?$skiptoken=a"
    session = FakeSession({first: {"value": [user(1, "Alice@X.example")], "@odata.nextLink": second},
                           second: {"value": [{"id": "AB-2", "userPrincipalName": None}, "junk", {"id": ""}]}})
    ids = asyncio.run(_graph_directory.user_ids(session, 4))
    assert ids == {"id-1": "id-1", "alice@x.example": "id-1", "ab-2": "AB-2"}
    assert session.asked == [first, second]


def test_the_listing_stops_reading_pages_once_the_tenant_has_more_users_than_asked_for():
    first, second = Selection().first_url(GRAPH), GRAPH + "/users?$skiptoken=a"
    session = FakeSession({first: {"value": [user(1), user(2)], "@odata.nextLink": second},
                           second: {"value": [user(3)]}})
    assert asyncio.run(_graph_directory.user_ids(session, 1)) is None
    assert session.asked == [first]
