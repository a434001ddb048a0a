# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: photo_shard
short_description: The users of one shard, as the photo modules' shard option picks them
version_added: 0.1.0
description:
  - Keeps the users of a list that are in one of O(shard.count) shards, with the hash the C(shard) option of
    M(m365.photos.ad_thumbnail_photo) and M(m365.photos.exchange_online_photo) uses (SHA-256 of the user's name in
    lower case), so that the tasks around a sharded bulk task pick the same users.
  - The C(m365.photos.photo_sync) role uses it for its C(photo_sync_shard).
author:
  - m365.photos team (@m365-photos)
options:
  _input:
    description: User names, or dicts naming a user in O(attribute).
    type: list
    elements: raw
    required: true
  shard:
    description:
      - The shard, as the modules' C(shard) option. An empty dict or null keeps every item.
    type: dict
    required: true
    suboptions:
      index:
        description: The shard to keep, from 0 to O(shard.count) - 1.
        type: int
      count:
        description: How many shards the users are split into.
        type: int
  attribute:
    description: With dicts, the key that names the user. An item without it is kept by every shard.
    type: str
"""

EXAMPLES = r"""
- name: The users of photo_sync_users in this host's quarter of the tenant
  ansible.builtin.debug:
    msg: "{{ photo_sync_users | m365.photos.photo_shard({'index': 1, 'count': 4}) }}"

- name: Findings about users, kept by the shard that owns the user
  ansible.builtin.set_fact:
    my_findings: "{{ findings | m365.photos.photo_shard(photo_sync_shard, attribute='user') }}"
"""

RETURN = r"""
_value:
  description: The items of the input whose user is in the shard, in their order.
  type: list
  elements: raw
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.m365.photos.plugins.module_utils import _shard
from ansible_collections.m365.photos.plugins.module_utils._errors import PhotoError


def photo_shard(items, shard, attribute=None):
    if not shard:
        return list(items)
    try:
        # Inventory values may be strings ("4"); the modules' argument spec converts them the same way.
        shard = {"index": int(shard.get("index")), "count": int(shard.get("count"))}
        _shard.check_shard(shard)
    except (TypeError, ValueError):
        raise AnsibleFilterError("photo_shard: shard must be {index, count} of integers, not %s" % (shard,)) from None
    except PhotoError as error:
        raise AnsibleFilterError("photo_shard: %s" % error) from None

    def name(item):
        return item.get(attribute) if attribute is not None and isinstance(item, dict) else item
    return [item for item in items if not name(item) or _shard.in_shard(str(name(item)), shard)]


class FilterModule:
    def filters(self):
        return {"photo_shard": photo_shard}
