"""APIs of the HTTP authorizer in the SQL store (issue 11): owner, stages, routes, policy.

An API is one row, so ``put_api`` (create, or replace in full) is one statement inside one
transaction and can never leave half an API behind. Every mutation moves the generation, so
the cached ``find_api`` of every process sees it (store/cache.py). The store checks only
what keeps its rows sound (sizes, the owner); the declaration format (opensts.apis.spec)
validates everything else before anything is written.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from opensts.directory.errors import ApiAlreadyExists, NotFound
from opensts.directory.records import Api, Route
from opensts.store import schema as s
from opensts.store._base import SqlBase

MAX_POLICY_BYTES = 64 * 1024  # API Gateway's own quota is far lower; this bounds the row
MAX_ROUTES = 1000
MAX_STAGES = 100


def _routes_to_json(routes: tuple[Route, ...]) -> list[dict[str, Any]]:
    return [{"method": r.method, "path": r.path, "action": r.action, "resource": r.resource,
             "conditions": dict(r.conditions)} for r in routes]


def _routes_from_json(value: Any) -> tuple[Route, ...]:
    return tuple(Route(r["method"], r["path"], r.get("action"), r.get("resource"),
                       r.get("conditions") or {}) for r in (value or []))


def api_from_row(r: Any) -> Api:
    return Api(api_id=r.api_id, account_id=r.account_id, name=r.name, region=r.region,
               stages=tuple(r.stages or ()), policy=r.policy,
               routes=_routes_from_json(r.routes), require_body_hash=bool(r.require_body_hash),
               created=r.created)


def _check(api: Api) -> None:
    if api.policy is not None and len(api.policy.encode()) > MAX_POLICY_BYTES:
        raise ValueError("API resource policy over 64 KiB")
    if len(api.routes) > MAX_ROUTES:
        raise ValueError(f"at most {MAX_ROUTES} routes per API")
    if len(api.stages) > MAX_STAGES or len(set(api.stages)) != len(api.stages):
        raise ValueError(f"at most {MAX_STAGES} distinct stages per API")
    if not api.api_id or not api.account_id:
        raise ValueError("an API needs an id and an owning account")


class ApisMixin(SqlBase):
    def put_api(self, api: Api) -> Api:
        """Create the API, or replace the one with its id in full (keeping its creation
        time). ApiAlreadyExists if another account owns the id; NotFound for an unknown
        account. Returns the API as stored."""
        _check(api)
        t = s.apis
        values = {
            "account_id": api.account_id, "name": api.name, "region": api.region,
            "stages": list(api.stages), "policy": api.policy,
            "routes": _routes_to_json(api.routes), "require_body_hash": api.require_body_hash,
            "updated": api.created,
        }
        with self._write() as conn:
            if conn.execute(sa.select(s.accounts.c.account_id).where(
                    s.accounts.c.account_id == api.account_id)).first() is None:
                raise NotFound("account", api.account_id)
            owner = conn.execute(sa.select(t.c.account_id).where(t.c.api_id == api.api_id)
                                 .with_for_update()).scalar()
            if owner is None:
                try:
                    with conn.begin_nested():
                        conn.execute(sa.insert(t).values(api_id=api.api_id,
                                                         created=api.created, **values))
                except sa.exc.IntegrityError as exc:
                    # Created by another writer between our read and insert.
                    owner = conn.execute(sa.select(t.c.account_id).where(
                        t.c.api_id == api.api_id)).scalar()
                    raise ApiAlreadyExists(api.api_id, str(owner or "")) from exc
            elif owner != api.account_id:
                raise ApiAlreadyExists(api.api_id, str(owner))
            else:
                conn.execute(sa.update(t).where(t.c.api_id == api.api_id).values(**values))
            return api_from_row(conn.execute(sa.select(t).where(t.c.api_id == api.api_id)
                                             ).one())

    def find_api(self, api_id: str) -> Api | None:
        with self._read(snapshot=False) as conn:
            row = conn.execute(sa.select(s.apis).where(s.apis.c.api_id == api_id)).first()
        return None if row is None else api_from_row(row)

    def get_api(self, api_id: str) -> Api:
        found = self.find_api(api_id)
        if found is None:
            raise NotFound("api", api_id)
        return found

    def list_apis(self, account_id: str | None = None) -> list[Api]:
        t = s.apis
        q = sa.select(t).order_by(t.c.api_id)
        if account_id is not None:
            q = q.where(t.c.account_id == account_id)
        with self._read() as conn:
            return [api_from_row(r) for r in conn.execute(q)]

    def delete_api(self, api_id: str) -> None:
        with self._write() as conn:
            done = conn.execute(sa.delete(s.apis).where(s.apis.c.api_id == api_id))
            if done.rowcount == 0:
                raise NotFound("api", api_id)
