"""Graph and sign-in failures become sentences that say what to fix, and never show a secret."""

from __future__ import annotations

import types

import pytest

from ansible_collections.m365.photos.plugins.module_utils import _graph_auth, _graph_errors

from graph_params import PASSWORD, SECRET, params


WHERE = _graph_auth.endpoints(params())
READ = _graph_errors.Operation("reading the photo of alice", _graph_errors.READ_PERMISSION)
WRITE = _graph_errors.Operation("uploading the photo of alice", _graph_errors.WRITE_PERMISSION, write=True)
LOOKUP = _graph_errors.Operation("looking up user 'alice'", _graph_errors.USER_PERMISSION, user="alice")
GROUP_LISTING = _graph_errors.Operation("listing the members of group g", "GroupMember.Read.All", group="g")
FILTER_LISTING = _graph_errors.Operation("listing users", "User.Read.All", query_filter="department ne 'x'")


def api_error(status: int, code: str = "", message: str = "", headers: dict | None = None):
    return types.SimpleNamespace(response_status_code=status, response_headers=headers or {},
                                 error=types.SimpleNamespace(code=code, message=message), message=None)


@pytest.mark.parametrize("error, operation, expected", [
    (api_error(403, "ErrorAccessDenied", "Access is denied."), WRITE, "ProfilePhoto.ReadWrite.All"),
    (api_error(403, "ErrorAccessDenied", "Access is denied."), READ, "ProfilePhoto.Read.All"),
    (api_error(404, "Request_ResourceNotFound", "Resource 'alice' does not exist"), LOOKUP, "No user 'alice'"),
    (api_error(401, "InvalidAuthenticationToken", "Invalid audience."), READ, "check cloud, graph_url"),
    (api_error(413, "RequestEntityTooLarge"), WRITE, "Lower max_bytes"),
    (api_error(415, "UnsupportedMediaType"), WRITE, "JPEG only"),
    (api_error(400, "ValidationWidthTooSmall", "23 pixels wide"), WRITE, "larger or different picture"),
    (api_error(429, "TooManyRequests", headers={"Retry-After": "30"}), WRITE, "wait 30 s"),
    (api_error(503, "ServiceUnavailable"), READ, "Try again later"),
    (api_error(404, "Request_ResourceNotFound", "Resource 'g' does not exist"), GROUP_LISTING,
     "No Entra group has the object id 'g' in the tenant (HTTP 404 Request_ResourceNotFound"),
    (api_error(400, "Request_UnsupportedQuery", "Unsupported query."), FILTER_LISTING,
     "refused the user filter \"department ne 'x'\" as unsupported or invalid (HTTP 400 Request_UnsupportedQuery"),
    (api_error(403, "Authorization_RequestDenied", "Insufficient privileges"), GROUP_LISTING,
     "application permission GroupMember.Read.All"),
])
def test_graph_answers_become_a_sentence_saying_what_to_do(error, operation, expected):
    assert expected in _graph_errors.explain_api_error(error, operation, WHERE)


@pytest.mark.parametrize("aadsts, expected", [
    ("7000215", "client secret is wrong"),
    ("7000222", "client secret has expired"),
    ("700016", "no app with this client_id"),
    ("90002", "tenant was not found"),
    ("700027", "certificate is not registered"),
    ("70021", "issuer and audience match no federated credential"),
    ("700213", "subject matches no federated credential"),
    ("7002137", "subject matches no federated credential"),
    ("7002138", "only when case is ignored"),
])
def test_sign_in_failures_name_the_option_to_fix(aadsts, expected):
    error = Exception("ClientSecretCredential.get_token failed: invalid_client AADSTS%s: Something. Trace ID: x" % aadsts)
    message = _graph_errors.explain_sign_in_error(error, params(client_secret=SECRET), WHERE)
    assert expected in message and "AADSTS%s" % aadsts in message


@pytest.mark.parametrize("text, expected", [
    ("Cannot connect to host: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: unable to get local issuer "
     "certificate (_ssl.c:1006)", "Set ca_file"),
    ("Cannot connect to host login.chinacloudapi.cn:443 [Name or service not known]", "does not resolve"),
    ("Cannot connect to host 127.0.0.1:1 [Connect call failed: Connection refused]", "refused"),
])
def test_network_failures_during_sign_in_are_explained(text, expected):
    assert expected in _graph_errors.explain_sign_in_error(Exception(text), params(client_secret=SECRET), WHERE)


def test_no_secret_ever_appears_in_a_message():
    options = params(client_secret=SECRET, client_certificate_password=PASSWORD)
    quoting = Exception("invalid_client: secret %s and password %s were not accepted" % (SECRET, PASSWORD))
    for message in (_graph_errors.explain_sign_in_error(quoting, options, WHERE),
                    _graph_errors.explain_transport_error(quoting, READ, WHERE, options)):
        assert SECRET not in message and PASSWORD not in message and "********" in message


def test_a_policy_word_in_a_403_does_not_make_it_a_policy_refusal():
    error = api_error(403, "ErrorAccessDenied", "onPremises policy photoUpdateSettings")
    assert "Grant it the Microsoft Graph application permission ProfilePhoto.ReadWrite.All" in (
        _graph_errors.explain_api_error(error, WRITE, WHERE))


@pytest.mark.parametrize("source, readable, expected", [
    ("onPremises", True, "photoUpdateSettings source is onPremises"),
    ("onpremises", True, "use m365.photos.ad_thumbnail_photo"),
    ("cloud", True, "allow cloud updates (source cloud); if the source was changed in the last 24 hours"),
    (None, True, "allow cloud updates (source not set)"),
    (None, False, "grant PeopleSettings.Read.All to let this module tell (the setting could not be read: HTTP 403)"),
])
def test_a_refused_write_is_told_from_the_photo_update_settings(source, readable, expected):
    refusal = "The app may not do this: uploading the photo of alice was refused (HTTP 403 ErrorAccessDenied)."
    message = _graph_errors.explain_refused_write(WRITE, refusal, source, readable, "" if readable else "HTTP 403")
    assert expected in message
    # Under onPremises the refusal's own advice (grant a permission) is not repeated: the policy is the cause.
    assert message.startswith(refusal) == ((source or "").lower() != "onpremises")
