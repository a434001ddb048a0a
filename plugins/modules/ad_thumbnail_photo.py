#!/usr/bin/python
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: ad_thumbnail_photo
short_description: Make a user's Active Directory thumbnailPhoto show a picture that syncs to Exchange Online
version_added: 0.1.0
description:
  - Declares the C(thumbnailPhoto) of one Active Directory user and converges on it over LDAP.
  - Entra Connect syncs C(thumbnailPhoto) to Entra ID, but Exchange Online takes the photo only when it is
    at most 10 KB. This module writes the sharpest picture that fits O(max_bytes), 10,240 bytes by default.
  - Idempotent by picture, not by bytes. A photo that already shows the same picture within O(max_bytes)
    is left alone, so an upgrade of the image library that would encode different bytes rewrites nothing.
author:
  - m365.photos team (@m365-photos)
options:
  identity:
    description:
      - The user, by C(sAMAccountName), C(userPrincipalName), C(distinguishedName) or C(objectGUID).
      - Values are escaped in the LDAP filter. Exactly one user under O(base_dn) must match.
      - One of O(identity), O(photos) and O(photos_from) is required.
    type: str
  max_bytes:
    description:
      - Largest photo to write, in bytes. The default, 10,240 bytes (10 KB), is the most Exchange Online
        takes from Entra ID. The AD schema allows at most 102,400 bytes; larger values are refused.
    type: int
    default: 10240
  max_dimension:
    description:
      - Largest width and height of the written photo, in pixels. By default only O(max_bytes) limits it.
    type: int
extends_documentation_fragment:
  - m365.photos._photo
  - m365.photos._photo.IDENTITY
  - m365.photos._photo_folder
  - m365.photos._photo_folder.IDENTITY
  - m365.photos._ldap
  - m365.photos._attributes
  - m365.photos._attributes.LDAP_GROUP
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details:
      - The diff shows the photo's size, SHA-256 and dimensions, never its bytes.
notes:
  - With O(cache_dir), a task that names 1,000 users or more lists the users under O(base_dn) in one paged search
    (their names, C(objectGUID) and C(uSNChanged); no photos) instead of searching for each name, which costs a
    domain controller less. It gives that search up once O(base_dn) proves to hold more than twice as many users
    as the task names; setting O(base_dn) to the OU that holds them keeps it small.
seealso:
  - module: m365.photos.ad_thumbnail_photo_info
  - name: User photos aren't synced from the on-premises environment to Exchange Online
    description: Microsoft's article on the 10 KB limit.
    link: https://learn.microsoft.com/en-us/troubleshoot/exchange/user-and-shared-mailboxes/user-photos-not-synced-to-exo
"""

EXAMPLES = r"""
- name: Give Alice her photo, fitted to the 10 KB Exchange Online sync limit
  m365.photos.ad_thumbnail_photo:
    server: dc1.corp.example.com
    ca_file: /etc/pki/corp-ca.pem
    bind_dn: CN=svc-photos,OU=Service,DC=corp,DC=example,DC=com
    bind_password: "{{ vault_photo_bind_password }}"
    identity: alice@corp.example.com
    src: photos/alice@corp.example.com.jpg
    crop: top

- name: Set the connection once for every LDAP task
  module_defaults:
    group/m365.photos.ldap:
      server: dc1.corp.example.com
      bind_dn: CN=svc-photos,OU=Service,DC=corp,DC=example,DC=com
      bind_password: "{{ vault_photo_bind_password }}"
  block:
    - name: Give Bob a photo only if he has none
      m365.photos.ad_thumbnail_photo:
        identity: bob
        src: default-avatar.png
        overwrite: if_missing

    - name: Remove Carol's photo
      m365.photos.ad_thumbnail_photo:
        identity: CN=Carol,OU=Staff,DC=corp,DC=example,DC=com
        state: absent

    - name: Many users in one task, one connection
      m365.photos.ad_thumbnail_photo:
        photos:
          - identity: alice@corp.example.com
            src: photos/alice@corp.example.com.jpg
          - identity: dave@corp.example.com
            src: photos/dave@corp.example.com.png
          - identity: erin@corp.example.com
            state: absent
        crop: top

    - name: Every photo of a folder on the host running the module, files named by sAMAccountName
      m365.photos.ad_thumbnail_photo:
        photos_from:
          path: /srv/photos/corp
          key: sam_account_name
        crop: top
      register: folder_photos
"""

RETURN = r"""
dn:
  description: Distinguished name of the user.
  returned: with O(identity)
  type: str
  sample: CN=Alice,OU=Staff,DC=corp,DC=example,DC=com
before:
  description: The photo the user had before the task, or null when there was none.
  returned: with O(identity)
  type: dict
  contains:
    bytes:
      description: Size in bytes.
      type: int
    sha256:
      description: SHA-256 of the bytes, hex.
      type: str
    width:
      description: Width in pixels (null when the bytes are not an image).
      type: int
    height:
      description: Height in pixels (null when the bytes are not an image).
      type: int
    format:
      description: Image format, such as C(JPEG) (null when the bytes are not an image).
      type: str
  sample: {bytes: 48211, sha256: 9f2c..., width: 400, height: 400, format: JPEG}
after:
  description: The photo the user has after the task (would have, in check mode), same keys as RV(before).
  returned: with O(identity)
  type: dict
  sample: {bytes: 10102, sha256: 51ab..., width: 210, height: 210, format: JPEG}
similarity:
  description: How alike the current and desired pictures are (0 to 1), when they were compared.
  returned: with O(identity), when the user had a readable photo and O(state=present)
  type: float
  sample: 0.97
backup_file:
  description:
    - The backup of the photo the task replaced or removed (see O(backup)); in check mode, the file it would
      write. Null when nothing was replaced, or the user had no photo.
  returned: with O(identity), when O(backup=true); also in each of RV(results)
  type: str
  sample: /srv/photo-backups/corp.example/alice@corp.example.com/20261202T143012.123456Z.jpg
results:
  description:
    - One entry per user, the O(photos_from) files but those in RV(unmatched), then the O(photos) entries in their
      order (only those changed or failed with O(return_unchanged=false)), with the keys returned for a single
      user plus the
      entry's identity, state, changed, failed and msg.
  returned: with O(photos) or O(photos_from)
  type: list
  elements: dict
  sample:
    - identity: user0001
      dn: CN=user0001,OU=Staff,DC=corp,DC=example,DC=com
      state: present
      changed: true
      failed: false
      msg: ""
      reason: the current photo shows a different picture
      before: {bytes: 48211, sha256: 9f2c..., width: 400, height: 400, format: JPEG}
      after: {bytes: 10102, sha256: 51ab..., width: 210, height: 210, format: JPEG}
      similarity: 0.12
unmatched:
  description:
    - The files of O(photos_from) that map to no user, in the order of their names, each with C(file) (its path),
      the name it gives (as C(identity)) and C(why).
  returned: with O(photos_from)
  type: list
  elements: dict
  sample:
    - file: /srv/photos/alice.smith.jpg
      identity: alice.smith
      why: the file name is not a user principal name (alice@corp.example.com)
summary:
  description: Counts over RV(results); with O(photos_from) also C(unmatched), the length of RV(unmatched).
  returned: with O(photos) or O(photos_from)
  type: dict
  sample: {entries: 1000, changed: 12, unchanged: 987, failed: 1}
before_thumbnail:
  description: A small JPEG of the photo before, base64, when O(return_thumbnails=true) and the photo changed.
  returned: with O(identity) and O(return_thumbnails=true)
  type: str
after_thumbnail:
  description: A small JPEG of the photo after, base64, when O(return_thumbnails=true) and the photo changed.
  returned: with O(identity) and O(return_thumbnails=true)
  type: str
reason:
  description: Why the photo was or was not written.
  returned: with O(identity)
  type: str
  sample: the current photo shows a different picture
"""

from ansible_collections.m365.photos.plugins.module_utils import _image, _ldap, _ldap_backend, _photo_options, _photo_task
from ansible_collections.m365.photos.plugins.module_utils._limits import AD_SCHEMA_LIMIT, EXCHANGE_ONLINE_SYNC_LIMIT
from ansible_collections.m365.photos.plugins.module_utils._module import PhotoModule

LIMITS = _photo_options.PhotoLimits(
    key="identity", default_max_bytes=EXCHANGE_ONLINE_SYNC_LIMIT, max_bytes_limit=AD_SCHEMA_LIMIT,
    max_bytes_why="the most the AD schema allows in thumbnailPhoto (10240 keeps the photo within the Exchange "
                  "Online sync limit).")


def main() -> None:
    module = PhotoModule([_ldap.ldap_argument_spec(), _photo_options.argument_spec(LIMITS)], [_ldap.LDAP3, _image.PILLOW],
                         required_together=_ldap.LDAP_REQUIRED_TOGETHER, warn_about=[_ldap.insecure_settings],
                         supports_check_mode=True, **_photo_options.module_rules(LIMITS.key))
    _photo_task.converge(module, LIMITS, _ldap_backend.opened, ref_field="dn")


if __name__ == "__main__":
    main()
