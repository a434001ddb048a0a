# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to the m365.photos collection: not a public API, may change without notice.
"""LDAP connection, user lookup and error messages for the Active Directory photo modules."""

from __future__ import annotations

import re
import ssl
import traceback
import uuid
from contextlib import contextmanager
from dataclasses import dataclass

from ansible_collections.m365.photos.plugins.module_utils._errors import PhotoError
from ansible_collections.m365.photos.plugins.module_utils._limits import IDENTITIES_PER_SEARCH, LDAP_PAGE_SIZE
from ansible_collections.m365.photos.plugins.module_utils._module import Dependency

try:
    import ldap3
    from ldap3.core import exceptions as ldap_exceptions
    from ldap3.utils.conv import escape_bytes, escape_filter_chars
except ImportError:
    HAS_LDAP3 = False
    LDAP3_IMPORT_ERROR: str | None = traceback.format_exc()
    _TlsBase: type = object
else:
    HAS_LDAP3 = True
    LDAP3_IMPORT_ERROR = None
    _TlsBase = ldap3.Tls
LDAP3 = Dependency("ldap3", HAS_LDAP3, LDAP3_IMPORT_ERROR)

THUMBNAIL_ATTRIBUTE = "thumbnailPhoto"
# The user's update sequence number on the DC that answers: a new one with every change to the object.
CHANGE_STAMP_ATTRIBUTE = "uSNChanged"
NAME_ATTRIBUTES = ["objectGUID", "sAMAccountName", "userPrincipalName", CHANGE_STAMP_ATTRIBUTE]
USER_ATTRIBUTES = NAME_ATTRIBUTES + [THUMBNAIL_ATTRIBUTE]
USER_CLASS_FILTER = "(&(objectCategory=person)(objectClass=user))"

# LDAP result codes this collection explains (RFC 4511 section 4.1.9).
RESULT_CONSTRAINT_VIOLATION = 19
RESULT_INVALID_ATTRIBUTE_SYNTAX = 21
RESULT_NO_SUCH_OBJECT = 32
RESULT_INVALID_CREDENTIALS = 49
RESULT_INSUFFICIENT_ACCESS = 50
RESULT_STRONGER_AUTH_REQUIRED = 8

_GUID_PATTERN = re.compile(r"^\{?[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}\}?$")


class LdapError(PhotoError):
    """An LDAP failure, worded for the person running the playbook."""


class LdapNoSuchUser(LdapError):
    """No user matches the identity."""


class LdapUnavailable(LdapError):
    """The server could not be reached or the connection dropped: the same request may work a little later."""

    retryable = True


def ldap_argument_spec() -> dict:
    """The connection options documented by the m365.photos._ldap doc fragment."""
    return dict(
        server=dict(type="str", required=True),
        port=dict(type="int"),
        tls=dict(type="str", default="ldaps", choices=["ldaps", "starttls", "none"]),
        validate_certs=dict(type="bool", default=True),
        ca_file=dict(type="path"),
        auth=dict(type="str", default="simple", choices=["simple", "kerberos"]),
        bind_dn=dict(type="str"),
        bind_password=dict(type="str", no_log=True),
        allow_unencrypted_bind=dict(type="bool", default=False),
        base_dn=dict(type="str"),
        timeout=dict(type="int", default=10),
    )


LDAP_REQUIRED_TOGETHER = [["bind_dn", "bind_password"]]


class _HostnameCheckingTls(_TlsBase):  # type: ignore[misc,valid-type]
    """ldap3's Tls, with certificate and host name checks left to Python's ssl module.

    ldap3 2.9.1 matches host names itself, and on Python 3.12+ (no ssl.match_hostname) its
    fallback refuses IP addresses, so a certificate naming 127.0.0.1 would never match.
    """

    def __init__(self, server_name: str, validate: bool, ca_file: str | None) -> None:
        super().__init__(validate=ssl.CERT_REQUIRED if validate else ssl.CERT_NONE)
        self._server_name = server_name
        self._validate = validate
        self._ca_file = ca_file

    def wrap_socket(self, connection, do_handshake=False):
        context = ssl.create_default_context(cafile=self._ca_file)
        if not self._validate:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        connection.socket = context.wrap_socket(
            connection.socket, server_side=False, do_handshake_on_connect=do_handshake,
            server_hostname=self._server_name,
        )
        connection.tls_started = True
        return True


def _explain_socket_error(error: Exception, address: str, params: dict) -> str:
    text = str(error)
    if "CERTIFICATE_VERIFY_FAILED" in text or "certificate verify failed" in text.lower():
        hint = ("set ca_file to the CA certificate that signed the server's certificate"
                if "Hostname mismatch" not in text and "IP address mismatch" not in text
                else "connect with a server name that the certificate lists")
        return ("The certificate of the LDAP server %s is not trusted (%s): %s, or set "
                "validate_certs: false for a test lab only." % (address, _ssl_reason(text), hint))
    if "refused" in text.lower():
        return ("Cannot reach the LDAP server %s: the connection was refused. Check server, port and tls "
                "(tls: %s)." % (address, params["tls"]))
    if "timed out" in text.lower():
        return "Cannot reach the LDAP server %s: no answer within %s seconds. Check server, port and firewalls." % (
            address, params["timeout"])
    return "Cannot reach the LDAP server %s: %s" % (address, text)


def _ssl_reason(text: str) -> str:
    match = re.search(r"certificate verify failed: ([^(\]]+)", text)
    return match.group(1).strip() if match else "verification failed"


def insecure_settings(params: dict) -> list:
    """Warnings for the options that switch protection off."""
    warnings = []
    if params["tls"] != "none" and not params["validate_certs"]:
        warnings.append("validate_certs is false: the certificate of the LDAP server %s is not checked, so anyone on "
                        "the network path can pose as it and read bind_password. Give ca_file instead."
                        % params["server"])
    if params["tls"] == "none" and params["auth"] == "simple" and params["bind_dn"] and params["allow_unencrypted_bind"]:
        warnings.append("bind_password goes to the LDAP server %s in clear text (tls: none with allow_unencrypted_bind); "
                        "use tls: ldaps or starttls." % params["server"])
    return warnings


def _default_port(tls: str) -> int:
    return 636 if tls == "ldaps" else 389


def connect(params: dict) -> "ldap3.Connection":
    """Open, secure and bind a connection as the options describe; LdapError on any failure."""
    tls_mode = params["tls"]
    port = params["port"] or _default_port(tls_mode)
    address = "%s:%s" % (params["server"], port)
    if params["auth"] == "simple" and tls_mode == "none" and params["bind_dn"] and not params["allow_unencrypted_bind"]:
        raise LdapError(
            "Refusing to send bind_password over an unencrypted connection to %s. Use tls: ldaps or starttls, "
            "or set allow_unencrypted_bind: true if you accept that risk." % address)
    tls = None if tls_mode == "none" else _HostnameCheckingTls(params["server"], params["validate_certs"], params["ca_file"])
    server = ldap3.Server(params["server"], port=port, use_ssl=tls_mode == "ldaps", tls=tls,
                          get_info=ldap3.NONE, connect_timeout=params["timeout"])
    connection = ldap3.Connection(server, receive_timeout=params["timeout"], raise_exceptions=False,
                                  **_credentials(params))
    try:
        connection.open()
        if tls_mode == "starttls" and not connection.start_tls():
            raise LdapError("The LDAP server %s refused StartTLS: %s. Use tls: ldaps instead." % (
                address, connection.last_error or connection.result))
        if not connection.bind():
            raise LdapError(_explain_bind_failure(connection.result, params))
    except ldap_exceptions.LDAPSocketOpenError as error:
        message = _explain_socket_error(error, address, params)
        raise (LdapError(message) if "certificate" in message else LdapUnavailable(message)) from None
    except ldap_exceptions.LDAPCommunicationError as error:
        raise LdapUnavailable("The LDAP server %s dropped the connection while it was opened: %s" % (
            address, error)) from None
    except ldap_exceptions.LDAPException as error:
        raise LdapError("LDAP error talking to %s: %s" % (address, error)) from None
    except _kerberos_errors() as error:
        raise LdapError(_explain_kerberos_failure(error, params)) from None
    return connection


def _kerberos_errors() -> tuple:
    """The exceptions a GSSAPI bind raises past ldap3 (none when gssapi is not installed)."""
    try:
        from gssapi.exceptions import GSSError
    except ImportError:
        return ()
    return (GSSError,)


def _explain_kerberos_failure(error: Exception, params: dict) -> str:
    text = " ".join(str(error).split())
    service = "ldap/%s" % params["server"]
    if "not found in Kerberos database" in text:
        hint = ("the domain has no service principal %s: set server to the domain controller's DNS name "
                "(the name its SPNs use), not an alias or an address" % service)
    elif "No Kerberos credentials" in text or "credentials cache" in text.lower() or "expired" in text.lower():
        hint = ("there is no valid ticket for the user running the module: run kinit (or kinit -kt KEYTAB "
                "PRINCIPAL) first, and pass KRB5CCNAME to the task's environment if the cache is not the default")
    else:
        hint = "check the ticket (klist), the realm's krb5.conf and the server name"
    return "The Kerberos (GSSAPI) bind to %s failed: %s. (%s)" % (params["server"], hint, text)


@contextmanager
def session(params: dict):
    """A bound connection for the with-block; any LDAP failure inside it becomes an LdapError."""
    connection = connect(params)
    try:
        yield connection
    except ldap_exceptions.LDAPException as error:
        raise LdapError("The LDAP connection to %s failed: %s" % (params["server"], error)) from None
    finally:
        try:
            connection.unbind()
        except ldap_exceptions.LDAPException:
            pass


def _credentials(params: dict) -> dict:
    if params["auth"] == "kerberos":
        try:
            import gssapi  # noqa: F401  pylint: disable=unused-import
        except ImportError:
            raise LdapError("auth: kerberos needs the Python package gssapi on the host that runs the module "
                            "(pip install gssapi) and a Kerberos ticket (kinit).") from None
        return dict(authentication=ldap3.SASL, sasl_mechanism=ldap3.KERBEROS)
    if params["bind_dn"]:
        return dict(user=params["bind_dn"], password=params["bind_password"], authentication=ldap3.SIMPLE)
    return dict(authentication=ldap3.ANONYMOUS)


def _explain_bind_failure(result: dict, params: dict) -> str:
    code = result.get("result")
    if code == RESULT_INVALID_CREDENTIALS:
        return ("The LDAP server refused the bind for '%s': wrong bind_dn or bind_password, or the account is "
                "disabled, locked or expired (LDAP 49 invalidCredentials)." % params["bind_dn"])
    if code == RESULT_STRONGER_AUTH_REQUIRED:
        return "The LDAP server requires an encrypted connection for this bind: use tls: ldaps or tls: starttls.%s" % (
            " (The Kerberos bind cannot sign or seal the connection itself: ldap3 has no SASL security layer, "
            "so the domain controller's signing requirement is met by TLS.)" if params["auth"] == "kerberos" else "")
    return "The LDAP bind failed: %s" % describe_result(result)


def describe_result(result: dict) -> str:
    message = (result.get("message") or "").strip()
    text = "LDAP %s %s" % (result.get("result"), result.get("description"))
    return "%s (%s)" % (text, message) if message else text


def default_naming_context(connection: "ldap3.Connection") -> str:
    if not connection.search("", "(objectClass=*)", search_scope=ldap3.BASE, attributes=["defaultNamingContext"]):
        raise LdapError("Cannot read the server's RootDSE to find the default naming context; set base_dn. %s"
                        % describe_result(connection.result))
    values = connection.response[0]["attributes"].get("defaultNamingContext")
    if not values:
        raise LdapError("The server does not announce a default naming context; set base_dn.")
    return values[0] if isinstance(values, list) else values


def invocation_id(connection: "ldap3.Connection") -> str | None:
    """The invocationId of the domain controller this connection talks to (the NTDS Settings object its RootDSE
    names), None where the server has none or does not show it: its USNs are then not trusted as stamps."""
    if not connection.search("", "(objectClass=*)", search_scope=ldap3.BASE, attributes=["dsServiceName"]):
        return None
    service = connection.response[0]["attributes"].get("dsServiceName") if connection.response else None
    service = service[0] if isinstance(service, list) and service else service
    if not service or not connection.search(service, "(objectClass=*)", search_scope=ldap3.BASE,
                                            attributes=["invocationId"]):
        return None
    values = connection.response[0].get("raw_attributes", {}).get("invocationId") if connection.response else None
    if not values or len(values[0]) != 16:
        return None
    return str(uuid.UUID(bytes_le=values[0]))


def dns_domain(dn: str | None) -> str | None:
    """The DNS domain a DN's DC= parts name (OU=Staff,DC=corp,DC=example: corp.example), None without any."""
    parts = re.findall(r"(?:^|,)\s*DC\s*=\s*([^,]+?)\s*(?=,|$)", dn or "", re.I)
    return ".".join(parts).lower() or None


@dataclass(frozen=True)
class Identity:
    """A user named by sAMAccountName, userPrincipalName, distinguishedName or objectGUID."""

    text: str
    kind: str
    term: str
    key: str


def _dn_key(dn: str) -> str:
    return re.sub(r"\s*([,=])\s*", r"\1", dn).lower()


def parse_identity(identity: str) -> Identity:
    """What identity names and the escaped filter term that finds it (never a wildcard)."""
    if _GUID_PATTERN.match(identity):
        guid = uuid.UUID(identity.strip("{}"))
        return Identity(identity, "objectGUID", "(objectGUID=%s)" % escape_bytes(guid.bytes_le), str(guid))
    if "=" in identity and "," in identity:
        return Identity(identity, "distinguishedName", "(distinguishedName=%s)" % escape_filter_chars(identity),
                        _dn_key(identity))
    kind = "userPrincipalName" if "@" in identity else "sAMAccountName"
    return Identity(identity, kind, "(%s=%s)" % (kind, escape_filter_chars(identity)), identity.lower())


def _user_keys(user: dict) -> list:
    keys = [("objectGUID", user["object_guid"]), ("distinguishedName", _dn_key(user["dn"]))]
    keys += [(kind, (user[field] or "").lower()) for kind, field in
             (("sAMAccountName", "sam_account_name"), ("userPrincipalName", "user_principal_name")) if user[field]]
    return keys


class UserIndex:
    """Users found by every name an identity may give them (objectGUID, DN, sAMAccountName, userPrincipalName)."""

    def __init__(self, users=()) -> None:
        self._by_key: dict = {}
        for user in users:
            self.add(user)

    def add(self, user: dict) -> None:
        for key in _user_keys(user):
            self._by_key.setdefault(key, []).append(user)

    def matches(self, identity: Identity) -> list:
        return self._by_key.get((identity.kind, identity.key), [])


def find_users(connection: "ldap3.Connection", identities: list, base_dn: str, with_photos: bool = True) -> list:
    """The user each identity names (a dict; without with_photos, its photo is not read: None) or the LdapError
    saying why none or several match, in order.

    One paged search per IDENTITIES_PER_SEARCH identities, with an OR of escaped terms: a single filter
    naming thousands of users would exceed the request size servers accept (Samba: 256 KB by default).
    """
    attributes = USER_ATTRIBUTES if with_photos else NAME_ATTRIBUTES
    parsed = [parse_identity(identity) for identity in identities]
    found = UserIndex()
    unique_terms = sorted({identity.term for identity in parsed})
    for start in range(0, len(unique_terms), IDENTITIES_PER_SEARCH):
        terms = "".join(unique_terms[start:start + IDENTITIES_PER_SEARCH])
        for user in paged_users(connection, base_dn, "(|%s)" % terms, attributes):
            found.add(user)
    return [one_user(identity, found, base_dn) for identity in parsed]


def scan_users(connection: "ldap3.Connection", base_dn: str, most: int) -> UserIndex | None:
    """Every user under base_dn, without photos, in one paged search; None once the subtree holds more than most
    users (the search is abandoned there: looking up the names would cost the directory less)."""
    index, seen = UserIndex(), 0
    for user in paged_users(connection, base_dn, None, NAME_ATTRIBUTES):
        seen += 1
        if seen > most:
            return None
        index.add(user)
    return index


def one_user(identity: Identity, index: UserIndex, base_dn: str):
    """The one user of index that identity names, or the LdapError saying why not."""
    matches = index.matches(identity)
    if not matches:
        return LdapNoSuchUser("No user matches identity '%s' (taken as a %s) under %s. Check the name, or set base_dn."
                              % (identity.text, identity.kind, base_dn))
    if len(matches) > 1:
        return LdapError("Identity '%s' matches several users (%s); use the distinguishedName or objectGUID."
                         % (identity.text, ", ".join(user["dn"] for user in matches)))
    return matches[0]


def find_user(connection: "ldap3.Connection", identity: str, base_dn: str) -> dict:
    """The one user that identity names; LdapError when none or several match."""
    user = find_users(connection, [identity], base_dn)[0]
    if isinstance(user, LdapError):
        raise user
    return user


def user_from_entry(entry: dict) -> dict:
    raw = entry.get("raw_attributes", {})
    guid = raw.get("objectGUID")
    return dict(
        dn=entry["dn"],
        object_guid=str(uuid.UUID(bytes_le=guid[0])) if guid else None,
        sam_account_name=_first_text(raw.get("sAMAccountName")),
        user_principal_name=_first_text(raw.get("userPrincipalName")),
        photo=(raw.get(THUMBNAIL_ATTRIBUTE) or [None])[0],
        usn_changed=_first_text(raw.get(CHANGE_STAMP_ATTRIBUTE)),
    )


def _first_text(values: list | None) -> str | None:
    return values[0].decode("utf-8") if values else None


def members_filter(connection: "ldap3.Connection", group_dn: str) -> str:
    """The filter term for the members of group_dn, nested membership included; LdapError when there is no such group."""
    found = connection.search(group_dn, "(objectClass=group)", search_scope=ldap3.BASE, attributes=["objectClass"])
    if not found:
        code = connection.result.get("result")
        if code in (RESULT_NO_SUCH_OBJECT, 0, None):
            raise LdapError("No group has the distinguished name '%s'. Check the group's DN." % group_dn)
        raise LdapError("Reading the group %s failed: %s" % (group_dn, describe_result(connection.result)))
    return "(memberOf:1.2.840.113556.1.4.1941:=%s)" % escape_filter_chars(group_dn)


def paged_users(connection: "ldap3.Connection", search_base: str, search_filter: str | None,
                attributes: list | None = None):
    """Yield every user under search_base (matching search_filter, an LDAP filter) with a paged search."""
    combined = "(&%s%s)" % (USER_CLASS_FILTER, search_filter) if search_filter else USER_CLASS_FILTER
    entries = connection.extend.standard.paged_search(
        search_base, combined, search_scope=ldap3.SUBTREE, attributes=attributes or USER_ATTRIBUTES,
        paged_size=LDAP_PAGE_SIZE, generator=True)
    try:
        for entry in entries:
            if entry.get("type") == "searchResEntry":
                yield user_from_entry(entry)
    except ldap_exceptions.LDAPCommunicationError:
        raise  # the connection broke: the caller may open another and search again
    except ldap_exceptions.LDAPException as error:
        raise LdapError("Searching users under %s failed: %s" % (search_base, error)) from None
    if connection.result.get("result") not in (0, None):
        raise LdapError("Searching users under %s failed: %s" % (search_base, describe_result(connection.result)))


def write_photo(connection: "ldap3.Connection", dn: str, photo: bytes | None) -> None:
    """Replace (or with None, remove) the user's thumbnailPhoto; LdapError with the server's reason."""
    change = [(ldap3.MODIFY_REPLACE, [photo] if photo is not None else [])]
    if connection.modify(dn, {THUMBNAIL_ATTRIBUTE: change}):
        return
    result = connection.result
    code = result.get("result")
    if code in (RESULT_CONSTRAINT_VIOLATION, RESULT_INVALID_ATTRIBUTE_SYNTAX) and photo is not None:
        raise LdapError(
            "The directory refused the %d-byte photo for %s: thumbnailPhoto holds at most 102,400 bytes in the AD "
            "schema (or less where your schema says so). Lower max_bytes. (%s)" % (len(photo), dn, describe_result(result)))
    if code == RESULT_INSUFFICIENT_ACCESS:
        raise LdapError("The bind account may not change thumbnailPhoto of %s: grant it write access to that "
                        "attribute (%s)." % (dn, describe_result(result)))
    raise LdapError("Changing thumbnailPhoto of %s failed: %s" % (dn, describe_result(result)))
