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
      - Values are escaped in the LDAP filter. Exactly one user must match.
    type: str
    required: true
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
"""

RETURN = r"""
dn:
  description: Distinguished name of the user.
  returned: success
  type: str
  sample: CN=Alice,OU=Staff,DC=corp,DC=example,DC=com
before:
  description: The photo the user had before the task, or null when there was none.
  returned: success
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
  returned: success
  type: dict
  sample: {bytes: 10102, sha256: 51ab..., width: 210, height: 210, format: JPEG}
similarity:
  description: How alike the current and desired pictures are (0 to 1), when they were compared.
  returned: when the user had a readable photo and O(state=present)
  type: float
  sample: 0.97
reason:
  description: Why the photo was or was not written.
  returned: success
  type: str
  sample: the current photo shows a different picture
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.m365.photos.plugins.module_utils import _image, _ldap, _photo_state

AD_SCHEMA_LIMIT = 102400


def argument_spec() -> dict:
    spec = _ldap.ldap_argument_spec()
    spec.update(
        identity=dict(type="str", required=True),
        state=dict(type="str", default="present", choices=["present", "absent"]),
        src=dict(type="path"),
        content=dict(type="str"),
        overwrite=dict(type="str", default="different", choices=["different", "always", "if_missing"]),
        max_bytes=dict(type="int", default=10240),
        max_dimension=dict(type="int"),
        crop=dict(type="str", default="none", choices=["none", "center", "top"]),
        background=dict(type="str", default="#ffffff"),
    )
    return spec


def desired_photo(module: AnsibleModule) -> bytes:
    params = module.params
    if params["src"]:
        try:
            with open(params["src"], "rb") as source:
                data = source.read()
        except OSError as error:
            raise _image.ImageError("Cannot read the photo file %s: %s" % (params["src"], error.strerror)) from None
    else:
        data = _photo_state.decode_content(params["content"])
    return _image.prepare_photo(data, max_bytes=params["max_bytes"], max_dimension=params["max_dimension"],
                                crop_mode=params["crop"], background=params["background"])


def converge(module: AnsibleModule, desired: bytes | None) -> dict:
    params = module.params
    with _ldap.session(params) as connection:
        base_dn = params["base_dn"] or _ldap.default_naming_context(connection)
        user = _ldap.find_user(connection, params["identity"], base_dn)
        current = user["photo"]
        if desired is None:
            decision = _photo_state.Decision(current is not None, "removing the photo" if current else "the user has no photo")
        else:
            decision = _photo_state.decide(current, desired, params["overwrite"], params["max_bytes"],
                                           params["max_dimension"])
        after = desired if decision.write else current
        if decision.write and not module.check_mode:
            _ldap.write_photo(connection, user["dn"], after)
    before_facts, after_facts = _photo_state.facts(current), _photo_state.facts(after)
    result = dict(changed=decision.write, dn=user["dn"], before=before_facts, after=after_facts,
                  reason=decision.reason, diff=dict(before=before_facts or {}, after=after_facts or {}))
    if decision.similarity is not None:
        result["similarity"] = round(decision.similarity, 4)
    return result


def main() -> None:
    module = AnsibleModule(
        argument_spec=argument_spec(),
        mutually_exclusive=[["src", "content"]],
        required_if=[["state", "present", ["src", "content"], True]],
        required_together=_ldap.LDAP_REQUIRED_TOGETHER,
        supports_check_mode=True,
    )
    if not _ldap.HAS_LDAP3:
        module.fail_json(msg=missing_required_lib("ldap3"), exception=_ldap.LDAP3_IMPORT_ERROR)
    if not _image.HAS_PILLOW:
        module.fail_json(msg=missing_required_lib("Pillow"), exception=_image.PILLOW_IMPORT_ERROR)
    if not 0 < module.params["max_bytes"] <= AD_SCHEMA_LIMIT:
        module.fail_json(msg="max_bytes must be between 1 and %d, the most the AD schema allows in thumbnailPhoto "
                             "(10240 keeps the photo within the Exchange Online sync limit)." % AD_SCHEMA_LIMIT)
    try:
        desired = desired_photo(module) if module.params["state"] == "present" else None
        module.exit_json(**converge(module, desired))
    except (_image.ImageError, _ldap.LdapError) as error:
        module.fail_json(msg=str(error))


if __name__ == "__main__":
    main()
