#!/usr/bin/python
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: ad_thumbnail_photo_info
short_description: Read and audit Active Directory thumbnailPhoto of many users
version_added: 0.1.0
description:
  - Reads the C(thumbnailPhoto) of the users named in O(identities), or of every user under O(search_base)
    that matches O(search_filter) (and is a member of O(group)), with one paged search.
  - Tells for each user whether the photo is small enough to sync to Exchange Online, and counts the users
    whose photo never arrives in Outlook, OWA and Teams because it is too large.
author:
  - m365.photos team (@m365-photos)
options:
  identities:
    description:
      - Users to read, by C(sAMAccountName), C(userPrincipalName), C(distinguishedName) or C(objectGUID), found
        under O(base_dn) with one paged search per 500 identities. An identity that matches no user fails the task.
      - Mutually exclusive with O(search_base), O(search_filter) and O(group). Without any of them, every user
        under O(base_dn) is read.
    type: list
    elements: str
  search_base:
    description:
      - Where to look for users when O(identities) is not given. Defaults to O(base_dn).
    type: str
  search_filter:
    description:
      - An LDAP filter that users must also match, such as C((department=Sales)). Taken as written.
    type: str
  group:
    description:
      - The distinguished name of a group whose members to read, nested membership included (the
        C(LDAP_MATCHING_RULE_IN_CHAIN) rule, C(1.2.840.113556.1.4.1941)), found under O(search_base).
        With O(search_filter), members must match it too.
      - A group that does not exist fails the task; members that are not users (computers, contacts,
        groups) are not read.
      - Mutually exclusive with O(identities).
    type: str
  max_bytes:
    description:
      - The Exchange Online sync limit that RV(users[].syncs_to_exchange_online) checks, in bytes.
    type: int
    default: 10240
  return_content:
    description:
      - Also return each photo, base64 encoded, in RV(users[].content).
    type: bool
    default: false
  dest:
    description:
      - A folder on the host running the module to export the photos to, one file per user named by
        userPrincipalName (or sAMAccountName) with an extension for its format. Created when missing.
      - Files are written with mode 0600 (folders created 0700) and replaced atomically. Users whose names
        would make the same file name (such as C(a b@x) and C(a_b@x)) get distinct files, with a warning.
      - In check mode nothing is exported; RV(users[].path) is where each photo would go.
    type: path
extends_documentation_fragment:
  - m365.photos._ldap
  - m365.photos._attributes.INFO_MODULE
  - m365.photos._attributes.LDAP_GROUP
seealso:
  - module: m365.photos.ad_thumbnail_photo
"""

EXAMPLES = r"""
- name: Find the users whose photo is too large to reach Exchange Online
  m365.photos.ad_thumbnail_photo_info:
    server: dc1.corp.example.com
    bind_dn: CN=svc-photos,OU=Service,DC=corp,DC=example,DC=com
    bind_password: "{{ vault_photo_bind_password }}"
    search_base: OU=Staff,DC=corp,DC=example,DC=com
  register: photos

- name: Show them
  ansible.builtin.debug:
    msg: "{{ photos.users | rejectattr('syncs_to_exchange_online') | selectattr('has_photo')
             | map(attribute='user_principal_name') }}"

- name: Export two users' photos to a folder
  m365.photos.ad_thumbnail_photo_info:
    server: dc1.corp.example.com
    bind_dn: CN=svc-photos,OU=Service,DC=corp,DC=example,DC=com
    bind_password: "{{ vault_photo_bind_password }}"
    identities: [alice, bob@corp.example.com]
    dest: /tmp/photos

- name: Audit the photos of everyone in a group, nested groups included
  m365.photos.ad_thumbnail_photo_info:
    server: dc1.corp.example.com
    bind_dn: CN=svc-photos,OU=Service,DC=corp,DC=example,DC=com
    bind_password: "{{ vault_photo_bind_password }}"
    group: CN=All Staff,OU=Groups,DC=corp,DC=example,DC=com
  register: staff_photos
"""

RETURN = r"""
users:
  description: One entry per user, in the order of O(identities) or of the directory.
  returned: success
  type: list
  elements: dict
  contains:
    dn:
      description: Distinguished name.
      type: str
    object_guid:
      description: objectGUID, as a GUID string.
      type: str
    sam_account_name:
      description: sAMAccountName.
      type: str
    user_principal_name:
      description: userPrincipalName (null when the user has none).
      type: str
    has_photo:
      description: Whether the user has a thumbnailPhoto.
      type: bool
    bytes:
      description: Size of the photo in bytes (null without photo).
      type: int
    width:
      description: Width in pixels (null without photo or when the bytes are not an image).
      type: int
    height:
      description: Height in pixels (null without photo or when the bytes are not an image).
      type: int
    format:
      description: Image format such as C(JPEG) (null without photo or when the bytes are not an image).
      type: str
    sha256:
      description: SHA-256 of the photo, hex (null without photo).
      type: str
    syncs_to_exchange_online:
      description: Whether the photo fits O(max_bytes), so Exchange Online takes it from Entra ID (null without photo).
      type: bool
    content:
      description: The photo, base64 encoded.
      type: str
      returned: when O(return_content=true) and the user has a photo
    path:
      description: Where the photo was exported (in check mode, where it would be).
      type: str
      returned: when O(dest) is set and the user has a photo
  sample:
    - dn: CN=user0001,CN=Users,DC=test,DC=example
      object_guid: 6f1c0e0a-3c59-4b56-9d1e-6a7b8c9d0e1f
      sam_account_name: user0001
      user_principal_name: user0001@test.example
      has_photo: true
      bytes: 48211
      width: 400
      height: 400
      format: JPEG
      sha256: 9f2c...
      syncs_to_exchange_online: false
summary:
  description: Counts over RV(users).
  returned: success
  type: dict
  contains:
    users:
      description: Users read.
      type: int
    with_photo:
      description: Users with a photo.
      type: int
    without_photo:
      description: Users without a photo.
      type: int
    too_large_to_sync:
      description: Users whose photo is larger than O(max_bytes), so Exchange Online does not take it.
      type: int
  sample: {users: 50, with_photo: 12, without_photo: 38, too_large_to_sync: 3}
"""

import base64

from ansible_collections.m365.photos.plugins.module_utils import _image, _ldap
from ansible_collections.m365.photos.plugins.module_utils._limits import EXCHANGE_ONLINE_SYNC_LIMIT
from ansible_collections.m365.photos.plugins.module_utils._module import PhotoModule
from ansible_collections.m365.photos.plugins.module_utils._photo_facts import facts
from ansible_collections.m365.photos.plugins.module_utils._photo_files import PhotoExport

NO_PHOTO = dict(bytes=None, sha256=None, width=None, height=None, format=None)
# What a user entry reports of the user (_ldap.user_from_entry gives more, such as the photo modules' change stamp).
USER_FIELDS = ("dn", "object_guid", "sam_account_name", "user_principal_name")


def argument_spec() -> dict:
    return dict(
        identities=dict(type="list", elements="str"),
        search_base=dict(type="str"),
        search_filter=dict(type="str"),
        group=dict(type="str"),
        max_bytes=dict(type="int", default=EXCHANGE_ONLINE_SYNC_LIMIT),
        return_content=dict(type="bool", default=False),
        dest=dict(type="path"),
    )


def read_users(connection, params: dict):
    base_dn = params["base_dn"] or _ldap.default_naming_context(connection)
    if params["identities"]:
        users = _ldap.find_users(connection, params["identities"], base_dn)
        for user in users:
            if isinstance(user, _ldap.LdapError):
                raise user
        return users
    search_filter = params["search_filter"]
    if params["group"]:
        search_filter = _ldap.members_filter(connection, params["group"]) + (search_filter or "")
    return _ldap.paged_users(connection, params["search_base"] or base_dn, search_filter)


def report(user: dict, params: dict, export: PhotoExport | None) -> dict:
    photo = user["photo"]
    entry = dict({name: user[name] for name in USER_FIELDS}, has_photo=photo is not None, **(facts(photo) or NO_PHOTO))
    entry["syncs_to_exchange_online"] = None if photo is None else len(photo) <= params["max_bytes"]
    if photo is not None and params["return_content"]:
        entry["content"] = base64.b64encode(photo).decode("ascii")
    if photo is not None and export is not None:
        extension = (entry["format"] or "bin").lower().replace("jpeg", "jpg")
        entry["path"] = export.write(photo, entry["user_principal_name"] or entry["sam_account_name"], extension)
    return entry


def summarise(users: list) -> dict:
    with_photo = [user for user in users if user["has_photo"]]
    return dict(users=len(users), with_photo=len(with_photo), without_photo=len(users) - len(with_photo),
                too_large_to_sync=sum(1 for user in with_photo if not user["syncs_to_exchange_online"]))


def main() -> None:
    module = PhotoModule(
        [_ldap.ldap_argument_spec(), argument_spec()], [_ldap.LDAP3, _image.PILLOW],
        mutually_exclusive=[["identities", "search_base"], ["identities", "search_filter"], ["identities", "group"]],
        required_together=_ldap.LDAP_REQUIRED_TOGETHER, warn_about=[_ldap.insecure_settings],
        supports_check_mode=True,
    )
    params = module.params
    export = PhotoExport(params["dest"], module.check_mode) if params["dest"] else None
    with module.failing_on_errors():
        if export is not None:
            export.open()
        with _ldap.session(params) as connection:
            users = [report(user, params, export) for user in read_users(connection, params)]
    module.warn_each(export.warnings() if export else [])
    module.exit_json(changed=False, users=users, summary=summarise(users))


if __name__ == "__main__":
    main()
