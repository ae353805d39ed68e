"""Statement positions located in the policy text (pure, no server)."""

from __future__ import annotations

from opensts.services.iam.simulate import eval_resource_name, statement_positions


def test_array_of_statements_across_lines() -> None:
    text = ('{\n  "Version": "2012-10-17",\n  "Statement": [\n    {"Effect": "Allow",\n'
            '     "Action": "s3:*", "Resource": "*"},\n    {"Effect": "Deny", "Action": "s3:x",'
            ' "Resource": "*"}\n  ]\n}')
    first, second = statement_positions(text)
    # Columns are 1-based and point just past "{" and just past "}".
    assert first == ({"Line": 4, "Column": 6}, {"Line": 5, "Column": 40})
    assert text.splitlines()[4][38] == "}"
    assert second[0] == {"Line": 6, "Column": 6}
    assert text.splitlines()[5][second[1]["Column"] - 2] == "}"


def test_single_statement_object_and_keys_in_any_order() -> None:
    text = '{"Statement": {"Effect": "Allow", "Action": "*", "Resource": "*"}, "Version": "x"}'
    ((start, end),) = statement_positions(text)
    assert start == {"Line": 1, "Column": 16}
    assert text[end["Column"] - 2] == "}"


def test_nested_statement_keys_are_not_mistaken_for_the_top_level() -> None:
    text = ('{"Id": "a", "Other": {"Statement": [1, 2]}, "Statement": [{"Effect": "Deny"}]}')
    ((start, _),) = statement_positions(text)
    assert text[start["Column"] - 2] == "{"
    assert text[start["Column"] - 1:].startswith('"Effect"')


def test_unparseable_text_gives_no_positions() -> None:
    assert statement_positions("not json") == ()
    assert statement_positions('{"Statement": [') == ()
    assert statement_positions("[]") == ()


def test_eval_resource_name_templates() -> None:
    assert eval_resource_name("s3:GetObject", ["*"]) == "*"
    assert eval_resource_name("s3:GetObject", ["arn:aws:s3:::b/k"]) == \
        "arn:${Partition}:s3:::${BucketName}/${ObjectName}"
    assert eval_resource_name("s3:ListBucket", ["arn:aws:s3:::b"]) == \
        "arn:${Partition}:s3:::${BucketName}"
    assert eval_resource_name("iam:CreateUser", ["arn:aws:iam::123456789012:user/x"]) == \
        "arn:${Partition}:iam::${Account}:user/${UserNameWithPath}"
    assert eval_resource_name("s3:ListAllMyBuckets", ["arn:aws:s3:::b"]) == "*"
    assert eval_resource_name("nosuch:Thing", ["arn:aws:s3:::b"]) == "*"
