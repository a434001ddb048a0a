"""LDAP helpers: filter escaping, identity forms and the messages for server refusals."""

from __future__ import annotations

import re
import uuid

import pytest

from ansible_collections.m365.photos.plugins.module_utils import _ldap

BASE = "DC=corp,DC=example"


def connection_params(**changes) -> dict:
    params = dict(server="dc1.corp.example", port=None, tls="ldaps", validate_certs=True, ca_file=None,
                  auth="simple", bind_dn="CN=svc,DC=corp,DC=example", bind_password="secret",
                  allow_unencrypted_bind=False, base_dn=None, timeout=5)
    params.update(changes)
    return params


class RefusingConnection:
    """Stands in for ldap3.Connection where modify is refused with a given LDAP result."""

    def __init__(self, code: int, description: str) -> None:
        self.result = dict(result=code, description=description, message="00000057: attribute error")

    def modify(self, dn, changes):
        return False


@pytest.mark.parametrize("identity", ["*)(objectClass=*", "*", "user)(|(cn=*", "a\\b", "x\x00y"])
def test_filter_metacharacters_in_an_identity_are_escaped(identity):
    term = _ldap.parse_identity(identity).term
    value = term.split("=", 1)[1][:-1]
    unescaped = re.sub(r"\\[0-9a-f]{2}", "", value)
    assert not set("*()\\\x00") & set(unescaped)


@pytest.mark.parametrize("identity, kind", [
    ("alice", "sAMAccountName"),
    ("alice@corp.example", "userPrincipalName"),
    ("CN=Alice,OU=Staff,DC=corp,DC=example", "distinguishedName"),
    ("{6f1c0e0a-3c59-4b56-9d1e-6a7b8c9d0e1f}", "objectGUID"),
])
def test_identity_form_is_recognised(identity, kind):
    parsed = _ldap.parse_identity(identity)
    assert parsed.kind == kind and parsed.term.startswith("(%s=" % kind)


def test_object_guid_is_searched_as_its_little_endian_bytes():
    guid = uuid.UUID("6f1c0e0a-3c59-4b56-9d1e-6a7b8c9d0e1f")
    escaped = "".join("\\%02x" % byte for byte in guid.bytes_le)
    assert _ldap.parse_identity(str(guid)).term == "(objectGUID=%s)" % escaped


def test_distinguished_names_match_whatever_their_spacing_and_case():
    user = dict(dn="CN=Alice,OU=Staff,DC=corp,DC=example", object_guid=None, sam_account_name="alice",
                user_principal_name=None)
    identity = _ldap.parse_identity("cn=alice, ou=staff, dc=corp, dc=example")
    assert (identity.kind, identity.key) in _ldap._user_keys(user)


@pytest.mark.parametrize("code, description", [(21, "invalidAttributeSyntax"), (19, "constraintViolation")])
def test_photo_refused_as_too_large_names_the_schema_limit(code, description):
    with pytest.raises(_ldap.LdapError, match="102,400 bytes.*Lower max_bytes"):
        _ldap.write_photo(RefusingConnection(code, description), "CN=Alice,DC=corp", b"x" * 102401)


def test_write_refused_for_rights_says_what_to_grant():
    with pytest.raises(_ldap.LdapError, match="grant it write access"):
        _ldap.write_photo(RefusingConnection(50, "insufficientAccessRights"), "CN=Alice,DC=corp", b"x")


def test_simple_bind_without_encryption_is_refused_before_connecting():
    with pytest.raises(_ldap.LdapError, match="Refusing to send bind_password"):
        _ldap.connect(connection_params(tls="none"))


@pytest.mark.parametrize("text, expected", [
    ("socket ssl wrapping error: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: "
     "unable to get local issuer certificate (_ssl.c:1006)", "set ca_file"),
    ("socket ssl wrapping error: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: "
     "Hostname mismatch, certificate is not valid for 'dc1'. (_ssl.c:1006)", "server name that the certificate lists"),
    ("socket connection error while opening: [Errno 111] Connection refused", "connection was refused"),
    ("socket connection error while opening: timed out", "no answer within 5 seconds"),
])
def test_socket_errors_are_explained(text, expected):
    assert expected in _ldap._explain_socket_error(Exception(text), "dc1:636", connection_params())


def test_wrong_password_message_names_the_bind_dn_not_the_password():
    message = _ldap._explain_bind_failure(dict(result=49, description="invalidCredentials"), connection_params())
    assert "CN=svc,DC=corp,DC=example" in message and "secret" not in message


def test_only_an_identity_no_user_matches_is_a_missing_user():
    identity = _ldap.parse_identity("ghost@corp.example")
    users = [dict(dn="CN=%s,%s" % (name, BASE), object_guid=None, sam_account_name=name,
                  user_principal_name="ghost@corp.example") for name in ("a", "b")]
    assert isinstance(_ldap.one_user(identity, _ldap.UserIndex(), BASE), _ldap.LdapNoSuchUser)
    several = _ldap.one_user(identity, _ldap.UserIndex(users), BASE)
    assert isinstance(several, _ldap.LdapError) and not isinstance(several, _ldap.LdapNoSuchUser)
    assert "CN=a,%s" % BASE in str(several) and "CN=b,%s" % BASE in str(several)
