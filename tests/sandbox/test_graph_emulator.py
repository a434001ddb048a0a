"""The Graph sandbox against the real azure-identity and msgraph-sdk, over real TLS.

A session fixture starts a private emulator (own CA, own state, free port), so this file does not
depend on a running sandbox. Each test starts from seed state (POST /_sandbox/reset).
"""
import asyncio
import base64
import io
import os
import ssl
import sys
import threading
import time
import urllib.parse

import httpx
import jwt
import pytest
from PIL import Image

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "sandbox", "graph"))

from emulator.testing import start_emulator  # noqa: E402

pytest.importorskip("msgraph")
from azure.core.exceptions import ClientAuthenticationError  # noqa: E402
from azure.identity import CertificateCredential, ClientSecretCredential  # noqa: E402
from azure.identity.aio import ClientAssertionCredential  # noqa: E402
from azure.identity.aio import ClientSecretCredential as AsyncClientSecretCredential  # noqa: E402
from azure.identity.aio import WorkloadIdentityCredential  # noqa: E402
from kiota_abstractions.api_error import APIError  # noqa: E402
from kiota_abstractions.base_request_configuration import RequestConfiguration  # noqa: E402
from kiota_abstractions.headers_collection import HeadersCollection  # noqa: E402
from kiota_authentication_azure.azure_identity_authentication_provider import (  # noqa: E402
    AzureIdentityAuthenticationProvider)
from msgraph import GraphServiceClient  # noqa: E402
from msgraph.graph_request_adapter import GraphRequestAdapter  # noqa: E402
from msgraph_core import GraphClientFactory  # noqa: E402

SCOPE = "https://graph.microsoft.com/.default"


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory):
    emulator = start_emulator(str(tmp_path_factory.mktemp("graph-sandbox")))
    yield emulator
    emulator.stop()


@pytest.fixture(autouse=True)
def seed_state(sandbox):
    sandbox.admin("POST", "/reset")


@pytest.fixture
def env(sandbox):
    return sandbox.env


# -- helpers ---------------------------------------------------------------------------------

def jpeg(size=(504, 504), color=(200, 30, 30), exif=True):
    image = Image.new("RGB", size, color)
    out = io.BytesIO()
    if exif:
        metadata = Image.Exif()
        metadata[0x010E] = "sandbox test photo"  # ImageDescription
        image.save(out, "JPEG", quality=95, exif=metadata)
    else:
        image.save(out, "JPEG", quality=95)
    return out.getvalue()


def credential_kwargs(env):
    return {"authority": env["SANDBOX_AUTHORITY_URL"], "connection_verify": env["SANDBOX_CA_FILE"]}


def secret_credential(env, suffix="", client="CLIENT"):
    return ClientSecretCredential(env[f"SANDBOX_TENANT_ID{suffix}"], env[f"SANDBOX_{client}_ID{suffix}"],
                                  env[f"SANDBOX_{client}_SECRET{suffix}"], disable_instance_discovery=True,
                                  **credential_kwargs(env))


def graph_client(env, credential):
    """A GraphServiceClient for the sandbox, built the way REFERENCE.md prescribes for a local server."""
    ssl_context = ssl.create_default_context(cafile=env["SANDBOX_CA_FILE"])
    http_client = GraphClientFactory.create_with_default_middleware(client=httpx.AsyncClient(verify=ssl_context))
    adapter = GraphRequestAdapter(AzureIdentityAuthenticationProvider(credential, scopes=[SCOPE]), http_client)
    adapter.base_url = env["SANDBOX_GRAPH_URL"]
    return GraphServiceClient(request_adapter=adapter)


def jpeg_config():
    config = RequestConfiguration(headers=HeadersCollection())
    config.headers.add("Content-Type", "image/jpeg")
    return config


def run(coroutine_factory, env, credential=None):
    """One asyncio.run per scenario, with the client created (and the credential closed) inside it."""
    async def main():
        cred = credential() if callable(credential) else (credential or secret_credential(env))
        try:
            return await coroutine_factory(graph_client(env, cred))
        finally:
            closer = getattr(cred, "close")
            result = closer()
            if asyncio.iscoroutine(result):
                await result
    return asyncio.run(main())


def token_for(env, suffix="", client="CLIENT"):
    return secret_credential(env, suffix, client).get_token(SCOPE).token


def raw_graph(env, method, path, token, **kwargs):
    with httpx.Client(verify=ssl.create_default_context(cafile=env["SANDBOX_CA_FILE"])) as client:
        return client.request(method, env["SANDBOX_AUTHORITY_URL"] + path,
                              headers={"Authorization": f"Bearer {token}", **kwargs.pop("headers", {})}, **kwargs)


def token_request(env, tenant, **form):
    with httpx.Client(verify=ssl.create_default_context(cafile=env["SANDBOX_CA_FILE"])) as client:
        return client.post(f"{env['SANDBOX_AUTHORITY_URL']}/{tenant}/oauth2/v2.0/token",
                           data={"grant_type": "client_credentials", "scope": SCOPE, **form})


def first_user(env, suffix=""):
    return env[f"SANDBOX_GRAPH_FIRST_USER{suffix}"]


# -- authority -------------------------------------------------------------------------------

def test_client_secret_reads_user_and_missing_photo_is_404(env):
    upn = first_user(env)

    async def scenario(client):
        user = await client.users.by_user_id(upn).get()
        with pytest.raises(APIError) as missing:
            await client.users.by_user_id(upn).photo.get()
        return user, missing.value

    user, error = run(scenario, env)
    assert user.user_principal_name == upn and user.id
    assert error.response_status_code == 404 and error.error.code == "ImageNotFound"


@pytest.mark.parametrize("form", ["pem", "pfx"])
def test_certificate_credential(env, form):
    if form == "pem":
        credential = CertificateCredential(env["SANDBOX_TENANT_ID"], env["SANDBOX_CLIENT_ID"],
                                           env["SANDBOX_CLIENT_CERTIFICATE_PATH"], disable_instance_discovery=True,
                                           **credential_kwargs(env))
    else:
        credential = CertificateCredential(env["SANDBOX_TENANT_ID"], env["SANDBOX_CLIENT_ID"],
                                           env["SANDBOX_CLIENT_CERTIFICATE_PFX_PATH"],
                                           password=env["SANDBOX_CLIENT_CERTIFICATE_PASSWORD"],
                                           disable_instance_discovery=True, **credential_kwargs(env))
    token = credential.get_token(SCOPE).token
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["tid"] == env["SANDBOX_TENANT_ID"] and claims["appid"] == env["SANDBOX_CLIENT_ID"]
    assert "ProfilePhoto.ReadWrite.All" in claims["roles"] and claims["aud"] == "https://graph.microsoft.com"


def test_certificate_of_another_app_is_refused(env):
    credential = CertificateCredential(env["SANDBOX_TENANT_ID"], env["SANDBOX_CLIENT_ID"],
                                       env["SANDBOX_CLIENT_CERTIFICATE_PATH_FABRIKAM"],
                                       disable_instance_discovery=True, **credential_kwargs(env))
    with pytest.raises(ClientAuthenticationError, match="AADSTS700027"):
        credential.get_token(SCOPE)


def test_federated_credentials(env):
    def assertion():
        with open(env["SANDBOX_FEDERATED_TOKEN_FILE"], encoding="utf-8") as handle:
            return handle.read().strip()

    upn = first_user(env)
    scenario = lambda client: client.users.by_user_id(upn).get()  # noqa: E731
    assertion_credential = lambda: ClientAssertionCredential(  # noqa: E731
        env["SANDBOX_TENANT_ID"], env["SANDBOX_CLIENT_ID"], assertion, **credential_kwargs(env))
    workload_credential = lambda: WorkloadIdentityCredential(  # noqa: E731
        tenant_id=env["SANDBOX_TENANT_ID"], client_id=env["SANDBOX_CLIENT_ID"],
        token_file_path=env["SANDBOX_FEDERATED_TOKEN_FILE"], **credential_kwargs(env))
    assert run(scenario, env, assertion_credential).user_principal_name == upn
    assert run(scenario, env, workload_credential).user_principal_name == upn


def test_federated_token_with_unknown_subject_is_refused(sandbox, env):
    token = sandbox.admin("POST", "/oidc/token", {"subject": "repo:someone/else:ref:refs/heads/main"})["token"]
    response = token_request(env, env["SANDBOX_TENANT_ID"], client_id=env["SANDBOX_CLIENT_ID"],
                             client_assertion_type="urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                             client_assertion=token)
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"
    assert response.json()["error_codes"] == [700213]


@pytest.mark.parametrize("claims, setting, status, error, code", [
    ({"subject": "REPO:m365/photos:environment:sandbox"}, 700213, 401, "invalid_client", 7002138),
    ({"subject": "repo:someone/else:ref:refs/heads/main"}, 7002137, 401, "invalid_client", 7002137),
    ({"audience": "api://SomethingElse"}, 700213, 400, "invalid_request", 70021),
    ({"issuer": "https://token.actions.githubusercontent.com"}, 700213, 400, "invalid_request", 70021),
])
def test_federated_token_mismatches(sandbox, env, claims, setting, status, error, code):
    sandbox.admin("PUT", "/config", {"federated_subject_error": setting})
    token = sandbox.admin("POST", "/oidc/token", claims)["token"]
    response = token_request(env, env["SANDBOX_TENANT_ID"], client_id=env["SANDBOX_CLIENT_ID"],
                             client_assertion_type="urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                             client_assertion=token)
    assert (response.status_code, response.json()["error"], response.json()["error_codes"]) == (status, error, [code])
    assert f"AADSTS{code}: No matching federated identity record found" in response.json()["error_description"]


def test_wrong_secret_names_aadsts7000215(env):
    credential = ClientSecretCredential(env["SANDBOX_TENANT_ID"], env["SANDBOX_CLIENT_ID"], "not-the-secret",
                                        disable_instance_discovery=True, **credential_kwargs(env))
    with pytest.raises(ClientAuthenticationError, match="AADSTS7000215"):
        credential.get_token(SCOPE)


@pytest.mark.parametrize("case, status, error, code", [
    ("expired", 401, "invalid_client", 7000222),
    ("unknown_client", 400, "unauthorized_client", 700016),
    ("unknown_tenant", 400, "invalid_request", 90002),
])
def test_token_endpoint_error_shapes(env, case, status, error, code):
    tenant, client, secret = env["SANDBOX_TENANT_ID"], env["SANDBOX_EXPIRED_CLIENT_ID"], env["SANDBOX_EXPIRED_CLIENT_SECRET"]
    if case == "unknown_client":
        client = "11111111-2222-3333-4444-555555555555"
    if case == "unknown_tenant":
        tenant = "nosuchtenant.onmicrosoft.com"
    response = token_request(env, tenant, client_id=client, client_secret=secret)
    body = response.json()
    assert response.status_code == status and body["error"] == error and body["error_codes"] == [code]
    assert body["error_description"].startswith(f"AADSTS{code}:") and body["trace_id"] and body["correlation_id"]


def test_tenant_by_domain_and_async_credential(env):
    credential = lambda: AsyncClientSecretCredential(  # noqa: E731
        env["SANDBOX_TENANT_DOMAIN_FABRIKAM"], env["SANDBOX_CLIENT_ID_FABRIKAM"],
        env["SANDBOX_CLIENT_SECRET_FABRIKAM"], **credential_kwargs(env))
    upn = first_user(env, "_FABRIKAM")
    user = run(lambda client: client.users.by_user_id(upn).get(), env, credential)
    assert user.user_principal_name == upn


# -- Graph photos ----------------------------------------------------------------------------

def test_upload_and_read_back(sandbox, env):
    upn, upload = first_user(env), jpeg((504, 504))

    async def scenario(client):
        user = client.users.by_user_id(upn)
        await user.photo.content.put(upload, request_configuration=jpeg_config())
        first = await user.photo.get()
        sizes = await user.photos.get()
        small = await user.photos.by_profile_photo_id("96x96").content.get()
        largest = await user.photo.content.get()
        await user.photo.content.put(upload, request_configuration=jpeg_config())
        second = await user.photo.get()
        return first, sizes, small, largest, second

    first, sizes, small, largest, second = run(scenario, env)
    assert (first.id, first.width, first.height) == ("504x504", 504, 504)
    assert [p.id for p in sizes.value] == [f"{s}x{s}" for s in (48, 64, 96, 120, 240, 360, 432, 504)]
    assert Image.open(io.BytesIO(small)).size == (96, 96)
    assert largest != upload and Image.open(io.BytesIO(largest)).size == (504, 504)
    assert not Image.open(io.BytesIO(largest)).getexif(), "re-encoded photo must carry no EXIF"
    etag = lambda photo: photo.additional_data["@odata.mediaEtag"]  # noqa: E731
    assert etag(first) != etag(second), "identical re-upload must get a new media ETag"
    stored, headers = sandbox.admin("GET", f"/tenants/contoso/users/{upn}/photo", raw=True)
    assert stored == largest and headers["X-Sandbox-Photo-Etag"] == etag(second)


def test_non_square_upload_is_cropped_and_delete(env):
    upn = first_user(env)

    async def scenario(client):
        user = client.users.by_user_id(upn)
        await user.photo.content.put(jpeg((300, 130)), request_configuration=jpeg_config())
        metadata = await user.photo.get()
        await user.photo.content.delete()
        with pytest.raises(APIError) as gone:
            await user.photo.content.get()
        return metadata, gone.value

    metadata, gone = run(scenario, env)
    assert (metadata.id, metadata.width) == ("120x120", 120)
    assert gone.response_status_code == 404


def test_read_only_app_cannot_upload(env):
    credential = secret_credential(env, client="READONLY_CLIENT")
    upn = first_user(env)

    async def scenario(client):
        with pytest.raises(APIError) as denied:
            await client.users.by_user_id(upn).photo.content.put(jpeg(), request_configuration=jpeg_config())
        return denied.value

    error = run(scenario, env, credential)
    assert error.response_status_code == 403 and error.error.code == "ErrorAccessDenied"


def test_on_premises_policy_refuses_writes(sandbox, env):
    sandbox.admin("PUT", "/tenants/contoso/photoUpdateSettings", {"source": "onPremises"})
    token = token_for(env)
    settings = raw_graph(env, "GET", "/beta/admin/people/photoUpdateSettings", token)
    assert settings.status_code == 200 and settings.json()["source"] == "onPremises"
    refused = raw_graph(env, "PUT", f"/v1.0/users/{first_user(env)}/photo/$value", token, content=jpeg(),
                        headers={"Content-Type": "image/jpeg"})
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "ErrorAccessDenied"
    other_tenant = raw_graph(env, "PUT", f"/v1.0/users/{first_user(env, '_TAILSPIN')}/photo/$value",
                             token_for(env, "_TAILSPIN"), content=jpeg(), headers={"Content-Type": "image/jpeg"})
    assert other_tenant.status_code == 200


@pytest.mark.parametrize("body, content_type, status, code", [
    (b"\xff\xd8" + b"\0" * (4 * 1024 * 1024), "image/jpeg", 413, "RequestEntityTooLarge"),
    ("small", "image/jpeg", 400, "ValidationWidthTooSmall"),
    (b"this is not an image", "image/jpeg", 400, "ErrorInvalidImage"),
    ("ok", "image/gif", 415, "UnsupportedMediaType"),
])
def test_upload_validation(env, body, content_type, status, code):
    body = {"small": jpeg((23, 23)), "ok": jpeg()}.get(body, body)
    response = raw_graph(env, "PUT", f"/v1.0/users/{first_user(env)}/photo/$value", token_for(env),
                         content=body, headers={"Content-Type": content_type, "client-request-id": "abc-123"})
    error = response.json()["error"]
    assert response.status_code == status and error["code"] == code
    assert error["innerError"]["client-request-id"] == "abc-123" and response.headers["request-id"]


def test_tokens_and_tenants_are_checked(sandbox, env):
    upn = first_user(env)
    foreign = raw_graph(env, "GET", f"/v1.0/users/{upn}", token_for(env, "_FABRIKAM"))
    assert foreign.status_code == 404 and foreign.json()["error"]["code"] == "Request_ResourceNotFound"
    assert raw_graph(env, "GET", f"/v1.0/users/{upn}", "garbage").status_code == 401
    expired = sandbox.admin("POST", "/tenants/contoso/tokens",
                            {"client_id": env["SANDBOX_CLIENT_ID"], "lifetime_s": -60})["access_token"]
    response = raw_graph(env, "GET", f"/v1.0/users/{upn}", expired)
    assert response.status_code == 401 and response.json()["error"]["code"] == "InvalidAuthenticationToken"


# -- throttling, faults, batching, log -------------------------------------------------------

def test_sdk_retries_a_throttled_jpeg_upload(sandbox, env):
    sandbox.admin("POST", "/faults", {"status": 429, "retry_after": 1, "match": "/photo/$value", "method": "PUT"})
    upn = first_user(env)
    run(lambda client: client.users.by_user_id(upn).photo.content.put(jpeg(), request_configuration=jpeg_config()),
        env)
    puts = sandbox.admin("GET", "/log")["by_endpoint"]["PUT /users/{user}/photo/$value"]
    assert puts["statuses"] == {"429": 1, "200": 1}


def test_mailbox_rate_and_concurrency_limits(sandbox, env):
    sandbox.admin("PUT", "/config", {"throttle": {"mailbox_requests": 2, "mailbox_window_s": 60}})
    token, path = token_for(env), f"/v1.0/users/{first_user(env)}"
    statuses = [raw_graph(env, "GET", path, token).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    throttled = raw_graph(env, "GET", path, token)
    assert throttled.json()["error"]["code"] == "ApplicationThrottled" and int(throttled.headers["Retry-After"]) > 1

    sandbox.admin("PUT", "/config", {"latency_ms": 800, "throttle": {"mailbox_requests": 10000,
                                                                     "mailbox_concurrency": 2}})
    other = f"/v1.0/users/{env['SANDBOX_GRAPH_USER_PREFIX']}0002@{env['SANDBOX_TENANT_DOMAIN']}"
    results = []
    threads = [threading.Thread(target=lambda: results.append(raw_graph(env, "GET", other, token).status_code))
               for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [200, 200, 429, 429]


def test_injected_faults_are_deterministic(sandbox, env):
    token, path = token_for(env), f"/v1.0/users/{first_user(env)}"
    sandbox.admin("PUT", "/config", {"rate_503": 1.0, "fault_retry_after_s": 2})
    unavailable = raw_graph(env, "GET", path, token)
    assert unavailable.status_code == 503 and unavailable.headers["Retry-After"] == "2"
    sandbox.admin("PUT", "/config", {"rate_503": 0, "rate_drop": 1.0})
    with pytest.raises(httpx.RemoteProtocolError):
        raw_graph(env, "GET", path, token)

    def draws(seed):
        sandbox.admin("PUT", "/config", {"rate_drop": 0, "rate_504": 0.5, "seed": seed})
        return [raw_graph(env, "GET", path, token).status_code for _ in range(12)]
    assert draws(7) == draws(7) and 504 in draws(7)
    assert sandbox.admin("GET", "/log")["faults"]["drop"] == 1


def test_batch_of_twenty_gets(sandbox, env):
    token = token_for(env)
    sandbox.admin("PUT", f"/tenants/contoso/users/{first_user(env)}/photo", jpeg((120, 120)))
    prefix, domain = env["SANDBOX_GRAPH_USER_PREFIX"], env["SANDBOX_TENANT_DOMAIN"]
    requests = [{"id": "photo", "method": "GET", "url": f"/users/{first_user(env)}/photos/64x64/$value"}]
    requests += [{"id": str(n), "method": "GET", "url": f"/users/{prefix}{n:04d}@{domain}"} for n in range(1, 20)]
    response = raw_graph(env, "POST", "/v1.0/$batch", token, json={"requests": requests})
    assert response.status_code == 200
    items = {item["id"]: item for item in response.json()["responses"]}
    assert len(items) == 20 and all(items[str(n)]["status"] == 200 for n in range(1, 20))
    photo = items["photo"]
    assert photo["headers"]["Content-Type"] == "image/jpeg"
    assert Image.open(io.BytesIO(base64.b64decode(photo["body"]))).size == (64, 64)
    log = sandbox.admin("GET", "/log")
    assert log["batch_items"] == 20 and log["by_endpoint"]["POST /$batch"]["count"] == 1

    too_many = raw_graph(env, "POST", "/v1.0/$batch", token,
                         json={"requests": [{"id": str(n), "method": "GET", "url": "/users"} for n in range(21)]})
    assert too_many.status_code == 400


def test_batch_items_are_throttled_individually(sandbox, env):
    sandbox.admin("POST", "/faults", {"status": 429, "retry_after": 3, "match": "0002@"})
    prefix, domain = env["SANDBOX_GRAPH_USER_PREFIX"], env["SANDBOX_TENANT_DOMAIN"]
    requests = [{"id": str(n), "method": "GET", "url": f"/users/{prefix}{n:04d}@{domain}"} for n in (1, 2, 3)]
    items = {i["id"]: i for i in raw_graph(env, "POST", "/v1.0/$batch", token_for(env),
                                           json={"requests": requests}).json()["responses"]}
    assert [items[k]["status"] for k in ("1", "2", "3")] == [200, 429, 200]
    assert items["2"]["headers"]["Retry-After"] == "3"


def test_request_log_counts(sandbox, env):
    sandbox.admin("POST", "/log/reset")
    upn = first_user(env)

    async def scenario(client):
        await client.users.by_user_id(upn).get()
        await client.users.by_user_id(upn).photo.content.put(jpeg(), request_configuration=jpeg_config())
        await client.users.by_user_id(upn).photo.get()

    run(scenario, env)
    log = sandbox.admin("GET", "/log")
    endpoints = log["by_endpoint"]
    assert endpoints["GET /users/{user}"]["count"] == 1
    assert endpoints["PUT /users/{user}/photo/$value"]["statuses"] == {"200": 1}
    assert endpoints["PUT /users/{user}/photo/$value"]["bytes_in"] == len(jpeg())
    assert endpoints["POST /{tenant}/oauth2/v2.0/token"]["count"] == 1
    assert log["operations"] == 3 and log["by_app"] == {env["SANDBOX_CLIENT_ID"]: 3}


# -- groups, listing users, $filter, paging ---------------------------------------------------

OUTER_GROUP = "6f1d3c2a-0b4e-4c1d-9e8f-7a6b5c4d3e2f"
INNER_GROUP = "1a2b3c4d-5e6f-4a1b-8c2d-3e4f5a6b7c8d"
MEMBER_ROLES = ["ProfilePhoto.ReadWrite.All", "User.Read.All", "GroupMember.Read.All"]


def upn(env, number):
    return f"{env['SANDBOX_GRAPH_USER_PREFIX']}{number:04d}@{env['SANDBOX_TENANT_DOMAIN']}"


def grant(sandbox, env, roles, client="CLIENT"):
    sandbox.admin("PUT", f"/tenants/contoso/apps/{env[f'SANDBOX_{client}_ID']}/roles", {"roles": roles})


def nested_groups(sandbox, env):
    """inner: users 3 and 4 and a device; outer: users 1, 2 and 3 and the inner group."""
    sandbox.admin("PUT", f"/tenants/contoso/groups/{INNER_GROUP}",
                  {"displayName": "Inner", "members": [upn(env, 3), upn(env, 4)], "devices": ["kiosk-1"]})
    sandbox.admin("PUT", f"/tenants/contoso/groups/{OUTER_GROUP}",
                  {"displayName": "Outer", "members": [upn(env, 1), upn(env, 2), upn(env, 3)], "groups": [INNER_GROUP]})


def every_page(env, path, token):
    """The objects of every page of a Graph list, following @odata.nextLink; also the pages' sizes and links."""
    objects, sizes, links = [], [], []
    response = raw_graph(env, "GET", path, token)
    with httpx.Client(verify=ssl.create_default_context(cafile=env["SANDBOX_CA_FILE"])) as client:
        while True:
            assert response.status_code == 200, response.text
            page = response.json()
            objects += page["value"]
            sizes.append(len(page["value"]))
            link = page.get("@odata.nextLink")
            if not link:
                return objects, sizes, links
            links.append(link)
            response = client.get(link, headers={"Authorization": f"Bearer {token}"})


def test_transitive_members_of_nested_groups(sandbox, env):
    nested_groups(sandbox, env)
    grant(sandbox, env, MEMBER_ROLES)
    token = token_for(env)
    users = every_page(env, f"/v1.0/groups/{OUTER_GROUP}/transitiveMembers/microsoft.graph.user"
                            "?$select=id,userPrincipalName", token)[0]
    assert sorted(u["userPrincipalName"] for u in users) == [upn(env, n) for n in (1, 2, 3, 4)]
    assert all(set(u) == {"@odata.type", "id", "userPrincipalName"} for u in users)
    everything = every_page(env, f"/v1.0/groups/{OUTER_GROUP}/transitiveMembers", token)[0]
    kinds = sorted(item["@odata.type"] for item in everything)
    assert kinds == ["#microsoft.graph.device", "#microsoft.graph.group"] + ["#microsoft.graph.user"] * 4
    inner = raw_graph(env, "GET", f"/v1.0/groups/{INNER_GROUP}/transitiveMembers/microsoft.graph.user", token)
    assert sorted(u["userPrincipalName"] for u in inner.json()["value"]) == [upn(env, 3), upn(env, 4)]


def test_transitive_members_errors_and_permissions(sandbox, env):
    nested_groups(sandbox, env)
    path = f"/v1.0/groups/{OUTER_GROUP}/transitiveMembers/microsoft.graph.user"
    denied = raw_graph(env, "GET", path, token_for(env))  # the main app has no group permission by default
    assert denied.status_code == 403 and denied.json()["error"]["code"] == "Authorization_RequestDenied"
    grant(sandbox, env, MEMBER_ROLES)
    token = token_for(env)
    unknown = raw_graph(env, "GET", "/v1.0/groups/00000000-0000-4000-8000-000000000000/transitiveMembers", token)
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "Request_ResourceNotFound"
    assert raw_graph(env, "GET", "/v1.0/groups/not-a-guid/transitiveMembers", token).status_code == 400
    assert raw_graph(env, "GET", f"/v1.0/groups/{OUTER_GROUP}/transitiveMembers/microsoft.graph.team",
                     token).json()["error"]["code"] == "Request_UnsupportedQuery"
    # May list members but not read users: "limited information", the id and the type only.
    grant(sandbox, env, ["ProfilePhoto.Read.All", "GroupMember.Read.All"])
    limited = raw_graph(env, "GET", path + "?$select=id,userPrincipalName", token_for(env)).json()["value"]
    assert len(limited) == 4 and all(u["id"] and u["userPrincipalName"] is None for u in limited)
    sandbox.admin("DELETE", f"/tenants/contoso/groups/{OUTER_GROUP}")
    assert raw_graph(env, "GET", path, token_for(env)).status_code == 404


def test_group_admin_api_checks_members(sandbox, env):
    for body in ({"members": ["ghost@nowhere.example"]}, {"groups": [INNER_GROUP]}):
        with pytest.raises(AssertionError, match=" 404 "):
            sandbox.admin("PUT", f"/tenants/contoso/groups/{OUTER_GROUP}", body)
    with pytest.raises(AssertionError, match=" 400 "):
        sandbox.admin("PUT", "/tenants/contoso/groups/sales", {})
    nested_groups(sandbox, env)
    groups = {g["id"]: g for g in sandbox.admin("GET", "/tenants/contoso/groups")["groups"]}
    assert groups[OUTER_GROUP]["groups"] == [INNER_GROUP] and groups[INNER_GROUP]["devices"] == ["kiosk-1"]
    sandbox.admin("POST", "/reset")
    assert sandbox.admin("GET", "/tenants/contoso/groups")["groups"] == []


def test_users_are_paged_with_absolute_next_links(sandbox, env):
    token = token_for(env)
    count = int(env["SANDBOX_GRAPH_USERS"])
    single = raw_graph(env, "GET", "/v1.0/users", token).json()  # Microsoft's default page: 100
    assert len(single["value"]) == count and "@odata.nextLink" not in single
    assert set(single["value"][0]) == {"id", "userPrincipalName", "displayName", "mail"}
    users, sizes, links = every_page(env, "/v1.0/users?$select=id,userPrincipalName&$top=20", token)
    assert sizes == [20, 20, count - 40] and len({u["id"] for u in users}) == count
    assert all(link.startswith(env["SANDBOX_GRAPH_URL"] + "/users?") and "$skiptoken=" in link
               and "$select=id,userPrincipalName" in link for link in links)
    sandbox.admin("PUT", "/config", {"page_size_default": 15, "page_size_max": 12})
    assert every_page(env, "/v1.0/users", token)[1][0] == 12
    assert every_page(env, "/v1.0/users?$top=999", token)[1][:2] == [12, 12]
    too_big = raw_graph(env, "GET", "/v1.0/users?$top=1000", token)
    assert too_big.status_code == 400 and "between 1 and 999" in too_big.json()["error"]["message"]
    assert raw_graph(env, "GET", "/v1.0/users?$skiptoken=garbage", token).status_code == 400
    assert raw_graph(env, "GET", "/v1.0/users?$select=nickname", token).status_code == 400


@pytest.mark.parametrize("query_filter, numbers", [
    ("department eq 'Finance'", range(2, 51, 5)),
    ("accountEnabled eq false", range(10, 51, 10)),
    ("startswith(userPrincipalName,'USER001')", range(10, 20)),
    ("startswith(displayName,'User 004') and accountEnabled eq true", range(41, 50)),
    ("userPrincipalName eq 'USER0003@{domain}' or mail eq 'user0004@{domain}'", (3, 4)),
    ("(department eq 'Sales' or department eq 'Support') and accountEnabled eq false", range(10, 51, 10)),
])
def test_users_filter_subset(env, query_filter, numbers):
    query = query_filter.format(domain=env["SANDBOX_TENANT_DOMAIN"])
    users = every_page(env, "/v1.0/users?$select=userPrincipalName,department&$top=7&$filter="
                       + urllib.parse.quote(query), token_for(env))[0]
    assert sorted(u["userPrincipalName"] for u in users) == [upn(env, n) for n in numbers]


@pytest.mark.parametrize("query_filter, code", [
    ("city eq 'Paris'", "Request_UnsupportedQuery"),
    ("department ne 'Sales'", "Request_UnsupportedQuery"),
    ("endswith(mail,'.example')", "Request_UnsupportedQuery"),
    ("startswith(department,'S')", "Request_UnsupportedQuery"),
    ("department eq", "BadRequest"),
])
def test_unsupported_filters_are_400(env, query_filter, code):
    response = raw_graph(env, "GET", "/v1.0/users?$filter=" + urllib.parse.quote(query_filter), token_for(env))
    assert response.status_code == 400 and response.json()["error"]["code"] == code


def test_listing_users_needs_user_read_all(sandbox, env):
    grant(sandbox, env, ["ProfilePhoto.Read.All"], client="READONLY_CLIENT")
    denied = raw_graph(env, "GET", "/v1.0/users", token_for(env, client="READONLY_CLIENT"))
    assert denied.status_code == 403 and denied.json()["error"]["code"] == "Authorization_RequestDenied"
    grant(sandbox, env, ["ProfilePhoto.Read.All", "User.ReadBasic.All"], client="READONLY_CLIENT")
    assert raw_graph(env, "GET", "/v1.0/users", token_for(env, client="READONLY_CLIENT")).status_code == 403
    grant(sandbox, env, ["ProfilePhoto.Read.All", "Directory.Read.All"], client="READONLY_CLIENT")
    assert raw_graph(env, "GET", "/v1.0/users", token_for(env, client="READONLY_CLIENT")).status_code == 200


def test_the_admin_api_removes_one_users_photo(sandbox, env):
    user = env["SANDBOX_GRAPH_FIRST_USER"]
    sandbox.admin("PUT", "/tenants/contoso/users/%s/photo" % user, jpeg())
    sandbox.admin("DELETE", "/tenants/contoso/users/%s/photo" % user)
    sandbox.admin("DELETE", "/tenants/contoso/users/%s/photo" % user)  # no photo: still 204
    with pytest.raises(AssertionError, match=" 404 "):
        sandbox.admin("GET", "/tenants/contoso/users/%s/photo" % user, raw=True)


# -- variants of Microsoft's answers (docs/sandbox.md) ----------------------------------------

MAILBOX_ANSWERS = {"none": (404, "ErrorItemNotFound", "not found in the store"),
                   "on_premises": (404, "MailboxNotHostedInExchangeOnline", "on-premise"),
                   "unlicensed": (404, "UnknownError", "ProfileNotFoundException")}


def batch(env, token, requests):
    response = raw_graph(env, "POST", "/v1.0/$batch", token, json={"requests": requests})
    assert response.status_code == 200
    return {item["id"]: item for item in response.json()["responses"]}


@pytest.mark.parametrize("kind", sorted(MAILBOX_ANSWERS))
def test_mailbox_kinds_fail_every_photo_call(sandbox, env, kind):
    user, token = first_user(env), token_for(env)
    sandbox.admin("PUT", f"/tenants/contoso/users/{user}/photo", jpeg((120, 120)))
    assert sandbox.admin("PUT", f"/tenants/contoso/users/{user}/mailbox", {"kind": kind})["kind"] == kind
    status, code, words = MAILBOX_ANSWERS[kind]
    calls = [("GET", "photo"), ("GET", "photo/$value"), ("GET", "photos/96x96"), ("DELETE", "photo/$value")]
    for method, path in calls:
        answer = raw_graph(env, method, f"/v1.0/users/{user}/{path}", token)
        assert answer.status_code == status and answer.json()["error"]["code"] == code, (method, path)
        assert words in answer.json()["error"]["message"]
    put = raw_graph(env, "PUT", f"/v1.0/users/{user}/photo/$value", token, content=jpeg(),
                    headers={"Content-Type": "image/jpeg"})
    assert put.status_code == status and put.json()["error"]["code"] == code
    items = batch(env, token, [{"id": "p", "method": "GET", "url": f"/users/{user}/photo"},
                               {"id": "u", "method": "GET", "url": f"/users/{user}"}])
    assert items["p"]["status"] == status and items["p"]["body"]["error"]["code"] == code
    assert items["u"]["status"] == 200  # the user is there; only its photo cannot be reached
    sandbox.admin("POST", "/reset")
    assert raw_graph(env, "GET", f"/v1.0/users/{user}/photo", token).status_code == 404  # back: no photo
    with pytest.raises(AssertionError, match="400"):
        sandbox.admin("PUT", f"/tenants/contoso/users/{user}/mailbox", {"kind": "hosted"})


def test_no_photo_answers(sandbox, env):
    user, token = first_user(env), token_for(env)
    sandbox.admin("PUT", "/config", {"no_photo_answer": "ErrorEntityNotFound"})
    answer = raw_graph(env, "GET", f"/v1.0/users/{user}/photo", token)
    assert answer.status_code == 404 and answer.json()["error"]["code"] == "ErrorEntityNotFound"
    assert "ImageNotFoundException" in answer.json()["error"]["message"]
    sandbox.admin("PUT", "/config", {"no_photo_answer": "1x1"})
    metadata = raw_graph(env, "GET", f"/v1.0/users/{user}/photo", token)
    assert metadata.status_code == 200
    assert {k: metadata.json()[k] for k in ("id", "width", "height", "@odata.mediaContentType")} == {
        "id": "1X1", "width": 1, "height": 1, "@odata.mediaContentType": "image/gif"}
    content = raw_graph(env, "GET", f"/v1.0/users/{user}/photo/$value", token)
    assert content.status_code == 200 and content.headers["content-type"] == "image/gif"
    assert Image.open(io.BytesIO(content.content)).size == (1, 1)
    sandbox.admin("PUT", "/config", {"no_photo_answer": "ImageNotFound"})
    assert raw_graph(env, "GET", f"/v1.0/users/{user}/photo", token).json()["error"]["code"] == "ImageNotFound"
    with pytest.raises(AssertionError, match="400"):
        sandbox.admin("PUT", "/config", {"no_photo_answer": "404"})


def test_entra_store_keeps_dimensions_and_answers_other_sizes_1x1(sandbox, env):
    user, token = first_user(env), token_for(env)
    sandbox.admin("PUT", "/config", {"photo_store": "entra"})
    put = raw_graph(env, "PUT", f"/v1.0/users/{user}/photo/$value", token, content=jpeg((900, 700)),
                    headers={"Content-Type": "image/jpeg"})
    assert put.status_code == 200
    metadata = raw_graph(env, "GET", f"/v1.0/users/{user}/photo", token).json()
    assert (metadata["id"], metadata["width"], metadata["height"]) == ("900X700", 900, 700)
    content = raw_graph(env, "GET", f"/v1.0/users/{user}/photo/$value", token)
    assert Image.open(io.BytesIO(content.content)).size == (900, 700) and content.content != jpeg((900, 700))
    sized = raw_graph(env, "GET", f"/v1.0/users/{user}/photos/96x96", token).json()
    assert (sized["id"], sized["width"], sized["height"]) == ("1X1", 1, 1)
    items = batch(env, token, [{"id": "v", "method": "GET", "url": f"/users/{user}/photos/96x96/$value"}])
    assert items["v"]["status"] == 200 and items["v"]["headers"]["Content-Type"] == "image/gif"
    listed = raw_graph(env, "GET", f"/v1.0/users/{user}/photos", token).json()["value"]
    assert [item["id"] for item in listed] == ["900X700"]
    stored = sandbox.admin("GET", f"/tenants/contoso/users/{user}/photo", raw=True)[1]
    assert (stored["X-Sandbox-Photo-Width"], stored["X-Sandbox-Photo-Height"]) == ("900", "700")
    sandbox.admin("PUT", "/config", {"photo_store": "exchange"})  # photos stored before keep their form
    assert raw_graph(env, "GET", f"/v1.0/users/{user}/photo", token).json()["width"] == 900
    with pytest.raises(AssertionError, match="400"):
        sandbox.admin("PUT", "/config", {"photo_store": "aad"})


# -- issue 10: the stricter variants -----------------------------------------------------------

def test_reading_a_user_needs_user_read_all_unless_switched_off(sandbox, env):
    path = f"/v1.0/users/{first_user(env)}"
    grant(sandbox, env, ["ProfilePhoto.Read.All"], client="READONLY_CLIENT")
    denied = raw_graph(env, "GET", path, token_for(env, client="READONLY_CLIENT"))
    assert denied.status_code == 403 and denied.json()["error"]["code"] == "Authorization_RequestDenied"
    grant(sandbox, env, ["ProfilePhoto.Read.All", "Directory.Read.All"], client="READONLY_CLIENT")
    assert raw_graph(env, "GET", path, token_for(env, client="READONLY_CLIENT")).status_code == 200
    grant(sandbox, env, ["ProfilePhoto.Read.All"], client="READONLY_CLIENT")
    sandbox.admin("PUT", "/config", {"require_user_read_permission": False})
    assert raw_graph(env, "GET", path, token_for(env, client="READONLY_CLIENT")).status_code == 200


def test_writes_stay_invisible_for_the_visibility_delay(sandbox, env):
    sandbox.admin("PUT", "/config", {"write_visibility_delay_s": 1.5})
    token, user = token_for(env), first_user(env)
    old = sandbox.admin("PUT", f"/tenants/contoso/users/{user}/photo", jpeg((120, 120)))  # fixtures: visible at once
    put = raw_graph(env, "PUT", f"/v1.0/users/{user}/photo/$value", token, content=jpeg((240, 240), (0, 90, 0)),
                    headers={"Content-Type": "image/jpeg"})
    assert put.status_code == 200
    meta = raw_graph(env, "GET", f"/v1.0/users/{user}/photo", token).json()
    assert (meta["@odata.mediaEtag"], meta["width"]) == (old["@odata.mediaEtag"], 120)
    content = raw_graph(env, "GET", f"/v1.0/users/{user}/photo/$value", token)
    assert Image.open(io.BytesIO(content.content)).size == (120, 120)
    batch = raw_graph(env, "POST", "/v1.0/$batch", token, json={"requests": [
        {"id": "1", "method": "GET", "url": f"/users/{user}/photo"}]}).json()["responses"][0]
    assert batch["body"]["@odata.mediaEtag"] == old["@odata.mediaEtag"]
    _, headers = sandbox.admin("GET", f"/tenants/contoso/users/{user}/photo", raw=True)  # what the server holds
    assert headers["X-Sandbox-Photo-Width"] == "240"
    time.sleep(1.6)
    assert raw_graph(env, "GET", f"/v1.0/users/{user}/photo", token).json()["width"] == 240
    assert raw_graph(env, "DELETE", f"/v1.0/users/{user}/photo/$value", token).status_code == 204
    assert raw_graph(env, "GET", f"/v1.0/users/{user}/photo", token).json()["width"] == 240  # still served
    time.sleep(1.6)
    assert raw_graph(env, "GET", f"/v1.0/users/{user}/photo", token).status_code == 404


def test_app_concurrency_counts_every_mailbox(sandbox, env):
    sandbox.admin("PUT", "/config", {"latency_ms": 800, "throttle": {"app_concurrency": 2}})
    token, prefix, domain = token_for(env), env["SANDBOX_GRAPH_USER_PREFIX"], env["SANDBOX_TENANT_DOMAIN"]
    results = []
    threads = [threading.Thread(target=lambda n=n: results.append(
        raw_graph(env, "GET", f"/v1.0/users/{prefix}{n:04d}@{domain}", token).status_code)) for n in range(1, 5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [200, 200, 429, 429]


def test_batch_runs_at_most_batch_parallelism_items_at_once(sandbox, env):
    sandbox.admin("PUT", "/config", {"latency_ms": 300, "batch_parallelism": 2})
    prefix, domain = env["SANDBOX_GRAPH_USER_PREFIX"], env["SANDBOX_TENANT_DOMAIN"]
    requests = [{"id": str(n), "method": "GET", "url": f"/users/{prefix}{n:04d}@{domain}"} for n in range(1, 5)]
    started = time.monotonic()
    items = raw_graph(env, "POST", "/v1.0/$batch", token_for(env), json={"requests": requests}).json()["responses"]
    assert [item["status"] for item in items] == [200] * 4
    assert time.monotonic() - started >= 0.6  # two rounds of two


def test_upload_bytes_per_window(sandbox, env):
    photo = jpeg((240, 240))
    sandbox.admin("PUT", "/config", {"throttle": {"upload_bytes": len(photo) * 2, "upload_window_s": 60}})
    token, path = token_for(env), f"/v1.0/users/{first_user(env)}/photo/$value"
    statuses = [raw_graph(env, "PUT", path, token, content=photo, headers={"Content-Type": "image/jpeg"})
                for _ in range(3)]
    assert [r.status_code for r in statuses] == [200, 200, 429]
    assert statuses[2].json()["error"]["code"] == "ApplicationThrottled" and int(statuses[2].headers["Retry-After"]) > 50


def test_retry_after_can_be_left_out(sandbox, env):
    sandbox.admin("PUT", "/config", {"retry_after_omit_rate": 1.0})
    sandbox.admin("POST", "/faults", {"status": 429, "retry_after": 3, "match": "0002@", "count": 2})
    prefix, domain = env["SANDBOX_GRAPH_USER_PREFIX"], env["SANDBOX_TENANT_DOMAIN"]
    item = raw_graph(env, "POST", "/v1.0/$batch", token_for(env), json={"requests": [
        {"id": "1", "method": "GET", "url": f"/users/{prefix}0002@{domain}"}]}).json()["responses"][0]
    assert item["status"] == 429 and "Retry-After" not in item["headers"]
    direct = raw_graph(env, "GET", f"/v1.0/users/{prefix}0002@{domain}", token_for(env))
    assert direct.status_code == 429 and "retry-after" not in direct.headers


def test_photo_update_settings_are_beta_only_unset_and_case_insensitive(sandbox, env):
    sandbox.admin("PUT", "/config", {"policy_delay_s": 1})
    grant(sandbox, env, ["ProfilePhoto.ReadWrite.All", "User.Read.All", "PeopleSettings.ReadWrite.All"])
    token = token_for(env)
    v1 = raw_graph(env, "GET", "/v1.0/admin/people/photoUpdateSettings", token)
    assert v1.status_code == 400 and "photoUpdateSettings" in v1.json()["error"]["message"]
    assert raw_graph(env, "GET", "/beta/admin/people/photoUpdateSettings", token).json()["source"] is None
    patched = raw_graph(env, "PATCH", "/beta/admin/people/photoUpdateSettings", token, json={"source": "onpremises"})
    assert patched.status_code == 200 and patched.json()["source"] == "onPremises"
    put = f"/v1.0/users/{first_user(env)}/photo/$value"
    assert raw_graph(env, "PUT", put, token, content=jpeg(), headers={"Content-Type": "image/jpeg"}).status_code == 200
    time.sleep(1.1)
    refused = raw_graph(env, "PUT", put, token, content=jpeg(), headers={"Content-Type": "image/jpeg"})
    assert refused.status_code == 403 and refused.json()["error"] == {**refused.json()["error"], **{
        "code": "ErrorAccessDenied", "message": "Access is denied. Check credentials and try again."}}
    assert raw_graph(env, "PATCH", "/beta/admin/people/photoUpdateSettings", token,
                     json={"source": "Somewhere"}).status_code == 400
