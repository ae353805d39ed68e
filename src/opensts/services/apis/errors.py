"""API Gateway's error answers: a JSON body with one message and ``x-amzn-ErrorType``.

API Gateway spells the key ``Message`` in authorization denials and ``message`` in its
other errors (``{"message":"Missing Authentication Token"}``, aws/chalice#12; denials in
services/apis/decide.py), so the key is part of each error.
"""

from __future__ import annotations

import json

from opensts.errors import AwsError


class ApiGatewayError(AwsError):
    """``code`` is the ``x-amzn-ErrorType``; ``body()`` the JSON to answer with."""

    def __init__(self, code: str, message: str, status: int, *, key: str = "message"):
        super().__init__(message, code=code, status=status)
        self.key = key

    def body(self) -> bytes:
        return json.dumps({self.key: self.message}, separators=(",", ":")).encode()

    @property
    def headers(self) -> dict[str, str]:
        return {"content-type": "application/json", "x-amzn-ErrorType": self.code}


def missing_authentication_token() -> ApiGatewayError:
    """403 for an unsigned call to an IAM-authorized method, or a stage or path the API
    does not have (API Gateway answers both alike)."""
    return ApiGatewayError("MissingAuthenticationTokenException",
                           "Missing Authentication Token", 403)
