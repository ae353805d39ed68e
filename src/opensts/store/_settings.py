"""Settings of an account or organization (migration 11): one text value per scope (an
account or organization id) and name."""

from __future__ import annotations

import sqlalchemy as sa

from opensts.store import schema as s
from opensts.store._base import SqlBase

_t = s.settings


class SettingsMixin(SqlBase):
    def find_setting(self, scope: str, name: str) -> str | None:
        with self._read() as conn:
            value = conn.execute(sa.select(_t.c.value).where(
                _t.c.scope == scope, _t.c.name == name)).scalar()
        return None if value is None else str(value)

    def put_setting(self, scope: str, name: str, value: str | None) -> None:
        with self._write() as conn:
            where = (_t.c.scope == scope, _t.c.name == name)
            if value is None:
                conn.execute(sa.delete(_t).where(*where))
            elif conn.execute(sa.update(_t).where(*where).values(value=value)).rowcount == 0:
                conn.execute(sa.insert(_t).values(scope=scope, name=name, value=value))

    def set_org_feature_set(self, org_id: str, feature_set: str) -> None:
        """EnableAllFeatures: the organization's FeatureSet becomes ``feature_set``."""
        with self._write() as conn:
            conn.execute(sa.update(s.organizations).where(
                s.organizations.c.org_id == org_id).values(feature_set=feature_set))
