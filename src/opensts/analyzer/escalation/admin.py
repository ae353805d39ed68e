"""What "admin" means here: effectively allowed ``*`` on ``*`` in the principal's account.

The engine is asked one question per probe below, as the principal, with the context the
directory determines; the principal is an administrator when **every** probe is allowed
without depending on a key the analysis cannot know. The probes span IAM writes (enough to
grant itself anything), STS, the data services, and an action of a service that does not
exist, which only ``"Action": "*"`` (or a NotAction that spares it) allows: AdministratorAccess
passes; PowerUserAccess (NotAction iam:*) and IAMFullAccess (iam:* only) do not — those are
found as escalation paths instead, when they allow one. A permissions boundary, an SCP or an
explicit deny on any probe makes the principal not an administrator.

Resources are concrete ARNs in the principal's account that no policy would name on purpose,
so only ``"Resource": "*"`` (or patterns as wide) allows them.
"""

from __future__ import annotations

from opensts.analyzer.escalation.model import REGION, Directory, Entity, decide

PROBE = "opensts-admin-probe"


def probes(account: str) -> tuple[tuple[str, str], ...]:
    iam = f"arn:aws:iam::{account}"
    return (
        ("iam:CreateUser", f"{iam}:user/{PROBE}"),
        ("iam:AttachUserPolicy", f"{iam}:user/{PROBE}"),
        ("iam:PutRolePolicy", f"{iam}:role/{PROBE}"),
        ("iam:CreateAccessKey", f"{iam}:user/{PROBE}"),
        ("iam:PassRole", f"{iam}:role/{PROBE}"),
        ("iam:UpdateAssumeRolePolicy", f"{iam}:role/{PROBE}"),
        ("sts:AssumeRole", f"{iam}:role/{PROBE}"),
        ("organizations:LeaveOrganization", "*"),
        ("s3:GetObject", f"arn:aws:s3:::{PROBE}/{PROBE}"),
        ("s3:PutBucketPolicy", f"arn:aws:s3:::{PROBE}"),
        ("ec2:RunInstances", f"arn:aws:ec2:{REGION}:{account}:instance/i-{PROBE}"),
        ("lambda:CreateFunction", f"arn:aws:lambda:{REGION}:{account}:function:{PROBE}"),
        ("kms:Decrypt", f"arn:aws:kms:{REGION}:{account}:key/{PROBE}"),
        ("secretsmanager:GetSecretValue",
         f"arn:aws:secretsmanager:{REGION}:{account}:secret:{PROBE}"),
        ("opensts-probe:AnyAction", f"arn:aws:opensts-probe:{REGION}:{account}:{PROBE}"),
    )


def is_admin(directory: Directory, entity: Entity) -> bool:
    for action, resource in probes(entity.account):
        found = decide(directory, entity, action, resource)
        if found is None or found.outcome != "allowed" or found.unknown_keys:
            return False
    return True
