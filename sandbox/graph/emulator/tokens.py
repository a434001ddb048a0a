"""The authority: OpenID discovery, JWKS, the client-credentials token endpoint, access-token checks."""
import hmac
import time
import urllib.parse
import uuid

import jwt

from . import credentials
from .errors import OAuthError, invalid_token, json_response

JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
CLOCK_SKEW_S = 300  # the identity platform tolerates five minutes of skew on assertions
RESERVED_SCOPES = {"openid", "profile", "offline_access"}
GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"


def base_url(request):
    return f"https://{request.header('host', '127.0.0.1')}"


def tenant_not_found(identifier, error="invalid_request"):
    return OAuthError(400, error, 90002,
                      f"Tenant '{identifier}' not found. Check to make sure you have the correct tenant ID "
                      "and are signing into the correct cloud. Check with your subscription administrator, "
                      "this may happen if there are no active subscriptions for the tenant.")


class Authority:
    def __init__(self, directory, config):
        self.directory = directory
        self.config = config
        self.verified_tokens = {}  # access token -> claims; signature checks are the costly part

    # -- discovery ---------------------------------------------------------------------------
    def openid_configuration(self, request, tenant_identifier):
        tenant = self.directory.find_tenant(tenant_identifier)
        if tenant is None:
            raise tenant_not_found(tenant_identifier, "invalid_tenant")
        root = f"{base_url(request)}/{tenant.id}"
        return json_response(200, {
            "issuer": f"{root}/v2.0",
            "authorization_endpoint": f"{root}/oauth2/v2.0/authorize",
            "token_endpoint": f"{root}/oauth2/v2.0/token",
            "device_authorization_endpoint": f"{root}/oauth2/v2.0/devicecode",
            "end_session_endpoint": f"{root}/oauth2/v2.0/logout",
            "jwks_uri": f"{root}/discovery/v2.0/keys",
            "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt",
                                                      "client_secret_basic"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "response_modes_supported": ["query", "fragment", "form_post"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "claims_supported": ["sub", "iss", "aud", "exp", "iat", "tid", "oid", "roles"],
            "request_uri_parameter_supported": False,
            "tenant_region_scope": "EU",
            "cloud_instance_name": "microsoftonline.com",
            "cloud_graph_host_name": "graph.windows.net",
            "msgraph_host": "graph.microsoft.com",
        })

    def jwks(self):
        return json_response(200, {"keys": [credentials.public_jwk(self.directory.signing_key.public_key())]})

    # -- token endpoint ----------------------------------------------------------------------
    def token(self, request, tenant_identifier):
        tenant = self.directory.find_tenant(tenant_identifier)
        if tenant is None:
            raise tenant_not_found(tenant_identifier)
        form = {k: v[-1] for k, v in urllib.parse.parse_qs(request.body.decode("utf-8", "replace")).items()}
        if form.get("grant_type") != "client_credentials":
            raise OAuthError(400, "unsupported_grant_type", 70003,
                             "The app requested an unsupported grant type "
                             f"'{form.get('grant_type', '')}'. Only client_credentials is emulated.")
        client_id = form.get("client_id") or ""
        if not client_id:
            raise OAuthError(400, "invalid_request", 900144,
                             "The request body must contain the following parameter: 'client_id'.")
        app = tenant.apps.get(client_id.lower())
        if app is None:
            raise OAuthError(400, "unauthorized_client", 700016,
                             f"Application with identifier '{client_id}' was not found in the directory "
                             f"'{tenant.domain}'. This can happen if the application has not been installed by "
                             "the administrator of the tenant or consented to by any user in the tenant. You "
                             "may have sent your authentication request to the wrong tenant.")
        self._check_scope(form.get("scope"))
        if "client_secret" in form:
            self._check_secret(app, form["client_secret"])
        elif "client_assertion" in form:
            self._check_assertion(tenant, app, form)
        else:
            raise OAuthError(401, "invalid_client", 7000218,
                             "The request body must contain the following parameter: 'client_assertion' or "
                             "'client_secret'.")
        lifetime = int(self.config["token_lifetime_s"])
        return json_response(200, {"token_type": "Bearer", "expires_in": lifetime, "ext_expires_in": lifetime,
                                   "access_token": self.issue_access_token(tenant, app, lifetime)},
                             {"Cache-Control": "no-store, no-cache"})

    def _check_scope(self, scope):
        audience = self.config["graph_audience"].rstrip("/")
        requested = [s for s in (scope or "").split() if s not in RESERVED_SCOPES]
        if not requested:
            raise OAuthError(400, "invalid_request", 900144,
                             "The request body must contain the following parameter: 'scope'.")
        for item in requested:
            if not item.endswith("/.default"):
                raise OAuthError(400, "invalid_scope", 1002012,
                                 f"The provided value for scope {item} is not valid. Client credential flows "
                                 "must have a scope value with /.default suffixed to the resource identifier "
                                 "(application ID URI).")
            if item[: -len("/.default")].rstrip("/") not in (audience, GRAPH_APP_ID):
                raise OAuthError(400, "invalid_resource", 500011,
                                 f"The resource principal named {item[:-len('/.default')]} was not found in "
                                 "the tenant. This emulator only issues tokens for Microsoft Graph "
                                 f"({audience}).")

    @staticmethod
    def _check_secret(app, presented):
        now = time.time()
        for secret in app.secrets:
            if hmac.compare_digest(secret["value"].encode(), presented.encode()):
                if secret["expires"] < now:
                    raise OAuthError(401, "invalid_client", 7000222,
                                     f"The provided client secret keys for app '{app.client_id}' are expired. "
                                     "Visit the Azure portal to create new keys for your app: "
                                     "https://aka.ms/NewClientSecret, or consider using certificate "
                                     "credentials for added security: https://aka.ms/certCreds.")
                return
        raise OAuthError(401, "invalid_client", 7000215,
                         "Invalid client secret provided. Ensure the secret being sent in the request is the "
                         f"client secret value, not the client secret ID, for a secret added to app "
                         f"'{app.client_id}'.")

    def _check_assertion(self, tenant, app, form):
        if form.get("client_assertion_type") != JWT_BEARER:
            raise OAuthError(400, "invalid_request", 700049,
                             f"The client_assertion_type must be '{JWT_BEARER}'.")
        assertion = form["client_assertion"]
        try:
            header = jwt.get_unverified_header(assertion)
            claims = jwt.decode(assertion, options={"verify_signature": False})
        except jwt.PyJWTError:
            raise OAuthError(401, "invalid_client", 50027, "JWT token is invalid or malformed.") from None
        # The identity platform tells the two apart the same way: an app's own assertion has
        # iss == sub == client id; anything else is a federated (workload identity) token.
        if claims.get("iss") == claims.get("sub") == app.client_id:
            self._check_certificate_assertion(tenant, app, header, assertion)
        else:
            self._check_federated_assertion(app, claims, assertion)

    def _check_certificate_assertion(self, tenant, app, header, assertion):
        thumbprint = header.get("x5t#S256") or header.get("x5t") or ""
        # MSAL sends padded base64url; the RFC form is unpadded. Accept any base64 spelling.
        normalized = thumbprint.replace("+", "-").replace("/", "_").rstrip("=")
        registered = next((c for c in app.certificates if normalized in (c["x5t"], c["x5t#S256"])), None)
        if registered is None:
            raise OAuthError(401, "invalid_client", 700027,
                             "Client assertion failed signature validation. [Reason - The key was not found., "
                             f"Thumbprint of key used by client: '{thumbprint}', Please visit the Azure "
                             "Portal, Graph Explorer or directly use MS Graph to see configured keys for app "
                             f"Id '{app.client_id}'.]")
        public_key = credentials.load_certificate_from_pem(registered["pem"]).public_key()
        claims = self._verify_jwt(assertion, public_key, ["RS256", "PS256"], 700027,
                                  "Client assertion contains an invalid signature. [Reason - The provided "
                                  "signature value did not match the expected signature value.]")
        audience = urllib.parse.urlsplit(claims.get("aud") or "").path.strip("/").split("/")
        valid_paths = [[ident, *suffix] for ident in tenant.identifiers
                       for suffix in (["oauth2", "v2.0", "token"], ["oauth2", "token"])]
        if [part.lower() for part in audience] not in valid_paths:
            raise OAuthError(401, "invalid_client", 700023,
                             f"Client assertion audience claim '{claims.get('aud')}' does not match the token "
                             "endpoint of this tenant.")

    def _check_federated_assertion(self, app, claims, assertion):
        issuer, subject = claims.get("iss"), claims.get("sub")
        audiences = claims.get("aud") if isinstance(claims.get("aud"), list) else [claims.get("aud")]
        candidates = [f for f in app.federated if f["issuer"] == issuer and f["audience"] in audiences]
        if not candidates:
            # azure-workload-identity #616: a 400 invalid_request, naming issuer, subject and audience.
            raise OAuthError(400, "invalid_request", 70021,
                             "No matching federated identity record found for presented assertion. Assertion "
                             f"Issuer: '{issuer}'. Assertion Subject: '{subject}'. "
                             f"Assertion Audience: '{claims.get('aud')}'.")
        record = next((f for f in candidates if f["subject"] == subject), None)
        if record is None:
            raise self._subject_mismatch(subject, candidates)
        if record["issuer"] != self.directory.federation_issuer:
            raise OAuthError(401, "invalid_client", 50013,
                             "Assertion failed signature validation: the emulator only trusts its own "
                             "sandbox issuer.")
        self._verify_jwt(assertion, self.directory.issuer_key.public_key(), ["RS256"], 50013,
                         "Assertion failed signature validation. [Reason - The key was not found.]")

    def _subject_mismatch(self, subject, candidates):
        """Azure/login #515, #517 (7002138, case only), #482 (700213), microsoft/Agents #202 (7002137)."""
        check = ("Check your federated identity credential Subject, Audience and Issuer against the presented "
                 "assertion. https://learn.microsoft.com/entra/workload-id/workload-identity-federation")
        if any(str(f["subject"]).lower() == str(subject).lower() for f in candidates):
            return OAuthError(401, "invalid_client", 7002138,
                              f"No matching federated identity record found for presented assertion subject "
                              f"'{subject}'. The subject matches with case-insensitive comparison, but not with "
                              f"case-sensitive comparison. {check}")
        if int(self.config["federated_subject_error"]) == 7002137:
            return OAuthError(401, "invalid_client", 7002137,
                              f"No matching federated identity record found for presented assertion subject "
                              f"'{subject}'. Please make sure the federated identity credential Subject is "
                              f"'{candidates[0]['subject']}'.")
        return OAuthError(401, "invalid_client", 700213,
                          f"No matching federated identity record found for presented assertion subject "
                          f"'{subject}'. {check}")

    @staticmethod
    def _verify_jwt(token, key, algorithms, bad_signature_code, bad_signature_message):
        try:
            return jwt.decode(token, key, algorithms=algorithms, leeway=CLOCK_SKEW_S,
                              options={"verify_aud": False, "require": ["exp"]})
        except jwt.ExpiredSignatureError:
            raise OAuthError(401, "invalid_client", 700024,
                             f"Client assertion is not within its valid time range. Current time: "
                             f"{time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())}.") from None
        except jwt.PyJWTError:
            raise OAuthError(401, "invalid_client", bad_signature_code, bad_signature_message) from None

    # -- access tokens -----------------------------------------------------------------------
    def issue_access_token(self, tenant, app, lifetime_s):
        now = int(time.time())
        issuer = f"https://sts.windows.net/{tenant.id}/"
        claims = {"aud": self.config["graph_audience"], "iss": issuer, "iat": now, "nbf": now,
                  "exp": now + lifetime_s, "app_displayname": app.display_name, "appid": app.client_id,
                  "azp": app.client_id, "appidacr": "1", "idp": issuer, "idtyp": "app", "oid": app.object_id,
                  "sub": app.object_id, "roles": list(app.roles), "tid": tenant.id,
                  "uti": uuid.uuid4().hex[:22], "ver": "1.0"}
        return credentials.sign_jwt(claims, self.directory.signing_key, {"typ": "JWT"})

    def verify_access_token(self, authorization):
        """Claims of a valid Graph access token, or a 401 InvalidAuthenticationToken GraphError."""
        scheme, _, token = (authorization or "").partition(" ")
        if not token or scheme.lower() != "bearer":
            raise invalid_token("Access token is empty.")
        claims = self.verified_tokens.get(token)
        if claims is None:
            try:
                claims = jwt.decode(token, self.directory.signing_key.public_key(), algorithms=["RS256"],
                                    options={"verify_aud": False, "verify_exp": False})
            except jwt.DecodeError:
                raise invalid_token("CompactToken parsing failed with error code: 80049217") from None
            except jwt.PyJWTError:
                raise invalid_token("Access token validation failure.") from None
            if len(self.verified_tokens) > 50000:
                self.verified_tokens.clear()
            self.verified_tokens[token] = claims
        if claims.get("aud") not in (self.config["graph_audience"], GRAPH_APP_ID):
            raise invalid_token("Access token validation failure. Invalid audience.")
        if claims.get("exp", 0) < time.time():
            raise invalid_token("Lifetime validation failed, the token is expired.")
        if self.directory.tenant_by_id(claims.get("tid")) is None:
            raise invalid_token("Access token validation failure. Invalid issuer.")
        return claims
