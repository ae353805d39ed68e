"""The ABAC move: tag oneself (iam:TagUser / iam:TagRole on one's own role) and/or the role
(iam:TagRole) with the values an AssumeRole condition asks for, then assume the role. Each
call is decided by the policy engine, the tagging calls with aws:RequestTag and aws:TagKeys.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from opensts.analyzer.escalation.model import Directory, Entity, decide
from opensts.analyzer.escalation.moves import Move, assume_role, base, may, tags_ctx
from opensts.analyzer.escalation.steps import Step

# -- ABAC: tags that satisfy a condition ----------------------------------------------------

_PRINCIPAL_TAG = "aws:principaltag/"
_RESOURCE_TAGS = ("aws:resourcetag/", "iam:resourcetag/")


def _literal(values: Iterable[str]) -> str | None:
    for v in values:
        if "${" not in v and "*" not in v and "?" not in v:
            return v
    return None


def _variable(values: Iterable[str], prefixes: tuple[str, ...]) -> str | None:
    for v in values:
        low = v.lower()
        for p in prefixes:
            if low.startswith("${" + p) and v.endswith("}"):
                return v[2 + len(p):-1]
    return None


def wanted_tags(directory: Directory, actor: Entity, role: Entity
                ) -> tuple[dict[str, str], dict[str, str]]:
    """Tag values that the AssumeRole conditions (trust and identity side) ask for on the
    actor (aws:PrincipalTag) and on the role (aws:ResourceTag, iam:ResourceTag): a literal
    the condition names, or the other side's value for a condition comparing the two."""
    assert role.trust is not None
    mine: dict[str, str] = {}
    theirs: dict[str, str] = {}
    policies = [role.trust, *(p for _, p in actor.policies.identity)]
    for policy in policies:
        for st in policy.statements_for("sts:assumerole"):
            if st.is_deny:
                continue
            for c in st.conditions:
                if c.negated or c.family != "string":
                    continue
                key_l = c.key.lower()
                if key_l.startswith(_PRINCIPAL_TAG):
                    other = _variable(c.values, _RESOURCE_TAGS)
                    tag = c.key[len(_PRINCIPAL_TAG):]
                    value = _literal(c.values) or (
                        (role.tags.get(other) or "opensts-abac") if other else None)
                    if value is not None:
                        mine[tag] = value
                        if other and other not in role.tags:
                            theirs[other] = value
                elif key_l.startswith(_RESOURCE_TAGS):
                    other = _variable(c.values, (_PRINCIPAL_TAG,))
                    tag = c.key.split("/", 1)[1]
                    value = _literal(c.values) or (
                        (actor.tags.get(other) or mine.get(other) or "opensts-abac")
                        if other else None)
                    if value is not None:
                        theirs[tag] = value
                        if other and other not in actor.tags:
                            mine[other] = value
    mine = {k: v for k, v in mine.items() if actor.tags.get(k) != v}
    theirs = {k: v for k, v in theirs.items() if role.tags.get(k) != v}
    return mine, theirs


def _tag_step(directory: Directory, actor: Entity, target: Entity,
              tags: dict[str, str]) -> Step | None:
    action = "iam:TagUser" if target.kind == "user" else "iam:TagRole"
    extra: dict[str, str | list[str]] = {f"aws:RequestTag/{k}": v for k, v in tags.items()}
    extra["aws:TagKeys"] = sorted(tags)
    extra.update(tags_ctx(target))
    return decide(directory, actor, action, target.arn, extra=extra,
                  note="tags " + ", ".join(f"{k}={v}" for k, v in sorted(tags.items())))


def tag_then_assume(directory: Directory, actor: Entity, role: Entity) -> Move | None:
    mine, theirs = wanted_tags(directory, actor, role)
    if not mine and not theirs:
        return None
    if theirs and actor.account != role.account:
        return None  # IAM tags only the caller's own account's entities
    steps: list[Step] = []
    tagged_actor, tagged_role = actor, role
    if mine:
        if not may(actor, "iam:TagUser" if actor.kind == "user" else "iam:TagRole"):
            return None
        found = _tag_step(directory, actor, actor, mine)
        if found is None:
            return None
        steps.append(found)
        tagged_actor = replace(actor, tags={**actor.tags, **mine})
    if theirs:
        if not may(tagged_actor, "iam:TagRole"):
            return None
        found = _tag_step(directory, tagged_actor, role, theirs)
        if found is None:
            return None
        steps.append(found)
        tagged_role = replace(role, tags={**role.tags, **theirs})
    assume = assume_role(directory, tagged_actor, tagged_role)
    if assume is None:
        return None
    steps.append(assume)
    return Move("tag-then-assume-role", actor.arn, base(role), tuple(steps),
                "tags itself and/or the role so that an ABAC condition holds, then assumes "
                "the role")
