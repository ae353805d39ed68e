"""Privilege-escalation paths: a graph of principals and the moves between them, each move
decided by the policy engine (``opensts.policy.evaluate``) with the principal's identity
policies, permissions boundary, SCPs, the RCPs and the resource's own policy (a role's trust
policy). Pure: the snapshot (``model.Directory``) is read elsewhere.

Moves (``moves.py``), each step an API call the engine must allow:

* assume-role: sts:AssumeRole — trust policy and the caller's side, across accounts too;
* create-access-key (with DeleteAccessKey when the user has two), createloginprofile /
  updateloginprofile: become another user of the account;
* update-assume-role-policy: rewrite a role's trust to name oneself, then assume it;
* pass-role-lambda / -ec2 / -cloudformation: iam:PassRole (iam:PassedToService) on a role
  whose trust admits the service, plus lambda:CreateFunction + lambda:InvokeFunction,
  ec2:RunInstances (and CreateInstanceProfile + AddRoleToInstanceProfile when no instance
  profile holds the role) or cloudformation:CreateStack: the code then runs as the role;
* tag-then-assume-role (``tags.py``): iam:TagUser/TagRole on oneself and/or iam:TagRole on
  the role, with the tag values the AssumeRole conditions ask for (aws:PrincipalTag,
  aws:ResourceTag, iam:ResourceTag), then sts:AssumeRole;
* put-/attach-user|role|group-policy, create-policy-version (SetAsDefault),
  set-default-policy-version, on oneself or on a principal one can then become directly;
* add-user-to-group: a user joins a group of its account and gets its policies;
* create-role / create-user: a principal of one's own with a policy allowing everything;
* delete-*-permissions-boundary, delete-/detach-*-policy: lift a limit (a boundary, a policy
  holding a Deny) on oneself.

An administrator: ``admin.py``.
"""
