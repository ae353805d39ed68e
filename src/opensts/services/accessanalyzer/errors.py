"""Access Analyzer's errors (botocore model: the exception shapes and their members).

The rest-json transport (web/restjson.py) answers ``code`` in ``x-amzn-ErrorType`` and the
body ``{"message": ..., **members}``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from opensts.errors import AwsError


class AnalyzerError(AwsError):
    members: dict[str, Any]

    def __init__(self, message: str, **members: Any):
        super().__init__(message)
        self.members = {k: v for k, v in members.items() if v is not None}


class ValidationException(AnalyzerError):
    code = "ValidationException"
    status = 400

    def __init__(self, message: str, *, reason: str = "fieldValidationFailed",
                 fields: Iterable[tuple[str, str]] = ()):
        field_list = [{"name": name, "message": text} for name, text in fields]
        super().__init__(message, reason=reason, fieldList=field_list or None)


def invalid(field: str, message: str) -> ValidationException:
    """One invalid field, worded as AWS's front end words a constraint violation."""
    return ValidationException(f"1 validation error detected: {message}",
                               fields=[(field, message)])


class ResourceNotFoundException(AnalyzerError):
    code = "ResourceNotFoundException"
    status = 404

    def __init__(self, message: str, resource_id: str, resource_type: str):
        super().__init__(message, resourceId=resource_id, resourceType=resource_type)


class ConflictException(AnalyzerError):
    code = "ConflictException"
    status = 409

    def __init__(self, message: str, resource_id: str, resource_type: str):
        super().__init__(message, resourceId=resource_id, resourceType=resource_type)


class ServiceQuotaExceededException(AnalyzerError):
    code = "ServiceQuotaExceededException"
    status = 402

    def __init__(self, message: str, resource_id: str, resource_type: str):
        super().__init__(message, resourceId=resource_id, resourceType=resource_type)


class AccessDeniedException(AnalyzerError):
    code = "AccessDeniedException"
    status = 403
