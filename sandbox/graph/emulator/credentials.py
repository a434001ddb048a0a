"""Key material: signing keys, client certificates (PEM and PKCS12), thumbprints, JWT helpers."""
import base64
import datetime
import hashlib
import os
import secrets
import string
import uuid

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID


def write_private(path, data):
    """Write a secret file readable by its owner only (0600 from the start, no window)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data if isinstance(data, bytes) else data.encode())
    os.chmod(path, 0o600)


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def new_client_secret():
    # Shaped like the portal's secrets (40 characters with a "~"), so log redaction rules
    # written for real secrets get exercised.
    alphanumeric = string.ascii_letters + string.digits
    head = "".join(secrets.choice(alphanumeric) for _ in range(3))  # never a leading "-"
    tail = "".join(secrets.choice(alphanumeric + "_-.") for _ in range(34))
    return head + "8Q~" + tail


def new_password():
    return secrets.token_urlsafe(18)


def load_or_create_rsa_key(path):
    if os.path.exists(path):
        with open(path, "rb") as handle:
            return serialization.load_pem_private_key(handle.read(), None)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    write_private(path, key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    return key


def key_id(public_key):
    der = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return b64url(hashlib.sha256(der).digest()[:16])


def public_jwk(public_key):
    numbers = public_key.public_numbers()

    def encode_int(value):
        return b64url(value.to_bytes((value.bit_length() + 7) // 8, "big"))

    return {"kty": "RSA", "use": "sig", "alg": "RS256", "kid": key_id(public_key),
            "n": encode_int(numbers.n), "e": encode_int(numbers.e)}


def create_client_certificate(common_name, pem_path, pfx_path, password, days=730):
    """Self-signed RSA certificate as an app credential: PEM (key + cert) and password-protected PKCS12."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=days))
            .sign(key, hashes.SHA256()))
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    write_private(pem_path, key_pem + cert.public_bytes(serialization.Encoding.PEM))
    write_private(pfx_path, pkcs12.serialize_key_and_certificates(
        common_name.encode(), key, cert, None, serialization.BestAvailableEncryption(password.encode())))
    return cert


def load_certificate_from_pem(path):
    with open(path, "rb") as handle:
        return x509.load_pem_x509_certificate(handle.read())


def thumbprints(cert):
    """(x5t, x5t#S256) as they appear in a JWT header: base64url of the SHA-1 / SHA-256 of the DER."""
    der = cert.public_bytes(serialization.Encoding.DER)
    return b64url(hashlib.sha1(der).digest()), b64url(hashlib.sha256(der).digest())


def sign_jwt(claims, private_key, headers=None):
    return jwt.encode(claims, private_key, algorithm="RS256",
                      headers={"kid": key_id(private_key.public_key()), **(headers or {})})


def mint_federated_token(issuer_key, issuer, subject, audience, lifetime_s, not_before_offset_s=0):
    """A workload-identity token as an external OIDC issuer (GitHub Actions, Kubernetes) would mint it."""
    now = int(datetime.datetime.now(datetime.timezone.utc).timestamp()) + not_before_offset_s
    claims = {"iss": issuer, "sub": subject, "aud": audience, "iat": now, "nbf": now,
              "exp": now + lifetime_s, "jti": str(uuid.uuid4())}
    return sign_jwt(claims, issuer_key, {"typ": "JWT"})
