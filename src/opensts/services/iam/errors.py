"""IAM-specific errors and the mapping of store failures onto AWS's IAM errors.

Messages are AWS's own wording (observed responses; IAM API reference "Common Errors" and
each operation's "Errors" section).
"""

from __future__ import annotations

from opensts.directory.errors import AlreadyExists, Conflict, NotFound, QuotaExceeded, StoreError
from opensts.errors import (
    AwsError,
    DeleteConflict,
    EntityAlreadyExists,
    LimitExceeded,
    NoSuchEntity,
    SenderError,
)


class InvalidAuthenticationCode(SenderError):
    code = "InvalidAuthenticationCode"
    status = 403


class UnmodifiableEntity(SenderError):
    code = "UnmodifiableEntity"


class PasswordPolicyViolation(SenderError):
    code = "PasswordPolicyViolation"


_NOT_FOUND = {
    "user": "The user with name {key} cannot be found.",
    "group": "The group with name {key} cannot be found.",
    "role": "The role with name {key} cannot be found.",
    "policy": "Policy {key} does not exist or is not attachable.",
    "login_profile": "Login Profile for User {key} cannot be found.",
    "access_key": "The Access Key with id {key} cannot be found.",
    "mfa_device": "VirtualMFADevice with serial number {key} doesn't exist.",
    "attachment": "Policy {key} was not found.",
    # issue 13
    "instance_profile": "Instance Profile {key} cannot be found.",
    "role_in_instance_profile": "The role with name {key} cannot be found.",
    "signing_certificate": "The Certificate with id {key} cannot be found.",
    "ssh_public_key": "The SSH Public Key with id {key} cannot be found.",
    "service_specific_credential": "The Service Specific Credential with id {key} cannot be "
    "found.",
    "server_certificate": "The Server Certificate with name {key} cannot be found.",
    "account_alias": "The account alias {key} cannot be found.",
    "password_policy": "The account policy with name PasswordPolicy cannot be found.",
}

_EXISTS = {
    "user": "User with name {key} already exists.",
    "group": "Group with name {key} already exists.",
    "role": "Role with name {key} already exists.",
    "policy": "A policy called {key} already exists. Duplicate names are not allowed.",
    "login_profile": "Login Profile for user {key} already exists.",
    "mfa_device": "MFADevice entity at the same path and name already exists.",
    # issue 13
    "instance_profile": "Instance Profile {key} already exists.",
    "server_certificate": "The Server Certificate with name {key} already exists.",
    "account_alias": "The account alias {key} already exists.",
}

_CONFLICT = {
    "attached_policies": "Cannot delete entity, must detach all policies first.",
    "inline_policies": "Cannot delete entity, must delete policies first.",
    "access_keys": "Cannot delete entity, must delete access keys first.",
    "login_profile": "Cannot delete entity, must delete login profile first.",
    "mfa_devices": "Cannot delete entity, must delete MFA device first.",
    "group_members": "Cannot delete entity, must remove users from group first.",
    # AWS answers DeleteUser for a user still in a group with the group-side wording.
    "group_memberships": "Cannot delete entity, must remove users from group first.",
    "policy_attached": "Cannot delete a policy attached to entities.",
    "policy_versions": "This policy has more than one version. Before you delete a policy, "
    "you must delete the policy's versions. The default version is deleted with the policy.",
    "default_version": "Cannot delete the default version of a policy.",
    "mfa_in_use": "MFA Device is in use.",
    # issue 13
    "instance_profile_roles": "Cannot delete entity, must remove roles from instance "
    "profile first.",
    "role_in_instance_profile": "Cannot delete entity, must remove roles from instance "
    "profile first.",
    "signing_certificates": "Cannot delete entity, must delete signing certificates first.",
    "ssh_public_keys": "Cannot delete entity, must delete SSH public keys first.",
    "service_specific_credentials": "Cannot delete entity, must delete service specific "
    "credentials first.",
}


def not_found(kind: str, key: str) -> NoSuchEntity:
    template = _NOT_FOUND.get(kind, "The {kind} with name {key} cannot be found.")
    return NoSuchEntity(template.format(key=key, kind=kind.replace("_", " ")))


def to_aws(exc: StoreError, *, names: dict[str, str] | None = None) -> AwsError:
    """Translate a store failure; ``names`` maps entity kinds to the names the caller used
    (AWS quotes the request's spelling, the store may know the stored one)."""
    names = names or {}
    if isinstance(exc, NotFound):
        return not_found(exc.kind, names.get(exc.kind, exc.key))
    if isinstance(exc, AlreadyExists):
        template = _EXISTS.get(exc.kind, "The entity {key} already exists.")
        return EntityAlreadyExists(template.format(key=names.get(exc.kind, exc.key)))
    if isinstance(exc, Conflict):
        if exc.reason == "mfa_assigned":
            return EntityAlreadyExists("MFA Device is already in use.")
        return DeleteConflict(_CONFLICT.get(exc.reason, "Cannot delete entity."))
    if isinstance(exc, QuotaExceeded):
        if exc.quota == "PolicyVersions":
            return LimitExceeded(
                f"A managed policy can have up to {exc.limit} versions. Before you create a "
                "new version, you must delete an existing version."
            )
        return LimitExceeded(f"Cannot exceed quota for {exc.quota}: {exc.limit}")
    return AwsError("An internal error occurred.")


# -- issue 13 ------------------------------------------------------------------------------

class DuplicateCertificate(SenderError):
    code = "DuplicateCertificate"
    status = 409


class MalformedCertificate(SenderError):
    code = "MalformedCertificate"


class InvalidCertificate(SenderError):
    code = "InvalidCertificate"


class KeyPairMismatch(SenderError):
    code = "KeyPairMismatch"


class DuplicateSSHPublicKey(SenderError):
    code = "DuplicateSSHPublicKey"


class InvalidPublicKey(SenderError):
    code = "InvalidPublicKey"


class UnrecognizedPublicKeyEncoding(SenderError):
    code = "UnrecognizedPublicKeyEncoding"


class NotSupportedService(SenderError):
    code = "NotSupportedService"
    status = 404
