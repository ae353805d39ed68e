"""GetContextKeysForCustomPolicy and GetContextKeysForPrincipalPolicy (IAM API reference).

The answer lists every context key a policy references, in the order they appear: the keys
of its Condition blocks and the policy variables in its strings. AWS's own example
(the CLI reference of get-context-keys-for-custom-policy) answers
``["aws:username", "aws:CurrentTime"]`` for a policy whose Resource reads
``...table/${aws:username}`` and whose condition tests ``aws:CurrentTime``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from opensts.directory.errors import NotFound
from opensts.errors import InvalidInput
from opensts.services.context import CallContext
from opensts.services.iam.common import (
    ARN_MAX,
    ARN_MIN,
    DOCUMENT,
    DOCUMENT_TEXT,
    account,
    every,
)
from opensts.services.iam.errors import not_found
from opensts.services.iam.simulate import source_entity
from opensts.services.registry import operation
from opensts.wire.params import Params, check_str, validation_error

# ${key} or ${key, 'default'}; ${*}, ${?} and ${$} are escapes, not keys.
VARIABLE = re.compile(r"\$\{([^}*?$,\s][^},]*?)\s*(?:,[^}]*)?\}")


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)


def _keys_of(statement: dict[str, Any]) -> Iterator[str]:
    for field, value in statement.items():
        if field == "Condition" and isinstance(value, dict):
            for test in value.values():
                if not isinstance(test, dict):
                    continue
                for key, operand in test.items():
                    yield key
                    for text in _strings(operand):
                        yield from VARIABLE.findall(text)
        elif field in ("Resource", "NotResource", "Principal", "NotPrincipal"):
            for text in _strings(value):
                yield from VARIABLE.findall(text)


def context_keys(documents: list[str]) -> list[str]:
    """The keys the documents reference, each once (keys are case-insensitive), first
    spelling kept."""
    seen: dict[str, str] = {}
    for text in documents:
        try:
            policy = json.loads(text)
        except ValueError:
            raise InvalidInput("Syntax errors in policy.") from None
        statements = policy.get("Statement", []) if isinstance(policy, dict) else []
        for statement in statements if isinstance(statements, list) else [statements]:
            if not isinstance(statement, dict):
                continue
            for key in _keys_of(statement):
                seen.setdefault(key.lower(), key)
    return list(seen.values())


def _input_list(params: Params, *, required: bool) -> list[str]:
    documents = params.strings("PolicyInputList")
    if required and not documents:
        raise validation_error("PolicyInputList", None, "Member must not be null")
    for i, text in enumerate(documents, start=1):
        check_str(f"PolicyInputList.{i}.member", text, min_len=1, max_len=131072,
                  pattern=DOCUMENT, pattern_text=DOCUMENT_TEXT)
    return documents


@operation("iam", "GetContextKeysForCustomPolicy", read_only=True)
def get_context_keys_for_custom_policy(ctx: CallContext, params: Params) -> dict[str, Any]:
    documents = _input_list(params, required=True)
    ctx.authorize("iam:GetContextKeysForCustomPolicy", "*")
    return {"ContextKeyNames": context_keys(documents)}


def _principal_documents(ctx: CallContext, kind: str, name: str) -> list[str]:
    store = ctx.runtime.store
    acct = account(ctx)
    if kind == "user":
        return [doc for _, doc in store.identity_policies_for_user(acct, name)]
    if kind == "role":
        return [doc for _, doc in store.identity_policies_for_role(acct, name)]
    documents = [store.get_inline_policy("group", acct, name, policy).document
                 for policy in every(lambda **kw: store.list_inline_policies(
                     "group", acct, name, **kw))]
    documents += [store.get_managed_policy(attached.arn).document
                  for attached in every(lambda **kw: store.list_attached_policies(
                      "group", acct, name, **kw))]
    return documents


@operation("iam", "GetContextKeysForPrincipalPolicy", read_only=True)
def get_context_keys_for_principal_policy(ctx: CallContext, params: Params) -> dict[str, Any]:
    """The keys of the user's, group's or role's policies (a user's groups' too), then of
    the extra PolicyInputList."""
    source_arn = params.required("PolicySourceArn", min_len=ARN_MIN, max_len=ARN_MAX)
    extra = _input_list(params, required=False)
    ctx.audit.request_parameters = {"policySourceArn": source_arn}
    ctx.authorize("iam:GetContextKeysForPrincipalPolicy", source_arn)
    match, stored_name = source_entity(ctx, source_arn)
    kind, name = match.group(2), match.group(4)
    try:
        documents = _principal_documents(ctx, kind, stored_name)
    except NotFound:
        raise not_found(kind, name) from None
    return {"ContextKeyNames": context_keys(documents + extra)}
