"""catalog.resource_fits: a resource (pattern) against the ARN formats of an action's
resource types, wildcards on both sides."""

from __future__ import annotations

import pytest

from opensts.policy.catalog import action_resource_types, resource_fits


@pytest.mark.parametrize(("action", "resource", "fits"), [
    ("s3:GetObject", "arn:aws:s3:::b/k", True),
    ("s3:GetObject", "arn:aws:s3:::b/a/b/c", True),
    ("s3:GetObject", "arn:aws:s3:::b", False),
    ("s3:GetObject", "arn:aws:s3:::b*", True),
    ("s3:GetObject", "arn:aws:s3:::*", True),
    ("s3:GetObject", "arn:aws:s3:::b/?", True),
    ("s3:GetObject", "arn:aws:s3:::b/${aws:username}/*", True),
    ("s3:GetObject", "*", True),
    ("s3:GetBucketPolicy", "arn:aws:s3:::b", True),
    ("s3:GetBucketPolicy", "arn:aws:s3:::b/k", False),
    ("s3:ListBucket", "arn:aws:s3:::b/*", False),
    ("sts:AssumeRole", "arn:aws:iam::123456789012:role/r", True),
    ("sts:AssumeRole", "arn:aws:iam::123456789012:role/a/b/r", True),
    ("sts:AssumeRole", "arn:aws:iam::*:role/*", True),
    ("sts:AssumeRole", "arn:aws:iam::123456789012:user/r", False),
    ("iam:GetUser", "arn:aws:iam::123456789012:user/${aws:username}", True),
    ("iam:ListUsers", "arn:aws:iam::123456789012:user/x", False),
    ("iam:ListUsers", "*", True),
    ("s3:NoSuchAction", "arn:aws:s3:::b", True),  # unknown: nothing to check against
])
def test_resource_fits(action: str, resource: str, fits: bool) -> None:
    assert resource_fits(action, resource) is fits


def test_action_resource_types() -> None:
    assert ("role", "arn:${Partition}:iam::${Account}:role/${RoleNameWithPath}") in (
        action_resource_types("sts:assumerole") or ())
    assert action_resource_types("iam:ListUsers") == ()
    assert action_resource_types("s3:NoSuchAction") is None


def test_many_stars_stay_fast() -> None:
    assert not resource_fits("sts:AssumeRole", "arn:aws:iam::*:user/" + "*b" * 300)
    assert resource_fits("sts:AssumeRole", "arn:aws:iam::*:role/" + "*b" * 300)
