#!/usr/bin/python
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: exchange_online_photo
short_description: Make a user's Microsoft 365 profile photo (Outlook, Teams, Exchange Online) show a picture
version_added: 0.1.0
description:
  - Declares the profile photo of one Microsoft 365 user and converges on it through Microsoft Graph, the
    only cloud write path since the Exchange Online C(Set-UserPhoto) cmdlets were retired.
  - Uploads up to 4 MB, so the photo is sharp where the 10 KB photo synced from Active Directory is not.
  - Idempotent by picture, not by bytes. The service re-encodes every upload, so its bytes never match the
    source. A photo is left alone when it shows the same picture at a comparable resolution. A photo much
    smaller than the desired one (less than 3/4 of the side the upload would be served at, such as a 96x96
    photo synced from Active Directory when 648x648 is possible) is replaced; otherwise its 96x96 size is
    compared with the desired picture.
author:
  - m365.photos team (@m365-photos)
options:
  user:
    description:
      - The user, by user principal name (guests' C(#EXT#) names too) or object id (a GUID). Anything else,
        such as a sAMAccountName or C(.), fails before a request is sent.
      - One of O(user), O(photos) and O(photos_from) is required.
    type: str
  max_bytes:
    description:
      - Largest photo to upload, in bytes.
      - Microsoft Graph takes photos up to "4 MB" without saying how many bytes that is. The default,
        4,000,000 bytes, stays below both readings (4,000,000 and 4,194,304); values above 4,194,304 are refused.
      - At the default O(max_dimension) a photo is rarely more than 200,000 bytes, so this limit seldom bites.
    type: int
    default: 4000000
  max_dimension:
    description:
      - Largest width and height of the uploaded photo, in pixels, at least 48.
      - The default, 648, is the largest size the service keeps; a larger upload only costs bytes.
      - A current photo larger than this is replaced.
    type: int
    default: 648
extends_documentation_fragment:
  - m365.photos._photo
  - m365.photos._photo.USER
  - m365.photos._photo_folder
  - m365.photos._photo_folder.USER
  - m365.photos._graph
  - m365.photos._attributes
  - m365.photos._attributes.GRAPH_GROUP
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details:
      - The diff shows the photo's dimensions, media ETag and, for an upload, its size and SHA-256, never its bytes.
notes:
  - O(overwrite=always) uploads on every run, since the service's copy never has the bytes that were uploaded.
  - A run that changes nothing sends two HTTP requests for one user, the token request and one C($batch) of
    three reads (the user, the photo's metadata and its 96x96 size); with O(photos), the same three reads per
    user travel in C($batch) requests of 20 (about 0.15 HTTP requests per user). Batch items the service
    throttles are sent again after their own C(Retry-After).
  - A task that names 1,000 users or more first lists the tenant's users (ids and user principal names, 999 a
    page) and looks up only the names the listing lacks, which spares one read per user. It gives the listing up
    once the tenant proves to hold more than twice as many users as the task names, or when the listing fails
    (each user is then looked up and says what went wrong).
  - Uploads are single C(PUT) requests, retried on throttling after C(Retry-After) (without it, after an
    exponential backoff with jitter). Only photos to upload are
    fitted and encoded, except with a small O(max_bytes) (under about 3 bytes per pixel of the upload), where
    the photo is fitted to learn the size the service would serve it at.
  - Microsoft 365 shows a new or removed photo only after a while (seconds in Graph, up to hours elsewhere),
    serving the old photo and media ETag meanwhile. RV(after) is what was written; its C(etag) is the one read
    back only when the read-back already shows the new photo, else null. A second run inside that delay sees
    the old photo and may upload (or remove) again, reported as a change; a run after it changes nothing.
  - A refused (HTTP 403) upload or removal is explained after reading the tenant's photoUpdateSettings (beta
    API), since Microsoft answers a write that policy refuses with the same plain C(ErrorAccessDenied) as a
    missing permission; without C(PeopleSettings.Read.All) the message says that permission would tell.
  - Needs the application permissions C(User.Read.All) and C(ProfilePhoto.ReadWrite.All) with admin consent, and
    optionally C(PeopleSettings.Read.All); C(User.ReadBasic.All) does not do for looking users up.
seealso:
  - module: m365.photos.exchange_online_photo_info
  - module: m365.photos.ad_thumbnail_photo
  - name: Update profilePhoto (Microsoft Graph)
    description: The API this module calls.
    link: https://learn.microsoft.com/en-us/graph/api/profilephoto-update
"""

EXAMPLES = r"""
- name: Give Alice her photo in Outlook, Teams and the rest of Microsoft 365
  m365.photos.exchange_online_photo:
    tenant_id: contoso.onmicrosoft.com
    client_id: "{{ photo_app_client_id }}"
    client_secret: "{{ vault_photo_app_secret }}"
    user: alice@contoso.com
    src: photos/alice@contoso.com.jpg
    crop: top

- name: Sign in once for every Graph task, with a certificate
  module_defaults:
    group/m365.photos.graph:
      tenant_id: contoso.onmicrosoft.com
      client_id: "{{ photo_app_client_id }}"
      client_certificate_path: /etc/pki/m365-photos.pem
  block:
    - name: Give Bob a photo only if he has none
      m365.photos.exchange_online_photo:
        user: bob@contoso.com
        src: default-avatar.png
        overwrite: if_missing

    - name: Remove Carol's photo
      m365.photos.exchange_online_photo:
        user: 7c3a3f0e-6a43-4a55-9f0b-3f2c1d9a8b11
        state: absent

    - name: Many users in one task, one sign-in, batched reads
      m365.photos.exchange_online_photo:
        photos:
          - user: alice@contoso.com
            src: photos/alice@contoso.com.jpg
          - user: dave@contoso.com
            src: photos/dave@contoso.com.png
          - user: erin@contoso.com
            state: absent
        crop: top
      register: photos

    - name: Every photo of a folder on the host running the module, the first of 4 shards of the tenant
      m365.photos.exchange_online_photo:
        photos_from:
          path: /srv/photos/contoso
          key: upn
          domains: [contoso.com]
        shard: {index: 0, count: 4}

- name: A tenant in the US Government cloud, signing in from GitHub Actions (workload identity)
  m365.photos.exchange_online_photo:
    cloud: usgov
    auth_method: workload_identity
    federated_token_file: "{{ lookup('env', 'RUNNER_TEMP') }}/azure-token.jwt"
    user: dave@agency.example
    src: photos/dave.jpg
"""

RETURN = r"""
user_id:
  description: Object id of the user.
  returned: success, with O(user)
  type: str
  sample: 7c3a3f0e-6a43-4a55-9f0b-3f2c1d9a8b11
before:
  description: The photo the user had before the task, as Microsoft Graph describes its largest size, or null
    when there was none.
  returned: success, with O(user)
  type: dict
  contains:
    width:
      description: Width in pixels of the largest size the service keeps.
      type: int
    height:
      description: Height in pixels of the largest size the service keeps.
      type: int
    etag:
      description: The media ETag; it changes with every upload, even of the same bytes.
      type: str
  sample: {width: 96, height: 96, etag: W/"5e1c0c3c..."}
after:
  description:
    - The photo the user has after the task (would have, in check mode), same keys as RV(before).
    - When the task uploads, it is what was written. The uploaded JPEG's C(bytes), C(sha256) and C(format) and
      the size the service serves it at; C(etag) and the dimensions are the ones read back only when the
      service already shows the new photo (its ETag changed), else C(etag) is null. In check mode the
      dimensions are predicted and C(etag) is null.
  returned: success, with O(user)
  type: dict
  sample: {width: 648, height: 648, etag: W/"9a0f...", bytes: 91234, sha256: 51ab..., format: JPEG}
similarity:
  description: How alike the current and desired pictures are (0 to 1), when they were compared.
  returned: with O(user), when the pictures were compared
  type: float
  sample: 0.97
backup_file:
  description:
    - The backup of the photo the task replaced or removed (see O(backup)); in check mode, the file it would
      write. Null when nothing was replaced, or the user had no photo.
  returned: with O(user), when O(backup=true); also in each of RV(results)
  type: str
  sample: /srv/photo-backups/00000000-0000-0000-0000-000000000000/alice@corp.example.com/20261202T143012.123456Z.jpg
reason:
  description: Why the photo was or was not uploaded or removed.
  returned: success, with O(user)
  type: str
  sample: the current photo is 96x96, much smaller than the 648x648 the desired photo gives
results:
  description:
    - One entry per user, the O(photos_from) files but those in RV(unmatched), then the O(photos) entries in their
      order (only those changed or failed with O(return_unchanged=false)), with the keys returned for a single
      user plus the
      entry's user, state, changed, failed and msg.
    - After an upload, an entry's C(after) has the uploaded JPEG's C(bytes), C(sha256) and C(format) and the
      media ETag the service reports.
  returned: with O(photos) or O(photos_from)
  type: list
  elements: dict
  sample:
    - user: user0001@contoso.com
      user_id: 7c3a3f0e-6a43-4a55-9f0b-3f2c1d9a8b11
      state: present
      changed: true
      failed: false
      msg: ""
      reason: the current photo is 96x96, much smaller than the 432x432 the desired photo gives
      before: {width: 96, height: 96, etag: W/"5e1c0c3c..."}
      after: {width: 432, height: 432, etag: W/"9a0f...", bytes: 61234, sha256: 51ab..., format: JPEG}
unmatched:
  description:
    - The files of O(photos_from) that map to no user, in the order of their names, each with C(file) (its path),
      the name it gives (as C(user)) and C(why).
  returned: with O(photos_from)
  type: list
  elements: dict
  sample:
    - file: /srv/photos/alice.smith.jpg
      user: alice.smith
      why: the file name is not a user principal name (alice@corp.example.com)
summary:
  description: Counts over RV(results); with O(photos_from) also C(unmatched), the length of RV(unmatched).
  returned: with O(photos) or O(photos_from)
  type: dict
  sample: {entries: 10000, changed: 12, unchanged: 9987, failed: 1}
before_thumbnail:
  description: A small JPEG of the photo before, base64, when O(return_thumbnails=true) and the photo changed
    (also in each entry of RV(results), for a changed or failed entry).
  returned: with O(return_thumbnails=true)
  type: str
after_thumbnail:
  description: A small JPEG of the photo after, base64, when O(return_thumbnails=true) and the photo changed
    (also in each entry of RV(results), for a changed or failed entry).
  returned: with O(return_thumbnails=true)
  type: str
"""


from ansible_collections.m365.photos.plugins.module_utils import (
    _graph_auth, _graph_backend, _graph_session, _image, _photo_options, _photo_task,
)
from ansible_collections.m365.photos.plugins.module_utils._limits import GRAPH_DEFAULT_MAX_BYTES, GRAPH_UPLOAD_LIMIT
from ansible_collections.m365.photos.plugins.module_utils._module import PhotoModule

LIMITS = _photo_options.PhotoLimits(
    key="user", default_max_bytes=GRAPH_DEFAULT_MAX_BYTES, max_bytes_limit=GRAPH_UPLOAD_LIMIT,
    max_bytes_why="the 4 MB Microsoft Graph takes (the default, 4000000, keeps a margin below it).",
    default_max_dimension=648, min_dimension=48, min_dimension_why=", the smallest photo size Microsoft Graph serves")


def main() -> None:
    module = PhotoModule([_graph_auth.graph_argument_spec(), _photo_options.argument_spec(LIMITS)],
                         [_graph_session.GRAPH_SDK, _image.PILLOW], supports_check_mode=True,
                         **_photo_options.module_rules(LIMITS.key))
    _photo_task.converge(module, LIMITS, _graph_backend.opened, ref_field="user_id")


if __name__ == "__main__":
    main()
