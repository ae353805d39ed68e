"""IAM bookkeeping beyond the entities themselves: credential reports, when roles and
passwords were last used, and the deletion tasks of service-linked roles."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from opensts.directory.records import CredentialReport, Role, RoleDeletionTask
from opensts.store import schema as s
from opensts.store._policies import PoliciesMixin

_r = s.credential_reports
_task = s.role_deletion_tasks


class IamBookkeepingMixin(PoliciesMixin):
    # -- credential reports ----------------------------------------------------------------
    def save_credential_report(self, report: CredentialReport) -> None:
        # Bookkeeping only: nothing an authorizer caches, so the generation stays.
        with self._write(bump=False) as conn:
            values = {"generated": report.generated, "content": report.content}
            if conn.execute(sa.update(_r).where(_r.c.account_id == report.account_id)
                            .values(**values)).rowcount == 0:
                conn.execute(sa.insert(_r).values(account_id=report.account_id, **values))

    def find_credential_report(self, account_id: str) -> CredentialReport | None:
        with self._read() as conn:
            r = conn.execute(sa.select(_r).where(_r.c.account_id == account_id)).first()
        return None if r is None else CredentialReport(r.account_id, r.generated, r.content)

    # -- role last used --------------------------------------------------------------------
    def record_role_use(self, role_id: str, when: datetime, region: str) -> None:
        """RoleLastUsed; like access-key last use, it does not move the generation."""
        with self._write(bump=False) as conn:
            conn.execute(sa.update(s.roles).where(s.roles.c.role_id == role_id).values(
                last_used=when, last_used_region=region))

    def find_role_last_used(self, role_id: str) -> tuple[datetime, str] | None:
        """Read past any cache: GetRole answers what was recorded, however recent."""
        with self._read() as conn:
            r = conn.execute(sa.select(s.roles.c.last_used, s.roles.c.last_used_region).where(
                s.roles.c.role_id == role_id)).first()
        if r is None or r.last_used is None:
            return None
        return r.last_used, r.last_used_region or ""

    # -- password last used ----------------------------------------------------------------
    def record_password_use(self, user_id: str, when: datetime) -> None:
        """PasswordLastUsed (a console sign-in); bookkeeping, like role last use."""
        with self._write(bump=False) as conn:
            conn.execute(sa.update(s.users).where(s.users.c.user_id == user_id).values(
                password_last_used=when))

    def find_password_last_used(self, user_id: str) -> datetime | None:
        """Read past any cache (GetUser), as ``find_role_last_used``."""
        with self._read() as conn:
            return conn.execute(sa.select(s.users.c.password_last_used).where(
                s.users.c.user_id == user_id)).scalar()

    # -- service-linked roles --------------------------------------------------------------
    def create_role_with_policies(self, role: Role, policy_arns: tuple[str, ...]) -> None:
        """CreateServiceLinkedRole: the role and the service's managed policies attached to
        it, in one transaction (AlreadyExists for the name, NotFound for a policy)."""
        with self._write() as conn:
            self._insert_role(conn, role)
            for arn in policy_arns:
                self._attach(conn, "role", role.account_id, role.name, arn)

    def delete_service_linked_role(self, account_id: str, role_id: str,
                                   task: RoleDeletionTask) -> None:
        """The role with its inline and attached policies (a service-linked role's policies
        go with it), and the finished task, in one transaction."""
        with self._write() as conn:
            found = conn.execute(sa.select(s.roles.c.role_id).where(
                s.roles.c.role_id == role_id, s.roles.c.account_id == account_id)
                .with_for_update()).first()
            if found is not None:
                for table in (s.inline_policies, s.attachments):
                    conn.execute(sa.delete(table).where(table.c.entity_kind == "role",
                                                        table.c.entity_id == role_id))
                conn.execute(sa.delete(s.roles).where(s.roles.c.role_id == role_id))
            conn.execute(sa.insert(_task).values(
                task_id=task.task_id, account_id=task.account_id, role_name=task.role_name,
                status=task.status, reason=task.reason, created=task.created))

    def find_role_deletion_task(self, task_id: str) -> RoleDeletionTask | None:
        with self._read() as conn:
            r = conn.execute(sa.select(_task).where(_task.c.task_id == task_id)).first()
        if r is None:
            return None
        return RoleDeletionTask(r.task_id, r.account_id, r.role_name, r.status, r.created,
                                r.reason)
