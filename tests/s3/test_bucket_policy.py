"""PutBucketPolicy's checks: S3's MalformedPolicy answers, and BlockPublicPolicy."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from opensts.directory.records import Bucket, PublicAccessBlock
from opensts.s3.errors import S3Error
from opensts.services.s3.bucket_policy import (
    MAX_POLICY_BYTES,
    policy_size,
    prepare_bucket_policy,
    validate_bucket_policy,
)

B = "photos"
ACCOUNT = {"AWS": "arn:aws:iam::444455556666:root"}


def doc(*statements: dict, **top: object) -> str:  # type: ignore[type-arg]
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements), **top})


def st(action: object = "s3:GetObject", resource: object = f"arn:aws:s3:::{B}/*",
       principal: object = ACCOUNT, **extra: object) -> dict:  # type: ignore[type-arg]
    out = {"Effect": "Allow", "Principal": principal, "Action": action, "Resource": resource}
    out.update(extra)
    return {k: v for k, v in out.items() if v is not None}


def refused(text: str, bucket: str = B, **kw: object) -> str:
    with pytest.raises(S3Error) as caught:
        validate_bucket_policy(text, bucket, **kw)  # type: ignore[arg-type]
    assert (caught.value.code, caught.value.status) == ("MalformedPolicy", 400)
    return caught.value.message


def test_valid_bucket_policies() -> None:
    for text in (
        doc(st()),
        doc(st(["s3:GetObject", "s3:ListBucket"], [f"arn:aws:s3:::{B}", f"arn:aws:s3:::{B}/*"])),
        doc(st("s3:ListBucket", f"arn:aws:s3:::{B}",
               Condition={"StringLike": {"s3:prefix": ["home/${aws:username}/*"]}})),
        doc(st("s3:*", [f"arn:aws:s3:::{B}", f"arn:aws:s3:::{B}/*"])),
        doc(st("*", f"arn:aws:s3:::{B}/*")),
        doc(st("s3:Get*", f"arn:aws:s3:::{B}")),  # GetBucketPolicy etc. take the bucket
        doc(st(principal="*", Condition={"IpAddress": {"aws:SourceIp": "192.0.2.0/24"}})),
        doc(st(principal={"Service": "cloudtrail.amazonaws.com"}, action="s3:PutObject",
               resource=f"arn:aws:s3:::{B}/AWSLogs/111122223333/*",
               Condition={"StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control"}})),
        doc({"Effect": "Deny", "Principal": "*", "Action": "s3:*",
             "Resource": [f"arn:aws:s3:::{B}", f"arn:aws:s3:::{B}/*"],
             "Condition": {"Bool": {"aws:SecureTransport": "false"}}}),
        doc({"Effect": "Deny", "NotPrincipal": ACCOUNT, "NotAction": "s3:GetObject",
             "NotResource": f"arn:aws:s3:::{B}/public/*"}),
        doc(st(), Id="PolicyForPhotos"),
        json.dumps({"Statement": [st()]}),  # no Version: 2008-10-17
        "\n  " + doc(st()),
    ):
        assert validate_bucket_policy(text, B).statements


def test_json_errors() -> None:
    assert refused("") == "Policies must be valid JSON and the first byte must be '{'"
    assert refused('"Statement"') == "Policies must be valid JSON and the first byte must be '{'"
    assert refused('["x"]') == "Policies must be valid JSON and the first byte must be '{'"
    assert refused('{"Statement": [}') == "This policy contains invalid Json"
    assert refused(doc(st())[:-1]) == "This policy contains invalid Json"
    assert refused('{"Statement":' * 40 + "1" + "}" * 40) == "This policy contains invalid Json"


def test_size_counts_bytes_without_whitespace_between_tokens() -> None:
    assert policy_size('{ "a" : "b c" }') == len('{"a":"b c"}')
    assert policy_size('{"k":"é"}') == len('{"k":""}') + 2
    assert policy_size('{"k":"a\\"  b"}') == len('{"k":"a\\"  b"}')
    padded = doc(st()).replace(", ", "," + " " * 8000)  # lots of whitespace: still small
    assert len(padded) > MAX_POLICY_BYTES
    assert validate_bucket_policy(padded, B)
    many = [f"arn:aws:s3:::{B}/prefix-{i:05d}/*" for i in range(800)]
    big = doc(st(resource=many))
    assert policy_size(big) > MAX_POLICY_BYTES
    assert refused(big) == "Policies must be less than 20 KB"


def test_principal_errors() -> None:
    statement = st()
    del statement["Principal"]
    assert refused(doc(statement)) == "Missing required field Principal"
    for bad in ({"AWS": "user"}, {"AWS": "arn:aws:iam::1234:root"}, {"Nope": "x"}, "anyone",
                {"AWS": "arn:aws:iam::444455556666:user/*"}):
        assert refused(doc(st(principal=bad))) == "Invalid principal in policy"


def test_principals_must_exist_when_the_caller_can_tell() -> None:
    known = {"arn:aws:iam::444455556666:role/app"}
    ok = doc(st(principal={"AWS": ["arn:aws:iam::444455556666:role/app", "444455556666"]}))
    assert validate_bucket_policy(ok, B, principal_exists=known.__contains__)
    gone = doc(st(principal={"AWS": "arn:aws:iam::444455556666:user/gone"}))
    assert refused(gone, principal_exists=known.__contains__) == "Invalid principal in policy"
    assert validate_bucket_policy(gone, B)  # without the hook, the form is all that is checked


def test_resource_errors() -> None:
    for bad in ("*", "arn:aws:s3:::other/*", "arn:aws:s3:::other", f"arn:aws:s3:::{B}x/*",
                "arn:aws:s3:::*", f"arn:aws:s3:::{B}*", "arn:aws:s3:us-east-1:111122223333:x",
                "arn:aws:iam::111122223333:root", "photos/*"):
        assert refused(doc(st(resource=bad))) == "Policy has invalid resource", bad
    assert refused(doc(st(resource=[f"arn:aws:s3:::{B}/*", "arn:aws:s3:::other/*"]))) == (
        "Policy has invalid resource")
    statement = st()
    del statement["Resource"]
    assert refused(doc(statement)) == "Statement is missing required element"


def test_actions_must_be_s3_actions_that_apply_to_the_resources() -> None:
    for bad in ("iam:PassRole", "ec2:*", "s3:NoSuchAction", "s3:Nope*"):
        assert refused(doc(st(bad))) == "Policy has invalid action", bad
    message = "Action does not apply to any resource(s) in statement"
    assert refused(doc(st("s3:PutObject", f"arn:aws:s3:::{B}"))) == message
    assert refused(doc(st("s3:ListBucket", f"arn:aws:s3:::{B}/*"))) == message
    assert refused(doc(st("s3:ListAllMyBuckets", f"arn:aws:s3:::{B}"))) == message
    assert refused(doc(st(["s3:GetObject", "s3:GetBucketAcl"], f"arn:aws:s3:::{B}/*"))) == (
        message)


def test_condition_keys_must_be_known() -> None:
    for key in ("s3:nosuchkey", "aws:NoSuchKey", "ec2:Vpc", "kms:ViaService"):
        assert refused(doc(st(Condition={"StringEquals": {key: "x"}}))) == (
            "Policy has an invalid condition key"), key
    for key in ("s3:ExistingObjectTag/team", "aws:PrincipalTag/team", "aws:SourceVpce",
                "s3:x-amz-server-side-encryption"):
        assert validate_bucket_policy(doc(st(Condition={"StringEquals": {key: "x"}})), B)


def test_other_grammar_errors_are_malformed_policy() -> None:
    statement = st()
    statement["Effect"] = "Permit"
    assert refused(doc(statement)).startswith("Invalid effect")
    assert refused('{"Version":"2012-10-17","Statement":[]}')
    assert refused('{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Effect":"Deny"}]}')


def bucket(pab: PublicAccessBlock) -> Bucket:
    return Bucket(B, "111122223333", "us-east-1", datetime(2026, 12, 4, tzinfo=UTC),
                  public_access_block=pab)


def test_block_public_policy_refuses_a_public_policy() -> None:
    public = doc(st(principal="*"))
    with pytest.raises(S3Error) as caught:
        prepare_bucket_policy(bucket(PublicAccessBlock.all_on()), public)
    assert (caught.value.code, caught.value.status, caught.value.message) == (
        "AccessDenied", 403, "Access Denied")
    fixed = doc(st())
    assert prepare_bucket_policy(bucket(PublicAccessBlock.all_on()), fixed) == fixed
    off = PublicAccessBlock(True, True, False, True)
    assert prepare_bucket_policy(bucket(off), public) == public


def test_a_malformed_policy_is_malformed_before_it_is_public() -> None:
    with pytest.raises(S3Error) as caught:
        prepare_bucket_policy(bucket(PublicAccessBlock.all_on()),
                              doc(st(principal="*", resource="*")))
    assert caught.value.code == "MalformedPolicy"
