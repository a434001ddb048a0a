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
      - One of O(identity) and O(photos) is required.
    type: str
  photos:
    description:
      - Many users in one task, with one connection and one paged search per 500 users instead of a task per user.
      - Each entry takes the single-user options; O(photos[].state) and O(photos[].overwrite) default to the
        task's O(state) and O(overwrite), and O(max_bytes), O(max_dimension), O(crop) and O(background) apply
        to every entry.
      - One failing entry does not stop the others. The task reports every entry in RV(results) and fails at the
        end, naming the users that failed.
    type: list
    elements: dict
    suboptions:
      identity:
        description: The user, as in O(identity).
        type: str
        required: true
      state:
        description: As O(state).
        type: str
        choices: [present, absent]
      src:
        description: As O(src). Files are read on the controller, or passed by path when the module runs there.
        type: path
      content:
        description: As O(content).
        type: str
      overwrite:
        description: As O(overwrite).
        type: str
        choices: [different, always, if_missing]
  concurrency:
    description:
      - How many worker processes decode, compare and fit the photos of O(photos) (writes go one at a time over
        the single connection, while the workers plan the next entries). Defaults to the number of CPUs, at most 4;
        V(1) does the work in the module process itself.
    type: int
  return_thumbnails:
    description:
      - Return small JPEG thumbnails (base64) of the photo before and after for every changed or failed entry, for
        reports such as M(m365.photos.photo_sync_report).
    type: bool
    default: false
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
results:
  description:
    - One entry per O(photos) entry, in the same order, with the keys returned for a single user plus the
      entry's identity, state, changed, failed and msg.
  returned: with O(photos)
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
summary:
  description: Counts over RV(results).
  returned: with O(photos)
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

import functools
from typing import Iterable

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.m365.photos.plugins.module_utils import _ad_photo, _bulk, _image, _ldap

AD_SCHEMA_LIMIT = 102400


def argument_spec() -> dict:
    spec = _ldap.ldap_argument_spec()
    spec.update(_bulk.photo_argument_spec("identity", max_bytes=10240, max_dimension=None))
    return spec


def write_planned(module: AnsibleModule, connection, outcomes) -> list:
    """Write the planned photos, one at a time over the connection; the result of every entry."""
    results = []
    for outcome in outcomes:
        if outcome.decision and outcome.decision.write and not outcome.error and not module.check_mode:
            try:
                _ldap.write_photo(connection, outcome.dn, outcome.after)
            except _ldap.LdapError as error:
                outcome.error = str(error)
        results.append(outcome.result(module.params["return_thumbnails"]))
    return results


def converge(module: AnsibleModule, all_entries: list) -> list:
    """Look up, plan and write chunk by chunk; worker processes plan a chunk while the previous one is written
    and the next one looked up."""
    params = module.params
    plan = functools.partial(_ad_photo.plan, params=params)
    pool = _bulk.image_pool(params["concurrency"] or _bulk.image_workers(len(all_entries)))
    results: list = []
    try:
        with _ldap.session(params) as connection:
            base_dn = params["base_dn"] or _ldap.default_naming_context(connection)
            planning: Iterable = ()
            for chunk in _bulk.chunks(all_entries):
                pairs = list(zip(chunk, _ldap.find_users(connection, [entry["identity"] for entry in chunk], base_dn)))
                next_planning = pool.map(plan, pairs, chunksize=_bulk.PLAN_BATCH) if pool else map(plan, pairs)
                results += write_planned(module, connection, planning)
                planning = next_planning
            results += write_planned(module, connection, planning)
    finally:
        if pool:
            pool.shutdown()
    return results


def single_result(result: dict) -> dict:
    single = dict(changed=result["changed"], dn=result["dn"], before=result["before"], after=result["after"],
                  reason=result["reason"], diff=dict(before=result["before"] or {}, after=result["after"] or {}))
    for optional in ("similarity", "before_thumbnail", "after_thumbnail"):
        if optional in result:
            single[optional] = result[optional]
    return single


def main() -> None:
    module = AnsibleModule(
        argument_spec=argument_spec(),
        mutually_exclusive=[["src", "content"], ["identity", "photos"], ["photos", "src"], ["photos", "content"]],
        required_one_of=[["identity", "photos"]],
        required_together=_ldap.LDAP_REQUIRED_TOGETHER,
        supports_check_mode=True,
    )
    params = module.params
    if not _ldap.HAS_LDAP3:
        module.fail_json(msg=missing_required_lib("ldap3"), exception=_ldap.LDAP3_IMPORT_ERROR)
    if not _image.HAS_PILLOW:
        module.fail_json(msg=missing_required_lib("Pillow"), exception=_image.PILLOW_IMPORT_ERROR)
    if not 0 < params["max_bytes"] <= AD_SCHEMA_LIMIT:
        module.fail_json(msg="max_bytes must be between 1 and %d, the most the AD schema allows in thumbnailPhoto "
                             "(10240 keeps the photo within the Exchange Online sync limit)." % AD_SCHEMA_LIMIT)
    all_entries = _bulk.entries(params, "identity")
    problems = _bulk.invalid_entries(all_entries, "identity")
    if problems:
        module.fail_json(msg="; ".join(problems))
    try:
        if params["photos"] is None and params["state"] == "present":
            all_entries[0]["desired"] = _ad_photo.desired_photo(all_entries[0], params)
            all_entries[0]["desired"].check()
        results = converge(module, all_entries)
    except (_image.ImageError, _ldap.LdapError) as error:
        module.fail_json(msg=str(error))
    if params["photos"] is None:
        if results[0]["failed"]:
            module.fail_json(msg=results[0]["msg"], dn=results[0]["dn"])
        module.exit_json(**single_result(results[0]))
    outcome = dict(changed=any(result["changed"] for result in results), results=results,
                   summary=_bulk.summary(results))
    if outcome["summary"]["failed"]:
        module.fail_json(msg=_bulk.failure_message(results, "identity"), **outcome)
    module.exit_json(**outcome)


if __name__ == "__main__":
    main()
