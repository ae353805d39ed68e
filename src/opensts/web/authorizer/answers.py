"""What the hook answers: API Gateway's 403 bodies, and the identity headers of an allowed call.

Amazon API Gateway's answers to IAM-authorized methods, as seen on the wire (quoted in
/work/shared/reference/gateways-sso-cognito.md §2 and public issue threads):

* unsigned: ``403 {"message":"Missing Authentication Token"}``,
  ``x-amzn-ErrorType: MissingAuthenticationTokenException`` (aws/chalice#12);
* denied: ``403 {"Message":"User: <arn|anonymous> is not authorized to perform:
  execute-api:Invoke on resource: <arn>"}`` with a capital M (ASFHyP3/hyp3#2283);
* bad signature: ``403 {"message":"The request signature we calculated does not match ...
  \\n\\nThe Canonical String for this request should have been\\n'...'\\n\\nThe
  String-to-Sign should have been\\n'...'\\n"}``, ``x-amzn-ErrorType:
  InvalidSignatureException`` (mhart/aws4#33, amzn/selling-partner-api-models#113);
* clock skew: ``403 {"message":"Signature expired: <t> is now earlier than <now-5m>
  (<now> - 5 min.)"}`` and ``"Signature not yet current: ... (+ 5 min.)"``
  (aws-amplify/aws-sdk-android#253, mhart/aws4#118, NickWaterton/Roomba980-Python#118):
  API Gateway allows five minutes of skew, not the fifteen of STS.

Not verified against API Gateway (no public answer found): the text for an expired
presigned URL (ours says so in the ``Signature expired`` form), and the types of the
IncompleteSignature and x-amz-content-sha256 answers (kept from STS's wording).

The canonical request and string to sign are echoed as API Gateway does: they hold nothing
secret (the signature itself is not in them), and they are what a client needs to debug.

An nginx ``auth_request`` hook cannot pass its body to the client (nginx answers the 403
itself), so every denial also carries its body in ``X-OpenSTS-Error`` and its type in
``X-Amzn-ErrorType``; the documented nginx config answers with them (``error_page``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from opensts.errors import AwsError
from opensts.services.context import Caller
from opensts.sigv4.errors import (
    SIGNATURE_MISMATCH_MESSAGE,
    ContentSHA256Mismatch,
    ExpiredToken,
    IncompleteSignature,
    InvalidClientTokenId,
    MissingAuthenticationToken,
    RequestExpired,
    SignatureDoesNotMatch,
    SignatureExpired,
    SignatureNotYetCurrent,
)

# nginx reads an upstream's headers into proxy_buffer_size (4 or 8 KiB by default; the
# documented config sets 16k): a longer error header is cut, its JSON kept valid.
MAX_ERROR_HEADER = 12_000

IDENTITY_HEADERS = (
    "X-OpenSTS-Principal-Arn",
    "X-OpenSTS-Account",
    "X-OpenSTS-User-Id",
    "X-OpenSTS-Session-Name",
    "X-OpenSTS-Source-Identity",
    "X-OpenSTS-Session-Tags",
    "X-OpenSTS-Request-Id",
    "X-OpenSTS-Body-Verified",
    "X-OpenSTS-Source-Ip",
    "X-OpenSTS-Action",
    "X-OpenSTS-Resource",
)


@dataclass
class Answer:
    status: int
    body: dict[str, Any]
    error_type: str | None = None
    headers: list[tuple[str, str]] = field(default_factory=list)

    def encoded(self) -> bytes:
        return json.dumps(self.body, separators=(",", ":")).encode()

    def http_headers(self, request_id: str) -> list[tuple[bytes, bytes]]:
        payload = self.encoded()
        out = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(payload)).encode()),
            (b"x-amzn-requestid", request_id.encode()),
        ]
        if self.error_type:
            out.append((b"x-amzn-errortype", self.error_type.encode()))
            error = payload.decode()
            if len(error) > MAX_ERROR_HEADER:
                cut = {key: str(value)[: MAX_ERROR_HEADER // 2] + " [truncated]"
                       for key, value in self.body.items()}
                error = json.dumps(cut, separators=(",", ":"))
            out.append((b"x-opensts-error", error.encode()))
        out += [(k.lower().encode(), _header_safe(v)) for k, v in self.headers]
        return out


def _header_safe(value: str) -> bytes:
    """Header values are latin-1 on the wire and must not hold CR/LF: escape the rest."""
    if value.isascii() and value.isprintable():
        return value.encode()
    return json.dumps(value)[1:-1].encode()  # \\uXXXX escapes, ASCII only


def missing_token() -> Answer:
    return Answer(403, {"message": "Missing Authentication Token"},
                  "MissingAuthenticationTokenException")


def hook_error(message: str) -> Answer:
    """A gateway config error: 400 (nginx turns it into a 500 for the client: fail closed)."""
    return Answer(400, {"message": message}, "BadRequestException")


def too_large(limit: int) -> Answer:
    return Answer(413, {"message": f"Request Too Long: the body exceeds {limit} bytes."},
                  "RequestEntityTooLargeException")


def body_unverifiable() -> Answer:
    return Answer(
        403,
        {"message": "This API requires the request body to be verified against its signed "
                    "hash; the gateway did not pass the body to the authorizer, or the "
                    "request was signed with UNSIGNED-PAYLOAD."},
        "AccessDeniedException",
    )


def unavailable() -> Answer:
    return Answer(503, {"message": "The service could not record the request. Please try "
                                   "again."}, "ServiceUnavailableException")


def internal() -> Answer:
    return Answer(500, {"message": "Internal server error"}, "InternalServerErrorException")


def from_error(error: AwsError) -> Answer:
    """API Gateway's answer for an authentication or authorization failure."""
    key = getattr(error, "key", None)  # services.apis.errors.ApiGatewayError: already shaped
    if isinstance(key, str):
        return Answer(error.status, {key: error.message}, error.code)
    if isinstance(error, MissingAuthenticationToken):
        return missing_token()
    if isinstance(error, SignatureExpired | SignatureNotYetCurrent):
        return Answer(403, {"message": error.message}, "InvalidSignatureException")
    if isinstance(error, SignatureDoesNotMatch):
        if error.canonical_request is None or error.message != SIGNATURE_MISMATCH_MESSAGE:
            return Answer(403, {"message": error.message}, "InvalidSignatureException")
        text = (
            f"{SIGNATURE_MISMATCH_MESSAGE}\n\nThe Canonical String for this request should "
            f"have been\n'{error.canonical_request}'\n\nThe String-to-Sign should have "
            f"been\n'{error.string_to_sign}'\n"
        )
        return Answer(403, {"message": text}, "InvalidSignatureException")
    if isinstance(error, RequestExpired):
        return Answer(403, {"message": "Signature expired: the presigned request's "
                                       "X-Amz-Expires has passed."}, "InvalidSignatureException")
    if isinstance(error, ExpiredToken):
        return Answer(403, {"message": error.message}, "ExpiredTokenException")
    if isinstance(error, InvalidClientTokenId):
        return Answer(403, {"message": error.message}, "UnrecognizedClientException")
    if isinstance(error, IncompleteSignature):
        return Answer(403, {"message": error.message}, "IncompleteSignatureException")
    if isinstance(error, ContentSHA256Mismatch):
        return Answer(400, {"message": error.message}, "BadRequestException")
    if error.code == "AccessDenied" or error.status == 403:
        # invoke_denied's message, API Gateway's capital-M body.
        return Answer(403, {"Message": error.message}, "AccessDeniedException")
    return Answer(error.status if 400 <= error.status < 500 else 403,
                  {"message": error.message}, error.code + "Exception")


def identity_headers(caller: Caller | None) -> list[tuple[str, str]]:
    """The caller as the upstream sees it; nothing for an anonymous call."""
    if caller is None:
        return []
    claims: Mapping[str, Any] = caller.session or {}
    headers = [
        ("X-OpenSTS-Principal-Arn", caller.arn),
        ("X-OpenSTS-Account", caller.account_id),
        ("X-OpenSTS-User-Id", caller.principal_id),
    ]
    name = claims.get("sn")
    if not name and caller.type == "FederatedUser":
        name = caller.arn.rsplit("/", 1)[-1]
    if name:
        headers.append(("X-OpenSTS-Session-Name", str(name)))
    if claims.get("si"):
        headers.append(("X-OpenSTS-Source-Identity", str(claims["si"])))
    tags = claims.get("tags")
    if tags:
        # One JSON object, ASCII only (json.dumps escapes the rest): tag values may hold
        # '=', ',' and any Unicode, which a k=v list could not carry unambiguously.
        headers.append(("X-OpenSTS-Session-Tags", json.dumps(dict(tags), sort_keys=True,
                                                              separators=(",", ":"))))
    return headers
