"""Microsoft Graph: users, profile photos, photoUpdateSettings and JSON batching (v1.0 and beta alike)."""
import asyncio
import base64
import binascii
import json
import re
import urllib.parse
from dataclasses import dataclass, field

from . import errors, variants
from .errors import GraphError
from .faults import DROP
from .filters import user_filter
from .httpserver import DropConnection
from .photos import SIZES

ODATA = "https://graph.microsoft.com"
ANY_ROLE = "any"
READ_PHOTO = {"ProfilePhoto.Read.All", "ProfilePhoto.ReadWrite.All", "User.Read.All", "User.ReadWrite.All"}
WRITE_PHOTO = {"ProfilePhoto.ReadWrite.All", "User.ReadWrite.All"}
READ_SETTINGS = {"PeopleSettings.Read.All", "PeopleSettings.ReadWrite.All"}
WRITE_SETTINGS = {"PeopleSettings.ReadWrite.All"}
PHOTO_SOURCES = ("cloud", "onPremises")
# user-get, application permissions (User.ReadBasic.All is not listed for apps).
READ_USER = {"User.Read.All", "User.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"}
BETA_ONLY = {"/admin/people/photoUpdateSettings": "photoUpdateSettings"}
# user-list, application permissions: User.ReadBasic.All is delegated only there (and reported refused for apps).
LIST_USERS = {"User.Read.All", "User.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"}
# group-list-transitivemembers, application permissions.
READ_MEMBERS = {"GroupMember.Read.All", "GroupMember.ReadWrite.All", "Group.Read.All", "Group.ReadWrite.All",
                "Directory.Read.All", "Directory.ReadWrite.All"}
# Without one of these, user members come back "with limited information": @odata.type and id only.
READ_USER_OBJECTS = LIST_USERS | {"User.ReadBasic.All"}
DIRECTORY_PERMISSIONS = (READ_SETTINGS, WRITE_SETTINGS, LIST_USERS, READ_MEMBERS, READ_USER)
MEMBER_TYPES = {"microsoft.graph.user": "user", "microsoft.graph.group": "group", "microsoft.graph.device": "device"}
MAX_PAGE_SIZE = 999
OBJECT_ID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


@dataclass
class Operation:
    """One Graph call: a plain HTTP request or one item of a $batch."""
    method: str
    path: str  # after the version segment, e.g. /users/x/photo/$value
    version: str
    query: dict
    headers: dict  # lower-case names
    body: bytes = b""
    body_too_large: bool = False
    base_url: str = ""  # https://host:port, for @odata.nextLink

    @property
    def content_type(self):
        return (self.headers.get("content-type") or "").split(";")[0].strip().lower()


@dataclass
class Result:
    status: int
    json: object = None
    content: bytes = None
    content_type: str = None
    headers: dict = field(default_factory=dict)

    @classmethod
    def from_error(cls, error, request_id, client_request_id):
        return cls(error.status, json=error.body(request_id, client_request_id), headers=dict(error.headers))

    def body_bytes(self):
        if self.json is not None:
            return json.dumps(self.json).encode(), "application/json;odata.metadata=minimal;odata.streaming=true"
        return self.content or b"", self.content_type


def insufficient_privileges():
    return GraphError(403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")


def photo_source(value):
    """A photoUpdateSettings source as given (any case, or null) in its documented spelling; ValueError otherwise."""
    if value is None:
        return None
    canonical = next((source for source in PHOTO_SOURCES if source.lower() == str(value).lower()), None)
    if canonical is None:
        raise ValueError(f"source must be one of {', '.join(PHOTO_SOURCES)} (any case) or null")
    return canonical


def parse_size(size_id):
    """'96x96' (or '96') -> 96 for a documented size, else None."""
    width, _, height = size_id.lower().partition("x")
    if width.isdigit() and (not height or height == width) and int(width) in SIZES:
        return int(width)
    return None


class Graph:
    def __init__(self, directory, authority, photos, throttle, faults, log, config):
        self.directory, self.authority, self.photos = directory, authority, photos
        self.throttle, self.faults, self.log, self.config = throttle, faults, log, config
        self.routes = [
            ("GET", "/users", LIST_USERS, self.list_users),
            ("GET", "/groups/{group}/transitiveMembers", READ_MEMBERS, self.transitive_members),
            ("GET", "/groups/{group}/transitiveMembers/{cast}", READ_MEMBERS, self.transitive_members),
            ("GET", "/users/{user}", READ_USER, self.get_user),
            ("GET", "/users/{user}/photo", READ_PHOTO, self.photo_metadata),
            ("DELETE", "/users/{user}/photo", WRITE_PHOTO, self.delete_photo),
            ("GET", "/users/{user}/photo/$value", READ_PHOTO, self.photo_content),
            ("PUT", "/users/{user}/photo/$value", WRITE_PHOTO, self.upload_photo),
            ("PATCH", "/users/{user}/photo/$value", WRITE_PHOTO, self.upload_photo),
            ("DELETE", "/users/{user}/photo/$value", WRITE_PHOTO, self.delete_photo),
            ("GET", "/users/{user}/photos", READ_PHOTO, self.list_photo_sizes),
            ("GET", "/users/{user}/photos/{size}", READ_PHOTO, self.photo_metadata),
            ("GET", "/users/{user}/photos/{size}/$value", READ_PHOTO, self.photo_content),
            ("GET", "/admin/people/photoUpdateSettings", READ_SETTINGS, self.get_photo_settings),
            ("PATCH", "/admin/people/photoUpdateSettings", WRITE_SETTINGS, self.update_photo_settings),
        ]

    # -- routing -----------------------------------------------------------------------------
    def match(self, method, path):
        """(handler, permission, params, pattern) or raise a GraphError like Graph's for bad URLs."""
        segments = [urllib.parse.unquote(s) for s in path.strip("/").split("/")]
        if segments and segments[0].lower() == "me":
            raise GraphError(400, "BadRequest", "/me request is only valid with delegated authentication flow.")
        known_path = False
        for route_method, pattern, permission, handler in self.routes:
            template = pattern.strip("/").split("/")
            if len(template) != len(segments):
                continue
            params = {}
            for expected, actual in zip(template, segments):
                if expected.startswith("{"):
                    params[expected[1:-1]] = actual
                elif expected.lower() != actual.lower():
                    break
            else:
                known_path = True
                if route_method == method:
                    return handler, permission, params, pattern
        if known_path:
            raise GraphError(405, "Request_BadRequest", f"The HTTP method '{method}' is not supported here.")
        unknown = next((s for s in segments if s.lower() not in
                        {"users", "photo", "photos", "$value", "admin", "people", "photoupdatesettings", "groups",
                         "transitivemembers"}),
                       segments[-1] if segments else "")
        raise GraphError(400, "BadRequest", f"Resource not found for the segment '{unknown}'.")

    # -- one operation -----------------------------------------------------------------------
    async def execute(self, op, authorization, request_id, client_request_id, latency_s=0.0):
        """Run one operation: auth, scripted faults, throttling, handler. Returns (Result, pattern, app)."""
        pattern, app_id = "(unknown)", None
        try:
            handler, permission, params, pattern = self.match(op.method, op.path)
            if pattern in BETA_ONLY and op.version != "beta":
                raise GraphError(400, "BadRequest", f"Resource not found for the segment '{BETA_ONLY[pattern]}'.")
            if pattern == "/users/{user}" and not self.config["require_user_read_permission"]:
                permission = ANY_ROLE
            claims = self.authority.verify_access_token(authorization)
            app_id = claims.get("appid")
            tenant = self.directory.tenant_by_id(claims["tid"])
            if op.body_too_large:
                raise GraphError(413, "RequestEntityTooLarge",
                                 f"The request body exceeds the maximum of {self.config['max_upload_bytes']} bytes.")
            fault = self.faults.scripted_fault(op.method, op.path)
            if fault == DROP:
                raise DropConnection()
            if fault is not None:
                raise fault
            user = tenant.find_user(params["user"]) if "user" in params else None
            mailbox = (user.id if user else params["user"].lower()) if "user" in params else None
            with self.throttle.operation(app_id, mailbox):
                if latency_s:
                    await asyncio.sleep(latency_s)
                self._authorize(claims, permission)
                if "user" in params and user is None:
                    raise errors.not_found_object(params["user"])
                if pattern.startswith("/users/{user}/photo") and variants.mailbox_error(user.mailbox):
                    raise variants.mailbox_error(user.mailbox)
                result = await handler(op, tenant, user, params, claims)
        except GraphError as error:
            result = Result.from_error(error, request_id, client_request_id)
        if result.status == 429 and self.faults.rng.random() < float(self.config["retry_after_omit_rate"]):
            result.headers.pop("Retry-After", None)
        return result, pattern, app_id

    @staticmethod
    def _authorize(claims, permission):
        roles = set(claims.get("roles") or ())
        if permission == ANY_ROLE:
            if not roles:
                raise insufficient_privileges()
        elif not roles & permission:
            raise insufficient_privileges() if permission in DIRECTORY_PERMISSIONS else errors.access_denied()

    # -- $batch ------------------------------------------------------------------------------
    async def batch(self, op, authorization, request_id, client_request_id, latency_s):
        try:
            items = self._batch_items(op)
        except GraphError as error:
            return Result.from_error(error, request_id, client_request_id)

        parallel = asyncio.Semaphore(max(1, int(self.config["batch_parallelism"])))

        async def run(item):
            async with parallel:
                result, pattern, app_id = await self._run_batch_item(item, op, authorization, request_id,
                                                                     client_request_id, latency_s)
            body, _ = result.body_bytes()
            self.log.record(item["method"].upper(), pattern, result.status, len(str(item.get("body") or "")),
                            len(body), path=item["url"], app=app_id, batch_item=True)
            return self._batch_response(item["id"], result)

        return Result(200, json={"responses": list(await asyncio.gather(*(run(item) for item in items)))})

    def _batch_items(self, op):
        if op.body_too_large:
            raise GraphError(413, "RequestEntityTooLarge", "The batch request body is too large.")
        try:
            items = json.loads(op.body or b"null")["requests"]
        except (ValueError, TypeError, KeyError):
            raise GraphError(400, "BadRequest", "Invalid batch payload format.") from None
        if not isinstance(items, list) or not items:
            raise GraphError(400, "BadRequest", "Invalid batch payload format.")
        limit = int(self.config["batch_max_requests"])
        if len(items) > limit:
            raise GraphError(400, "BadRequest", f"Number of requests in the batch ({len(items)}) exceeds the "
                                                f"maximum of {limit}.")
        ids = [str(item.get("id")) for item in items if isinstance(item, dict)]
        if len(ids) != len(items) or any(not (item.get("method") and item.get("url")) for item in items):
            raise GraphError(400, "BadRequest", "Each batch request needs id, method and url.")
        if len(set(ids)) != len(ids):
            raise GraphError(400, "BadRequest", "Batch request contains duplicate ids.")
        return items

    async def _run_batch_item(self, item, parent, authorization, request_id, client_request_id, latency_s):
        try:
            headers = {k.lower(): str(v) for k, v in (item.get("headers") or {}).items()}
            url = str(item["url"])
            if "://" in url:
                raise GraphError(400, "BadRequest", "Batch request URLs must be relative.")
            path, _, query = url.partition("?")
            body = item.get("body")
            if body is None:
                body_bytes = b""
            elif isinstance(body, (dict, list)):
                body_bytes = json.dumps(body).encode()
            else:
                body_bytes = base64.b64decode(str(body), validate=True)
            op = Operation(str(item["method"]).upper(), "/" + path.lstrip("/"), parent.version,
                           dict(urllib.parse.parse_qsl(query)), headers, body_bytes, base_url=parent.base_url)
        except (ValueError, TypeError) as exc:
            error = GraphError(400, "BadRequest", f"Invalid batch request item: {exc}")
            return Result.from_error(error, request_id, client_request_id), "(invalid)", None
        try:
            return await self.execute(op, authorization, request_id, client_request_id, latency_s)
        except DropConnection:  # a single item cannot drop the shared connection
            return Result.from_error(errors.GraphError(504, "GatewayTimeout", "Injected dropped item."),
                                     request_id, client_request_id), "(dropped)", None

    @staticmethod
    def _batch_response(item_id, result):
        response = {"id": item_id, "status": result.status, "headers": dict(result.headers)}
        if result.json is not None:
            response["headers"]["Content-Type"] = "application/json"
            response["body"] = result.json
        elif result.content:
            response["headers"]["Content-Type"] = result.content_type
            response["body"] = base64.b64encode(result.content).decode()
        return response

    # -- handlers ----------------------------------------------------------------------------
    @staticmethod
    def _selected(op):
        return [f.strip() for f in op.query.get("$select", "").split(",") if f.strip()]

    def _user_document(self, user, op):
        """The user's default properties, or those $select names (an unknown one is a 400, as in Graph)."""
        wanted = self._selected(op)
        if not wanted:
            return user.as_graph()
        document = user.as_graph(every_property=True)
        for name in wanted:
            if name not in document:
                raise GraphError(400, "BadRequest", f"Could not find a property named '{name}' on type "
                                                    "'microsoft.graph.user'.")
        return {name: document[name] for name in document if name in wanted}

    async def get_user(self, op, tenant, user, params, claims=None):
        return Result(200, json={"@odata.context": f"{ODATA}/{op.version}/$metadata#users/$entity",
                                 **self._user_document(user, op)})

    def _page(self, op, documents, context, render=None):
        """One page of documents as Graph pages (https://learn.microsoft.com/graph/paging): $top (1 to 999,
        default `page_size_default`), at most `page_size_max` a page, and an absolute @odata.nextLink that keeps
        the request's other query options and adds an opaque $skiptoken. With render, documents are objects that
        render(object) turns into documents, only those of the page (a page of a large tenant stays cheap)."""
        top_text = op.query.get("$top")
        if top_text is not None:
            if not top_text.isdigit() or not 1 <= int(top_text) <= MAX_PAGE_SIZE:
                raise GraphError(400, "Request_BadRequest", f"Invalid page size specified: '{top_text}'. Must be "
                                                            f"between 1 and {MAX_PAGE_SIZE} inclusive.")
            size = int(top_text)
        else:
            size = int(self.config["page_size_default"])
        size = max(1, min(size, int(self.config["page_size_max"])))
        start = self._skiptoken_offset(op.query.get("$skiptoken"))
        page = documents[start:start + size]
        body = {"@odata.context": f"{ODATA}/{op.version}/$metadata#{context}",
                "value": [render(item) for item in page] if render else page}
        if start + size < len(documents):
            query = {k: v for k, v in op.query.items() if k != "$skiptoken"}
            query["$skiptoken"] = base64.urlsafe_b64encode(f"offset:{start + size}".encode()).decode().rstrip("=")
            body["@odata.nextLink"] = (f"{op.base_url}/{op.version}{op.path}?" +
                                       urllib.parse.urlencode(query, quote_via=urllib.parse.quote, safe="$,'()"))
        return Result(200, json=body)

    @staticmethod
    def _skiptoken_offset(token):
        if token is None:
            return 0
        try:
            kind, _, offset = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode().partition(":")
            if kind == "offset" and offset.isdigit():
                return int(offset)
        except (binascii.Error, UnicodeDecodeError, ValueError):
            pass
        raise GraphError(400, "Request_BadRequest", "The specified page token value has expired or is invalid.")

    async def list_users(self, op, tenant, user, params, claims=None):
        users = sorted(tenant.users, key=lambda u: u.id)  # Graph documents no order; clients must sort
        if op.query.get("$filter") is not None:
            matches = user_filter(op.query["$filter"])
            users = [u for u in users if matches(u.as_graph(every_property=True))]
        return self._page(op, users, "users", render=lambda u: self._user_document(u, op))

    async def transitive_members(self, op, tenant, user, params, claims=None):
        group_id = params["group"]
        if not OBJECT_ID.match(group_id):
            raise GraphError(400, "Request_BadRequest", f"Invalid object identifier '{group_id}'.")
        group = tenant.find_group(group_id)
        if group is None:
            raise errors.not_found_object(group_id)
        if "$filter" in op.query:
            raise GraphError(400, "Request_UnsupportedQuery", "$filter on transitiveMembers needs the advanced query "
                             "parameters (ConsistencyLevel: eventual and $count=true), which the sandbox does not emulate.")
        wanted_type = None
        if "cast" in params:
            wanted_type = MEMBER_TYPES.get(params["cast"].lower())
            if wanted_type is None:
                raise GraphError(400, "Request_UnsupportedQuery", f"The type cast '{params['cast']}' names no "
                                                                  "supported member type.")
        full_users = bool(set((claims or {}).get("roles") or ()) & READ_USER_OBJECTS)
        documents = [self._member_document(kind, member, op, full_users)
                     for kind, member in tenant.transitive_members(group) if wanted_type in (None, kind)]
        context = "directoryObjects" if wanted_type is None else f"{wanted_type}s"
        return self._page(op, documents, context)

    def _member_document(self, kind, member, op, full_users):
        odata_type = f"#microsoft.graph.{kind}"
        if kind == "user" and not full_users:
            # "members of that type are returned but with limited information" (group-list-transitivemembers)
            names = self._selected(op) or list(member.as_graph())
            return {"@odata.type": odata_type, **{name: None for name in names}, "id": member.id}
        if kind == "user":
            return {"@odata.type": odata_type, **self._user_document(member, op)}
        document = member.as_graph() if kind == "group" else {"id": member["id"], "displayName": member["displayName"]}
        wanted = self._selected(op)
        return {"@odata.type": odata_type, **{k: v for k, v in document.items() if not wanted or k in wanted}}

    def _stored_photo(self, tenant, user, params):
        """(photo, side): side None for the largest; photo None for "no photo" answered the 1x1 way, side 1 for a
        size an Entra photo does not have (answered 1X1 too, beta profilephoto-get)."""
        photo = self.photos.get(tenant.id, user.id)
        if photo is None:
            error = variants.no_photo_error(self.config["no_photo_answer"])
            if error:
                raise error
            return None, None
        side = photo.largest
        if "size" in params:
            side = parse_size(params["size"])
            if photo.dimensions and side is not None:
                return photo, 1
            if side is None or side not in photo.sizes:
                raise errors.image_not_found()
        return photo, side

    async def photo_metadata(self, op, tenant, user, params, claims=None):
        photo, side = self._stored_photo(tenant, user, params)
        context = f"users('{user.id}')/photo/$entity" if "size" not in params else f"users('{user.id}')/photos/$entity"
        metadata = variants.placeholder(photo.etag if photo else "") if photo is None or side == 1 else photo.metadata(side)
        return Result(200, json={"@odata.context": f"{ODATA}/{op.version}/$metadata#{context}", **metadata})

    async def list_photo_sizes(self, op, tenant, user, params, claims=None):
        photo = self.photos.get(tenant.id, user.id)
        sizes = (photo.sizes or (None,)) if photo else ()
        return Result(200, json={"@odata.context": f"{ODATA}/{op.version}/$metadata#users('{user.id}')/photos",
                                 "value": [photo.metadata(side) for side in sizes]})

    async def photo_content(self, op, tenant, user, params, claims=None):
        photo, side = self._stored_photo(tenant, user, params)
        if photo is None or side == 1:
            return Result(200, content=variants.GIF_1X1, content_type="image/gif")
        return Result(200, content=await self.photos.content(photo, side), content_type="image/jpeg",
                      headers={"ETag": photo.etag})

    async def upload_photo(self, op, tenant, user, params, claims=None):
        if tenant.photo_source_enforced() == "onPremises":
            raise errors.access_denied()  # Microsoft documents no other answer for a write the policy refuses
        if op.content_type not in self.config["accepted_photo_content_types"]:
            raise GraphError(415, "UnsupportedMediaType",
                             f"The Content-Type '{op.content_type}' is not supported for a profile photo; "
                             f"send {' or '.join(self.config['accepted_photo_content_types'])}.")
        if not op.body:
            raise GraphError(400, "ErrorInvalidImage", "The request body is empty; send the photo's bytes.")
        self.throttle.charge_upload((claims or {}).get("appid"), user.id, len(op.body))
        await self.photos.put(tenant.id, user.id, op.body)
        return Result(200)

    async def delete_photo(self, op, tenant, user, params, claims=None):
        if tenant.photo_source_enforced() == "onPremises":
            raise errors.access_denied()
        if not self.photos.delete(tenant.id, user.id) and self.config["delete_missing_photo_status"] == 404:
            raise variants.no_photo_error(self.config["no_photo_answer"]) or errors.image_not_found()
        return Result(204)

    def _settings(self, op, tenant):
        return {"@odata.context": f"{ODATA}/{op.version}/$metadata#admin/people/photoUpdateSettings/$entity",
                "id": tenant.id, "source": tenant.photo_update_source, "allowedRoles": list(tenant.allowed_roles)}

    async def get_photo_settings(self, op, tenant, user, params, claims=None):
        return Result(200, json=self._settings(op, tenant))

    async def update_photo_settings(self, op, tenant, user, params, claims=None):
        try:
            changes = json.loads(op.body or b"{}")
        except ValueError:
            raise GraphError(400, "BadRequest", "The request body is not valid JSON.") from None
        if "source" in changes:
            try:
                source = photo_source(changes["source"])
            except ValueError as error:
                raise GraphError(400, "BadRequest", str(error)) from None
            tenant.set_photo_source(source, float(self.config["policy_delay_s"] or 0))
        tenant.allowed_roles = list(changes.get("allowedRoles", tenant.allowed_roles))
        return Result(200, json=self._settings(op, tenant))
