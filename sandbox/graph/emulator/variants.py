"""Answers Microsoft's service is documented or reported to give that a happy path leaves out (docs/sandbox.md).

- A user's mailbox kind (admin API): photo calls for a user without an Exchange Online mailbox, with an
  on-premises mailbox (hybrid) or without a licence fail with the error reported for that case.
- `no_photo_answer` (config): how "no photo" is answered: 404 ImageNotFound, 404 ErrorEntityNotFound with the
  ImageNotFound message, or the older 200 with 1X1 metadata and a 1x1 GIF.
"""
import base64

from .errors import GraphError, image_not_found

MAILBOX_KINDS = ("exchange_online", "none", "on_premises", "unlicensed")
NO_PHOTO_ANSWERS = ("ImageNotFound", "ErrorEntityNotFound", "1x1")
PHOTO_STORES = ("exchange", "entra")
# The smallest GIF: one transparent pixel, what the older "no photo" answer serves as $value.
GIF_1X1 = base64.b64decode("R0lGODlhAQABAIAAAP///wAAACH5BAEAAAAALAAAAAABAAEAAAICRAEAOw==")


def mailbox_error(kind):
    """The error a photo call answers for a user with this kind of mailbox, None when photos work."""
    if kind == "none":
        # msgraph-sdk-php #84, msgraph-sdk-dotnet #424 (a PUT with application permissions)
        return GraphError(404, "ErrorItemNotFound", "The specified object was not found in the store., "
                                                    "The process failed to get the correct properties.")
    if kind == "on_premises":
        # msgraph-sdk-dotnet #688 (the status is not shown there: 404 is a guess)
        return GraphError(404, "MailboxNotHostedInExchangeOnline",
                          "Mailbox is hosted by an on-premise or non-Exchange server, which is not supported.")
    if kind == "unlicensed":
        # msgraph-beta-sdk-dotnet #388, msgraph-sdk-dotnet #1247 (status not shown: 404 is a guess)
        return GraphError(404, "UnknownError", '{"errorCode": "ErrorUserResolutionFailedUserDoesNotExist", '
                                               '"message": "Exception of type \'Microsoft.Fast.Profile.Core.'
                                               'Exception.ProfileNotFoundException\' was thrown.", "target": null, '
                                               '"details": null, "innerError": null, "instanceAnnotations": []}')
    return None


def no_photo_error(answer):
    """The error for "no photo" under no_photo_answer, None for the 1x1 form (answered with placeholder())."""
    if answer == "ErrorEntityNotFound":
        # msgraph-sdk-dotnet-core #851
        return GraphError(404, "ErrorEntityNotFound", "Exception of type "
                          "'Microsoft.Fast.Profile.Core.Exception.ImageNotFoundException' was thrown.")
    if answer == "1x1":
        return None
    return image_not_found()


def placeholder(etag=""):
    """1X1 metadata: the older "no photo" answer (empty ETag), or an Entra photo's answer for a size it lacks."""
    return {"@odata.mediaContentType": "image/gif", "@odata.mediaEtag": etag, "id": "1X1", "width": 1, "height": 1}
