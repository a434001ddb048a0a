"""ldap3 2.9.1 (its last release) against the installed pyasn1.

ldap3 imports ``tagMap`` and ``typeMap`` from ``pyasn1.codec.ber.encoder`` when it is imported; pyasn1
0.6 keeps them only as deprecated aliases of ``TAG_MAP`` and ``TYPE_MAP`` and says it will remove them.
ldap3 also picks its Boolean encoder by comparing pyasn1's version as a string, so a pyasn1 0.10 would
get the 0.2-era signature. requirements.txt pins ``pyasn1<0.7``; these tests fail as soon as a pyasn1
the pin allows breaks ldap3 (docs/development.md, "Dependency floor", says what to do then).
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import warnings

import pytest

from ansible_collections.m365.photos.plugins.module_utils import _ldap

ldap3 = pytest.importorskip("ldap3")
pyasn1_encoder = pytest.importorskip("pyasn1.codec.ber.encoder")


def test_ldap3_imports_with_the_installed_pyasn1():
    # The collection guards the import: a pyasn1 that breaks ldap3 would surface as "ldap3 is missing".
    assert _ldap.HAS_LDAP3, _ldap.LDAP3_IMPORT_ERROR
    assert _ldap.LDAP3_IMPORT_ERROR is None


@pytest.mark.parametrize("name", ["tagMap", "typeMap"])
def test_pyasn1_still_has_the_names_ldap3_imports(name):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        mapping = getattr(pyasn1_encoder, name)
    assert len(mapping) > 10


def test_ldap3_encodes_booleans_as_ldap_requires():
    # RFC 4511 section 5.1: TRUE is encoded as 0xFF. ldap3 patches pyasn1's encoder to get it; a pyasn1
    # whose version string sorts below '0.3.7' would make the patch call pyasn1 with the wrong signature.
    from ldap3.utils.asn1 import encode
    from pyasn1.type.univ import Boolean

    assert encode(Boolean(True)) == b"\x01\x01\xff"
    assert encode(Boolean(False)) == b"\x01\x01\x00"


def test_a_search_entry_with_a_photo_survives_ldap3s_encoder_and_decoders():
    # What the AD modules do on the wire: a search result entry carrying thumbnailPhoto bytes, encoded
    # with ldap3's patched encoder and read back by its fast decoder and by pyasn1's.
    from ldap3.protocol.rfc4511 import (
        LDAPDN, AttributeDescription, AttributeValue, LDAPMessage, MessageID, PartialAttribute,
        PartialAttributeList, ProtocolOp, SearchResultEntry, Vals)
    from ldap3.utils.asn1 import decode_message_fast, decoder, encode

    photo = bytes(range(256)) * 40  # 10,240 bytes, every byte value
    values = Vals()
    values.setComponentByPosition(0, AttributeValue(photo))
    attribute = PartialAttribute()
    attribute["type"] = AttributeDescription("thumbnailPhoto")
    attribute["vals"] = values
    attributes = PartialAttributeList()
    attributes.setComponentByPosition(0, attribute)
    entry = SearchResultEntry()
    entry["object"] = LDAPDN("CN=user0001,OU=PhotoUsers,DC=test,DC=example")
    entry["attributes"] = attributes
    message = LDAPMessage()
    message["messageID"] = MessageID(7)
    message["protocolOp"] = ProtocolOp().setComponentByName("searchResEntry", entry)

    data = encode(message)

    fast = decode_message_fast(data)
    assert fast["messageID"] == 7
    decoded, rest = decoder.decode(data, asn1Spec=LDAPMessage())
    assert rest == b""
    decoded_entry = decoded["protocolOp"]["searchResEntry"]
    assert str(decoded_entry["object"]) == "CN=user0001,OU=PhotoUsers,DC=test,DC=example"
    assert bytes(decoded_entry["attributes"][0]["vals"][0]) == photo


def test_these_tests_catch_pyasn1_removing_the_names():
    # Proves the first test can fail: with the aliases gone (as pyasn1 announces), importing ldap3 fails.
    script = textwrap.dedent("""
        import pyasn1.codec.ber.encoder as encoder
        for name in ("tagMap", "typeMap"):
            encoder.__dict__.pop(name, None)

        def __getattr__(name):
            raise AttributeError(name)

        encoder.__getattr__ = __getattr__
        try:
            import ldap3.utils.asn1
        except ImportError as error:
            print("ImportError:", error)
        else:
            print("imported")
    """)
    completed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert completed.stdout.startswith("ImportError:"), completed.stdout + completed.stderr
    assert "tagMap" in completed.stdout
