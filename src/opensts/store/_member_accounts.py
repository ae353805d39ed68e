"""Organizations CreateAccount as one transaction.

A member account is several rows in several tables: the account, its membership in the
root, OrganizationAccountAccessRole with its trust policy and AdministratorAccess, the
organization's managed policies attached to it, and the finished create-account request.
Written one by one, a crash between two of them left accounts outside the organization,
without the role, or requests IN_PROGRESS forever; here they commit together or not at all.
"""

from __future__ import annotations

from opensts.directory.records import NewMemberAccount
from opensts.store._org_extras import insert_org_tags
from opensts.store._orgs import OrgsMixin
from opensts.store._policies import PoliciesMixin


class MemberAccountsMixin(PoliciesMixin, OrgsMixin):
    def create_member_account(self, new: NewMemberAccount) -> None:
        account_id = new.account.account_id
        role = new.access_role
        if new.member.account_id != account_id or role.account_id != account_id:
            raise ValueError("the membership and the role must be of the new account")
        with self._write() as conn:
            # First, as EnablePolicyType does: the policy types read here stay enabled.
            root = self._root_for_update(conn, new.member.org_id)
            self._insert_account(conn, new.account)
            self._insert_org_account(conn, new.member)
            self._insert_role(conn, role)
            for arn in new.role_policy_arns:
                self._attach(conn, "role", account_id, role.name, arn)
            self._attach_managed(conn, root.enabled_policy_types, account_id,
                                 new.managed_policies)
            insert_org_tags(conn, new.member.org_id, account_id, new.tags)
            self._save_status(conn, new.status)
