"""The declaration file of an API (``opensts api apply FILE``): JSON or TOML, strictly checked.

Format (JSON shown; TOML has the same keys, routes as ``[[routes]]`` tables and the policy
as a table or a JSON string)::

    {"api_id": "orders", "account": "111122223333", "region": "us-east-1",
     "name": "Orders", "stages": ["prod"], "require_body_hash": false,
     "policy": {"Version": "2012-10-17", "Statement": [...]},
     "routes": [{"route": "GET /orders/{id}", "action": "orders:GetOrder",
                 "resource": "arn:aws:orders:us-east-1:111122223333:order/{id}",
                 "conditions": {"orders:Team": "{team}"}}]}

Rules, each refused with the file, line and column of the offending value:

* ``api_id``: 1-63 lower-case letters, digits and hyphens, starting with a letter or digit
  (it is one DNS label, as ``{api-id}.execute-api`` host names are); ``account``: 12
  digits; ``region``: a region name (default ``us-east-1``); ``stages``: one or more
  distinct names of letters, digits, ``-`` and ``_``, up to 128 characters (API Gateway's
  rule for stage names).
* ``policy``: the API's resource policy, parsed as a resource-based policy (a Principal in
  every statement). API Gateway's shorthand ``execute-api:/stage/METHOD/path`` in Resource
  is expanded to this API's ARN, as API Gateway stores it.
* ``routes``: route templates (opensts.apis.routes), no two of one method with the same
  shape. ``action``: ``service:Action`` of your own service (not an AWS service prefix,
  whose actions mean something else), or ``execute-api:Invoke``. ``resource`` (only with
  ``action``): an ARN template whose account is the API's (or ``{account}``, or empty),
  with no wildcards, naming only the route's path parameters and ``{region}``,
  ``{account}``, ``{api_id}``, ``{stage}``, ``{method}``. ``conditions``: keys of your own
  service (``orders:Team``; never ``aws:`` or an AWS service's), values templated the same
  way.
* No unknown keys anywhere; no control characters in strings.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from opensts.apis.arns import BUILTINS, PLACEHOLDER, expand_shorthand, template_names
from opensts.apis.locate import LocatedError, Locator, Path, parse_json, parse_toml
from opensts.apis.routes import RouteError, Router, Template, parse_route
from opensts.directory.records import Api, Route
from opensts.errors import MalformedPolicyDocument
from opensts.policy import Finding, PolicyKind, catalog, validate_policy

API_ID = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")
ACCOUNT = re.compile(r"\d{12}")
REGION = re.compile(r"[a-z]{2,}(?:-[a-z]+)+-\d{1,2}")
STAGE = re.compile(r"[A-Za-z0-9_-]{1,128}")
ACTION = re.compile(r"([a-z0-9][a-z0-9-]{0,63}):[A-Za-z0-9_-]{1,128}")
CONDITION_KEY = re.compile(r"([a-z0-9][a-z0-9-]{0,63}):[A-Za-z0-9_./-]{1,128}")
ARN = re.compile(r"arn:([a-z-]+):([a-z0-9-]+|\{[a-z_]+\}):([^:]*):([^:]*):(.+)", re.DOTALL)
MAX_ROUTES = 300
MAX_FILE_CHARS = 1024 * 1024
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_TOP = {"api_id", "account", "name", "region", "stages", "policy", "routes",
        "require_body_hash"}
_ROUTE = {"route", "action", "resource", "conditions"}


@dataclass(frozen=True)
class SpecProblem:
    path: str  # "routes[0].resource"
    line: int
    column: int
    message: str

    def render(self, filename: str) -> str:
        where = f" {self.path}:" if self.path else ""
        return f"{filename}:{self.line}:{self.column}:{where} {self.message}"


class SpecError(ValueError):
    """Every problem found, each with its position; ``str()`` lists them."""

    def __init__(self, filename: str, problems: Sequence[SpecProblem]):
        self.filename = filename
        self.problems = list(problems)
        super().__init__("\n".join(p.render(filename) for p in self.problems))


@dataclass(frozen=True)
class ApiSpec:
    api_id: str
    account_id: str
    name: str
    region: str
    stages: tuple[str, ...]
    policy: str | None  # compact JSON, shorthand expanded
    routes: tuple[Route, ...]
    require_body_hash: bool
    findings: tuple[Finding, ...]  # the policy's non-blocking findings

    def record(self, created: datetime) -> Api:
        return Api(api_id=self.api_id, account_id=self.account_id, name=self.name,
                   region=self.region, stages=self.stages, policy=self.policy,
                   routes=self.routes, require_body_hash=self.require_body_hash,
                   created=created)


def _dotted(path: Path) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


class _Checker:
    def __init__(self, locator: Locator):
        self.locator = locator
        self.problems: list[SpecProblem] = []

    def problem(self, path: Path, message: str, column_offset: int = 0) -> None:
        line, column = self.locator.at(path)
        self.problems.append(SpecProblem(_dotted(path), line, column + column_offset, message))

    def string(self, value: Any, path: Path, pattern: re.Pattern[str] | None = None,
               what: str = "", *, max_len: int = 2048) -> str | None:
        if not isinstance(value, str):
            self.problem(path, f"must be a string{', ' + what if what else ''}")
            return None
        if _CONTROL.search(value):
            self.problem(path, "must not contain control characters")
            return None
        if len(value) > max_len:
            self.problem(path, f"must be at most {max_len} characters")
            return None
        if pattern is not None and not pattern.fullmatch(value):
            self.problem(path, f"{value!r} is not {what}")
            return None
        return value

    def keys(self, value: Any, path: Path, allowed: set[str], required: set[str]) -> bool:
        if not isinstance(value, dict):
            self.problem(path, "must be an object (a table in TOML)")
            return False
        for key in value:
            if key not in allowed:
                self.problem((*path, key), f"unknown key {key!r}; allowed: "
                             + ", ".join(sorted(allowed)))
        for key in sorted(required - set(value)):
            self.problem(path, f"missing required key {key!r}")
        return True


def parse_spec(text: str, filename: str = "<api>", *, fmt: str | None = None) -> ApiSpec:
    """Parse and check a declaration; ``fmt`` "json" or "toml" (default: by the file
    name's extension, else JSON). Raises SpecError listing every problem found."""
    fmt = fmt or ("toml" if filename.endswith(".toml") else "json")
    if len(text) > MAX_FILE_CHARS:
        raise SpecError(filename, [SpecProblem("", 1, 1, "the file is over 1 MiB")])
    try:
        data, locator = parse_toml(text) if fmt == "toml" else parse_json(text)
    except LocatedError as exc:
        raise SpecError(filename, [SpecProblem("", exc.line, exc.column, exc.message)]) from None
    check = _Checker(locator)
    spec = _check(check, data)
    if check.problems or spec is None:
        raise SpecError(filename, sorted(check.problems, key=lambda p: (p.line, p.column)))
    return spec


def _check(check: _Checker, data: Any) -> ApiSpec | None:
    if not check.keys(data, (), _TOP, {"api_id", "account", "stages"}):
        return None
    api_id = check.string(data.get("api_id", ""), ("api_id",), API_ID,
                          "1-63 lower-case letters, digits and hyphens")
    account = check.string(data.get("account", ""), ("account",), ACCOUNT,
                           "a 12-digit account id")
    region = check.string(data.get("region", "us-east-1"), ("region",), REGION,
                          "a region name such as us-east-1")
    name = check.string(data.get("name", api_id or ""), ("name",), None, max_len=256)
    stages = _stages(check, data.get("stages"))
    body_hash = data.get("require_body_hash", False)
    if not isinstance(body_hash, bool):
        check.problem(("require_body_hash",), "must be true or false")
    policy: str | None = None
    findings: list[Finding] = []
    if "policy" in data and api_id and account and region:
        policy, findings = _policy(check, data["policy"], region, account, api_id)
    routes = _routes(check, data.get("routes", []), account)
    if check.problems or None in (api_id, account, region, name, stages, routes):
        return None
    assert api_id and account and region and name is not None and stages and routes is not None
    return ApiSpec(api_id, account, name, region, stages, policy, routes, body_hash,
                   tuple(findings))


def _stages(check: _Checker, value: Any) -> tuple[str, ...] | None:
    path: Path = ("stages",)
    if not isinstance(value, list) or not value:
        check.problem(path, "must be a list of one or more stage names")
        return None
    out: list[str] = []
    for i, stage in enumerate(value):
        name = check.string(stage, (*path, i), STAGE,
                            "a stage name (letters, digits, - and _, up to 128)")
        if name is not None:
            if name in out:
                check.problem((*path, i), f"stage {name!r} is listed twice")
            out.append(name)
    return tuple(out) if len(out) == len(value) else None


def _policy(check: _Checker, value: Any, region: str, account: str, api_id: str
            ) -> tuple[str | None, list[Finding]]:
    path: Path = ("policy",)
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            check.problem(path, f"is not JSON: {exc.msg} at offset {exc.pos}")
            return None, []
    if not isinstance(value, dict):
        check.problem(path, "must be a policy document (an object, or a JSON string)")
        return None, []
    for statement in value.get("Statement", []) if isinstance(
            value.get("Statement"), list) else [value.get("Statement")]:
        if isinstance(statement, dict):
            for element in ("Resource", "NotResource"):
                r = statement.get(element)
                if isinstance(r, str):
                    statement[element] = expand_shorthand(r, region, account, api_id)
                elif isinstance(r, list):
                    statement[element] = [expand_shorthand(x, region, account, api_id)
                                          if isinstance(x, str) else x for x in r]
    text = json.dumps(value, separators=(",", ":"))
    try:
        findings = validate_policy(text, PolicyKind.RESOURCE)
    except MalformedPolicyDocument as exc:
        check.problem(path, f"MalformedPolicyDocument: {exc.message}")
        return None, []
    return text, findings


def _routes(check: _Checker, value: Any, account: str | None) -> tuple[Route, ...] | None:
    if not isinstance(value, list):
        check.problem(("routes",), "must be a list of routes")
        return None
    if len(value) > MAX_ROUTES:
        check.problem(("routes",), f"at most {MAX_ROUTES} routes")
        return None
    routes: list[Route] = []
    templates: list[Template] = []
    for i, raw in enumerate(value):
        path: Path = ("routes", i)
        if not check.keys(raw, path, _ROUTE, {"route"}):
            continue
        text = check.string(raw.get("route", ""), (*path, "route"), max_len=1024)
        if text is None:
            continue
        try:
            template = parse_route(text)
        except RouteError as exc:
            # +1: the opening quote (exact unless the string has escapes before the error).
            check.problem((*path, "route"), exc.message, exc.column)
            continue
        names = set(template.params)
        clash = sorted(names & BUILTINS)
        if clash:
            check.problem((*path, "route"), f"parameter {{{clash[0]}}} is a reserved name "
                          "(region, account, api_id, stage, method)")
            continue
        route = _route(check, raw, path, template, names, account)
        if route is not None:
            routes.append(route)
            templates.append(template)
    try:
        Router(templates)
    except RouteError as exc:
        check.problem(("routes",), exc.message)
    return tuple(routes) if len(routes) == len(value) else None


def _route(check: _Checker, raw: Mapping[str, Any], path: Path, template: Template,
           names: set[str], account: str | None) -> Route | None:
    before = len(check.problems)
    action = raw.get("action")
    if action is not None:
        action = check.string(action, (*path, "action"), ACTION,
                              "service:Action, e.g. orders:GetOrder")
        if action is not None:
            service = action.split(":", 1)[0]
            if service == "execute-api":
                if action != "execute-api:Invoke":
                    check.problem((*path, "action"), "the only execute-api action a call "
                                  "is authorized for is execute-api:Invoke")
            elif catalog.service_exists(service):
                check.problem((*path, "action"), f"{service} is an AWS service; a route's "
                              "custom action must name your own service, so that policies "
                              f"granting {service} actions do not grant it")
    resource = raw.get("resource")
    if resource is not None:
        if action is None and "action" not in raw:
            check.problem((*path, "resource"), "a custom resource needs a custom action "
                          "(execute-api:Invoke is always on the execute-api ARN)")
        resource = check.string(resource, (*path, "resource"))
        if resource is not None:
            _arn_template(check, resource, (*path, "resource"), names, account)
    conditions: dict[str, str] = {}
    raw_conditions = raw.get("conditions", {})
    if not isinstance(raw_conditions, dict):
        check.problem((*path, "conditions"), "must be an object of condition key to value")
    else:
        for key, template_value in raw_conditions.items():
            where = (*path, "conditions", key)
            match = CONDITION_KEY.fullmatch(key)
            if match is None:
                check.problem(where, f"condition key {key!r} is not service:Name")
                continue
            service = match.group(1)
            if service == "aws" or catalog.service_exists(service):
                check.problem(where, f"condition key {key!r} belongs to AWS; a route sets "
                              "only keys of your own service")
                continue
            value = check.string(template_value, where)
            if value is not None and _placeholders(check, value, where, names):
                conditions[key] = value
    if len(check.problems) != before:
        return None
    return Route(template.method, template.text.partition(" ")[2], action, resource,
                 conditions)


def _placeholders(check: _Checker, template: str, path: Path, names: set[str]) -> bool:
    stripped = PLACEHOLDER.sub("", template)
    if "{" in stripped or "}" in stripped:
        check.problem(path, "unbalanced '{' or '}'")
        return False
    for name in template_names(template):
        if name not in names and name not in BUILTINS:
            known = ", ".join(sorted(names | BUILTINS))
            check.problem(path, f"{{{name}}} is not a parameter of this route ({known})")
            return False
    return True


def _arn_template(check: _Checker, template: str, path: Path, names: set[str],
                  account: str | None) -> None:
    if not _placeholders(check, template, path, names):
        return
    match = ARN.fullmatch(template)
    if match is None:
        check.problem(path, "must be an ARN: arn:partition:service:region:account:resource")
        return
    if "*" in template or "?" in template:
        check.problem(path, "must not contain wildcards (* ?): it names one resource")
        return
    arn_account = match.group(4)
    if arn_account not in ("", "{account}", account):
        check.problem(path, f"the account in the ARN must be the API's ({account}), "
                      "{account} or empty")
