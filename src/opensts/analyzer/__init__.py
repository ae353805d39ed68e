"""IAM Access Analyzer's analyses (issue 16), pure: no I/O, no clock (``now`` is passed in).

``external`` finds who outside a zone of trust (``zone``) a role's trust policy or a
bucket's policy lets in; ``findings`` turns those into Access Analyzer findings and keeps
their status across re-analyses. ``operations.json`` is the rest-json route table and input
model, generated from botocore's model (tests/analyzer/routes_model.py). ``unused`` finds
unused roles, keys, passwords and permissions; ``validate`` and ``checks`` are
ValidatePolicy and the Check* policy checks; ``escalation`` is the privilege-escalation graph.
"""
