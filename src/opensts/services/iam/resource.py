"""How the operations shared by several kinds of IAM resource (tagging, permissions
boundaries) name, load and change one kind."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from opensts.services.context import CallContext
from opensts.wire.params import Params

Context = dict[str, str | list[str]]
E = TypeVar("E")


@dataclass(frozen=True, slots=True)
class Resource(Generic[E]):
    noun: str  # as in the operation and action names: TagUser, iam:ListUserTags
    key_param: Callable[[Params], str]  # reads and checks the naming parameter
    audit_key: str  # the naming parameter in the audit record's requestParameters
    # Authorizes the action (with extra condition context) on the named resource, then
    # returns it: an operation may not reveal whether it exists before authorizing.
    load: Callable[[CallContext, str, str, Context | None], E]
    # Applies a change to the stored resource; given the name as requested and as loaded.
    update: Callable[[CallContext, str, E, Callable[[E], E]], object]
