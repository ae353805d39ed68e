"""AWS Organizations (JSON 1.1, ``AWSOrganizationsV20161128``): accounts, OUs and SCPs.

Importing this package registers every operation with ``services.registry``; one module
per concept (the organization, accounts, units, policies, tags, delegation).

Follows the Organizations API reference: the management account creates the organization
and member accounts; CreateAccount also creates the role ``OrganizationAccountAccessRole``
(or the given RoleName) in the member account, trusting the management account, with
AdministratorAccess attached. SCPs take part in every decision of member accounts once the
SERVICE_CONTROL_POLICY type is enabled on the root; ``FullAWSAccess`` is attached to the
root, every OU and every account, as AWS does.
"""

from opensts.services.organizations import delegation, tags
from opensts.services.organizations.accounts import (
    close_account,
    create_account,
    describe_account,
    describe_create_account_status,
    list_accounts,
    move_account,
    remove_account_from_organization,
)
from opensts.services.organizations.common import OrganizationsError
from opensts.services.organizations.organization import (
    create_organization,
    delete_organization,
    describe_organization,
    disable_policy_type,
    enable_policy_type,
    list_roots,
)
from opensts.services.organizations.policies import (
    attach_policy,
    create_policy,
    delete_policy,
    describe_policy,
    detach_policy,
    list_policies,
    list_policies_for_target,
    update_policy,
)
from opensts.services.organizations.units import (
    create_organizational_unit,
    delete_organizational_unit,
    describe_organizational_unit,
    list_accounts_for_parent,
    list_children,
    list_organizational_units_for_parent,
    list_parents,
    update_organizational_unit,
)

__all__ = [
    "OrganizationsError",
    "attach_policy",
    "close_account",
    "create_account",
    "create_organization",
    "create_organizational_unit",
    "create_policy",
    "delegation",
    "delete_organization",
    "delete_organizational_unit",
    "delete_policy",
    "describe_account",
    "describe_create_account_status",
    "describe_organization",
    "describe_organizational_unit",
    "describe_policy",
    "detach_policy",
    "disable_policy_type",
    "enable_policy_type",
    "list_accounts",
    "list_accounts_for_parent",
    "list_children",
    "list_organizational_units_for_parent",
    "list_parents",
    "list_policies",
    "list_policies_for_target",
    "list_roots",
    "move_account",
    "remove_account_from_organization",
    "tags",
    "update_organizational_unit",
    "update_policy",
]
