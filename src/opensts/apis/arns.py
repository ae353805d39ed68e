"""Resource ARNs of API calls: API Gateway's execute-api ARN and a route's own ARN template.

The execute-api ARN (API Gateway developer guide, "Control access to an API with IAM
permissions", api-gateway-control-access-using-iam-policies-to-invoke-api, and
arn-format-reference) is ``arn:aws:execute-api:{region}:{account}:{api-id}/{stage}/{METHOD}/
{path}`` with the resource path *without* its leading slash: a GET of ``/pets/1`` on stage
``prod`` is ``.../prod/GET/pets/1``, and a GET of ``/`` is ``.../prod/GET/`` (both forms seen
in API Gateway's own denial messages, e.g. ASFHyP3/hyp3#2283).

Path parameters are request input, so a value never becomes ARN structure: every character
outside RFC 3986's unreserved set and a few harmless sub-delimiters is percent-encoded, in
particular ``/`` ``:`` ``*`` ``?`` ``$`` ``{`` ``}`` ``%`` and whitespace. A template
``order/{id}`` with ``id`` = ``1/*`` gives ``order/1%2F%2A``, which ``order/1/*`` does not
match. Greedy (``{proxy+}``) values are paths: their segments are escaped one by one and
joined with ``/``, so they stay paths.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

_SAFE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~!&'()+,;=@")
ACCOUNT_ID = re.compile(r"\d{12}")
#: ``{name}`` in a template; names are checked when the declaration is parsed (spec.py).
PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
#: What a template may name besides the route's path parameters.
BUILTINS = frozenset({"region", "account", "api_id", "stage", "method"})


def escape_value(value: str) -> str:
    """Percent-encode (UTF-8) everything but unreserved characters and ``!&'()+,;=@``."""
    if all(ch in _SAFE for ch in value):
        return value
    out = []
    for ch in value:
        if ch in _SAFE:
            out.append(ch)
        else:
            out.extend(f"%{b:02X}" for b in ch.encode("utf-8", "surrogatepass"))
    return "".join(out)


def escape_path(segments: Sequence[str]) -> str:
    """Decoded path segments as one ARN path: each escaped, joined with ``/``."""
    return "/".join(escape_value(s) for s in segments)


def execute_api_arn(region: str, account: str, api_id: str, stage: str, method: str,
                    segments: Sequence[str]) -> str:
    """The default resource of a call: ``.../{api-id}/{stage}/{METHOD}/{path}``."""
    return (f"arn:aws:execute-api:{region}:{account}:{api_id}/{stage}/{method}/"
            f"{escape_path(segments)}")


def template_names(template: str) -> list[str]:
    """The ``{name}`` placeholders of a template, in order."""
    return PLACEHOLDER.findall(template)


def render(template: str, values: Mapping[str, str]) -> str:
    """Substitute every ``{name}`` from ``values`` as given (names were checked when the
    declaration was parsed, so a missing one is a programming error). For ARNs pass values
    through ``escape_value``/``escape_path`` first; condition values are compared as
    strings and never parsed as ARNs, so they go in decoded."""
    return PLACEHOLDER.sub(lambda m: values[m.group(1)], template)


def mask_account(arn: str) -> str:
    """The ARN with its account shown as ``********`` and the last four digits, as API
    Gateway's denial messages show the resource (``arn:aws:execute-api:us-west-2:
    ********2543:vd2gh6uqw3/api/GET/``, ASFHyP3/hyp3#2283; the same in every body seen)."""
    parts = arn.split(":", 5)
    if len(parts) == 6 and ACCOUNT_ID.fullmatch(parts[4]):
        parts[4] = "********" + parts[4][-4:]
        return ":".join(parts)
    return arn


def api_arn_prefix(region: str, account: str, api_id: str) -> str:
    return f"arn:aws:execute-api:{region}:{account}:{api_id}/"


def expand_shorthand(resource: str, region: str, account: str, api_id: str) -> str:
    """API Gateway's resource-policy shorthand ``execute-api:/stage/METHOD/path``, which it
    stores as the full ARN of this API (GetRestApi returns ``execute-api:/*/GET/x`` as
    ``arn:aws:execute-api:{region}:{account}:{api-id}/*/GET/x``)."""
    if resource.startswith("execute-api:/"):
        return api_arn_prefix(region, account, api_id) + resource[len("execute-api:/"):]
    return resource
