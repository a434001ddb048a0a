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
    source. A photo is left alone when it shows the same picture at a comparable resolution. Its size is
    read first; a photo much smaller than the desired one (less than 3/4 of the side the upload would give,
    such as a 96x96 photo synced from Active Directory when 648x648 is possible) is replaced without
    downloading it. Otherwise the 96x96 size is downloaded and compared with the desired picture.
author:
  - m365.photos team (@m365-photos)
options:
  user:
    description:
      - The user, by user principal name or object id.
      - One of O(user) and O(photos) is required.
    type: str
  photos:
    description:
      - Many users in one task, with one sign-in and batched reads, instead of a task per user.
      - Each entry takes the single-user options; O(photos[].state) and O(photos[].overwrite) default to the
        task's O(state) and O(overwrite), and O(max_bytes), O(max_dimension), O(crop) and O(background) apply
        to every entry.
      - Reads are JSON batches (C($batch), 20 requests each) of the least that decides whether a photo is
        already right - the user's id, the photo's metadata and its 96x96 size - so a run that changes nothing
        sends about 0.15 HTTP requests per user. Batch items the service throttles are sent again after their
        own C(Retry-After). Only photos to upload are fitted and encoded.
      - One failing entry does not stop the others. The task reports every entry in RV(results) and fails at the
        end, naming the users that failed.
    type: list
    elements: dict
    suboptions:
      user:
        description: The user, as in O(user).
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
      - With O(photos), how many HTTP requests are in flight at once (a C($batch) of up to 20 reads is one), and
        so how many photos are uploaded at once. Defaults to 16.
      - Microsoft's limits for profile photos are 4 concurrent requests per app and mailbox, and 130,000 requests
        per 10 seconds per app across the tenant. This module never sends more than 3 requests for one user at
        once, whatever O(concurrency) is; 16 in flight keeps a run of 10,000 users fast while staying far below
        the tenant-wide limit (16 batches of 20 at 50 ms or more each are at most 6,400 requests a second).
      - Pictures are decoded and compared in up to 4 worker processes (at most one per CPU), one photo at a time each.
    type: int
  return_thumbnails:
    description:
      - With O(photos), return small JPEG thumbnails (base64) of the photo before and after for every changed or
        failed entry, for reports such as M(m365.photos.photo_sync_report). The 96x96 photo is then read for every
        entry.
    type: bool
    default: false
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
  - Requests per run that changes nothing, after the token request, are three (user, photo metadata, and the
    96x96 photo when the sizes alone do not settle it), two of them in parallel.
  - With O(photos), the same three reads per user travel in C($batch) requests of 20; uploads are single
    C(PUT) requests, retried on throttling after C(Retry-After).
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
    - When the task uploads, also the uploaded JPEG's C(bytes), C(sha256) and C(format); in check mode the
      dimensions are predicted and C(etag) is null.
  returned: success, with O(user)
  type: dict
  sample: {width: 648, height: 648, etag: W/"9a0f...", bytes: 91234, sha256: 51ab..., format: JPEG}
similarity:
  description: How alike the current and desired pictures are (0 to 1), when they were compared.
  returned: with O(user), when the pictures were compared
  type: float
  sample: 0.97
reason:
  description: Why the photo was or was not uploaded or removed.
  returned: success, with O(user)
  type: str
  sample: the current photo is 96x96, much smaller than the 648x648 the desired photo gives
results:
  description:
    - One entry per O(photos) entry, in the same order, with the keys returned for a single user plus the
      entry's user, state, changed, failed and msg.
    - After an upload, an entry's C(after) has the uploaded JPEG's C(bytes), C(sha256) and C(format) and the
      media ETag the service reports.
  returned: with O(photos)
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
summary:
  description: Counts over RV(results).
  returned: with O(photos)
  type: dict
  sample: {entries: 10000, changed: 12, unchanged: 9987, failed: 1}
before_thumbnail:
  description: A small JPEG of the photo before, base64, in RV(results) when O(return_thumbnails=true) and the
    photo changed or failed.
  returned: with O(photos) and O(return_thumbnails=true)
  type: str
after_thumbnail:
  description: A small JPEG of the photo after, base64, in RV(results) when O(return_thumbnails=true) and the
    photo changed or failed.
  returned: with O(photos) and O(return_thumbnails=true)
  type: str
"""


from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.m365.photos.plugins.module_utils import (
    _bulk, _graph, _graph_auth, _graph_photo, _image, _photo_state,
)

GRAPH_UPLOAD_LIMIT = 4 * 1024 * 1024
SMALLEST_SERVED_SIDE = 48


def argument_spec() -> dict:
    spec = _graph_auth.graph_argument_spec()
    spec.update(_bulk.photo_argument_spec("user", max_bytes=4000000, max_dimension=648))
    return spec


def desired_photo(params: dict) -> bytes:
    return _image.prepare_photo(_photo_state.photo_source(params["src"], params["content"]),
                                max_bytes=params["max_bytes"], max_dimension=params["max_dimension"],
                                crop_mode=params["crop"], background=params["background"])


async def decide(session, user_id: str, current, desired: bytes | None, params: dict) -> _photo_state.Decision:
    if desired is None:
        return _photo_state.Decision(current is not None, "removing the photo" if current else "the user has no photo")
    facts = _image.describe(desired)
    decision = _photo_state.decide_by_size(current.side if current else None,
                                           _graph.served_side(facts["width"], facts["height"]),
                                           params["overwrite"], params["max_dimension"])
    if decision is not None:
        return decision
    shown = await session.photo_content(user_id, _graph.comparison_side(current.side))
    return _photo_state.decide_by_picture(shown, desired)


def predicted_after(desired: bytes | None) -> dict | None:
    if desired is None:
        return None
    facts = _image.describe(desired)
    side = _graph.served_side(facts["width"], facts["height"])
    return dict(width=side, height=side, etag=None, bytes=facts["bytes"], sha256=facts["sha256"],
                format=facts["format"])


async def converge(session, params: dict, desired: bytes | None, check_mode: bool) -> dict:
    user, current = await session.user_and_photo(params["user"])
    decision = await decide(session, user["id"], current, desired, params)
    before = current.facts() if current else None
    after = before
    if decision.write:
        after = predicted_after(desired)
        if not check_mode:
            if desired is None:
                await session.delete_photo(user["id"])
            else:
                await session.upload_photo(user["id"], desired)
                stored = await session.photo_metadata(user["id"])
                after.update(stored.facts() if stored else {})
    result = dict(changed=decision.write, user_id=user["id"], before=before, after=after, reason=decision.reason,
                  diff=dict(before=before or {}, after=after or {}))
    if decision.similarity is not None:
        result["similarity"] = round(decision.similarity, 4)
    return result


def check_limits(module: AnsibleModule) -> None:
    params = module.params
    if not 0 < params["max_bytes"] <= GRAPH_UPLOAD_LIMIT:
        module.fail_json(msg="max_bytes must be between 1 and %d, the 4 MB Microsoft Graph takes (the default, "
                             "4000000, keeps a margin below it)." % GRAPH_UPLOAD_LIMIT)
    if params["max_dimension"] < SMALLEST_SERVED_SIDE:
        module.fail_json(msg="max_dimension must be at least %d pixels, the smallest photo size Microsoft Graph "
                             "serves." % SMALLEST_SERVED_SIDE)


def bulk(module: AnsibleModule) -> None:
    """The photos form: every entry converged in one signed-in session; fails at the end naming the failures."""
    params = module.params
    all_entries = _bulk.entries(params, "user")
    problems = _bulk.invalid_entries(all_entries, "user")
    if problems:
        module.fail_json(msg="; ".join(problems))
    if params["concurrency"] is not None and params["concurrency"] < 1:
        module.fail_json(msg="concurrency must be at least 1.")
    pool = _bulk.image_pool(_bulk.image_workers(len(all_entries)))
    try:
        results = _graph.run(params, lambda session: _graph_photo.BulkRun(
            session, params, module.check_mode, pool).converge(all_entries))
    except _graph.GraphError as error:
        module.fail_json(msg=str(error))
    finally:
        if pool is not None:
            pool.shutdown()
    outcome = dict(changed=any(result["changed"] for result in results), results=results,
                   summary=_bulk.summary(results))
    if outcome["summary"]["failed"]:
        module.fail_json(msg=_bulk.failure_message(results, "user"), **outcome)
    module.exit_json(**outcome)


def main() -> None:
    module = AnsibleModule(
        argument_spec=argument_spec(),
        mutually_exclusive=[["src", "content"], ["user", "photos"], ["photos", "src"], ["photos", "content"]],
        required_one_of=[["user", "photos"]],
        supports_check_mode=True,
    )
    if not _graph.HAS_GRAPH_SDK:
        module.fail_json(msg=missing_required_lib("msgraph-sdk, azure-identity and aiohttp"),
                         exception=_graph.GRAPH_SDK_IMPORT_ERROR)
    if not _image.HAS_PILLOW:
        module.fail_json(msg=missing_required_lib("Pillow"), exception=_image.PILLOW_IMPORT_ERROR)
    check_limits(module)
    if module.params["photos"] is not None:
        bulk(module)
    if module.params["state"] == "present" and not (module.params["src"] or module.params["content"]):
        module.fail_json(msg="state is present but any of the following are missing: src, content")
    try:
        desired = desired_photo(module.params) if module.params["state"] == "present" else None
        module.exit_json(**_graph.run(module.params, lambda session: converge(
            session, module.params, desired, module.check_mode)))
    except (_image.ImageError, _graph.GraphError) as error:
        module.fail_json(msg=str(error))


if __name__ == "__main__":
    main()
