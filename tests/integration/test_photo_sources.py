"""The photo_sync role with AD or the cloud as the source of the photos: Microsoft's hybrid case, from a broken start.

The users are this file's own: 13 in OU=SourceTest of the sandbox DC (removed afterwards) with the UPN suffix
source.example, and the same users in a private Graph emulator whose contoso tenant has that domain. Users 1-12 are
in the AD group CN=Source demo (6 of them through a nested group); user 13 is not, and must never be touched.

  1-4   an AD photo of 30-100 KB that never reached the cloud
  5-7   an AD photo of 30-100 KB, and an older, different picture in the cloud
  8-10  a photo in the cloud only
  11-12 no photo anywhere
  13    outside the group: a large AD photo and a cloud photo, both left alone
"""

from __future__ import annotations

import io

import pytest
from PIL import Image

from ansible_collections.m365.photos.plugins.module_utils import _image

from ad_users import OwnUsers
from graph_sandbox import Sandbox, start_emulator
from photo_fixtures import fixture_bytes, jpeg
from playbook_runner import run_task, sandbox_setting
from role_runner import run_role

DOMAIN = "source.example"
COUNT = 13
USERS = ["user%04d@%s" % (number, DOMAIN) for number in range(1, COUNT + 1)]
AD_ONLY, STALE_CLOUD, CLOUD_ONLY, NOWHERE = range(1, 5), range(5, 8), range(8, 11), range(11, 13)
OUTSIDE = 13
IN_GROUP = range(1, 13)
PICTURES = ("astronaut.png", "camera.png", "chelsea.png", "coffee.jpg", "rocket.jpg")
SYNC_LIMIT = 10240


def picture(number: int, version: int = 0) -> Image.Image:
    """A distinct 720 px picture per user and version: one of five photos, turned and mirrored by number."""
    image = Image.open(io.BytesIO(fixture_bytes(PICTURES[(number + version * 2) % 5]))).convert("RGB")
    image = image.rotate(90 * ((number // 5 + version) % 4), expand=True)
    side = min(image.size)
    return image.crop((0, 0, side, side)).resize((720, 720))


def large_jpeg(number: int, version: int = 0) -> bytes:
    """The picture as a JPEG of 30-100 KB, as photos set on-premises often are."""
    for quality in (90, 80, 70, 60, 50):
        data = jpeg(picture(number, version), quality=quality)
        if 30 * 1024 <= len(data) <= 100 * 1024:
            return data
    raise AssertionError("picture %d does not make a JPEG of 30-100 KB" % number)


@pytest.fixture(name="sides", scope="module")
def both_sides(tmp_path_factory):
    emulator = start_emulator(str(tmp_path_factory.mktemp("graph-sources")),
                              extra_args=("--domain", DOMAIN, "--users", str(COUNT)))
    directory = OwnUsers("SourceTest", USERS)
    directory.create()
    nested = "CN=Source demo nested,%s" % directory.ou
    group = "CN=Source demo,%s" % directory.ou
    for dn, members in ((nested, [directory.dn(USERS[n - 1]) for n in range(7, 13)]),
                        (group, [directory.dn(USERS[n - 1]) for n in range(1, 7)] + [nested])):
        directory.connection.add(dn, ["top", "group"], {"sAMAccountName": dn[3:].split(",")[0].replace(" ", "-"),
                                                         "member": members})
        assert directory.connection.result["result"] == 0, directory.connection.result
    yield directory, Sandbox(emulator), group
    for dn in (group, nested):
        directory.connection.delete(dn)
    directory.remove()
    emulator.stop()


def seed_the_broken_state(directory: OwnUsers, graph: Sandbox) -> dict:
    """The state of the module docstring; what each side holds, by user number."""
    graph.forget()
    for number, user in enumerate(USERS, start=1):
        has_ad = number in AD_ONLY or number in STALE_CLOUD or number == OUTSIDE
        directory.set(user, large_jpeg(number) if has_ad else None)
        if number in STALE_CLOUD or number in CLOUD_ONLY or number == OUTSIDE:
            graph.store(user, jpeg(picture(number, version=1)))
    return {number: (directory.photo(user), graph.stored(user)) for number, user in enumerate(USERS, start=1)}


def unchanged_since(held: dict, directory: OwnUsers, graph: Sandbox, numbers) -> bool:
    return all((directory.photo(USERS[n - 1]), graph.stored(USERS[n - 1])) == held[n] for n in numbers)


def test_ad_as_the_source_fixes_both_sides_from_the_broken_state_and_then_changes_nothing(sides, tmp_path):
    directory, graph, group = sides
    held = seed_the_broken_state(directory, graph)
    source = dict(photo_sync_source="ad", photo_sync_scope=dict(ad_group=group))

    run_role(str(tmp_path), graph, "planned", check=True, **source)
    assert unchanged_since(held, directory, graph, range(1, COUNT + 1)), "check mode wrote something"

    first = run_role(str(tmp_path), graph, "first", **source)
    for number in (*AD_ONLY, *STALE_CLOUD):
        user = USERS[number - 1]
        original = held[number][0]
        in_ad, in_cloud = directory.photo(user), graph.stored(user)
        assert len(in_ad) <= SYNC_LIMIT and _image.compare(in_ad, original).same, user
        assert _image.compare(in_cloud, original).same, user
        # The cloud got the AD photo as it was (720 px), not its 10 KB refit: the largest size Graph keeps.
        assert _image.describe(in_cloud)["width"] == 648, user
    assert unchanged_since(held, directory, graph, (*CLOUD_ONLY, *NOWHERE, OUTSIDE))
    assert first["cloud"]["summary"]["changed"] == len(AD_ONLY) + len(STALE_CLOUD), first["cloud"]
    assert first["ad"]["summary"]["changed"] == len(AD_ONLY) + len(STALE_CLOUD), first["ad"]

    second = run_role(str(tmp_path), graph, "second", **source)
    assert second["ad"]["summary"]["changed"] == 0 and second["cloud"]["summary"]["changed"] == 0, second


def test_the_cloud_as_the_source_puts_every_cloud_photo_into_ad_within_the_budget(sides, tmp_path):
    directory, graph, _ = sides
    held = seed_the_broken_state(directory, graph)
    scoped = [USERS[n - 1] for n in IN_GROUP]
    source = dict(photo_sync_source="cloud", photo_sync_scope=dict(users=scoped))

    first = run_role(str(tmp_path), graph, "first", **source)
    assert "cloud" not in first, "the cloud is the source: it is only read"
    for number in (*STALE_CLOUD, *CLOUD_ONLY):
        in_ad = directory.photo(USERS[number - 1])
        assert len(in_ad) <= SYNC_LIMIT and _image.compare(in_ad, held[number][1]).same, number
    assert unchanged_since(held, directory, graph, (*AD_ONLY, *NOWHERE, OUTSIDE))
    assert first["ad"]["summary"]["changed"] == len(STALE_CLOUD) + len(CLOUD_ONLY), first["ad"]

    second = run_role(str(tmp_path), graph, "second", **source)
    assert second["ad"]["summary"]["changed"] == 0, second


def ldap() -> dict:
    return {"group/m365.photos.ldap": dict(
        server=sandbox_setting("SANDBOX_LDAP_HOST"), port=int(sandbox_setting("SANDBOX_LDAP_PORT")),
        ca_file=sandbox_setting("SANDBOX_LDAP_CA_FILE"), bind_dn=sandbox_setting("SANDBOX_LDAP_BIND_DN"),
        bind_password=sandbox_setting("SANDBOX_LDAP_BIND_PASSWORD"))}


def test_ad_group_scope_reads_exactly_the_members_nested_ones_included(sides):
    group = sides[2]
    outcome = run_task({"m365.photos.ad_thumbnail_photo_info": dict(group=group)}, module_defaults=ldap())
    assert not outcome.failed, outcome.msg
    assert sorted(user["user_principal_name"] for user in outcome.result["users"]) == [USERS[n - 1] for n in IN_GROUP]


def test_an_ad_group_that_does_not_exist_is_named_in_the_error(sides):
    missing = "CN=No such group,%s" % sides[0].ou
    outcome = run_task({"m365.photos.ad_thumbnail_photo_info": dict(group=missing)}, module_defaults=ldap())
    assert outcome.failed and "No group has the distinguished name" in outcome.msg, outcome.msg


ENTRA_GROUP = "5b0c7e2a-9d41-4c3e-8f6a-2e7d1c9b4a35"
ENTRA_NESTED = "a41f3c8d-6e2b-4b7a-9c15-0d8e7f6a5b43"


def test_the_cloud_as_the_source_scoped_by_an_entra_group_takes_exactly_its_members(sides, tmp_path):
    """Users 5-8 directly, 9-10 through a nested group (and a device, which is not a user); 13 is outside."""
    directory, graph, _ = sides
    held = seed_the_broken_state(directory, graph)
    graph.admin("PUT", "/tenants/contoso/groups/%s" % ENTRA_NESTED,
                {"displayName": "Photo nested", "members": [USERS[8], USERS[9]], "devices": ["kiosk"]})
    graph.admin("PUT", "/tenants/contoso/groups/%s" % ENTRA_GROUP,
                {"displayName": "Photo scope", "members": USERS[4:8], "groups": [ENTRA_NESTED]})
    graph.admin("PUT", "/tenants/contoso/apps/%s/roles" % graph.env["SANDBOX_CLIENT_ID"], {"roles": [
        "ProfilePhoto.ReadWrite.All", "User.Read.All", "PeopleSettings.Read.All", "GroupMember.Read.All"]})
    try:
        source = dict(photo_sync_source="cloud", photo_sync_scope=dict(entra_group=ENTRA_GROUP))
        first = run_role(str(tmp_path), graph, "first", **source)
        written = sorted(entry["identity"].lower() for entry in first["ad"]["entries"])
        assert written == [USERS[n - 1] for n in range(5, 11)], written
        assert first["ad"]["summary"]["changed"] == 6, first["ad"]
        for number in range(5, 11):
            assert _image.compare(directory.photo(USERS[number - 1]), held[number][1]).same, number
        assert unchanged_since(held, directory, graph, (1, 2, 3, 4, 11, 12, OUTSIDE))
        second = run_role(str(tmp_path), graph, "second", **source)
        assert second["ad"]["summary"]["changed"] == 0, second
    finally:
        for group in (ENTRA_GROUP, ENTRA_NESTED):
            graph.admin("DELETE", "/tenants/contoso/groups/%s" % group)
