"""Benchmark: the wildcard attack, old regex translation vs the glob matcher.

Run: .venv/bin/python bench/wildcard_attack.py [--length 60] [--max-pairs 7] [--cutoff 30]

A role session's own session policy allows ``iam:ListUsers`` when ``StringLike
aws:UserAgent`` matches ``*a*a…*a*b`` (``k`` pairs ``*a``); the request's User-Agent is
``'a' * length``, so the pattern never matches. For each ``k`` the decision is evaluated
in-process through ``opensts.policy.evaluate`` twice: with the engine as it is, and with the
old engine's translation of patterns to regular expressions patched back in (the code is
copied below; it is no longer in src/).

As in the server, where decisions run in worker threads, a second thread stands in for the
event loop that answers /health: it wakes every 2 ms, and the longest it waited past its
wake-up time is printed as the /health delay. A regex match holds the GIL, so with the old
engine that delay is the whole attack.

Printed per row: wall time and CPU time (``time.process_time``) of one decision, the /health
delay, and the old/new ratio. The old engine is skipped for ``k`` once the previous row
suggests it would pass ``--cutoff`` seconds (each extra ``*a`` multiplies its time by about
``length / k``). Numbers only: nothing here asserts on timing.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence

import opensts.policy.conditions as conditions_module
import opensts.policy.parser as parser_module
from opensts.policy import PolicyKind, PolicySet, Principal, PrincipalKind, Request, evaluate
from opensts.policy.parser import Policy

A = "111122223333"
SESSION = Principal(
    PrincipalKind.ASSUMED_ROLE,
    f"arn:aws:sts::{A}:assumed-role/app/attacker",
    A,
    issuer_arn=f"arn:aws:iam::{A}:role/app",
)
ROLE_POLICY = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "iam:ListUsers", "Resource": "*"}],
    }
)


def session_policy(pattern: str) -> str:
    condition = {"StringLike": {"aws:UserAgent": pattern}}
    statement = {"Effect": "Allow", "Action": "iam:ListUsers", "Resource": "*"}
    return json.dumps(
        {"Version": "2012-10-17", "Statement": [{**statement, "Condition": condition}]}
    )


# --- the old engine's matching, for comparison only ------------------------------------------

_ANY = {"*": ".*", "?": "."}
_SEG = {"*": "[^:]*", "?": "[^:]"}
Parts = Sequence[tuple[bool, str]]


def _glob_source(parts: Parts) -> str:
    out: list[str] = []
    for literal, text in parts:
        if literal:
            out.append(re.escape(text))
            continue
        out.extend(_ANY.get(ch) or re.escape(ch) for ch in text)
    return "".join(out)


def _arn_source(parts: Parts) -> str:
    colons = sum(text.count(":") for literal, text in parts if not literal)
    seg = 0
    out: list[str] = []
    for literal, text in parts:
        if literal:
            out.append(re.escape(text))
            continue
        for ch in text:
            if ch == ":":
                seg += 1
                out.append(":")
            elif ch in _ANY:
                out.append((_ANY if seg >= 5 or seg == colons else _SEG)[ch])
            else:
                out.append(re.escape(ch))
    return "".join(out)


class RegexGlobSet:
    """The old GlobSet: exact strings by hash, the rest through one regex alternation."""

    def __init__(self, patterns: Iterable[str], *, arn: bool = False, ignore_case: bool = False):
        exact: set[str] = set()
        sources: list[str] = []
        self.match_all = False
        for p in patterns:
            p = p.lower() if ignore_case else p
            if p == "*":
                self.match_all = True
            elif "*" not in p and "?" not in p:
                exact.add(p)
            else:
                parts = ((False, p),)
                sources.append(_arn_source(parts) if arn else _glob_source(parts))
        self.exact = frozenset(exact)
        self.regex = re.compile("(?:" + "|".join(sources) + r")\Z", re.S) if sources else None

    def __call__(self, value: str) -> bool:
        if self.match_all or value in self.exact:
            return True
        return self.regex is not None and self.regex.match(value) is not None


def regex_dynamic_matcher(parts: Parts, *, arn: bool) -> Callable[[str], bool]:
    source = _arn_source(parts) if arn else _glob_source(parts)
    rx = re.compile(source + r"\Z", re.S)
    return lambda value: rx.match(value) is not None


@contextlib.contextmanager
def engine(old: bool) -> Iterator[None]:
    """Policies compiled inside this block match with the old regexes when ``old``."""
    if not old:
        yield
        return
    saved = [
        (m, name, getattr(m, name))
        for m in (parser_module, conditions_module)
        for name in ("GlobSet", "dynamic_matcher")
    ]
    for m, name, _ in saved:
        setattr(m, name, RegexGlobSet if name == "GlobSet" else regex_dynamic_matcher)
    try:
        yield
    finally:
        for m, name, value in saved:
            setattr(m, name, value)


# --- measuring --------------------------------------------------------------------------------


def case(pattern: str, length: int, old: bool) -> tuple[Request, PolicySet]:
    with engine(old):
        # Policy(...) directly: parse_policy caches by text, across both engines.
        role = Policy(ROLE_POLICY, PolicyKind.IDENTITY)
        session = Policy(session_policy(pattern), PolicyKind.SESSION)
    policies = PolicySet(identity=[("role", role)], session=[("session", session)])
    request = Request(SESSION, "iam:ListUsers", "*", None, {"aws:UserAgent": "a" * length})
    return request, policies


def attack(request: Request, policies: PolicySet) -> tuple[float, float, float, str]:
    """(wall s, CPU s, worst /health delay s, decision) of one decision, while a probe
    thread wakes every 2 ms as the server's event loop would to answer /health."""
    stop = threading.Event()
    ticking = threading.Event()
    worst = [0.0]

    def probe() -> None:
        while not stop.is_set():
            due = time.perf_counter() + 0.002
            time.sleep(0.002)
            worst[0] = max(worst[0], time.perf_counter() - due)
            ticking.set()

    prober = threading.Thread(target=probe)
    prober.start()
    ticking.wait()
    cpu = time.process_time()  # the whole process: the probe sleeps, mostly
    t = time.perf_counter()
    decision = evaluate(request, policies).decision
    wall = time.perf_counter() - t
    cpu = time.process_time() - cpu
    time.sleep(0.005)  # let the probe record a wake-up held back by the decision
    stop.set()
    prober.join()
    return wall, cpu, worst[0], decision


def cpu_per_decision(request: Request, policies: PolicySet, budget: float = 0.2) -> float:
    """CPU seconds per decision (time.process_time) over repeated runs, for fast engines."""
    runs = 0
    start = time.process_time()
    while (spent := time.process_time() - start) < budget:
        for _ in range(100):
            evaluate(request, policies)
        runs += 100
    return spent / runs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--length", type=int, default=60, help="User-Agent length ('a' * N)")
    ap.add_argument("--max-pairs", type=int, default=7, help="largest k in '*a' * k + '*b'")
    ap.add_argument("--cutoff", type=float, default=30.0, help="skip old runs beyond (s)")
    args = ap.parse_args()
    print(f"User-Agent 'a' * {args.length}; pattern '*a' * k + '*b'; one decision per row")
    print(
        f"{'k':>3} | {'old wall s':>10} {'old CPU s':>10} {'old /health':>11} | "
        f"{'new wall µs':>11} {'new CPU µs':>10} {'new /health':>11} | {'ratio':>9}"
    )
    predicted = 0.0
    for k in range(1, args.max_pairs + 1):
        pattern = "*a" * k + "*b"
        new_req, new_set = case(pattern, args.length, old=False)
        _, _, new_health, new_decision = attack(new_req, new_set)
        new_cpu = cpu_per_decision(new_req, new_set)
        t = time.perf_counter()
        evaluate(new_req, new_set)
        new_wall = time.perf_counter() - t
        if predicted <= args.cutoff:
            old_req, old_set = case(pattern, args.length, old=True)
            old_wall, old_cpu, old_health, old_decision = attack(old_req, old_set)
            if old_decision != new_decision:
                print(f"engines disagree: old {old_decision}, new {new_decision}")
            predicted = old_wall * args.length / k
            if old_wall < 0.05:  # too short to time once: average many, as for the new engine
                old_cpu = cpu_per_decision(old_req, old_set)
            old = f"{old_wall:>10.3f} {old_cpu:>10.3f} {old_health * 1e3:>9.0f}ms"
            ratio = f"{old_cpu / new_cpu:>8,.0f}x"
        else:
            old = f"{'skipped (over --cutoff)':>33}"
            ratio = f"{'-':>9}"
        print(
            f"{k:>3} | {old} | {new_wall * 1e6:>11.1f} {new_cpu * 1e6:>10.1f} "
            f"{new_health * 1e3:>9.1f}ms | {ratio}   ({new_decision})"
        )
    # The new engine alone on inputs the old one could never finish. A trailing '*' makes
    # the matcher scan the whole value for each chunk instead of failing on the last one.
    k = args.max_pairs
    for pattern in ("*a" * k + "*b", "*a" * 50 + "*b", "*a" * 50 + "*b*", "*?" * 50 + "*b*"):
        for length in (10_000, 100_000):
            req, policies = case(pattern, length, old=False)
            cpu = cpu_per_decision(req, policies)
            print(
                f"new engine, {pattern[:12]}… ({len(pattern)} chars) vs 'a' * {length:,}: "
                f"{cpu * 1e6:,.1f} µs CPU per decision"
            )


if __name__ == "__main__":
    main()
