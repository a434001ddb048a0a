# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to the m365.photos collection: not a public API, may change without notice.
"""What Microsoft Graph's answers to photo calls mean: a photo, "no photo", or a photo that cannot be reached.

"No photo" is only what Microsoft documents or its SDK issues show for it: 404 ImageNotFound, 404
ErrorEntityNotFound with an ImageNotFound message, and 200 with 1X1 metadata (a 1x1 GIF as content), the older
form, which an Entra ID photo also gives for a size it does not have. Any other 404 (and the 400s that name a
mailbox) means the photo cannot be reached at all: no Exchange Online mailbox, an on-premises mailbox in a
hybrid deployment, or no licence (docs/exchange-online.md has the answers and their sources).
"""

from __future__ import annotations

from ansible_collections.m365.photos.plugins.module_utils._graph_sizes import PhotoMetadata, metadata_of

NO_PHOTO_CODES = ("imagenotfound", "errorentitynotfound")
_MAILBOX_400_CODES = ("authenticationerror", "mailboxnothostedinexchangeonline", "unknownerror")
ON_PREMISES = ("the user's mailbox is on-premises (Exchange hybrid), and Microsoft Graph reaches photos in Exchange "
               "Online only: move the mailbox to Exchange Online, or keep this user's photo in Active Directory "
               "(m365.photos.ad_thumbnail_photo) for Entra Connect to sync")
NO_PROFILE = ("Microsoft 365 has no profile for the user, most often because it has no licence that includes Exchange "
              "Online: assign one (the mailbox takes a while to be created) or leave the user out")
NO_MAILBOX = ("the user has no Exchange Online mailbox (no licence that includes Exchange Online, or one not "
              "provisioned yet) or has an on-premises mailbox in a hybrid deployment: check the user's licences and "
              "mailbox in the Microsoft 365 admin center, or leave the user out")


def is_no_photo(status: int | None, code: str, message: str) -> bool:
    """Whether an error answer is one of the documented "no photo" answers."""
    code = (code or "").lower()
    if status != 404 or code not in NO_PHOTO_CODES:
        return False
    return code == "imagenotfound" or "imagenotfound" in (message or "").lower()


def mailbox_cause(status: int | None, code: str, message: str) -> str | None:
    """The likely cause, and what to do, for a photo call's error that says the photo cannot be reached at all."""
    code, text = (code or "").lower(), ("%s %s" % (code, message)).lower()
    if status not in (400, 404) or is_no_photo(status, code, message):
        return None
    if status == 400 and code not in _MAILBOX_400_CODES:
        return None  # an upload refused for its picture: see _graph_errors
    if "mailboxnothostedinexchangeonline" in text or "on-premise" in text:
        return ON_PREMISES
    if "profilenotfound" in text or "userresolutionfailed" in text:
        return NO_PROFILE
    return NO_MAILBOX


def no_photo(answer) -> bool:
    """Whether a $batch answer (an _graph_batch.Answer) says the user has no photo (or not at this size)."""
    if answer.ok and isinstance(answer.body, dict):
        return metadata_of(answer.body) is None
    if answer.ok:
        return is_placeholder(answer) or not answer.body
    return is_no_photo(answer.status, *answer.error_parts())


def is_placeholder(answer) -> bool:
    """A 1x1 GIF served as content: the older "no photo", or a size an Entra ID photo does not have."""
    return (answer.header("Content-Type") or "").lower().startswith("image/gif")


def metadata(answer) -> PhotoMetadata | None:
    """The photo's metadata from a successful answer, None for a 1X1 placeholder."""
    return metadata_of(answer.body) if answer.ok and isinstance(answer.body, dict) else None


def picture(answer) -> bytes | None:
    """The photo's bytes from a successful content answer, None for a placeholder."""
    if answer.ok and isinstance(answer.body, (bytes, bytearray)) and not is_placeholder(answer):
        return bytes(answer.body)
    return None
