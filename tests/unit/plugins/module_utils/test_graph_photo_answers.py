"""Which answers to a photo call mean "no photo", which mean the photo cannot be reached, and what to do then."""

from __future__ import annotations

import pytest

from ansible_collections.m365.photos.plugins.module_utils import _graph_photo_answers as answers
from ansible_collections.m365.photos.plugins.module_utils._graph_batch import Answer
from ansible_collections.m365.photos.plugins.module_utils._graph_errors import Operation, explain_api_error
from ansible_collections.m365.photos.plugins.module_utils._graph_errors import ItemError

IMAGE_NOT_FOUND = "Exception of type 'Microsoft.Fast.Profile.Core.Exception.ImageNotFoundException' was thrown."
PROFILE_NOT_FOUND = ('{"errorCode": "ErrorUserResolutionFailedUserDoesNotExist", "message": "Exception of type '
                     '\'Microsoft.Fast.Profile.Core.Exception.ProfileNotFoundException\' was thrown."}')


def error(status: int, code: str, message: str = "") -> Answer:
    return Answer(status, {"Content-Type": "application/json"}, {"error": {"code": code, "message": message}})


@pytest.mark.parametrize("answer", [
    error(404, "ImageNotFound", IMAGE_NOT_FOUND),
    error(404, "ErrorEntityNotFound", IMAGE_NOT_FOUND),
    Answer(200, {}, {"id": "1X1", "width": 1, "height": 1, "@odata.mediaContentType": "image/gif"}),
    Answer(200, {}, {"id": "1x1", "width": 1, "height": 1, "@odata.mediaContentType": "image/jpeg", "@odata.mediaEtag": "x"}),
    Answer(200, {"Content-Type": "image/gif"}, b"GIF89a..."),
], ids=["ImageNotFound", "ErrorEntityNotFound", "1X1 gif", "1x1 entra size", "gif content"])
def test_only_the_documented_answers_mean_no_photo(answer):
    assert answers.no_photo(answer)
    assert answers.metadata(answer) is None and answers.picture(answer) is None


@pytest.mark.parametrize("answer", [
    error(404, "ErrorItemNotFound", "The specified object was not found in the store."),
    error(404, "MailboxNotHostedInExchangeOnline", "Mailbox is hosted by an on-premise or non-Exchange server"),
    error(404, "UnknownError", PROFILE_NOT_FOUND),
    error(404, "ErrorEntityNotFound", "Entity not found."),
    error(404, ""),
    error(400, "AuthenticationError", "Error authenticating with resource"),
], ids=["ErrorItemNotFound", "on-premises", "unlicensed", "other entity", "bare 404", "AuthenticationError"])
def test_other_404s_and_mailbox_400s_are_not_no_photo_but_a_mailbox_problem(answer):
    assert not answers.no_photo(answer)
    assert answers.mailbox_cause(answer.status, *answer.error_parts())


def test_a_stored_photo_of_any_dimensions_is_a_photo():
    answer = Answer(200, {}, {"id": "900X700", "width": 900, "height": 700, "@odata.mediaEtag": 'W/"e"'})
    assert not answers.no_photo(answer)
    assert answers.metadata(answer).facts() == dict(width=900, height=700, etag='W/"e"')
    assert answers.picture(Answer(200, {"Content-Type": "image/jpeg"}, b"\xff\xd8")) == b"\xff\xd8"


def explained(answer: Answer, write: bool = False) -> str:
    operation = Operation("reading the photo of alice@contoso.com", "ProfilePhoto.Read.All", write=write, photo=True)
    return explain_api_error(ItemError(answer), operation, where=None)


def test_each_mailbox_answer_names_its_cause_and_what_to_do():
    on_premises = explained(error(404, "MailboxNotHostedInExchangeOnline", "hosted by an on-premise server"))
    assert "on-premises" in on_premises and "m365.photos.ad_thumbnail_photo" in on_premises
    assert "alice@contoso.com" in on_premises and "MailboxNotHostedInExchangeOnline" in on_premises
    assert "licence" in explained(error(404, "UnknownError", PROFILE_NOT_FOUND))
    assert "no Exchange Online mailbox" in explained(error(404, "ErrorItemNotFound", "not found in the store"))


def test_a_400_for_the_picture_is_still_about_the_picture():
    answer = error(400, "ValidationWidthTooSmall", "too small")
    assert answers.mailbox_cause(400, "ValidationWidthTooSmall", "too small") is None
    assert "larger or different picture" in explained(answer, write=True)
