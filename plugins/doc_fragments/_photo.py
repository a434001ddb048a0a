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
        within O(max_bytes) (decided by comparing pictures, not bytes).
      - V(always) writes the photo unless the server already holds exactly these bytes.
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
notes:
  - The photo is decoded safely, turned upright (EXIF orientation), converted to sRGB, stripped of all
    metadata (EXIF, GPS, comments) and fitted as the sharpest baseline JPEG that fits O(max_bytes).
    A JPEG that already fits and carries no metadata is written as it is.
requirements:
  - Pillow >= 10.0.0
"""
