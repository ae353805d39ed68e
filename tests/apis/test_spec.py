"""The declaration file: the documented example in JSON and TOML, and errors that point at
the offending value's line and column."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from opensts.apis.spec import SpecError, parse_spec
from opensts.directory.records import Route

ACCT = "111122223333"
EXAMPLE = {
    "api_id": "orders", "account": ACCT, "region": "us-east-1", "stages": ["prod"],
    "policy": {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::444455556666:root"},
        "Action": ["execute-api:Invoke", "orders:GetOrder"],
        "Resource": ["execute-api:/prod/GET/*", f"arn:aws:orders:us-east-1:{ACCT}:order/*"]}]},
    "require_body_hash": False,
    "routes": [{"route": "GET /orders/{id}", "action": "orders:GetOrder",
                "resource": f"arn:aws:orders:us-east-1:{ACCT}:order/{{id}}",
                "conditions": {"orders:Team": "{team}"}}],
}
EXAMPLE["routes"][0]["route"] = "GET /teams/{team}/orders/{id}"  # type: ignore[index]

TOML = f'''# checked in next to the service
api_id = "orders"
account = "{ACCT}"
stages = ["prod", "beta"]
require_body_hash = true

[policy]
Version = "2012-10-17"
[[policy.Statement]]
Effect = "Allow"
Principal = "*"
Action = "execute-api:Invoke"
Resource = "execute-api:/prod/GET/health"

[[routes]]
route = "GET /teams/{{team}}/orders/{{id}}"
action = "orders:GetOrder"
resource = "arn:aws:orders:{{region}}:{{account}}:order/{{id}}"
[routes.conditions]
"orders:Team" = "{{team}}"

[[routes]]
route = "ANY /{{proxy+}}"
'''


def problems(text: str, filename: str = "api.json") -> list[str]:
    with pytest.raises(SpecError) as caught:
        parse_spec(text, filename)
    return [p.render(filename) for p in caught.value.problems]


def test_the_json_example() -> None:
    spec = parse_spec(json.dumps(EXAMPLE, indent=2), "orders.json")
    assert (spec.api_id, spec.account_id, spec.name, spec.region, spec.stages) == (
        "orders", ACCT, "orders", "us-east-1", ("prod",))
    assert spec.routes == (Route("GET", "/teams/{team}/orders/{id}", "orders:GetOrder",
                                 f"arn:aws:orders:us-east-1:{ACCT}:order/{{id}}",
                                 {"orders:Team": "{team}"}),)
    policy = json.loads(spec.policy or "")
    assert policy["Statement"][0]["Resource"][0] == (
        f"arn:aws:execute-api:us-east-1:{ACCT}:orders/prod/GET/*")  # shorthand expanded
    assert [f.code for f in spec.findings] == ["NOT_AN_AWS_SERVICE"]
    api = spec.record(datetime(2026, 12, 1, tzinfo=UTC))
    assert api.routes == spec.routes and api.policy == spec.policy


def test_the_toml_example() -> None:
    spec = parse_spec(TOML, "orders.toml")
    assert spec.stages == ("prod", "beta") and spec.require_body_hash
    assert [(r.method, r.path) for r in spec.routes] == [
        ("GET", "/teams/{team}/orders/{id}"), ("ANY", "/{proxy+}")]
    assert spec.routes[0].conditions == {"orders:Team": "{team}"}
    assert json.loads(spec.policy or "")["Statement"][0]["Resource"] == (
        f"arn:aws:execute-api:us-east-1:{ACCT}:orders/prod/GET/health")


def test_json_errors_point_at_the_value() -> None:
    text = (
        '{\n'
        '  "api_id": "Orders!",\n'
        '  "account": "1234",\n'
        '  "stages": ["prod", "prod"],\n'
        '  "colour": 1,\n'
        '  "routes": [\n'
        '    {"route": "GET /o/{id}", "action": "s3:GetObject"},\n'
        '    {"route": "GET /o/{id}/{x+}/y"},\n'
        '    {"route": "GET /p/{id}", "action": "orders:Get",\n'
        '     "resource": "arn:aws:orders::999999999999:order/{nope}"}\n'
        '  ]\n'
        '}\n')
    got = problems(text)
    assert got == [
        "api.json:2:13: api_id: 'Orders!' is not 1-63 lower-case letters, digits and hyphens",
        "api.json:3:14: account: '1234' is not a 12-digit account id",
        "api.json:4:22: stages[1]: stage 'prod' is listed twice",
        "api.json:5:13: colour: unknown key 'colour'; allowed: account, api_id, name, policy, "
        "region, require_body_hash, routes, stages",
        "api.json:7:40: routes[0].action: s3 is an AWS service; a route's custom action must "
        "name your own service, so that policies granting s3 actions do not grant it",
        "api.json:8:28: routes[1].route: the greedy parameter {x+} must be the last segment",
        "api.json:10:18: routes[2].resource: {nope} is not a parameter of this route "
        "(account, api_id, id, method, region, stage)",
    ]


def test_syntax_errors_and_duplicate_keys() -> None:
    assert problems('{"api_id": "a",\n "api_id": "b"}') == [
        "api.json:2:2: duplicate key 'api_id'"]
    assert problems('{"api_id": "a",\n  oops}') == ["api.json:2:3: expected a key in double quotes"]
    assert problems('{"a": 1} x') == ["api.json:1:10: extra text after the JSON value"]
    assert problems("[" * 40 + "]" * 40)[0].endswith("nested too deeply")
    got = problems('api_id = "a"\nstages = [\n', "api.toml")
    assert got[0].startswith("api.toml:") and "TOML:" in got[0]


def test_toml_errors_point_at_the_key_line() -> None:
    text = TOML.replace('"orders:Team" = "{team}"', '"aws:PrincipalArn" = "{team}"')
    text = text.replace('route = "ANY /{proxy+}"', 'route = "ANY /{proxy+}"\nresource = "x"')
    assert problems(text, "api.toml") == [
        "api.toml:20:1: routes[0].conditions.aws:PrincipalArn: condition key "
        "'aws:PrincipalArn' belongs to AWS; a route sets only keys of your own service",
        "api.toml:24:1: routes[1].resource: a custom resource needs a custom action "
        "(execute-api:Invoke is always on the execute-api ARN)",
        "api.toml:24:1: routes[1].resource: must be an ARN: "
        "arn:partition:service:region:account:resource",
    ]


@pytest.mark.parametrize(("route", "needle"), [
    ({"route": "GET /o/{id}", "action": "execute-api:ManageConnections"}, "only execute-api"),
    ({"route": "GET /o/{id}", "action": "orders:*"}, "is not service:Action"),
    ({"route": "GET /o/{id}", "action": "orders:Get",
      "resource": f"arn:aws:orders::{ACCT}:order/*"}, "wildcards"),
    ({"route": "GET /o/{id}", "action": "orders:Get",
      "resource": "arn:aws:orders::444455556666:order/{id}"}, "the account in the ARN"),
    ({"route": "GET /o/{id}", "action": "orders:Get", "resource": "arn:aws:orders:::o/{id"},
     "unbalanced"),
    ({"route": "GET /o/{stage}"}, "reserved name"),
    ({"route": "GET /o/{id}", "conditions": {"s3:prefix": "{id}"}}, "belongs to AWS"),
    ({"route": "GET /o/{id}", "conditions": {"orders:T": 3}}, "must be a string"),
    ({"route": "GET /o/{id}", "conditions": {"orders": "x"}}, "not service:Name"),
    ({"route": "GET /o/{id}", "action": "orders:Get\n"}, "control characters"),
    ({"action": "orders:Get"}, "missing required key 'route'"),
])
def test_route_rules(route: dict[str, object], needle: str) -> None:
    doc = {"api_id": "a", "account": ACCT, "stages": ["p"], "routes": [route]}
    got = problems(json.dumps(doc))
    assert any(needle in p for p in got), got


def test_conflicting_routes_and_policy_errors() -> None:
    doc = {"api_id": "a", "account": ACCT, "stages": ["p"],
           "routes": [{"route": "GET /o/{a}"}, {"route": "GET /o/{b}"}]}
    assert any("matches the same requests" in p for p in problems(json.dumps(doc)))
    for policy, needle in (
        ({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "orders:Get",
                                                  "Resource": "*"}]}, "Principal"),
        ("{not json", "is not JSON"),
        (42, "must be a policy document"),
    ):
        doc = {"api_id": "a", "account": ACCT, "stages": ["p"], "policy": policy}
        got = problems(json.dumps(doc))
        assert len(got) == 1 and got[0].startswith("api.json:1:") and needle in got[0], got


def test_required_and_typed_top_level_keys() -> None:
    assert problems("[]") == ["api.json:1:1: must be an object (a table in TOML)"]
    got = problems('{"stages": [], "require_body_hash": "yes"}')
    assert "missing required key 'account'" in got[0] and "missing required key 'api_id'" in (
        got[1])
    assert any("stages: must be a list of one or more" in p for p in got)
    assert any("require_body_hash: must be true or false" in p for p in got)
