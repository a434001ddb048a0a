"""Protection switched off is said out loud; names Graph cannot look up, and answers without an id, are errors."""

from __future__ import annotations

import asyncio
import datetime
from types import SimpleNamespace

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from ansible_collections.m365.photos.plugins.module_utils import _graph_auth, _ldap
from ansible_collections.m365.photos.plugins.module_utils._converge import Entry, Job
from ansible_collections.m365.photos.plugins.module_utils._graph_backend import GraphBackend
from ansible_collections.m365.photos.plugins.module_utils._graph_batch import Answer
from ansible_collections.m365.photos.plugins.module_utils._graph_users import user_problem

from graph_params import params as graph_params


def ldap_params(**changes) -> dict:
    values = {name: spec.get("default") for name, spec in _ldap.ldap_argument_spec().items()}
    values.update(server="dc1.corp.example", bind_dn="CN=svc,DC=corp,DC=example", bind_password="pw")
    values.update(changes)
    return values


def test_safe_ldap_settings_give_no_warning():
    assert _ldap.insecure_settings(ldap_params()) == []
    assert _ldap.insecure_settings(ldap_params(tls="none", bind_dn=None)) == []


@pytest.mark.parametrize("changes, words", [
    (dict(validate_certs=False), "validate_certs is false"),
    (dict(tls="starttls", validate_certs=False), "validate_certs is false"),
    (dict(tls="none", allow_unencrypted_bind=True), "in clear text"),
])
def test_switching_protection_off_is_warned(changes, words):
    warnings = _ldap.insecure_settings(ldap_params(**changes))
    assert len(warnings) == 1 and words in warnings[0] and "pw" not in warnings[0]


@pytest.mark.parametrize("user", ["alice@contoso.com", "alice_fabrikam.com#EXT#@contoso.onmicrosoft.com",
                                  "o'brien@contoso.com", "6f1c0e0a-3c59-4b56-9d1e-6a7b8c9d0e1f"])
def test_user_principal_names_and_object_ids_are_accepted(user):
    assert user_problem(user) is None


@pytest.mark.parametrize("user", [".", "..", "", "alice", "@contoso.com", "alice@", "../x@y", "a b@c", "a@b/c",
                                  "a@b?c", "a\n@b"])
def test_names_graph_cannot_look_up_are_refused_with_a_sentence(user):
    assert "give a user principal name (alice@contoso.com) or an object id" in user_problem(user)


class RecordingRunner:
    def __init__(self, answers) -> None:
        self.answers, self.items = answers, []

    async def run(self, items):
        self.items += items
        return [self.answers[item.key[1]] for item in items]


def look_up(names, answers):
    backend = GraphBackend(SimpleNamespace(post_batch=None), concurrency=4)
    backend.runner = RecordingRunner(answers)
    jobs = [Job(Entry(name=name, state="absent")) for name in names]
    asyncio.run(backend.look_up(jobs))
    return jobs, backend.runner.items


NO_PHOTO = Answer(404, body={"error": {"code": "ImageNotFound", "message": "no photo"}})


def test_a_bad_name_fails_its_entry_without_a_request():
    jobs, items = look_up([".", "alice@contoso.com"], {"user": Answer(200, body={"id": "id-1"}), "photo": NO_PHOTO})
    assert "not a user Microsoft Graph can look up" in jobs[0].error
    assert jobs[1].error is None and jobs[1].ref == "id-1"
    assert all("alice@contoso.com" in item.url for item in items)


def test_a_look_up_answered_without_an_id_is_an_error_not_a_user():
    answers = {"user": Answer(200, body={"userPrincipalName": "alice@contoso.com"}), "photo": NO_PHOTO}
    jobs, _items = look_up(["alice@contoso.com"], answers)
    assert "without an id" in jobs[0].error and jobs[0].ref is None


def unencrypted_pem(tmp_path) -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "m365-photos-test")])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                   .serial_number(1).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
                   .sign(key, hashes.SHA256()))
    path = tmp_path / "app.pem"
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption())
                     + certificate.public_bytes(serialization.Encoding.PEM))
    return str(path)


def test_a_password_for_a_key_that_has_none_is_a_sentence(tmp_path):
    from azure.identity import aio  # pylint: disable=import-outside-toplevel

    options = graph_params(auth_method="certificate", client_certificate_path=unencrypted_pem(tmp_path),
                           client_certificate_password="not-needed-secret")
    with pytest.raises(ValueError, match="client_certificate_password is set, but the private key in .* is not encrypted"):
        _graph_auth.certificate_credential(aio, options, _graph_auth.endpoints(options))
