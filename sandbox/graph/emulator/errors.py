"""Error bodies in the shapes Microsoft Graph and the identity platform answer with."""
import datetime
import json
import uuid

from .httpserver import Response


def utc_now_iso():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")


class GraphError(Exception):
    """A Graph failure: `{"error": {"code", "message", "innerError": {...}}}`."""

    def __init__(self, status, code, message, headers=None):
        super().__init__(f"{status} {code}: {message}")
        self.status, self.code, self.message = status, code, message
        self.headers = headers or {}

    def body(self, request_id, client_request_id):
        return {"error": {"code": self.code, "message": self.message, "innerError": {
            "date": utc_now_iso(), "request-id": request_id, "client-request-id": client_request_id}}}


def not_found_object(key):
    """Microsoft's answer for a user, group or other directory object that is not there."""
    return GraphError(404, "Request_ResourceNotFound",
                      f"Resource '{key}' does not exist or one of its queried reference-property "
                      "objects are not present.")


def image_not_found():
    return GraphError(404, "ImageNotFound",
                      "Exception of type 'Microsoft.Fast.Profile.Core.Exception.ImageNotFoundException' "
                      "was thrown.")


def access_denied():
    return GraphError(403, "ErrorAccessDenied", "Access is denied. Check credentials and try again.")


def too_many_requests(retry_after_s, message):
    return GraphError(429, "TooManyRequests", message, {"Retry-After": str(retry_after_s)})


def invalid_token(message):
    return GraphError(401, "InvalidAuthenticationToken", message, {
        "WWW-Authenticate": 'Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/'
                            'oauth2/authorize", client_id="00000003-0000-0000-c000-000000000000"'})


# Identity platform (token endpoint) errors ---------------------------------------------------

class OAuthError(Exception):
    """`{"error", "error_description": "AADSTSnnn: ...", "error_codes", ...}` from the token endpoint."""

    def __init__(self, status, error, aadsts, description):
        super().__init__(f"{status} {error} AADSTS{aadsts}: {description}")
        self.status, self.error, self.aadsts, self.description = status, error, aadsts, description

    def response(self):
        trace_id, correlation_id = str(uuid.uuid4()), str(uuid.uuid4())
        timestamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%SZ")
        body = {
            "error": self.error,
            "error_description": f"AADSTS{self.aadsts}: {self.description} Trace ID: {trace_id} "
                                 f"Correlation ID: {correlation_id} Timestamp: {timestamp}",
            "error_codes": [self.aadsts],
            "timestamp": timestamp,
            "trace_id": trace_id,
            "correlation_id": correlation_id,
            "error_uri": f"https://login.microsoftonline.com/error?code={self.aadsts}",
        }
        return json_response(self.status, body, {"Cache-Control": "no-store, no-cache",
                                                  "x-ms-request-id": trace_id})


def json_response(status, body, headers=None):
    return Response(status, json.dumps(body).encode(),
                    {"Content-Type": "application/json; charset=utf-8", **(headers or {})})
