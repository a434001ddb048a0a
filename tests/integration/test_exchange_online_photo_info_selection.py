"""exchange_online_photo_info selecting its users by group, by filter, or every user of the tenant.

A private emulator serves this file: its contoso tenant has 250 users in select.example, and a page holds at most
100 users or members (Graph's own limit is 999), so listing every user takes three pages. What is asserted is
what the emulator holds (its groups, users and request log), not only what the module said.
"""

from __future__ import annotations

import io

import pytest
from PIL import Image

from graph_sandbox import Sandbox, paged_emulator
from photo_fixtures import fixture_bytes, jpeg
from playbook_runner import run_task, run_tasks

DOMAIN = "select.example"
COUNT = 250
PAGE = 100
OUTER = "3c9e1f6a-2b4d-4f8e-9a7c-5d1b2e3f4a6b"
INNER = "8d2f4a6c-1e3b-4d5f-8a9c-7b6e5d4c3b2a"
MAIN_ROLES = ["ProfilePhoto.ReadWrite.All", "User.Read.All", "PeopleSettings.Read.All"]


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    emulator = paged_emulator(tmp_path_factory.mktemp("graph-select"), DOMAIN, COUNT, PAGE)
    yield Sandbox(emulator)
    emulator.stop()


@pytest.fixture(autouse=True)
def seed_state(sandbox):
    sandbox.admin("POST", "/reset")


def user(number: int) -> str:
    return "user%04d@%s" % (number, DOMAIN)


def info(**options) -> dict:
    return {"m365.photos.exchange_online_photo_info": options}


def grant(sandbox: Sandbox, roles: list) -> None:
    sandbox.admin("PUT", "/tenants/contoso/apps/%s/roles" % sandbox.env["SANDBOX_CLIENT_ID"], {"roles": roles})


def nested_groups(sandbox: Sandbox) -> None:
    """INNER: users 7, 3 and 250 and a device; OUTER: users 5, 1 and 3, INNER, and a device."""
    sandbox.admin("PUT", "/tenants/contoso/groups/%s" % INNER,
                  {"displayName": "Photo team", "members": [user(7), user(3), user(250)], "devices": ["kiosk"]})
    sandbox.admin("PUT", "/tenants/contoso/groups/%s" % OUTER,
                  {"displayName": "Everyone photographed", "members": [user(5), user(1), sandbox.user_id(3)],
                   "groups": [INNER], "devices": ["lobby screen"]})


def graph_requests(sandbox: Sandbox, pattern: str) -> dict:
    return sandbox.admin("GET", "/log")["by_endpoint"].get(pattern, {"count": 0, "statuses": {}})


def test_a_group_selects_exactly_its_users_nested_groups_included(sandbox):
    nested_groups(sandbox)
    grant(sandbox, MAIN_ROLES + ["GroupMember.Read.All"])
    sandbox.store(user(3), jpeg(Image.open(io.BytesIO(fixture_bytes("coffee.jpg")))))
    outcome = run_task(info(group=OUTER), module_defaults=sandbox.defaults())
    assert not outcome.failed and not outcome.changed, outcome.msg
    entries = outcome.result["users"]
    numbers = [1, 250, 3, 5, 7]  # sorted by user principal name: user0001, user0003, user0005, user0007, user0250
    numbers.sort(key=user)
    assert [entry["user"] for entry in entries] == [user(n) for n in numbers]
    assert [entry["user_principal_name"] for entry in entries] == [user(n) for n in numbers]
    assert [entry["id"] for entry in entries] == [sandbox.user_id(n) for n in numbers]
    assert [entry["user"] for entry in entries if entry["has_photo"]] == [user(3)]
    with_photo = entries[1]
    stored = sandbox.admin("GET", "/tenants/contoso/users/%s/photo" % user(3), raw=True)[1]
    assert with_photo["etag"] == stored["X-Sandbox-Photo-Etag"]
    assert with_photo["width"] == int(stored["X-Sandbox-Photo-Width"])
    # One page of members, cast to users; then one photo read per member, no look-up of users already named.
    assert graph_requests(sandbox, "GET /groups/{group}/transitiveMembers/{cast}")["count"] == 1
    assert graph_requests(sandbox, "GET /users/{user}/photo")["count"] == 5
    assert graph_requests(sandbox, "GET /users/{user}")["count"] == 0


def test_a_filter_selects_the_users_graph_matches_across_pages(sandbox):
    query = "startswith(userPrincipalName,'user01') or userPrincipalName eq '%s'" % user(2)
    outcome = run_task(info(filter=query), module_defaults=sandbox.defaults())
    assert not outcome.failed, outcome.msg
    assert [entry["user"] for entry in outcome.result["users"]] == [user(2)] + [user(n) for n in range(100, 200)]
    assert graph_requests(sandbox, "GET /users")["count"] == 2  # 101 users: two pages of at most 100


def test_every_user_of_the_tenant_in_pages_sorted_and_a_throttled_page_retried(sandbox):
    sandbox.admin("POST", "/faults", {"status": 429, "retry_after": 1, "match": "/users", "count": 1})
    outcome = run_task(info(), module_defaults=sandbox.defaults())
    assert not outcome.failed, outcome.msg
    entries = outcome.result["users"]
    assert [entry["user"] for entry in entries] == [user(n) for n in range(1, COUNT + 1)]
    assert len({entry["id"] for entry in entries}) == COUNT and not any(entry["has_photo"] for entry in entries)
    # The emulator lists users by object id, not by name: the order is the module's own.
    assert graph_requests(sandbox, "GET /users")["statuses"] == {"429": 1, "200": 3}


def test_a_throttled_member_page_is_retried(sandbox):
    nested_groups(sandbox)
    grant(sandbox, MAIN_ROLES + ["GroupMember.Read.All"])
    sandbox.admin("POST", "/faults", {"status": 429, "retry_after": 1, "match": "/transitiveMembers", "count": 2})
    outcome = run_task(info(group=INNER), module_defaults=sandbox.defaults())
    assert not outcome.failed, outcome.msg
    assert [entry["user"] for entry in outcome.result["users"]] == [user(3), user(7), user(250)]
    assert graph_requests(sandbox, "GET /groups/{group}/transitiveMembers/{cast}")["statuses"] == {"429": 2, "200": 1}


def test_selection_errors_are_sentences(sandbox):
    nested_groups(sandbox)
    grant(sandbox, MAIN_ROLES + ["GroupMember.Read.All"])
    unknown_group = "00000000-0000-4000-8000-000000000000"
    both, three, unknown, not_a_guid, unsupported, syntax = run_tasks([
        info(users=[user(1)], group=OUTER),
        info(users=[user(1)], group=OUTER, filter="accountEnabled eq true"),
        info(group=unknown_group),
        info(group="photo-team"),
        info(filter="department ne 'Sales'"),
        info(filter="department eq"),
    ], module_defaults=sandbox.defaults())
    assert both.failed and "mutually exclusive" in both.msg and "users" in both.msg and "group" in both.msg
    assert three.failed and "mutually exclusive" in three.msg
    assert unknown.failed and unknown.msg.startswith("No Entra group has the object id '%s'" % unknown_group)
    assert "Request_ResourceNotFound" in unknown.msg
    assert not_a_guid.failed and "group must be an Entra group's object id (a GUID), not 'photo-team'" in not_a_guid.msg
    for refused, text in ((unsupported, "department ne 'Sales'"), (syntax, "department eq")):
        assert refused.failed and "refused the user filter \"%s\"" % text in refused.msg, refused.msg
        assert "HTTP 400" in refused.msg
    assert graph_requests(sandbox, "GET /users/{user}/photo")["count"] == 0


def test_refused_permissions_name_the_permission_to_grant(sandbox):
    nested_groups(sandbox)
    env = sandbox.env
    read_only = sandbox.defaults(client_id=env["SANDBOX_READONLY_CLIENT_ID"],
                                 client_secret=env["SANDBOX_READONLY_CLIENT_SECRET"])
    no_group_permission = run_task(info(group=OUTER), module_defaults=sandbox.defaults())  # main's roles as seeded
    assert no_group_permission.failed and "listing the members of group %s was refused" % OUTER in no_group_permission.msg
    assert "Authorization_RequestDenied" in no_group_permission.msg
    assert "Grant it the Microsoft Graph application permission GroupMember.Read.All" in no_group_permission.msg
    # The read-only app as seeded holds User.Read.All (to look users up); without it, it may not list users.
    sandbox.admin("PUT", "/tenants/contoso/apps/%s/roles" % env["SANDBOX_READONLY_CLIENT_ID"],
                  {"roles": ["ProfilePhoto.Read.All"]})
    cannot_list = run_task(info(filter="accountEnabled eq false"), module_defaults=read_only)
    assert cannot_list.failed and "application permission User.Read.All" in cannot_list.msg, cannot_list.msg
    # May list the members but not read users: Graph hides their names ("limited information").
    grant(sandbox, ["ProfilePhoto.Read.All", "GroupMember.Read.All"])
    nameless = run_task(info(group=OUTER), module_defaults=sandbox.defaults())
    assert nameless.failed and "without its user principal name" in nameless.msg
    assert "application permission User.Read.All" in nameless.msg


def test_check_mode_reads_the_group_and_exports_nothing(sandbox, tmp_path):
    nested_groups(sandbox)
    grant(sandbox, MAIN_ROLES + ["GroupMember.Read.All"])
    for number in (3, 250):
        sandbox.store(user(number), jpeg(Image.open(io.BytesIO(fixture_bytes("rocket.jpg")))))
    dest = tmp_path / "export"
    outcome = run_task(info(group=INNER, dest=str(dest)), module_defaults=sandbox.defaults(), check=True)
    assert not outcome.failed and not outcome.changed, outcome.msg
    paths = {entry["user"]: entry.get("path") for entry in outcome.result["users"]}
    assert set(paths) == {user(3), user(7), user(250)} and paths[user(7)] is None
    assert paths[user(3)].startswith(str(dest)) and paths[user(250)].startswith(str(dest))
    assert not dest.exists()
    # Reads only: plain GETs and $batch requests whose items are all GETs.
    requests = [request for request in sandbox.requests() if request["path"].startswith("/v1.0") or request["batch_item"]]
    assert all(request["method"] == "GET" or request["path"].endswith("/$batch") for request in requests), requests
    assert any(request["batch_item"] for request in requests)
