"""Who may sign in from this browser: the session picker's choices, each checked in advance
for the sign-in permissions, and the plain words shown when none may.

A choice is an identity signed in in this browser (the IAM user itself) or a role it may
assume. Only choices that ``signin:AuthorizeOAuth2Access`` and ``signin:CreateOAuth2Token``
allow are offered: consent and the token exchange check exactly these two
(``SigninService.missing_permissions``), so offering another would lead to a refusal only
after the user had consented.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from opensts.services.context import RequestMeta
from opensts.services.signin import clients, grants
from opensts.services.signin.service import Identity, SigninService
from opensts.web.signin import state

# Every action the flow checks, in the order it checks them (consent, then /v1/token).
SIGNIN_ACTIONS = ("signin:AuthorizeOAuth2Access", "signin:CreateOAuth2Token")


@dataclass(frozen=True)
class Choice:
    value: str  # the radio value: "<identity index>:<role name or empty>"
    name: str  # the user or role name, then what it is
    what: str
    grant: grants.Grant

    @property
    def text(self) -> str:
        return f"{self.name} {self.what}"


@dataclass
class Refusal:
    """Why an identity has no choice: what its IAM user lacks, how many roles it may
    assume (none of which allows sign-in either)."""

    identity: Identity
    missing: list[str]
    roles: int


@dataclass
class Choices:
    allowed: list[Choice] = field(default_factory=list)
    refused: list[Refusal] = field(default_factory=list)


def grant_of(flow: state.Flow, identity: Identity, role_name: str | None = None,
             role_id: str | None = None) -> grants.Grant:
    return grants.Grant(identity.account_id, identity.user_name, flow.client_id,
                        identity.auth_time, identity.mfa_time, role_name, identity.stamp,
                        role_id)


def choices(service: SigninService, flow: state.Flow, identities: list[Identity],
            meta: RequestMeta) -> Choices:
    found = Choices()
    for index, identity in enumerate(identities):
        roles = service.assumable_roles(identity, meta)
        own = grant_of(flow, identity)
        missing = service.missing_permissions(own, redirect_uri=flow.redirect_uri, meta=meta)
        offered = 0
        if not missing:
            found.allowed.append(Choice(
                f"{index}:", identity.user_name, f"(IAM user, account {identity.account_id})",
                own))
            offered += 1
        for role in roles:
            grant = grant_of(flow, identity, role.name, role.role_id)
            if not service.missing_permissions(grant, redirect_uri=flow.redirect_uri,
                                               meta=meta):
                found.allowed.append(Choice(
                    f"{index}:{role.name}", role.name, f"(role, as {identity.user_name})",
                    grant))
                offered += 1
        if not offered:
            found.refused.append(Refusal(identity, missing, len(roles)))
    return found


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def refusal_message(refusal: Refusal) -> str:
    """Plain words for an identity that may not sign in here; never a policy engine's
    message or an encoded authorization blob."""
    identity = refusal.identity
    wanted = _and(refusal.missing or list(SIGNIN_ACTIONS))
    text = (f"Your IAM user {identity.user_name} may not use CLI sign-in; an administrator "
            f"must grant {wanted}.")
    if refusal.roles:
        text += (" None of the roles you may assume allows CLI sign-in either.")
    return text


def denied_at_consent(grant: grants.Grant, action: str) -> str:
    """Plain words for a refusal at consent (the permission went away after the picker)."""
    who = (f"The role {grant.role_name} may" if grant.role_name
           else f"Your IAM user {grant.user_name} may")
    return f"{who} not use CLI sign-in; an administrator must grant {action}."


def resource_of(flow: state.Flow, service: SigninService, account_id: str) -> str:
    return clients.resource_arn(flow.client_id, service.region, account_id)
