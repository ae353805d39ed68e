"""Typed, immutable records of the IAM directory.

The records mirror the entities of the IAM API reference
(https://docs.aws.amazon.com/IAM/latest/APIReference/API_Types.html) and of AWS
Organizations. They carry no behaviour: services build them (with ``now`` passed in) and
stores persist them. Secrets (access-key secrets, TOTP seeds, SAML private keys, signing
keys) are only ever held *sealed* (bytes produced by ``credentials.at_rest.SecretBox``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Generic, Literal, TypeVar

T = TypeVar("T")

EntityKind = Literal["user", "group", "role"]
AWS_MANAGED_ACCOUNT = "aws"
"""Account id under which AWS managed policies are stored (their ARNs read ``iam::aws:``)."""


@dataclass(frozen=True, slots=True)
class Tag:
    key: str
    value: str


Tags = tuple[Tag, ...]


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a listing; ``marker`` is set when more items follow (IsTruncated)."""

    items: list[T]
    marker: str | None = None

    @property
    def is_truncated(self) -> bool:
        return self.marker is not None


@dataclass(frozen=True, slots=True)
class Account:
    account_id: str
    name: str
    email: str = ""
    created: datetime | None = None


@dataclass(frozen=True, slots=True)
class User:
    account_id: str
    user_id: str
    name: str
    path: str
    arn: str
    created: datetime
    permissions_boundary: str | None = None
    tags: Tags = ()
    password_last_used: datetime | None = None


@dataclass(frozen=True, slots=True)
class Group:
    account_id: str
    group_id: str
    name: str
    path: str
    arn: str
    created: datetime


@dataclass(frozen=True, slots=True)
class Role:
    account_id: str
    role_id: str
    name: str
    path: str
    arn: str
    created: datetime
    assume_role_policy: str
    description: str = ""
    max_session_duration: int = 3600
    permissions_boundary: str | None = None
    tags: Tags = ()
    last_used: datetime | None = None
    last_used_region: str | None = None


@dataclass(frozen=True, slots=True)
class ManagedPolicy:
    """A customer- or AWS-managed policy; ``document`` is the default version's text."""

    account_id: str
    policy_id: str
    name: str
    path: str
    arn: str
    created: datetime
    updated: datetime
    default_version_id: str
    document: str
    description: str = ""
    attachment_count: int = 0
    boundary_usage_count: int = 0
    is_attachable: bool = True
    tags: Tags = ()

    @property
    def aws_managed(self) -> bool:
        return self.account_id == AWS_MANAGED_ACCOUNT


@dataclass(frozen=True, slots=True)
class PolicyVersion:
    policy_arn: str
    version_id: str
    document: str
    is_default: bool
    created: datetime


@dataclass(frozen=True, slots=True)
class InlinePolicy:
    account_id: str
    owner_kind: EntityKind
    owner_name: str
    name: str
    document: str


@dataclass(frozen=True, slots=True)
class AttachedPolicy:
    name: str
    arn: str


@dataclass(frozen=True, slots=True)
class AccessKeyLastUsed:
    when: datetime
    service: str
    region: str


@dataclass(frozen=True, slots=True)
class AccessKey:
    """A long-term key. ``user_name``/``user_id`` are None for the account root's keys."""

    access_key_id: str
    account_id: str
    user_name: str | None
    user_id: str | None
    sealed_secret: bytes
    status: Literal["Active", "Inactive"]
    created: datetime
    last_used: AccessKeyLastUsed | None = None

    @property
    def is_root(self) -> bool:
        return self.user_id is None


@dataclass(frozen=True, slots=True)
class VirtualMfaDevice:
    """A virtual MFA device; ``serial`` is its ARN (``arn:aws:iam::ACCT:mfa/path/name``)."""

    serial: str
    account_id: str
    name: str
    path: str
    sealed_seed: bytes
    created: datetime
    user_name: str | None = None
    enabled: datetime | None = None
    last_time_step: int | None = None
    tags: Tags = ()


@dataclass(frozen=True, slots=True)
class LoginProfile:
    account_id: str
    user_name: str
    password_hash: str
    created: datetime
    password_reset_required: bool = False
    # When the current password was set (None: before migration 9 recorded it) and the
    # argon2 hashes of the previous ones, newest first (password reuse prevention).
    password_changed: datetime | None = None
    previous_hashes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class SamlPrivateKey:
    key_id: str
    sealed_pem: bytes
    created: datetime


@dataclass(frozen=True, slots=True)
class SamlProvider:
    account_id: str
    name: str
    arn: str
    metadata: str
    uuid: str
    created: datetime
    valid_until: datetime | None = None
    assertion_encryption_mode: Literal["Allowed", "Required"] | None = None
    private_keys: tuple[SamlPrivateKey, ...] = ()
    tags: Tags = ()


@dataclass(frozen=True, slots=True)
class OidcProvider:
    account_id: str
    url: str
    arn: str
    created: datetime
    client_ids: tuple[str, ...] = ()
    thumbprints: tuple[str, ...] = ()
    tags: Tags = ()


@dataclass(frozen=True, slots=True)
class Organization:
    org_id: str
    arn: str
    management_account_id: str
    management_account_email: str
    feature_set: Literal["ALL", "CONSOLIDATED_BILLING"]
    root_id: str
    created: datetime


OrgNodeKind = Literal["ROOT", "ORGANIZATIONAL_UNIT"]


@dataclass(frozen=True, slots=True)
class OrgUnit:
    """A root or organizational unit; roots have ``parent_id`` None."""

    unit_id: str
    org_id: str
    arn: str
    name: str
    kind: OrgNodeKind
    parent_id: str | None
    enabled_policy_types: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class OrgAccount:
    account_id: str
    org_id: str
    parent_id: str
    arn: str
    name: str
    email: str
    joined_method: Literal["INVITED", "CREATED"]
    joined: datetime
    status: str = "ACTIVE"


@dataclass(frozen=True, slots=True)
class OrgPolicy:
    policy_id: str
    org_id: str
    arn: str
    name: str
    description: str
    type: str
    content: str
    aws_managed: bool = False


@dataclass(frozen=True, slots=True)
class CreateAccountStatus:
    request_id: str
    org_id: str
    account_name: str
    state: Literal["IN_PROGRESS", "SUCCEEDED", "FAILED"]
    requested: datetime
    completed: datetime | None = None
    account_id: str | None = None
    failure_reason: str | None = None


@dataclass(frozen=True, slots=True)
class NewMemberAccount:
    """Everything Organizations CreateAccount writes, stored by
    ``Store.create_member_account`` in one transaction: all of it or none of it.

    ``managed_policies`` are the organization's AWS managed policies (FullAWSAccess,
    RCPFullAWSAccess): each is stored if missing and attached to the account when its type
    is SERVICE_CONTROL_POLICY or enabled on the root, as read inside that transaction.
    """

    account: Account
    member: OrgAccount
    access_role: Role
    role_policy_arns: tuple[str, ...]  # managed IAM policies attached to access_role
    managed_policies: tuple[OrgPolicy, ...]
    status: CreateAccountStatus  # the finished (SUCCEEDED) request
    tags: Tags = ()  # the account's Organizations tags (CreateAccount's Tags)


@dataclass(frozen=True, slots=True)
class IdentityTokenKey:
    """An identity-token (JWT) signing key, sealed at rest; one primary per algorithm."""

    key_id: str  # RFC 7638 thumbprint of the public JWK
    algorithm: str  # RS256 | ES384
    sealed_key: bytes  # PKCS #8 DER, sealed with b"identity-token-key:" + key_id
    created: datetime
    primary: bool = False


@dataclass(frozen=True, slots=True)
class SigningKey:
    """A session-token signing key, sealed at rest; exactly one key is primary."""

    key_id: str
    sealed_key: bytes
    created: datetime
    primary: bool = False


@dataclass(frozen=True, slots=True)
class AccountSummary:
    counts: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class PublicAccessBlock:
    """A bucket's S3 Block Public Access settings (API_PublicAccessBlockConfiguration).

    New buckets get all four on ("Starting in April 2023, all Block Public Access settings
    are enabled by default for new buckets", S3 User Guide, access-control-block-public-access).
    """

    block_public_acls: bool = True
    ignore_public_acls: bool = True
    block_public_policy: bool = True
    restrict_public_buckets: bool = True

    @classmethod
    def all_on(cls) -> PublicAccessBlock:
        return cls(True, True, True, True)

    @classmethod
    def all_off(cls) -> PublicAccessBlock:
        return cls(False, False, False, False)


@dataclass(frozen=True, slots=True)
class Bucket:
    """An S3 bucket owned by an account; its policy, tags and Block Public Access settings.

    ``public_access_block`` is always the effective setting. ``public_access_block_configured``
    is False after DeletePublicAccessBlock: then every setting is off, and
    GetPublicAccessBlock answers NoSuchPublicAccessBlockConfiguration.
    """

    name: str
    account_id: str
    region: str
    created: datetime
    policy: str | None = None
    tags: Tags = ()
    public_access_block: PublicAccessBlock = field(default_factory=PublicAccessBlock.all_on)
    public_access_block_configured: bool = True

    def __post_init__(self) -> None:
        if not self.public_access_block_configured and (
            self.public_access_block != PublicAccessBlock.all_off()
        ):
            raise ValueError("a bucket without a Public Access Block has every setting off")

    @property
    def arn(self) -> str:
        return f"arn:aws:s3:::{self.name}"


@dataclass(frozen=True, slots=True)
class Route:
    """One route of an API declared for the HTTP authorizer (issue 11).

    ``method`` is an HTTP method in upper case or ``ANY``; ``path`` a template such as
    ``/orders/{id}`` or ``/files/{proxy+}`` (``opensts.apis.routes``). ``action`` and
    ``resource`` replace ``execute-api:Invoke`` and the execute-api ARN when set (the
    resource is an ARN template whose ``{param}`` are path parameters); ``conditions`` are
    extra request-context keys, their values templated the same way.
    """

    method: str
    path: str
    action: str | None = None
    resource: str | None = None
    conditions: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # Frozen all the way down: the cached record is shared by every request.
        object.__setattr__(self, "conditions", MappingProxyType(dict(self.conditions)))


@dataclass(frozen=True, slots=True, kw_only=True)
class Api:
    """An HTTP API behind nginx, Traefik or Envoy whose calls OpenSTS authorizes, as
    Amazon API Gateway does for methods with ``AWS_IAM`` authorization.

    ``api_id`` is globally unique (as the ``{api-id}.execute-api`` host name is) and owned
    by ``account_id``; ``stages`` are the stage names callers may address; ``policy`` is the
    API's resource policy (API Gateway's REST API resource policy); ``routes`` map requests
    to custom actions (without any, every request is ``execute-api:Invoke``).
    ``require_body_hash``: the body must be seen and hashed by the hook (Traefik
    ``forwardBody``, Envoy ``with_request_body``); a claimed ``x-amz-content-sha256`` the hook
    cannot check and ``UNSIGNED-PAYLOAD`` are both refused, since either lets a captured
    request carry another body within its signature window.
    """

    api_id: str
    account_id: str
    name: str = ""
    region: str = "us-east-1"
    stages: tuple[str, ...] = ()
    policy: str | None = None
    routes: tuple[Route, ...] = ()
    require_body_hash: bool = False
    created: datetime


# -- issue 13: instance profiles, user credentials, server certificates, account settings ---

@dataclass(frozen=True, slots=True)
class InstanceProfile:
    """An instance profile and the roles in it (AWS allows one)."""

    account_id: str
    instance_profile_id: str
    name: str
    path: str
    arn: str
    created: datetime
    roles: tuple[Role, ...] = ()
    tags: Tags = ()


CredentialStatus = Literal["Active", "Inactive"]


@dataclass(frozen=True, slots=True)
class SigningCertificate:
    """An X.509 signing certificate; ``user_name`` None for the account root's."""

    certificate_id: str
    account_id: str
    user_name: str | None
    body: str
    status: CredentialStatus
    uploaded: datetime


@dataclass(frozen=True, slots=True)
class SshPublicKey:
    ssh_public_key_id: str
    account_id: str
    user_name: str
    body: str  # the key as uploaded (OpenSSH or PEM)
    fingerprint: str
    status: CredentialStatus
    uploaded: datetime


@dataclass(frozen=True, slots=True)
class ServiceSpecificCredential:
    credential_id: str
    account_id: str
    user_name: str
    service_name: str
    service_user_name: str
    sealed_password: bytes
    status: CredentialStatus
    created: datetime
    expires: datetime | None = None


@dataclass(frozen=True, slots=True)
class ServerCertificate:
    """A server certificate; its private key is checked on upload and never stored."""

    account_id: str
    server_certificate_id: str
    name: str
    path: str
    arn: str
    body: str
    chain: str | None
    uploaded: datetime
    expiration: datetime
    tags: Tags = ()


@dataclass(frozen=True, slots=True)
class PasswordPolicy:
    """The account password policy (API_PasswordPolicy); ``max_password_age`` and
    ``password_reuse_prevention`` None when not set."""

    minimum_password_length: int = 6
    require_symbols: bool = False
    require_numbers: bool = False
    require_uppercase_characters: bool = False
    require_lowercase_characters: bool = False
    allow_users_to_change_password: bool = False
    max_password_age: int | None = None
    password_reuse_prevention: int | None = None
    hard_expiry: bool | None = None  # None: not given (GetAccountPasswordPolicy omits it)


# -- issue 13: Organizations delegation, IAM credential reports, service-linked roles ------

@dataclass(frozen=True, slots=True)
class DelegatedAdmin:
    """A member account registered as delegated administrator for one AWS service."""

    account_id: str
    service_principal: str
    org_id: str
    enabled: datetime


@dataclass(frozen=True, slots=True)
class CredentialReport:
    """The account's latest credential report (CSV text), as GenerateCredentialReport left it."""

    account_id: str
    generated: datetime
    content: str


@dataclass(frozen=True, slots=True)
class RoleDeletionTask:
    """DeleteServiceLinkedRole's task, read back by GetServiceLinkedRoleDeletionStatus."""

    task_id: str
    account_id: str
    role_name: str
    status: Literal["SUCCEEDED", "IN_PROGRESS", "FAILED", "NOT_STARTED"]
    created: datetime
    reason: str | None = None
