"""ValidatePolicy's checks of one Resource entry's ARN shape (prefix, fields, partition,
service case, Region and account where the service takes none, account id format).

Resource ARN format: arn:partition:service:region:account-id:resource (IAM User Guide,
reference-arns). A wildcard or a policy variable in a field leaves that field unchecked.
"""

from __future__ import annotations

import re

from opensts.analyzer.lint import Reporter
from opensts.analyzer.spans import Path
from opensts.policy.model import PolicyKind

_PARTITIONS = frozenset({"aws", "aws-cn", "aws-us-gov", "aws-iso", "aws-iso-b", "aws-iso-e",
                         "aws-iso-f", "aws-eusc"})
_ACCOUNT = re.compile(r"\d{12}\Z")
_WILD = re.compile(r"[*?]|\$\{")


def check_arn(run: Reporter, pattern: str, where: Path, version: str) -> bool:
    """ARN shape checks of one Resource entry; True when IAM's parser would refuse it."""
    if pattern == "*":
        return False
    iam_kind = run.kind in (PolicyKind.IDENTITY, PolicyKind.TRUST)
    if "${" in pattern and version != "2012-10-17":
        run.add("VARIABLE_UNSUPPORTED_IN_VERSION", "To include variables in your policy, use "
                "the policy version 2012-10-17 or later.", where)
        return iam_kind
    if not pattern.startswith("arn:"):
        if _WILD.search(pattern.split(":", 1)[0]):
            return False
        run.add("INVALID_ARN_PREFIX", "Add the required prefix (arn) to the resource ARN.",
                where)
        return True
    parts = pattern.split(":", 5)
    if len(parts) < 6:
        if parts[-1].endswith("*"):
            return False
        run.add("MISSING_ARN_FIELD", "Resource ARNs must include at least 6 fields in the "
                "following structure: arn:partition:service:region:account:resource", where)
        return iam_kind
    _, partition, service, region, account, _resource = parts
    if partition not in _PARTITIONS and not _WILD.search(partition):
        run.add("INVALID_PARTITION", f"The resource ARN for the service {service} does not "
                f"support the partition {partition}. Use the supported values: "
                f"{', '.join(sorted(_PARTITIONS))}", where)
        return iam_kind
    if service != service.lower():
        run.add("INVALID_ARN_SERVICE_CASE", f"Update the service name {service} in the "
                "resource ARN to use all lowercase letters.", where)
    if service == "iam" and region and not _WILD.search(region):
        run.add("ARN_REGION_NOT_ALLOWED", f"The service {service} does not support specifying "
                "a Region in the resource ARN.", where)
        return iam_kind
    if service == "s3" and not region and account and not _WILD.search(account):
        run.add("ARN_ACCOUNT_NOT_ALLOWED", f"The service {service} does not support specifying "
                "an account ID in the resource ARN.", where)
    elif (account and not _WILD.search(account) and not _ACCOUNT.match(account)
          and not (service == "iam" and account == "aws")):
        run.add("INVALID_ARN_ACCOUNT", f"The resource ARN account ID {account} is not valid. "
                "Provide a 12-digit account ID.", where)
    return False
