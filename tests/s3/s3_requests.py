"""Real S3 requests as botocore builds them, captured before they are sent.

A botocore client with a ``before-send`` handler records the prepared request (method, Host,
raw path, query, headers exactly as they would go on the wire) and stops it there. Required
parameters that a test does not give are filled from botocore's S3 model, so every operation
of the model can be built without hand-written fixtures.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import botocore.session
from botocore.config import Config
from botocore.model import Shape, StructureShape

ENDPOINT = "http://127.0.0.1:9000"
S3_DOMAIN = "s3.example.internal"  # virtual-hosted requests go to bucket.<S3_DOMAIN>:9000


@dataclass(frozen=True)
class Captured:
    method: str
    host: str
    raw_path: str
    query: dict[str, list[str]]
    headers: dict[str, str]


class _Stop(Exception):
    def __init__(self, request: Any):
        super().__init__("captured")
        self.request = request


def _stop(request: Any, **_: Any) -> None:
    raise _Stop(request)


_session = botocore.session.get_session()
MODEL = _session.get_service_model("s3")
_clients: dict[str, Any] = {}


def client(style: str = "path") -> Any:
    if style not in _clients:
        c = _session.create_client(
            "s3", region_name="us-east-1",
            endpoint_url=ENDPOINT if style == "path" else f"http://{S3_DOMAIN}:9000",
            aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="secret",
            config=Config(s3={"addressing_style": style}, retries={"max_attempts": 1}),
        )
        c.meta.events.register("before-send.s3", _stop)
        _clients[style] = c
    return _clients[style]


def _dummy(shape: Shape, name: str) -> Any:
    kind = shape.type_name
    if kind == "structure":
        assert isinstance(shape, StructureShape)
        return {m: _dummy(shape.members[m], m) for m in shape.required_members}
    if kind == "list":
        return [_dummy(shape.member, name)]
    if kind == "map":
        return {}
    if kind in ("integer", "long"):
        return 1
    if kind == "boolean":
        return True
    if kind == "timestamp":
        return datetime.datetime(2030, 1, 1, tzinfo=datetime.UTC)
    if kind == "blob":
        return b""
    if name == "Bucket":
        return "bucket-1"
    if name == "Key":
        return "dir/key.txt"
    if shape.enum:
        return shape.enum[0]
    return "x"


def capture(operation: str, style: str = "path", **params: Any) -> Captured:
    """The request botocore sends for ``operation`` (API name) with ``params``."""
    op = MODEL.operation_model(operation)
    full = _dummy(op.input_shape, "") if op.input_shape is not None else {}
    full.update(params)
    c = client(style)
    method = getattr(c, _snake(operation))
    try:
        method(**full)
    except _Stop as stop:
        request = stop.request
    else:  # pragma: no cover - the handler always stops the request
        raise AssertionError("request was sent")
    url = urlsplit(request.url)
    headers = {k.lower(): (v.decode() if isinstance(v, bytes) else str(v))
               for k, v in request.headers.items()}
    return Captured(request.method, headers.get("host", url.netloc), url.path,
                    parse_qs(url.query, keep_blank_values=True), headers)


def _snake(name: str) -> str:
    snake: str = botocore.xform_name(name)
    return snake
