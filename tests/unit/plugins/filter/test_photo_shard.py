"""The photo_shard filter picks the users the modules' shard option picks."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.m365.photos.plugins.filter.photo_shard import photo_shard
from ansible_collections.m365.photos.plugins.module_utils import _photo_folder
from ansible_collections.m365.photos.plugins.module_utils._converge import Entry

USERS = ["user%04d@corp.example" % number for number in range(200)]


def test_the_filter_and_the_modules_put_every_user_in_the_same_shard():
    for index in range(3):
        shard = dict(index=index, count=3)
        modules = [entry.name for entry in _photo_folder.in_shard([Entry(name=user) for user in USERS], shard)]
        assert photo_shard(USERS, shard) == modules
        # inventory values can be strings
        assert photo_shard(USERS, dict(index=str(index), count="3")) == modules


def test_dicts_are_picked_by_their_attribute_and_those_without_it_kept_by_every_shard():
    findings = [dict(user=user, finding="x") for user in USERS[:20]] + [dict(finding="about the whole tenant")]
    picked = [photo_shard(findings, dict(index=index, count=2), attribute="user") for index in range(2)]
    assert sorted(item["user"] for part in picked for item in part if "user" in item) == USERS[:20]
    assert all(part[-1] == dict(finding="about the whole tenant") for part in picked)


def test_without_a_shard_every_user_is_kept():
    assert photo_shard(USERS, None) == photo_shard(USERS, {}) == USERS


@pytest.mark.parametrize("shard", [dict(index=3, count=3), dict(index="a", count=3), dict(count=3)])
def test_a_shard_that_cannot_be_is_an_error(shard):
    with pytest.raises(AnsibleFilterError, match="photo_shard: "):
        photo_shard(USERS, shard)
