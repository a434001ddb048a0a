# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to the m365.photos collection: not a public API, may change without notice.
"""How Microsoft Graph names a user in /users/{id}: which names it accepts, and the path for one."""

from __future__ import annotations

import re
import urllib.parse

_OBJECT_ID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
# Never in a user principal name, and each changes what a URL path means ("." and ".." collapse it).
_NOT_IN_A_NAME = re.compile(r"[/\\?\s\x00-\x1f\x7f]")


def is_object_id(text: str) -> bool:
    return bool(_OBJECT_ID.match(text))


def user_problem(user: str) -> str | None:
    """Why Graph cannot look user up, or None for a user principal name or an object id."""
    if is_object_id(user):
        return None
    local, at, domain = user.rpartition("@")
    if at and local and domain and not _NOT_IN_A_NAME.search(user):
        return None
    return ("'%s' is not a user Microsoft Graph can look up: give a user principal name (alice@contoso.com) or an "
            "object id (a GUID)." % user)


def user_path(user: str) -> str:
    """/users/<user>, every character but @ percent-encoded (a guest's #EXT# among them)."""
    return "/users/" + urllib.parse.quote(user, safe="@")
