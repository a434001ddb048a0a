"""Graph connection options: clouds, endpoints, auth methods and their environment variables."""

from __future__ import annotations

import types

import pytest

from ansible_collections.m365.photos.plugins.module_utils import _graph_auth

from graph_params import PASSWORD, SECRET, params


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
