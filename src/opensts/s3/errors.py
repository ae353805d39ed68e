"""S3's error answers: a code, an HTTP status and a message, rendered as S3's ``<Error>`` XML.

Codes, statuses and messages follow the Amazon S3 API Reference, "Error responses" (the
list of error codes). S3 differs from the query protocol: no ``ErrorResponse`` envelope, no
namespace, and extra elements (``BucketName``, ``Key``, ``Resource``) beside the message.
"""

from __future__ import annotations

from collections.abc import Mapping

from opensts.errors import AwsError
from opensts.wire.xml import text


class S3Error(AwsError):
    """An error answered in S3's XML; ``fields`` are extra elements (``BucketName``, ...)."""

    def __init__(
        self,
        code: str,
        message: str,
        status: int,
        *,
        fields: Mapping[str, str] | None = None,
    ):
        super().__init__(message, code=code, status=status)
        self.fields = dict(fields or {})


def error_xml(error: AwsError, *, resource: str, request_id: str, host_id: str = "") -> bytes:
    """S3's error document for any AwsError (STS-style errors keep their code and status)."""
    fields = getattr(error, "fields", {})
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>\n<Error>',
        f"<Code>{text(error.code)}</Code>",
        f"<Message>{text(error.message)}</Message>",
    ]
    parts += [f"<{name}>{text(value)}</{name}>" for name, value in fields.items()]
    parts += [
        f"<Resource>{text(resource)}</Resource>",
        f"<RequestId>{text(request_id)}</RequestId>",
        f"<HostId>{text(host_id)}</HostId>",
        "</Error>",
    ]
    return "".join(parts).encode()


# The errors used in more than one place; the rest are built where they arise.
def no_such_bucket(bucket: str) -> S3Error:
    return S3Error("NoSuchBucket", "The specified bucket does not exist", 404,
                   fields={"BucketName": bucket})


def access_denied(message: str = "Access Denied") -> S3Error:
    return S3Error("AccessDenied", message, 403)


def malformed_xml() -> S3Error:
    return S3Error(
        "MalformedXML",
        "The XML you provided was not well-formed or did not validate against our "
        "published schema",
        400,
    )


def invalid_argument(message: str, name: str | None = None, value: str | None = None) -> S3Error:
    fields = {}
    if name is not None:
        fields["ArgumentName"] = name
        fields["ArgumentValue"] = value or ""
    return S3Error("InvalidArgument", message, 400, fields=fields)
