# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to the m365.photos collection: not a public API, may change without notice.

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  state:
    description:
      - V(present) makes the user's photo show the picture in O(src) or O(content).
      - V(absent) removes the user's photo.
    type: str
    choices: [present, absent]
    default: present
  src:
    description:
      - Path of the photo file on the controller (looked up like C(copy)'s O(src), so a role's
        C(files/) folder works). JPEG, PNG, GIF (first frame), WebP, BMP or TIFF.
      - Mutually exclusive with O(content). One of them is required with O(state=present).
    type: path
  content:
    description:
      - The photo file itself, base64 encoded. Same formats as O(src).
    type: str
  overwrite:
    description:
      - V(different) writes only when the user has no photo, or one that does not show the same picture
        within O(max_bytes) and O(max_dimension) (decided by comparing pictures, not bytes).
      - V(always) writes the photo on every run, unless the server keeps exactly the bytes it is given and
        already holds these.
      - V(if_missing) writes only when the user has no photo at all.
    type: str
    choices: [different, always, if_missing]
    default: different
  crop:
    description:
      - V(none) keeps the whole picture; V(center) cuts the largest centred square; V(top) cuts the
        largest square anchored near the top, which keeps faces in head-and-shoulders portraits.
    type: str
    choices: [none, center, top]
    default: none
  background:
    description:
      - Colour that transparent parts of the picture are flattened onto (JPEG has no transparency), as
        C(#rrggbb), C(#rgb) or a CSS colour name.
    type: str
    default: '#ffffff'
  concurrency:
    description:
      - How many writes go to the server at once, at least 1.
      - M(m365.photos.ad_thumbnail_photo) opens that many LDAP connections for writing; by default 1, the
        connection that also looks the users up.
      - M(m365.photos.exchange_online_photo) keeps that many requests in flight; a C($batch) of up to 20 reads
        counts as the 4 items Microsoft Graph runs of it at once, and batches and uploads share the limit. The
        strictest limits Microsoft documents for photos are 4 concurrent requests per app whatever the mailbox,
        and 150 MB uploaded per 5 minutes per app and mailbox.
      - Without this option its look-ups and writes start at 4 in flight and double while no answer is
        throttled, up to 64 (requests for different users touch different mailboxes, and the limits' other reading
        is 4 per app and mailbox); the first throttled answer puts them back to 4 for the rest of the run. Set it to
        hold reads and writes to a fixed number.
      - Pictures are decoded, compared and fitted in up to 4 worker processes (at most one per CPU), whatever
        this option is.
    type: int
  backup:
    description:
      - Before a photo is replaced or removed, keep it as a file in O(backup_dir), the way C(backup) keeps a
        file for M(ansible.builtin.copy). Each result then names it in RV(backup_file).
      - M(m365.photos.ad_thumbnail_photo) keeps the exact bytes AD held; M(m365.photos.exchange_online_photo)
        the largest size Microsoft 365 serves (one more download per replaced photo).
      - A backup that cannot be written fails that user before anything is written, so the photo stays as it is.
      - In check mode nothing is written; RV(backup_file) names the file that would be written.
      - A backup file is a valid O(src), so restoring a photo is converging on its backup.
    type: bool
    default: false
  backup_dir:
    description:
      - Folder on the host running the module for the backups, required with O(backup=true).
      - Each backup is C(<backup_dir>/<realm>/<user>/<UTC time>.<ext>). The realm is the AD domain (from its
        C(base_dn)) or the C(tenant_id); user is the name the task gives, in lower case (names with other
        characters than letters, digits, C(@), C(.), C(_) and C(-) get those replaced and a short hash
        appended). One run stamps all its backups with the same time.
      - Files are created exclusively, never over an existing one, with mode 0600 in folders of mode 0700.
    type: path
  backup_keep:
    description:
      - How many backups to keep per user, at least 1. Older ones are removed only after a new one is written.
    type: int
    default: 5
  cache_dir:
    description:
      - Folder on the host running the module where what each source photo gave is kept between runs (the
        fingerprints of the picture, the size of the fitted photo and the SHA-256 of its bytes), one small file per
        source and set of fitting options. A later run then decides for an unchanged source without decoding it;
        a user whose AD C(thumbnailPhoto) holds exactly the fitted bytes is kept from hashes alone.
      - It also keeps what each user's current photo was, under the server's change stamp for it (in AD the
        user's C(uSNChanged) on the domain controller that answered, with that DC's C(invocationId); in Microsoft
        Graph the photo's media ETag). A later run reads the photo again only for a user whose stamp has changed;
        AD photos are then not read at all, and Graph's 96x96 photos not downloaded, for users left as they are.
      - Off by default. Safe to delete at any time (the next run decodes again); a corrupt or foreign entry is
        ignored, and nothing read from it is ever written (a photo to write is always fitted from its source).
      - Files have mode 0600 in folders of mode 0700; at most 400,000 entries are kept, the least recently used
        removed first. In check mode it is read, never written. A folder that cannot be created or written fails
        the task before any user is handled.
    type: path
  return_thumbnails:
    description:
      - Return small JPEG thumbnails (base64) of the photo before and after, for a changed or failed user, for
        reports such as M(m365.photos.photo_sync_report). With M(m365.photos.exchange_online_photo) the
        96x96 photo is then read for every user.
    type: bool
    default: false
  return_unchanged:
    description:
      - With O(photos) or O(photos_from), whether RV(results) also holds the users left as they were.
      - Set V(false) for large runs, where what a run changed or failed is what anyone reads; RV(summary) still
        counts every user. A 100,000-user run with nothing to do otherwise returns about 50 MB, which
        C(ansible-playbook) then takes in, templates and prints (with C(-v)).
      - A task naming a single user answers for that user whatever this says.
    type: bool
    default: true
notes:
  - The photo is decoded safely, turned upright (EXIF orientation), converted to sRGB, stripped of all
    metadata (EXIF, GPS, comments) and fitted as the sharpest baseline JPEG that fits O(max_bytes).
    A JPEG that already fits and carries no metadata is written as it is.
  - One user and O(photos) are the same run inside the module, so they decide alike.
requirements:
  - Pillow >= 10.0.0
"""

    # The photos option of each module: the same text but for the key naming the user (ansible-doc merges
    # options one level deep only, so the suboptions cannot be shared).
    IDENTITY = r"""
options:
  photos:
    description:
      - Many users in one task, with one connection or sign-in and batched look-ups, instead of a task per user.
      - Each entry takes the single-user options; O(photos[].state) and O(photos[].overwrite) default to the
        task's O(state) and O(overwrite), and O(max_bytes), O(max_dimension), O(crop) and O(background) apply
        to every entry.
      - One failing entry does not stop the others. The task reports every entry in RV(results) and fails at the
        end, naming the users that failed.
      - Mutually exclusive with O(identity), O(src) and O(content).
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
"""

    USER = r"""
options:
  photos:
    description:
      - Many users in one task, with one connection or sign-in and batched look-ups, instead of a task per user.
      - Each entry takes the single-user options; O(photos[].state) and O(photos[].overwrite) default to the
        task's O(state) and O(overwrite), and O(max_bytes), O(max_dimension), O(crop) and O(background) apply
        to every entry.
      - One failing entry does not stop the others. The task reports every entry in RV(results) and fails at the
        end, naming the users that failed.
      - Mutually exclusive with O(user), O(src) and O(content).
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
"""
