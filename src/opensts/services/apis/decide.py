"""Decide a call of a declared API as Amazon API Gateway decides a method with ``AWS_IAM``
authorization, on OpenSTS's IAM engine.

Sources (API Gateway developer guide unless noted):

* "Control access to an API with IAM permissions": the caller needs ``execute-api:Invoke``
  on ``arn:aws:execute-api:{region}:{account}:{api-id}/{stage}/{METHOD}/{path}``
  (opensts.apis.arns). A route may name its own action and resource instead (issue 11).
* "How API Gateway resource policies affect authorization workflow", IAM authentication
  and resource policy, and its outcome tables: same account, the identity policy or the
  resource policy may allow and an explicit deny in either denies; across accounts both
  must allow. With no authentication a resource policy alone decides, so an unsigned call
  passes only where the policy allows ``*``. This is the IAM evaluation logic for a
  resource-based policy (Authorizer.decide_resource), with the caller's SCPs, permissions
  boundary and session policies.
* AWS Organizations, "Resource control policies": API Gateway is not among the services
  RCPs apply to, so none govern ``execute-api`` (Authorizer.rcps; custom actions are no AWS
  service's and are not governed either).
* ``execute-api:viaDomainArn`` (Service Authorization Reference) is about custom domain
  names of private APIs, which OpenSTS does not serve: never in the context.
* Denial bodies seen from API Gateway: ``{"Message":"User: anonymous is not authorized to
  perform: execute-api:Invoke on resource: arn:aws:execute-api:us-west-2:********2543:
  vd2gh6uqw3/api/GET/"}`` (capital M, the account masked to its last four digits;
  ASFHyP3/hyp3#2283, serverless/serverless#5071) and, for an explicit deny, the same
  ending ``with an explicit deny in a resource-based policy`` (a measured capture of 2026;
  older captures end ``with an explicit deny``), with ``x-amzn-ErrorType:
  AccessDeniedException``. An unsigned call to a method needing IAM, an unknown stage or a
  path no route matches: 403 ``{"message":"Missing Authentication Token"}`` with
  ``x-amzn-ErrorType: MissingAuthenticationTokenException`` (aws/chalice#12).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field

from opensts.apis.arns import escape_path, escape_value, execute_api_arn, mask_account, render
from opensts.apis.routes import Router, parse_route, split_path
from opensts.directory.records import Api, Route
from opensts.policy import Decision
from opensts.services.apis.errors import ApiGatewayError, missing_authentication_token
from opensts.services.authz import Authorizer, _reason, stored_resource_policy
from opensts.services.context import Caller, RequestMeta

INVOKE = "execute-api:Invoke"
_UNPARSEABLE = " (stored API resource policy could not be parsed)"
# RFC 9110 token characters: what a method may be (the gateway passes it on as sent).
_TCHAR = frozenset("!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")

ContextValue = str | list[str]


@dataclass(frozen=True)
class Invocation:
    """What one call was decided as: ``decision`` on ``action`` and ``resource`` (the
    ``action``/``resource`` pair is what DecisionLog.record_denial wants), the matched
    route (None for an API without routes) and its decoded path parameters."""

    decision: Decision
    action: str
    resource: str
    path_params: Mapping[str, str] = field(default_factory=dict)
    route: Route | None = None
    has_resource_policy: bool = False

    @property
    def allowed(self) -> bool:
        return self.decision.allowed


@functools.lru_cache(maxsize=512)
def _compiled(shape: tuple[str, ...]) -> Router:
    # Keyed by the routes' "METHOD /path" texts: the stored API was checked when declared,
    # so this only compiles; a changed API has other texts and gets its own router.
    return Router([parse_route(text) for text in shape])


# api_id → (the Api record, its router). CachingStore hands out the same record until the
# store changes, so an identity check skips even building the key above on the hot path.
_LAST: dict[str, tuple[Api, Router]] = {}


def _router(api: Api) -> Router:
    hit = _LAST.get(api.api_id)
    if hit is not None and hit[0] is api:
        return hit[1]
    router = _compiled(tuple(f"{r.method} {r.path}" for r in api.routes))
    if len(_LAST) >= 512:
        _LAST.clear()
    _LAST[api.api_id] = (api, router)
    return router


def decide_invoke(
    authorizer: Authorizer,
    caller: Caller | None,
    api: Api,
    *,
    stage: str,
    method: str,
    path: str,
    meta: RequestMeta,
    context: Mapping[str, ContextValue] | None = None,
) -> Invocation:
    """Decide one call of ``api``. ``caller`` None is an unsigned call; ``path`` is the
    resource path as the client sent it (percent-encoded, after the stage if the stage is
    in the URL, without the query string); ``context`` holds caller-independent keys the
    hook computed. Raises ApiGatewayError (Missing Authentication Token) for an unknown
    stage, a method that is not an HTTP token, or a path no route (or no valid path)
    matches. A stored policy that no longer parses denies everything."""
    # Methods are case-sensitive (RFC 9110 9.1): "get" is not GET, so it matches no GET
    # route and no policy naming GET.
    if stage not in api.stages or not method or not all(ch in _TCHAR for ch in method):
        raise missing_authentication_token()
    segments = split_path(path.partition("?")[0])
    if segments is None:
        raise missing_authentication_token()
    route: Route | None = None
    params: dict[str, str] = {}
    ctx: dict[str, ContextValue] = {}
    action, resource = INVOKE, ""
    if api.routes:
        match = _router(api).match(method, segments)
        if match is None:
            raise missing_authentication_token()
        route = api.routes[match.index]
        params = match.params
        builtins = {"region": api.region, "account": api.account_id, "api_id": api.api_id,
                    "stage": stage, "method": method}
        if route.resource is not None:
            escaped = {name: escape_value(v) for name, v in params.items()}
            if match.greedy_name is not None:  # a path: its slashes stay structure
                escaped[match.greedy_name] = escape_path(match.greedy)
            resource = render(route.resource, {**builtins, **escaped})
        for key, template in route.conditions.items():
            ctx[key] = render(template, {**builtins, **params})
        if route.action is not None:
            action = route.action
    if not resource:
        resource = execute_api_arn(api.region, api.account_id, api.api_id, stage, method,
                                   segments)
    # Route keys first, then the hook's, then (in decide_resource) the caller's: no route
    # or hook can set aws:PrincipalArn & co.
    ctx.update(context or {})
    policy = (stored_resource_policy(f"API {api.api_id}", api.policy, _UNPARSEABLE)
              if api.policy is not None else None)
    decision = authorizer.decide_resource(
        caller, action, resource, meta=meta, resource_account=api.account_id,
        resource_policy=policy, context=ctx)
    return Invocation(decision, action, resource, params, route, policy is not None)


def denial_message(caller: Caller | None, invocation: Invocation) -> str:
    """API Gateway's wording: ``User: ARN is not authorized to perform: ACTION on resource:
    MASKED-ARN``, and ``with an explicit deny in a ...`` when a Deny decided."""
    if caller is None:
        who = "anonymous"
    elif caller.type == "Root":
        who = f"arn:aws:iam::{caller.account_id}:root"
    else:
        who = caller.arn
    message = (f"User: {who} is not authorized to perform: {invocation.action} on resource: "
               f"{mask_account(invocation.resource)}")
    if invocation.decision.decision == "explicitDeny":
        message += " " + _reason(invocation.action, invocation.decision)
    return message


def invoke_denied(caller: Caller | None, invocation: Invocation) -> ApiGatewayError:
    """The 403 API Gateway answers a denied call with: ``{"Message": ...}`` and
    ``x-amzn-ErrorType: AccessDeniedException``. An unsigned call to an API without a
    resource policy is a call to a method that only IAM authorizes, which API Gateway
    answers ``{"message":"Missing Authentication Token"}``; with a resource policy the
    policy decided, and the answer names ``anonymous``. Never policy text or secrets."""
    if caller is None and not invocation.has_resource_policy:
        return missing_authentication_token()
    return ApiGatewayError("AccessDeniedException", denial_message(caller, invocation),
                           403, key="Message")
