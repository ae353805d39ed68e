"""decide_invoke on a real store: API Gateway's IAM authorization rules for declared APIs,
and the issue's scenarios (cross-account, session policy narrowing, ABAC on a path
parameter, revoked sessions, anonymous access through ``*``)."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta

import pytest

from opensts.directory.records import Api, Route
from opensts.services.apis.decide import Invocation, decide_invoke, invoke_denied
from opensts.services.apis.errors import ApiGatewayError
from opensts.services.context import Caller, RequestMeta
from opensts.store import SqlStore, open_store
from tests.s3.authz_world import DEV, NOW, OTHER, PROD, SCP, World, allow, deny, doc

ARN = f"arn:aws:execute-api:us-east-1:{DEV}:orders"


@pytest.fixture
def world(tmp_path) -> World:  # type: ignore[no-untyped-def]
    store: SqlStore = open_store(f"sqlite:///{tmp_path / 'd.db'}", aws_managed=False)
    yield World(store)
    store.close()


def put_api(world: World, *, policy: str | None = None, routes: tuple[Route, ...] = (),
            account: str = DEV, api_id: str = "orders") -> Api:
    world.store.put_api(Api(api_id=api_id, account_id=account, name=api_id,
                            region="us-east-1", stages=("prod", "beta"), policy=policy,
                            routes=routes, created=NOW))
    found = world.store.find_api(api_id)
    assert found is not None
    return found


def call(world: World, caller: Caller | None, api: Api, method: str = "GET",
         path: str = "/orders/1", *, stage: str = "prod", now: datetime = NOW,
         ip: str = "203.0.113.7") -> Invocation:
    meta = RequestMeta(uuid.uuid4().hex, now, ip, "test/1.0", "us-east-1",
                       f"{api.api_id}.example.internal", secure=True)
    return decide_invoke(world.authorizer, caller, api, stage=stage, method=method, path=path,
                         meta=meta)


def body(caller: Caller | None, inv: Invocation) -> dict[str, str]:
    err = invoke_denied(caller, inv)
    assert err.status == 403 and err.headers["x-amzn-ErrorType"] == "AccessDeniedException"
    return json.loads(err.body())  # type: ignore[no-any-return]


def test_default_resource_is_the_execute_api_arn_without_the_leading_slash(world) -> None:  # type: ignore[no-untyped-def]
    api = put_api(world)
    alice = world.user(DEV, "alice", doc(allow("execute-api:Invoke", f"{ARN}/prod/GET/*")))
    inv = call(world, alice, api, "GET", "/orders/1")
    assert inv.allowed and inv.action == "execute-api:Invoke"
    assert not call(world, alice, api, "get", "/orders/1").allowed  # methods are exact
    assert inv.resource == f"{ARN}/prod/GET/orders/1"
    assert call(world, alice, api, "GET", "/").resource == f"{ARN}/prod/GET/"
    denied = call(world, alice, api, "POST", "/orders")
    assert not denied.allowed
    assert body(alice, denied) == {"Message": (
        f"User: arn:aws:iam::{DEV}:user/alice is not authorized to perform: "
        f"execute-api:Invoke on resource: arn:aws:execute-api:us-east-1:********1111:"
        "orders/prod/POST/orders")}


def test_unknown_stage_bad_path_and_unmatched_route_are_missing_token(world) -> None:  # type: ignore[no-untyped-def]
    api = put_api(world, routes=(Route("GET", "/orders/{id}"),))
    alice = world.user(DEV, "alice", doc(allow("*")))
    for stage, method, path in (("dev", "GET", "/orders/1"), ("prod", "GET", "/orders/../x"),
                                ("prod", "DELETE", "/orders/1"), ("prod", "GET", "/orders"),
                                ("prod", "G ET", "/orders/1"), ("prod", "GET", "/a/%zz")):
        with pytest.raises(ApiGatewayError) as caught:
            call(world, alice, api, method, path, stage=stage)
        assert caught.value.status == 403
        assert json.loads(caught.value.body()) == {"message": "Missing Authentication Token"}
        assert caught.value.headers["x-amzn-ErrorType"] == "MissingAuthenticationTokenException"


def test_same_account_resource_policy_alone_allows_and_its_deny_wins(world) -> None:  # type: ignore[no-untyped-def]
    bob = world.user(DEV, "bob")  # no identity policy at all
    policy = doc(allow("execute-api:Invoke", f"{ARN}/*",
                       Principal={"AWS": f"arn:aws:iam::{DEV}:user/bob"}),
                 deny("execute-api:Invoke", f"{ARN}/*/DELETE/*", Principal="*"))
    api = put_api(world, policy=policy)
    assert call(world, bob, api).allowed
    denied = call(world, bob, api, "DELETE")
    assert denied.decision.decision == "explicitDeny"
    assert body(bob, denied)["Message"].endswith(
        "orders/prod/DELETE/orders/1 with an explicit deny in a resource-based policy")


def test_cross_account_needs_both_sides(world) -> None:  # type: ignore[no-untyped-def]
    carol = world.user(OTHER, "carol", doc(allow("execute-api:Invoke", f"{ARN}/*")))
    assert not call(world, carol, put_api(world)).allowed  # identity alone: not enough
    grant = doc(allow("execute-api:Invoke", f"{ARN}/prod/*",
                      Principal={"AWS": f"arn:aws:iam::{OTHER}:root"}))
    api = put_api(world, policy=grant)
    assert call(world, carol, api).allowed
    assert not call(world, carol, api, stage="beta").allowed
    dave = world.user(OTHER, "dave")  # resource policy alone: not enough across accounts
    assert not call(world, dave, api).allowed


def test_session_policy_narrows_a_role_to_get(world) -> None:  # type: ignore[no-untyped-def]
    role = world.role(DEV, "app", doc(allow("execute-api:Invoke", f"{ARN}/*")))
    api = put_api(world)
    session = world.session(role, policy=doc(allow("execute-api:Invoke", f"{ARN}/*/GET/*")))
    assert call(world, session, api, "GET").allowed
    assert not call(world, session, api, "POST").allowed
    assert call(world, world.session(role), api, "POST").allowed


def test_abac_on_a_path_parameter_in_a_custom_resource(world) -> None:  # type: ignore[no-untyped-def]
    routes = (Route("GET", "/teams/{team}/orders/{id}", "orders:GetOrder",
                    f"arn:aws:orders:us-east-1:{DEV}:team/{{team}}/order/{{id}}",
                    {"orders:Team": "{team}"}),)
    api = put_api(world, routes=routes)
    policy = doc(allow("orders:GetOrder",
                       f"arn:aws:orders:us-east-1:{DEV}:team/${{aws:PrincipalTag/team}}/*"))
    red = world.user(DEV, "red", policy, tags={"team": "red"})
    inv = call(world, red, api, "GET", "/teams/red/orders/42")
    assert inv.allowed and inv.action == "orders:GetOrder"
    assert inv.resource == f"arn:aws:orders:us-east-1:{DEV}:team/red/order/42"
    assert inv.path_params == {"team": "red", "id": "42"}
    assert not call(world, red, api, "GET", "/teams/blue/orders/42").allowed
    # A parameter cannot forge ARN structure: "red/order/1" arrives escaped.
    forged = call(world, red, api, "GET", "/teams/x%2F..%2Fred/orders/42")
    assert forged.resource == f"arn:aws:orders:us-east-1:{DEV}:team/x%2F..%2Fred/order/42"
    assert not forged.allowed
    # The condition key from the path parameter.
    cond = doc(allow("orders:GetOrder", "*",
                     Condition={"StringEquals": {"orders:Team": "${aws:PrincipalTag/team}"}}))
    red2 = world.user(DEV, "red2", cond, tags={"team": "red"})
    assert call(world, red2, api, "GET", "/teams/red/orders/1").allowed
    assert not call(world, red2, api, "GET", "/teams/blue/orders/1").allowed


def test_revoked_sessions_are_denied(world) -> None:  # type: ignore[no-untyped-def]
    role = world.role(DEV, "app", doc(allow("execute-api:Invoke", f"{ARN}/*")))
    api = put_api(world)
    old = world.session(role, issued=NOW - timedelta(minutes=30))
    assert call(world, old, api).allowed
    # What the console's "Revoke active sessions" attaches (id_roles_use_revoke-sessions).
    world.put_role_policy(role, "AWSRevokeOlderSessions", doc(deny(
        "*", Condition={"DateLessThan": {"aws:TokenIssueTime": "2026-12-01T11:50:00Z"}})))
    denied = call(world, old, api)
    assert denied.decision.decision == "explicitDeny"
    assert body(old, denied)["Message"].endswith(" with an explicit deny in an identity-based "
                                                 "policy")
    fresh = world.session(role, "s2", issued=NOW - timedelta(minutes=1))
    assert call(world, fresh, api).allowed


def test_anonymous_only_through_star(world) -> None:  # type: ignore[no-untyped-def]
    iam_only = call(world, None, put_api(world))
    assert not iam_only.allowed
    missing = invoke_denied(None, iam_only)  # no resource policy: an IAM-only method
    assert json.loads(missing.body()) == {"message": "Missing Authentication Token"}
    assert missing.headers["x-amzn-ErrorType"] == "MissingAuthenticationTokenException"
    account_only = doc(allow("execute-api:Invoke", f"{ARN}/*",
                             Principal={"AWS": f"arn:aws:iam::{DEV}:root"}))
    assert not call(world, None, put_api(world, policy=account_only)).allowed
    public = doc(allow("execute-api:Invoke", f"{ARN}/prod/GET/*", Principal="*",
                       Condition={"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}))
    api = put_api(world, policy=public)
    assert call(world, None, api).allowed
    inv = call(world, None, api, ip="198.51.100.1")
    assert body(None, inv) == {"Message": (
        "User: anonymous is not authorized to perform: execute-api:Invoke on resource: "
        "arn:aws:execute-api:us-east-1:********1111:orders/prod/GET/orders/1")}


def test_scps_of_the_caller_apply_and_no_rcps(world) -> None:  # type: ignore[no-untyped-def]
    world.organization()
    alice = world.user(DEV, "alice", doc(allow("*")))
    api = put_api(world, api_id="prodapi", account=PROD, policy=doc(allow(
        "*", "*", Principal={"AWS": f"arn:aws:iam::{DEV}:root"})))
    assert call(world, alice, api).allowed
    # execute-api is no RCP service: an RCP denying everything does not touch it.
    world.attach_org_policy("RESOURCE_CONTROL_POLICY", PROD, doc(
        {"Effect": "Deny", "Principal": "*", "Action": "*", "Resource": "*"}))
    assert call(world, alice, api).allowed
    world.attach_org_policy(SCP, DEV, doc(deny("execute-api:*")))
    assert call(world, alice, api).decision.decision == "explicitDeny"


def test_boundary_limits_and_root_may_call_its_own_api(world) -> None:  # type: ignore[no-untyped-def]
    boundary = world.managed(DEV, "only-get", doc(allow("execute-api:Invoke", f"{ARN}/*/GET/*")))
    eve = world.user(DEV, "eve", doc(allow("*")), boundary=boundary)
    api = put_api(world)
    assert call(world, eve, api, "GET").allowed
    assert not call(world, eve, api, "PUT").allowed
    root = world.root(DEV)
    assert call(world, root, api, "PUT").allowed


def test_a_corrupt_stored_policy_denies_everything(world) -> None:  # type: ignore[no-untyped-def]
    alice = world.user(DEV, "alice", doc(allow("*")))
    api = put_api(world, policy="{not json")
    inv = call(world, alice, api)
    assert inv.decision.decision == "explicitDeny"


def test_route_keys_cannot_override_who_is_calling(world) -> None:  # type: ignore[no-untyped-def]
    routes = (Route("GET", "/u/{who}", conditions={"orders:Who": "{who}"}),)
    api = put_api(world, routes=routes)
    alice = world.user(DEV, "alice", doc(allow("execute-api:Invoke", "*", Condition={
        "StringEquals": {"aws:username": "alice", "orders:Who": "alice"}})))
    assert call(world, alice, api, "GET", "/u/alice").allowed
    assert not call(world, alice, api, "GET", "/u/bob").allowed


def test_a_replaced_api_is_decided_by_its_new_routes(world) -> None:  # type: ignore[no-untyped-def]
    alice = world.user(DEV, "alice", doc(allow("*")))
    first = put_api(world, routes=(Route("GET", "/a/{x}", "orders:A"),))
    assert call(world, alice, first, "GET", "/a/1").action == "orders:A"
    second = put_api(world, routes=(Route("GET", "/a/{x}", "orders:B"),
                                    Route("GET", "/b")))
    assert call(world, alice, second, "GET", "/a/1").action == "orders:B"
    assert call(world, alice, second, "GET", "/b").allowed
    with pytest.raises(ApiGatewayError):
        call(world, alice, first, "GET", "/b")  # the old record keeps its own routes


def test_greedy_parameters_stay_paths_in_custom_resources(world) -> None:  # type: ignore[no-untyped-def]
    routes = (Route("ANY", "/files/{key+}", "files:Access",
                    f"arn:aws:files:us-east-1:{DEV}:object/{{key}}"),)
    api = put_api(world, routes=routes)
    alice = world.user(DEV, "alice", doc(allow("files:Access",
                                               f"arn:aws:files:us-east-1:{DEV}:object/pub/*")))
    inv = call(world, alice, api, "PUT", "/files/pub/a%2Fb/c*d")
    assert inv.resource == f"arn:aws:files:us-east-1:{DEV}:object/pub/a%2Fb/c%2Ad"
    assert inv.allowed and inv.path_params == {"key": "pub/a/b/c*d"}
    assert not call(world, alice, api, "PUT", "/files/priv/x").allowed
