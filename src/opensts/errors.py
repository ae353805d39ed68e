"""One error hierarchy for everything a client can see.

Every error carries the AWS error code, the HTTP status, the fault side (Sender or
Receiver) and a message written for the caller. The wire layer renders them; nothing else
needs to know about HTTP. Messages quote user input and never contain secrets.
"""

from __future__ import annotations


class AwsError(Exception):
    """An error answered to the client in AWS's error envelope."""

    code: str = "InternalFailure"
    status: int = 500
    fault: str = "Receiver"

    def __init__(self, message: str = "", *, code: str | None = None, status: int | None = None):
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        if self.status < 500:
            self.fault = "Sender"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.code!r}, {self.message!r})"


class SenderError(AwsError):
    status = 400
    fault = "Sender"


class ValidationError(SenderError):
    code = "ValidationError"


class InvalidParameterValue(SenderError):
    code = "InvalidParameterValue"


class InvalidInput(SenderError):
    """IAM's name for a malformed parameter."""

    code = "InvalidInput"


class MissingParameter(SenderError):
    code = "MissingParameter"


class InvalidAction(SenderError):
    code = "InvalidAction"


class MalformedPolicyDocument(SenderError):
    code = "MalformedPolicyDocument"


class PackedPolicyTooLarge(SenderError):
    code = "PackedPolicyTooLarge"


class AccessDenied(SenderError):
    code = "AccessDenied"
    status = 403


class NoSuchEntity(SenderError):
    code = "NoSuchEntity"
    status = 404


class EntityAlreadyExists(SenderError):
    code = "EntityAlreadyExists"
    status = 409


class DeleteConflict(SenderError):
    code = "DeleteConflict"
    status = 409


class LimitExceeded(SenderError):
    code = "LimitExceeded"
    status = 409


class RequestEntityTooLarge(SenderError):
    code = "RequestEntityTooLarge"
    status = 413


class InternalFailure(AwsError):
    code = "InternalFailure"
    status = 500
