"""Declared HTTP APIs for the authorizer hooks (issue 11), pure: route templates and their
matching (``routes``), resource ARNs (``arns``) and the declaration file (``spec``)."""
