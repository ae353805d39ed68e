"""Runs the JSON corpus (tests/policy/corpus/*.json) against a policy engine.

Engines are pluggable (see engines.py); OPENSTS_CORPUS_ENGINES=opensts,iam-simulate selects
them (default: opensts). Cases listed in PEER_DIVERGENT are the documented places where the
AWS docs and iam-simulate disagree (tests/peers/iam-simulate/test_iam_simulate_differential.py).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from .engines import IamSimulateEngine, OpenSTSEngine

CORPUS = Path(__file__).parent / "corpus"
CASES = [
    (f"{path.stem}: {c['name']}", c)
    for path in sorted(CORPUS.glob("*.json"))
    for c in json.loads(path.read_text())["cases"]
]
ENGINES = {"opensts": OpenSTSEngine, "iam-simulate": IamSimulateEngine}
SELECTED = os.environ.get("OPENSTS_CORPUS_ENGINES", "opensts").split(",")
PEER_DIVERGENT = {
    "evaluation: root allowed in own account",
    "organizations: SCP limits root",
    "evaluation: NotPrincipal without the account denies",
    "sessions: resource policy names session ARN bypasses session policy",
    "trust: boundary must allow AssumeRole",
    "conditions: literal star in StringEquals",
    # Dates may be given as epoch seconds (condition_operators: Date); the peer reads an
    # epoch policy value against an ISO request value as no match.
    "conditions: DateLessThan epoch",
    # GetFederationToken without a session policy grants nothing; the peer's core has no
    # notion of a federated session lacking one.
    "sessions: federated user without session policy",
    # The peer takes principals as ARNs of IAM/STS identities; a web-identity caller named
    # by its OIDC provider (Principal.Federated) is outside its request model.
    "trust: web identity with audience",
}


def test_corpus_is_well_formed():
    assert len(CASES) >= 40
    for name, c in CASES:
        assert c["expected"] in ("allowed", "explicitDeny", "implicitDeny"), name
        assert c["source"].startswith("https://docs.aws.amazon.com/"), name
        assert c["reason"], name


@pytest.mark.parametrize("engine_name", SELECTED)
def test_corpus(engine_name):
    engine = ENGINES[engine_name]()
    if engine_name == "iam-simulate" and not IamSimulateEngine.available():
        pytest.skip("iam-simulate peer not installed")
    cases = [c for name, c in CASES if engine_name == "opensts" or name not in PEER_DIVERGENT]
    cases = [c for c in cases if engine_name == "opensts" or len(c.get("session") or []) <= 1]
    names = [n for n, c in CASES if any(c is k for k in cases)]
    got = engine.decide_many(cases)
    wrong = [
        f"{n}: expected {c['expected']}, got {g}"
        for n, c, g in zip(names, cases, got, strict=True)
        if g != c["expected"]
    ]
    assert not wrong, "\n".join(wrong)
