"""What every operation handler receives: who is calling, about what request, and the server."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from opensts.services.runtime import Runtime


@dataclass(frozen=True)
class Caller:
    """The authenticated principal behind a signed request.

    ``type`` uses CloudTrail's ``userIdentity.type`` vocabulary. ``session`` holds the
    unsealed session-token claims for temporary credentials and is ``None`` for long-term
    access keys.
    """

    type: str  # "Root" | "IAMUser" | "AssumedRole" | "FederatedUser"
    account_id: str
    arn: str
    principal_id: str  # GetCallerIdentity's UserId
    access_key_id: str
    user_name: str | None = None  # the IAM user (also behind GetSessionToken/GetFederationToken)
    session: Mapping[str, Any] | None = None

    @property
    def is_root(self) -> bool:
        return self.type == "Root"

    @property
    def is_session(self) -> bool:
        return self.session is not None


@dataclass(frozen=True)
class RequestMeta:
    request_id: str
    now: datetime
    source_ip: str
    user_agent: str
    region: str  # the region the client signed for (us-east-1 for unsigned requests)
    host: str
    secure: bool = False  # arrived over TLS (aws:SecureTransport)
    # Addressed to STS's global endpoint: signed for ``aws-global`` (what SDKs do for the
    # global endpoint given a custom URL) or sent to the host ``sts.amazonaws.com``.
    global_endpoint: bool = False


@dataclass
class AuditRecord:
    """The parts of the CloudTrail event that a handler fills in (never with secrets)."""

    request_parameters: dict[str, Any] | None = None
    response_elements: dict[str, Any] | None = None
    resources: list[dict[str, str]] = field(default_factory=list)
    additional_event_data: dict[str, Any] = field(default_factory=dict)
    # Set by federation handlers, whose caller is not a signed principal.
    user_identity: dict[str, Any] | None = None
    recipient_account: str | None = None
    # A successful cross-account call is also logged in the resource's account, as an
    # AWSAccount event sharing one sharedEventID with the caller's event.
    shared_with_account: str | None = None


@dataclass
class CallContext:
    runtime: Runtime
    caller: Caller | None
    meta: RequestMeta
    audit: AuditRecord = field(default_factory=AuditRecord)

    def require_caller(self) -> Caller:
        if self.caller is None:  # only unsigned operations run without a caller
            raise RuntimeError("operation requires a signed caller")
        return self.caller

    def authorize(
        self,
        action: str,
        resource: str,
        *,
        resource_policy: str | None = None,
        resource_account: str | None = None,
        context: Mapping[str, str | list[str]] | None = None,
    ) -> None:
        """Raise AccessDenied unless the caller's effective permissions allow ``action``.

        Effective permissions are identity policies intersected with the permissions
        boundary and session policies, under the organization's SCPs, combined with the
        resource policy when given; the account root may do anything in its own account.
        """
        self.runtime.authorizer.authorize(
            self.require_caller(),
            action,
            resource,
            meta=self.meta,
            resource_policy=resource_policy,
            resource_account=resource_account,
            extra_context=context,
        )
