# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to the m365.photos collection: not a public API, may change without notice.

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  shard:
    description:
      - Converge only the users of one of O(shard.count) shards, so that one tenant's users can be spread over
        several hosts (AWX job slicing, forks); every user is in exactly one shard.
      - A user's shard is a stable hash (SHA-256) of the user's name as the task gives it, in lower case, modulo
        O(shard.count). The same name lands in the same shard on every host and every run, so every host of a
        tenant must name users the same way (a user named by userPrincipalName on one host and by sAMAccountName
        on another is in two shards).
      - Applies to O(photos) entries and O(photos_from) files alike; the others are left out of the run (not
        reported). Mutually exclusive with the single-user option.
      - The M(m365.photos.photo_sync_report) module merges the results of the shards of one tenant.
    type: dict
    suboptions:
      index:
        description: This host's shard, from 0 to O(shard.count) - 1.
        type: int
        required: true
      count:
        description: How many shards the users are split into, at least 1.
        type: int
        required: true
"""

    # photos_from of each module: the same text but for its keys and words (ansible-doc merges options one level deep
    # only, and ansible-test reads fragments as plain strings).
    IDENTITY = r"""
options:
  photos_from:
    description:
      - A folder of photos, one file per user, converged as if each file were a O(photos) entry with O(photos[].src)
        the file. The folder is read on the host running the module (with C(ansible_connection=local), the
        controller), not looked up in a role's C(files/).
      - The module lists the files directly in the folder (not in subfolders, not hidden files) whose extension
        is C(.jpg), C(.jpeg), C(.png), C(.gif), C(.webp), C(.bmp), C(.tif) or C(.tiff), in any case, in the order
        of their names. A file's name without its extension names the user, by O(photos_from.key).
      - O(state), O(overwrite), O(max_bytes), O(max_dimension), O(crop) and O(background) apply to every file.
      - A file whose name does not fit O(photos_from.key) and a file for a user the directory does not know map
        to no user; they are listed in RV(unmatched) with a warning, and do not fail the task. Two files for one
        user (C(alice@corp.example.com.jpg) and C(Alice@corp.example.com.png)) fail the task before anything is
        written, naming both. A folder that does not exist or holds no photo file fails the task.
      - May be combined with O(photos); an entry there for a user of the folder (the same name, ignoring case)
        wins over the folder's file, and other entries add users. Mutually exclusive with O(identity), O(src) and
        O(content).
    type: dict
    suboptions:
      path:
        description: The folder.
        type: path
        required: true
      key:
        description:
          - What the file names are.
          - V(upn) the user principal name, such as C(alice@corp.example.com.jpg).
          - V(sam_account_name) the sAMAccountName (pre-Windows 2000 logon name), such as C(alice.jpg).
          - V(object_id) the object id (C(objectGUID)), such as C(7c3a3f0e-6a43-4a55-9f0b-3f2c1d9a8b11.jpg).
        type: str
        choices: [upn, sam_account_name, object_id]
        default: upn
      domains:
        description:
          - Only files named by a user principal name in one of these domains (C(corp.example.com)), ignoring case,
            are taken; the others are left out without a word (the users of other tenants, in a folder that
            several tenants share). Needs O(photos_from.key=upn).
        type: list
        elements: str
"""

    USER = r"""
options:
  photos_from:
    description:
      - A folder of photos, one file per user, converged as if each file were a O(photos) entry with O(photos[].src)
        the file. The folder is read on the host running the module (with C(ansible_connection=local), the
        controller), not looked up in a role's C(files/).
      - The module lists the files directly in the folder (not in subfolders, not hidden files) whose extension
        is C(.jpg), C(.jpeg), C(.png), C(.gif), C(.webp), C(.bmp), C(.tif) or C(.tiff), in any case, in the order
        of their names. A file's name without its extension names the user, by O(photos_from.key).
      - O(state), O(overwrite), O(max_bytes), O(max_dimension), O(crop) and O(background) apply to every file.
      - A file whose name does not fit O(photos_from.key) and a file for a user the tenant does not know map
        to no user; they are listed in RV(unmatched) with a warning, and do not fail the task. Two files for one
        user (C(alice@corp.example.com.jpg) and C(Alice@corp.example.com.png)) fail the task before anything is
        written, naming both. A folder that does not exist or holds no photo file fails the task.
      - May be combined with O(photos); an entry there for a user of the folder (the same name, ignoring case)
        wins over the folder's file, and other entries add users. Mutually exclusive with O(user), O(src) and
        O(content).
    type: dict
    suboptions:
      path:
        description: The folder.
        type: path
        required: true
      key:
        description:
          - What the file names are.
          - V(upn) the user principal name, such as C(alice@corp.example.com.jpg).
          - V(object_id) the object id (the Entra ID object id), such as C(7c3a3f0e-6a43-4a55-9f0b-3f2c1d9a8b11.jpg).
        type: str
        choices: [upn, object_id]
        default: upn
      domains:
        description:
          - Only files named by a user principal name in one of these domains (C(corp.example.com)), ignoring case,
            are taken; the others are left out without a word (the users of other tenants, in a folder that
            several tenants share). Needs O(photos_from.key=upn).
        type: list
        elements: str
"""
