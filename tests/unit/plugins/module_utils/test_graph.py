"""Graph connection options and error messages, without a network."""

from __future__ import annotations

import types

import pytest

from ansible_collections.m365.photos.plugins.module_utils import _graph, _graph_auth, _photo_state

SECRET = "abc8Q~s3cr3t-value-that-must-never-show"
PASSWORD = "pfx-password-never-shown"


def params(**changes) -> dict:
    values = {name: spec.get("default") for name, spec in _graph_auth.graph_argument_spec().items()}
    values.update(tenant_id="contoso.onmicrosoft.com", client_id="11111111-2222-3333-4444-555555555555")
    values.update(changes)
    return values


# -- clouds and endpoints ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("cloud, graph, authority, scope", [
    ("global", "https://graph.microsoft.com/v1.0", "https://login.microsoftonline.com", "https://graph.microsoft.com/.default"),
    ("usgov", "https://graph.microsoft.us/v1.0", "https://login.microsoftonline.us", "https://graph.microsoft.us/.default"),
    ("usgovdod", "https://dod-graph.microsoft.us/v1.0", "https://login.microsoftonline.us",
     "https://dod-graph.microsoft.us/.default"),
    ("china", "https://microsoftgraph.chinacloudapi.cn/v1.0", "https://login.chinacloudapi.cn",
     "https://microsoftgraph.chinacloudapi.cn/.default"),
])
def test_each_cloud_changes_authority_scope_and_graph_together(cloud, graph, authority, scope):
    where = _graph_auth.endpoints(params(cloud=cloud))
    assert (where.graph_url, where.authority, where.scope) == (graph, authority, scope)
    assert where.authority_is_microsoft


def test_overrides_replace_urls_but_keep_the_clouds_scope():
    where = _graph_auth.endpoints(params(graph_url="https://127.0.0.1:8443/v1.0/", authority_url="https://127.0.0.1:8443/"))
    assert where.graph_url == "https://127.0.0.1:8443/v1.0"
    assert where.authority == "https://127.0.0.1:8443"
    assert where.scope == "https://graph.microsoft.com/.default"
    assert not where.authority_is_microsoft
    assert where.beta_url == "https://127.0.0.1:8443/beta"


def test_a_graph_url_without_a_path_gets_the_api_version():
    assert _graph_auth.endpoints(params(graph_url="https://graph.example")).graph_url == "https://graph.example/v1.0"


@pytest.mark.parametrize("option", ["graph_url", "authority_url"])
def test_plain_http_urls_are_refused(option):
    with pytest.raises(_graph_auth.GraphConfigError, match="%s must be an https" % option):
        _graph_auth.endpoints(params(**{option: "http://127.0.0.1:8080"}))


def test_every_option_but_the_choices_falls_back_to_an_azure_variable():
    spec = _graph_auth.graph_argument_spec()
    fallbacks = {name: option["fallback"][1][0] for name, option in spec.items() if "fallback" in option}
    assert fallbacks == dict(tenant_id="AZURE_TENANT_ID", client_id="AZURE_CLIENT_ID", client_secret="AZURE_CLIENT_SECRET",
                             client_certificate_path="AZURE_CLIENT_CERTIFICATE_PATH",
                             client_certificate_password="AZURE_CLIENT_CERTIFICATE_PASSWORD",
                             federated_token_file="AZURE_FEDERATED_TOKEN_FILE", authority_url="AZURE_AUTHORITY_HOST")
    assert spec["client_secret"]["no_log"] and spec["client_certificate_password"]["no_log"]


# -- auth method selection -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("given, chosen", [
    (dict(client_secret=SECRET, client_certificate_path="/c.pem", federated_token_file="/t"), "client_secret"),
    (dict(client_certificate_path="/c.pem", federated_token_file="/t"), "certificate"),
    (dict(federated_token_file="/t"), "workload_identity"),
    (dict(auth_method="managed_identity", client_secret=SECRET), "managed_identity"),
])
def test_auto_prefers_secret_then_certificate_then_federated_token(given, chosen):
    assert _graph_auth.chosen_auth_method(params(**given)) == chosen


def test_auto_without_any_credential_names_the_options_and_never_guesses_managed_identity():
    with pytest.raises(_graph_auth.GraphConfigError, match="client_secret, client_certificate_path or federated_token_file"):
        _graph_auth.chosen_auth_method(params())


class FakeCredentialModule:
    """Stands in for azure.identity.aio: records which class was built with what."""

    def __getattr__(self, name):
        def build(*args, **kwargs):
            return types.SimpleNamespace(kind=name, args=args, kwargs=kwargs)
        return build


@pytest.mark.parametrize("given, kind", [
    (dict(client_secret=SECRET), "ClientSecretCredential"),
    (dict(client_certificate_path="/c.pfx", client_certificate_password=PASSWORD), "CertificateCredential"),
    (dict(federated_token_file="/t.jwt"), "WorkloadIdentityCredential"),
    (dict(auth_method="managed_identity"), "ManagedIdentityCredential"),
    (dict(auth_method="azure_cli"), "AzureCliCredential"),
])
def test_each_method_builds_its_own_credential(given, kind):
    options = params(authority_url="https://127.0.0.1:8443", ca_file="/ca.pem", **given)
    credential = _graph_auth.build_credential(FakeCredentialModule(), options, _graph_auth.endpoints(options))
    assert credential.kind == kind
    if kind not in ("ManagedIdentityCredential", "AzureCliCredential"):
        assert credential.kwargs["authority"] == "https://127.0.0.1:8443"
        assert credential.kwargs["disable_instance_discovery"] is True
        assert credential.kwargs["connection_verify"] == "/ca.pem"


def test_a_method_without_its_inputs_says_which_are_missing():
    options = params(auth_method="certificate", tenant_id=None)
    with pytest.raises(_graph_auth.GraphConfigError, match="tenant_id and client_certificate_path"):
        _graph_auth.build_credential(FakeCredentialModule(), options, _graph_auth.endpoints(options))


# -- error translation ---------------------------------------------------------------------------------------------

WHERE = _graph_auth.endpoints(params())
READ = _graph.Operation("reading the photo of alice", _graph.READ_PERMISSION)
WRITE = _graph.Operation("uploading the photo of alice", _graph.WRITE_PERMISSION, write=True)
LOOKUP = _graph.Operation("looking up user 'alice'", _graph.USER_PERMISSION, user="alice")


def api_error(status: int, code: str = "", message: str = "", headers: dict | None = None):
    return types.SimpleNamespace(response_status_code=status, response_headers=headers or {},
                                 error=types.SimpleNamespace(code=code, message=message), message=None)


@pytest.mark.parametrize("error, operation, expected", [
    (api_error(403, "ErrorAccessDenied", "Access is denied."), WRITE, "ProfilePhoto.ReadWrite.All"),
    (api_error(403, "ErrorAccessDenied", "Access is denied."), READ, "ProfilePhoto.Read.All"),
    (api_error(403, "PhotoUpdateDisabledByPolicy", "source is 'onPremises'"), WRITE, "m365.photos.ad_thumbnail_photo"),
    (api_error(404, "Request_ResourceNotFound", "Resource 'alice' does not exist"), LOOKUP, "No user 'alice'"),
    (api_error(401, "InvalidAuthenticationToken", "Invalid audience."), READ, "check cloud, graph_url"),
    (api_error(413, "RequestEntityTooLarge"), WRITE, "Lower max_bytes"),
    (api_error(415, "UnsupportedMediaType"), WRITE, "JPEG only"),
    (api_error(400, "ValidationWidthTooSmall", "23 pixels wide"), WRITE, "larger or different picture"),
    (api_error(429, "TooManyRequests", headers={"Retry-After": "30"}), WRITE, "wait 30 s"),
    (api_error(503, "ServiceUnavailable"), READ, "Try again later"),
])
def test_graph_answers_become_a_sentence_saying_what_to_do(error, operation, expected):
    assert expected in _graph.explain_api_error(error, operation, WHERE)


@pytest.mark.parametrize("aadsts, expected", [
    ("7000215", "client secret is wrong"),
    ("7000222", "client secret has expired"),
    ("700016", "no app with this client_id"),
    ("90002", "tenant was not found"),
    ("700027", "certificate is not registered"),
    ("70021", "federated credential"),
])
def test_sign_in_failures_name_the_option_to_fix(aadsts, expected):
    error = Exception("ClientSecretCredential.get_token failed: invalid_client AADSTS%s: Something. Trace ID: x" % aadsts)
    message = _graph.explain_sign_in_error(error, params(client_secret=SECRET), WHERE)
    assert expected in message and "AADSTS%s" % aadsts in message


@pytest.mark.parametrize("text, expected", [
    ("Cannot connect to host: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: unable to get local issuer "
     "certificate (_ssl.c:1006)", "Set ca_file"),
    ("Cannot connect to host login.chinacloudapi.cn:443 [Name or service not known]", "does not resolve"),
    ("Cannot connect to host 127.0.0.1:1 [Connect call failed: Connection refused]", "refused"),
])
def test_network_failures_during_sign_in_are_explained(text, expected):
    assert expected in _graph.explain_sign_in_error(Exception(text), params(client_secret=SECRET), WHERE)


def test_no_secret_ever_appears_in_a_message():
    options = params(client_secret=SECRET, client_certificate_password=PASSWORD)
    quoting = Exception("invalid_client: secret %s and password %s were not accepted" % (SECRET, PASSWORD))
    for message in (_graph.explain_sign_in_error(quoting, options, WHERE),
                    _graph.explain_transport_error(quoting, READ, WHERE, options)):
        assert SECRET not in message and PASSWORD not in message and "********" in message


# -- photo sizes and the "already right" rule -----------------------------------------------------------------------

@pytest.mark.parametrize("width, height, side", [(648, 648, 648), (1000, 700, 648), (512, 512, 504), (100, 300, 96),
                                                 (40, 40, 40)])
def test_the_served_side_is_the_largest_documented_size_within_the_upload(width, height, side):
    assert _graph.served_side(width, height) == side


@pytest.mark.parametrize("current, desired, write", [(96, 648, True), (432, 648, True), (504, 648, None),
                                                     (648, 648, None), (120, 120, None), (96, 120, None)])
def test_a_much_smaller_photo_is_replaced_without_comparing_pixels(current, desired, write):
    decision = _photo_state.decide_by_size(current, desired, "different", 648)
    assert (decision.write if decision else None) == write


def test_overwrite_modes_decide_by_size_alone():
    assert _photo_state.decide_by_size(None, 648, "if_missing").write
    assert not _photo_state.decide_by_size(96, 648, "if_missing").write
    assert _photo_state.decide_by_size(648, 648, "always").write
    assert _photo_state.decide_by_size(648, 240, "different", max_dimension=240).write
