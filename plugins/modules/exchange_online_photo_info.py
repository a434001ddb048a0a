#!/usr/bin/python
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: exchange_online_photo_info
short_description: Read Microsoft 365 profile photos (Outlook, Teams, Exchange Online) of many users
version_added: 0.1.0
description:
  - Reads, through Microsoft Graph, whether each user has a profile photo and how large it is,
    and optionally returns or exports the photos.
  - The users are those in O(users), the members of O(group), those O(filter) selects, or, with none of
    the three, every user of the tenant.
  - Users are read in C($batch) requests of 20 (per user its look-up and its photo's metadata; with O(group),
    O(filter) or every user, the metadata only), so 10,000 users take a few hundred requests.
  - Reads start within the strictest limit Microsoft documents for photos (4 requests in flight per app, a
    batch counting as the 4 items Graph runs of it at once) and, while nothing is throttled, double up to 64
    (reads of different users touch different mailboxes, and the limit's usual reading is per app and
    mailbox). The first 429 puts them back to 4 for the rest of the run; throttled items are read again
    after their C(Retry-After).
author:
  - m365.photos team (@m365-photos)
options:
  users:
    description:
      - Users to read, by user principal name or object id.
      - Mutually exclusive with O(group) and O(filter).
    type: list
    elements: str
  group:
    description:
      - Object id of an Entra group whose members to read, nested membership included (the group's
        transitive members). Members that are not users, such as devices, service principals and groups, are
        left out.
      - Mutually exclusive with O(users) and O(filter).
    type: str
  filter:
    description:
      - A Microsoft Graph C($filter) on users, such as C(department eq 'Sales') or
        C(startswith(userPrincipalName,'a')), passed to Graph as written.
      - Graph supports some properties and operators only with advanced query parameters, which the module
        does not send; a filter Graph refuses fails the task with a message naming it.
      - Mutually exclusive with O(users) and O(group).
    type: str
  return_content:
    description:
      - Also return each photo, base64 encoded, in RV(users[].content).
    type: bool
    default: false
  dest:
    description:
      - A folder on the host running the module to export the photos to, one JPEG per user named by
        user principal name. Created when missing.
      - Files are written with mode 0600 (folders created 0700) and replaced atomically. Users whose names
        would make the same file name (such as C(a b@x) and C(a_b@x)) get distinct files, with a warning.
      - In check mode nothing is exported; RV(users[].path) is where each photo would go.
    type: path
  size:
    description:
      - Side in pixels of the square size to return or export, one of the sizes Microsoft Graph serves.
      - By default, and for a user whose photo is smaller than O(size), the largest size the user has.
    type: int
    choices: [48, 64, 96, 120, 240, 360, 432, 504, 648]
extends_documentation_fragment:
  - m365.photos._graph
  - m365.photos._attributes.INFO_MODULE
  - m365.photos._attributes.GRAPH_GROUP
notes:
  - Needs the Microsoft Graph application permission C(ProfilePhoto.Read.All) to read photos, and, to find
    the users, C(User.Read.All) with O(users) (the least privileged application permission of user-get).
  - With O(group), also C(GroupMember.Read.All) (C(Group.Read.All) or C(Directory.Read.All) also do), and
    C(User.Read.All) for the members' user principal names; see
    U(https://learn.microsoft.com/graph/api/group-list-transitivemembers).
  - With O(filter), or to read every user, also C(User.Read.All), the least privileged application permission
    Microsoft lists for listing users; see U(https://learn.microsoft.com/graph/api/user-list).
  - A refused permission fails the task with a message naming the permission to grant.
  - Only Microsoft's answers for "no photo" give RV(users[].has_photo=false), which are a 404 C(ImageNotFound), a 404
    C(ErrorEntityNotFound) with an C(ImageNotFound) message, and the older 200 with C(1X1) metadata. Any other
    answer on a user's photo, such as C(MailboxNotHostedInExchangeOnline), C(ErrorItemNotFound) or C(UnknownError),
    sets RV(users[].error) for that user, naming the likely cause.
  - A photo kept in Entra ID may have any dimensions and lacks the named sizes; with O(size), such a photo is
    returned or exported at its own size.
  - With O(group), O(filter) or every user, the listing is read in pages of up to 999 users
    (U(https://learn.microsoft.com/graph/paging)); a throttled page is retried after its C(Retry-After).
seealso:
  - module: m365.photos.exchange_online_photo
"""

EXAMPLES = r"""
- name: Find the users without a photo in Microsoft 365
  m365.photos.exchange_online_photo_info:
    tenant_id: contoso.onmicrosoft.com
    client_id: "{{ photo_app_client_id }}"
    client_secret: "{{ vault_photo_reader_secret }}"
    users: "{{ staff | map(attribute='upn') }}"
  register: photos

- name: Show them
  ansible.builtin.debug:
    msg: "{{ photos.users | rejectattr('has_photo') | map(attribute='user') }}"

- name: Find the members of a group without a photo, nested groups included
  m365.photos.exchange_online_photo_info:
    group: 0f6a2c1e-4b7d-4e55-9a31-2d8c6b1f7e90
  register: team_photos

- name: Export the photos of the Sales department
  m365.photos.exchange_online_photo_info:
    filter: "department eq 'Sales'"
    dest: /tmp/sales-photos

- name: Export two users' photos at 240x240 to a folder
  m365.photos.exchange_online_photo_info:
    users: [alice@contoso.com, bob@contoso.com]
    size: 240
    dest: /tmp/photos
"""

RETURN = r"""
users:
  description:
    - One entry per user, in the order of O(users).
    - With O(group), O(filter) or every user, sorted by user principal name (compared in lower case).
  returned: success
  type: list
  elements: dict
  contains:
    user:
      description: The user as given in O(users); with O(group), O(filter) or every user, its user principal name.
      type: str
    id:
      description: Object id of the user.
      type: str
    user_principal_name:
      description: User principal name of the user.
      type: str
    has_photo:
      description:
        - Whether the user has a profile photo.
        - Null when the photo cannot be read at all (see RV(users[].error)).
      type: bool
    error:
      description:
        - Why the user's photo cannot be read, and what to do. Such as for a user without an Exchange Online
          mailbox, with an on-premises mailbox in a hybrid deployment, or without a licence.
        - The other users are read all the same; the task warns, naming these users.
      type: str
      returned: when the user's photo cannot be read
    width:
      description: Width in pixels of the largest size the service keeps (null without photo).
      type: int
    height:
      description: Height in pixels of the largest size the service keeps (null without photo).
      type: int
    etag:
      description: The photo's media ETag (null without photo); it changes with every upload.
      type: str
    content:
      description: The photo at O(size), base64 encoded.
      type: str
      returned: when O(return_content=true) and the user has a photo
    path:
      description: Where the photo was exported (in check mode, where it would be).
      type: str
      returned: when O(dest) is set and the user has a photo
  sample:
    - user: alice@contoso.com
      id: 7c3a3f0e-6a43-4a55-9f0b-3f2c1d9a8b11
      user_principal_name: alice@contoso.com
      has_photo: true
      width: 648
      height: 648
      etag: W/"9a0f..."
"""

from ansible_collections.m365.photos.plugins.module_utils import _graph_auth, _graph_directory, _graph_session, _graph_sizes
from ansible_collections.m365.photos.plugins.module_utils._graph_info import InfoReader
from ansible_collections.m365.photos.plugins.module_utils._module import PhotoModule
from ansible_collections.m365.photos.plugins.module_utils._photo_files import PhotoExport


def argument_spec() -> dict:
    return dict(
        users=dict(type="list", elements="str"),
        group=dict(type="str"),
        filter=dict(type="str"),
        return_content=dict(type="bool", default=False),
        dest=dict(type="path"),
        size=dict(type="int", choices=list(_graph_sizes.PHOTO_SIDES)),
    )


async def read_users(session, params: dict, export: PhotoExport | None) -> list:
    selection = _graph_directory.selection_of(params)
    if selection is None:
        wanted = [(user, None) for user in params["users"]]
    else:
        wanted = [(found["user_principal_name"], found) for found in await _graph_directory.list_users(session, selection)]
    return await InfoReader(session, params, export).read(wanted)


def unreadable(users: list) -> list:
    """One warning naming the users whose photo could not be read (their entries say why)."""
    names = [entry["user"] for entry in users if entry.get("error")]
    if not names:
        return []
    shown = ", ".join(names[:10]) + (" and %d more" % (len(names) - 10) if len(names) > 10 else "")
    return ["The photo of %d user(s) could not be read (see users[].error): %s" % (len(names), shown)]


def main() -> None:
    module = PhotoModule([_graph_auth.graph_argument_spec(), argument_spec()], [_graph_session.GRAPH_SDK],
                         mutually_exclusive=[["users", "group", "filter"]], supports_check_mode=True)
    params = module.params
    export = PhotoExport(params["dest"], module.check_mode) if params["dest"] else None
    with module.failing_on_errors():
        if export is not None:
            export.open()
        users = _graph_session.run(params, lambda session: read_users(session, params, export))
    module.warn_each((export.warnings() if export else []) + unreadable(users))
    module.exit_json(changed=False, users=users)


if __name__ == "__main__":
    main()
