"""Self-check of the Samba AD DC sandbox (sandbox/samba-up.sh).

Skipped unless .sandbox/samba.env exists (run `sandbox/samba-up.sh` first). Talks to the real DC on
loopback; leaves no trace (the thumbnailPhoto written to user0001 is restored).
"""

import os
import shlex
import ssl
import subprocess
from pathlib import Path

import pytest

ldap3 = pytest.importorskip("ldap3", reason="ldap3 is not installed (pip install -r requirements.txt)")

ROOT = Path(__file__).resolve().parents[2]
ENV_FILE = Path(os.environ.get("SANDBOX_SAMBA_ENV", ROOT / ".sandbox" / "samba.env"))

pytestmark = pytest.mark.skipif(
    not ENV_FILE.is_file(),
    reason="%s is absent: start the directory sandbox with sandbox/samba-up.sh" % ENV_FILE,
)

KEYS = {
    "SANDBOX_LDAP_HOST",
    "SANDBOX_LDAP_PORT",
    "SANDBOX_LDAP_PLAIN_PORT",
    "SANDBOX_LDAP_CA_FILE",
    "SANDBOX_LDAP_BIND_DN",
    "SANDBOX_LDAP_BIND_PASSWORD",
    "SANDBOX_LDAP_BASE_DN",
    "SANDBOX_DOMAIN",
    "SANDBOX_USERS",
    "SANDBOX_LDAP_USERS_DN",
    "SANDBOX_KRB5_CONFIG",
    "SANDBOX_KRB5_KEYTAB",
    "SANDBOX_KRB5_PRINCIPAL",
}


def parse_env(path):
    """Read `export NAME='value'` lines the way bash would (quoting via shlex)."""
    values = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        words = shlex.split(line, comments=True)
        if words and words[0] == "export":
            words = words[1:]
        for word in words:
            name, _, value = word.partition("=")
            values[name] = value
    return values


@pytest.fixture(scope="module")
def env():
    values = parse_env(ENV_FILE)
    assert set(values) == KEYS, "unexpected variables in %s" % ENV_FILE
    return values


def tls(env):
    return ldap3.Tls(
        ca_certs_file=env["SANDBOX_LDAP_CA_FILE"],
        validate=ssl.CERT_REQUIRED,
        version=ssl.PROTOCOL_TLS_CLIENT,
    )


def connect(env, use_ssl=True, port=None):
    server = ldap3.Server(
        env["SANDBOX_LDAP_HOST"],
        port=int(port or env["SANDBOX_LDAP_PORT"]),
        use_ssl=use_ssl,
        tls=tls(env),
        get_info=ldap3.NONE,
        connect_timeout=5,
    )
    return ldap3.Connection(
        server,
        user=env["SANDBOX_LDAP_BIND_DN"],
        password=env["SANDBOX_LDAP_BIND_PASSWORD"],
        authentication=ldap3.SIMPLE,
        raise_exceptions=False,
        receive_timeout=30,
    )


def first(value):
    """ldap3 without schema info returns every attribute as a list."""
    return value[0] if isinstance(value, list) else value


def sees_administrator(c, env):
    """Anonymous users see nothing in AD: finding the Administrator proves an authenticated bind."""
    c.search(env["SANDBOX_LDAP_BASE_DN"], "(sAMAccountName=Administrator)", attributes=["objectSid"])
    return c.result["result"] == 0 and len(c.entries) == 1


@pytest.fixture(scope="module")
def conn(env):
    connection = connect(env)
    assert connection.bind(), connection.result
    yield connection
    connection.unbind()


def test_env_values(env):
    assert env["SANDBOX_LDAP_HOST"] == "127.0.0.1"
    assert env["SANDBOX_LDAP_PORT"] == "636"
    assert env["SANDBOX_LDAP_PLAIN_PORT"] == "389"
    assert Path(env["SANDBOX_LDAP_CA_FILE"]).is_absolute()
    assert env["SANDBOX_LDAP_USERS_DN"].endswith(env["SANDBOX_LDAP_BASE_DN"])
    assert int(env["SANDBOX_USERS"]) >= 1


def test_ldaps_with_full_certificate_validation(conn, env):
    assert conn.server.ssl
    assert sees_administrator(conn, env)
    conn.search(env["SANDBOX_LDAP_BASE_DN"], "(objectClass=domain)", search_scope=ldap3.BASE)
    assert conn.result["result"] == 0 and len(conn.entries) == 1


def test_ldaps_refuses_an_unknown_ca(env):
    # The system trust store does not know the sandbox CA: validation must fail.
    other = dict(
        env, SANDBOX_LDAP_CA_FILE=ssl.get_default_verify_paths().cafile or "/etc/ssl/certs/ca-certificates.crt"
    )
    if not Path(other["SANDBOX_LDAP_CA_FILE"]).is_file():
        pytest.skip("no system CA bundle to test against")
    with pytest.raises(ldap3.core.exceptions.LDAPSocketOpenError):
        connect(other).bind()


def test_plain_ldap_simple_bind_is_refused(env):
    c = connect(env, use_ssl=False, port=env["SANDBOX_LDAP_PLAIN_PORT"])
    assert not c.bind()
    assert c.result["result"] == 8, c.result  # strongerAuthRequired
    assert c.result["description"] == "strongerAuthRequired"
    c.unbind()


def test_starttls_on_plain_port(env):
    c = connect(env, use_ssl=False, port=env["SANDBOX_LDAP_PLAIN_PORT"])
    c.open()
    assert c.start_tls(), c.result
    assert c.bind(), c.result
    assert sees_administrator(c, env)
    c.unbind()


def test_seeded_users(conn, env):
    count = int(env["SANDBOX_USERS"])
    entries = conn.extend.standard.paged_search(
        env["SANDBOX_LDAP_USERS_DN"],
        "(&(objectClass=user)(sAMAccountName=user*))",
        attributes=["sAMAccountName", "userPrincipalName", "displayName"],
        paged_size=1000,
    )
    users = {}
    for entry in entries:
        if entry.get("type") == "searchResEntry":
            attrs = entry["attributes"]
            users[first(attrs["sAMAccountName"])] = (first(attrs["userPrincipalName"]), first(attrs["displayName"]))
    assert len(users) == count
    expected = {"user%04d" % i for i in range(1, count + 1)}
    assert set(users) == expected
    for name, (upn, display) in users.items():
        assert upn == "%s@%s" % (name, env["SANDBOX_DOMAIN"])
        assert display == "User %s" % name[4:]


def photo_of(conn, dn):
    conn.search(dn, "(objectClass=user)", search_scope=ldap3.BASE, attributes=["thumbnailPhoto"])
    assert conn.result["result"] == 0, conn.result
    value = conn.entries[0].entry_attributes_as_dict.get("thumbnailPhoto") or []
    return value[0] if value else None


def test_thumbnail_photo_size_limit(conn, env):
    dn = "CN=user0001,%s" % env["SANDBOX_LDAP_USERS_DN"]
    original = photo_of(conn, dn)
    try:
        small = bytes([0xFF, 0xD8]) + b"\x11" * 9996 + bytes([0xFF, 0xD9])  # 10,000 bytes
        assert conn.modify(dn, {"thumbnailPhoto": [(ldap3.MODIFY_REPLACE, [small])]}), conn.result
        assert photo_of(conn, dn) == small

        too_big = b"\x22" * 102401  # rangeUpper is 102,400
        assert not conn.modify(dn, {"thumbnailPhoto": [(ldap3.MODIFY_REPLACE, [too_big])]})
        assert conn.result["result"] in (19, 21), conn.result  # constraintViolation / invalidAttributeSyntax
        assert photo_of(conn, dn) == small, "the refused write changed the stored photo"

        limit = b"\x33" * 102400
        assert conn.modify(dn, {"thumbnailPhoto": [(ldap3.MODIFY_REPLACE, [limit])]}), conn.result
    finally:
        if original is None:
            conn.modify(dn, {"thumbnailPhoto": [(ldap3.MODIFY_DELETE, [])]})
        else:
            conn.modify(dn, {"thumbnailPhoto": [(ldap3.MODIFY_REPLACE, [original])]})
        assert photo_of(conn, dn) == original


def test_photo_reader_cannot_write_other_users_photos(env):
    """The low-privilege account seeded for negative tests: binds, reads, may not write others."""
    password_file = ROOT / ".sandbox" / "samba" / "reader.password"
    if not password_file.is_file():
        pytest.skip("no photo-reader password file (older sandbox)")
    reader = connect(
        dict(
            env,
            SANDBOX_LDAP_BIND_DN="CN=photo-reader,CN=Users,%s" % env["SANDBOX_LDAP_BASE_DN"],
            SANDBOX_LDAP_BIND_PASSWORD=password_file.read_text(encoding="utf-8").strip(),
        )
    )
    assert reader.bind(), reader.result
    dn = "CN=user0001,%s" % env["SANDBOX_LDAP_USERS_DN"]
    photo_of(reader, dn)  # reading works
    assert not reader.modify(dn, {"thumbnailPhoto": [(ldap3.MODIFY_REPLACE, [b"\xff\xd8\xff\xd9"])]})
    assert reader.result["result"] == 50, reader.result  # insufficientAccessRights
    reader.unbind()


def test_the_kdc_issues_a_ticket_for_the_ldap_service_from_the_keytab(env, tmp_path):
    """kinit from the keytab, then a service ticket for ldap/<host>: the principal the GSSAPI bind asks for."""
    kerberos = dict(os.environ, KRB5_CONFIG=env["SANDBOX_KRB5_CONFIG"], KRB5CCNAME="FILE:%s" % (tmp_path / "cache"))
    subprocess.run(["kinit", "-kt", env["SANDBOX_KRB5_KEYTAB"], env["SANDBOX_KRB5_PRINCIPAL"]], check=True, env=kerberos)
    subprocess.run(["kvno", "ldap/%s" % env["SANDBOX_LDAP_HOST"]], check=True, env=kerberos, capture_output=True)
    assert os.stat(env["SANDBOX_KRB5_KEYTAB"]).st_mode & 0o077 == 0, "the keytab must be private"


def seeded_names(conn, env):
    entries = conn.extend.standard.paged_search(
        env["SANDBOX_LDAP_USERS_DN"], "(sAMAccountName=user*)", attributes=["sAMAccountName"], paged_size=1000
    )
    return {first(entry["attributes"]["sAMAccountName"]) for entry in entries if entry.get("type") == "searchResEntry"}


def test_a_large_seed_goes_straight_into_the_database_and_back(conn, env):
    """The bulk path (sandbox/samdb_bulk.py, used from 1,000 changes on), forced here for 5 users each way."""
    count = int(env["SANDBOX_USERS"])
    def seed(users):
        return subprocess.run(
            [os.environ.get("PYTHON", "python3"), str(ROOT / "sandbox" / "ldap_seed.py"), "seed",
             "--host", env["SANDBOX_LDAP_HOST"], "--port", env["SANDBOX_LDAP_PORT"],
             "--ca-file", env["SANDBOX_LDAP_CA_FILE"], "--bind-dn", env["SANDBOX_LDAP_BIND_DN"],
             "--password-file", str(ROOT / ".sandbox" / "samba" / "admin.password"),
             "--base-dn", env["SANDBOX_LDAP_BASE_DN"], "--domain", env["SANDBOX_DOMAIN"], "--count", str(users),
             "--samdb-conf", str(ROOT / ".sandbox" / "samba" / "etc" / "smb.conf"), "--bulk-min", "1"],
            capture_output=True, text=True, check=False,
        )

    extra = {"user%04d" % number for number in range(count + 1, count + 6)}
    try:
        grown = seed(count + 5)
        assert grown.returncode == 0, grown.stderr
        assert "samdb_bulk: 5 operations" in grown.stdout
        assert seeded_names(conn, env) == {"user%04d" % number for number in range(1, count + 6)}
        newest = "user%04d" % (count + 5)
        conn.search(env["SANDBOX_LDAP_USERS_DN"], "(sAMAccountName=%s)" % newest,
                    attributes=["userPrincipalName", "userAccountControl"])
        found = conn.entries[0].entry_attributes_as_dict
        assert first(found["userPrincipalName"]) == "%s@%s" % (newest, env["SANDBOX_DOMAIN"])
        assert int(first(found["userAccountControl"])) == 514
    finally:
        shrunk = seed(count)
    assert shrunk.returncode == 0, shrunk.stderr
    assert "samdb_bulk: 5 operations" in shrunk.stdout
    assert not seeded_names(conn, env) & extra
    assert len(seeded_names(conn, env)) == count
