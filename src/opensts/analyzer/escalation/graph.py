"""The escalation graph: nodes are principals (and variants of them after a move), edges are
moves; a path ends at a node that ``admin.is_admin``. Paths are the shortest ones, found by a
breadth-first search backwards from every administrator node over the whole graph (one pass
answers every starting principal).
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from opensts.analyzer.escalation import moves as mv
from opensts.analyzer.escalation.admin import is_admin
from opensts.analyzer.escalation.model import Directory, Entity, decide, resource_tag_context
from opensts.analyzer.escalation.moves import Move, Node
from opensts.analyzer.escalation.steps import Step
from opensts.analyzer.escalation.tags import tag_then_assume

#: Variant nodes (principals after a move changed their permissions) allowed per stored
#: principal before the search stops and says it is incomplete.
VARIANTS_PER_PRINCIPAL = 32


class TrustIndex:
    """Which roles' trust policies may name a principal at all: by ARN, unique id, account
    (id or root ARN), session ARN, or ``*`` — a pre-filter, so that each (principal, role)
    pair is not evaluated; the engine decides each candidate. A Principal element holds no
    wildcards but a lone ``*`` (reference_policies_elements_principal)."""

    def __init__(self, roles: Iterable[Entity]):
        self.by_key: dict[str, list[Entity]] = defaultdict(list)
        for role in roles:
            assert role.trust is not None
            keys: set[str] = set()
            for st in role.trust.statements:
                if st.is_deny:
                    continue
                raw = st.raw.get("Principal")
                if raw == "*":
                    keys.add("*")
                    continue
                if not isinstance(raw, dict):
                    continue
                aws = raw.get("AWS", [])
                for value in [aws] if isinstance(aws, str) else aws:
                    keys.add(self._key(str(value)))
            for key in keys:
                self.by_key[key].append(role)

    @staticmethod
    def _key(value: str) -> str:
        if value.startswith("arn:aws:iam::") and value.endswith(":root"):
            return value.split(":")[4]
        if value.startswith("arn:aws:sts::") and ":assumed-role/" in value:
            account = value.split(":")[4]
            return f"session:{account}/{value.split('/')[1]}"
        return value

    def candidates(self, actor: Entity) -> list[Entity]:
        keys = ["*", actor.arn, actor.unique_id]
        if actor.kind == "role":
            keys.append(f"session:{actor.account}/{actor.name}")
        # A trust policy naming only the account delegates to the account's identity
        # policies: without an identity Allow of sts:AssumeRole the engine would refuse.
        if mv.may(actor, "sts:AssumeRole"):
            keys.append(actor.account)
        seen: dict[str, Entity] = {}
        for key in keys:
            for role in self.by_key.get(key, ()):
                seen.setdefault(role.arn, role)
        return list(seen.values())


@dataclass
class Graph:
    directory: Directory
    nodes: dict[str, Node] = field(default_factory=dict)
    out: dict[str, list[Move]] = field(default_factory=dict)
    admin: dict[str, bool] = field(default_factory=dict)
    truncated: list[str] = field(default_factory=list)  # principals whose search was cut


class _Found(Exception):
    """A certain move to an administrator: nothing else out of this node can shorten a path
    (any path through it may end with this move), so the node's other moves are skipped."""

    def __init__(self, move: Move):
        self.move = move


def moves_from(directory: Directory, node: Node, trust: TrustIndex,
               accounts: dict[str, list[Entity]], admin: Callable[[Node], bool]) -> list[Move]:
    try:
        return _moves(directory, node, trust, accounts, admin)
    except _Found as found:
        return [found.move]


def _moves(directory: Directory, node: Node, trust: TrustIndex,
           accounts: dict[str, list[Entity]], admin: Callable[[Node], bool]) -> list[Move]:
    actor = node.entity
    out: list[Move] = []

    def add(move: Move) -> None:
        if not move.conditional and admin(move.target):
            raise _Found(move)
        out.append(move)

    for kind, after, found in mv.grants(directory, actor, node):
        add(Move(kind, node.id, after, (found,), "widens its own permissions"))
    for kind, after, found in mv.removals(directory, actor, node):
        add(Move(kind, node.id, after, (found,), "lifts a limit on itself"))
    for kind in ("role", "user"):
        created = mv.create_principal(directory, actor, kind)
        if created is not None:
            add(replace_source(created, node.id))
    for after, found in mv.join_groups(directory, node):
        add(Move("add-user-to-group", node.id, after, (found,),
                 "adds itself to the group and gets its policies"))
    become: list[Move] = []

    def add_become(move: Move) -> None:
        add(move)
        become.append(move)

    assumable: set[str] = set()
    for role in trust.candidates(actor):
        if role.arn == actor.arn:
            continue
        step = mv.assume_role(directory, actor, role)
        if step is not None:
            assumable.add(role.arn)
            add_become(Move("assume-role", node.id, mv.base(role), (step,),
                            "assumes the role (its trust policy and the caller's "
                            "policies allow it)"))
            continue
        tagged = tag_then_assume(directory, actor, role)
        if tagged is not None:
            assumable.add(role.arn)
            add_become(replace_source(tagged, node.id))
    for other in accounts.get(actor.account, ()):
        if other.arn == actor.arn:
            continue
        if other.kind == "user":
            for m in mv.become_user(directory, actor, other):
                add_become(replace_source(m, node.id))
            continue
        if other.arn not in assumable:
            updated = mv.update_trust(directory, actor, other)
            if updated is not None:
                add_become(replace_source(updated, node.id))
        for m in mv.pass_role(directory, actor, other):
            add_become(replace_source(m, node.id))
    for move in become:
        if move.target.entity.account != actor.account:
            continue  # IAM changes only the caller's own account
        for kind, after, found in mv.grants(directory, actor, move.target):
            add(Move(kind, node.id, after, (found, *move.steps),
                     f"widens the permissions of {move.target.entity.arn}, then "
                     f"{move.summary}"))
    return out


def replace_source(move: Move, source: str) -> Move:
    return Move(move.kind, source, move.target, move.steps, move.summary)


def build(directory: Directory, starts: Iterable[str] | None = None) -> Graph:
    """Every node reachable from ``starts`` (stored principal ARNs; all by default), with
    its moves, stopping at administrators (nothing more to gain)."""
    graph = Graph(directory)
    entities = list(directory.entities.values())
    trust = TrustIndex(e for e in entities if e.kind == "role")
    accounts: dict[str, list[Entity]] = defaultdict(list)
    for e in entities:
        accounts[e.account].append(e)
    first = [directory.entities[a] for a in starts] if starts is not None else entities
    def admin(node: Node) -> bool:
        known = graph.admin.get(node.id)
        if known is None:
            known = graph.admin[node.id] = is_admin(directory, node.entity)
        return known

    queue = deque(mv.base(e) for e in first)
    for node in queue:
        graph.nodes[node.id] = node
    variants: dict[str, int] = defaultdict(int)
    while queue:
        node = queue.popleft()
        if admin(node):
            graph.out[node.id] = []
            continue
        found = moves_from(directory, node, trust, accounts, admin)
        graph.out[node.id] = found
        for move in found:
            target = move.target
            if target.id in graph.nodes:
                continue
            if target.variant:
                variants[target.entity.arn] += 1
                if variants[target.entity.arn] > VARIANTS_PER_PRINCIPAL:
                    if target.entity.arn not in graph.truncated:
                        graph.truncated.append(target.entity.arn)
                    continue
            graph.nodes[target.id] = target
            queue.append(target)
    return graph


@dataclass(frozen=True)
class Path:
    start: Node
    moves: tuple[Move, ...]

    @property
    def end(self) -> Node:
        return self.moves[-1].target if self.moves else self.start

    @property
    def conditional(self) -> bool:
        return any(m.conditional for m in self.moves)


def paths_to_admin(graph: Graph, starts: Iterable[str] | None = None) -> list[Path]:
    """The shortest path to an administrator from each stored principal in ``starts``
    (all by default) that is not one already and has one; a path of certain moves is
    preferred to a shorter one with conditional moves."""
    incoming: dict[str, list[Move]] = defaultdict(list)
    for moves in graph.out.values():
        for move in moves:
            if move.target.id in graph.nodes:
                incoming[move.target.id].append(move)
    best: dict[str, Move] = {}
    # Two passes: certain moves only, then any move, so that certainty wins over length.
    for certain_only in (True, False):
        frontier = deque(n for n, a in graph.admin.items() if a)
        reached = set(frontier) | set(best)
        frontier.extend(n for n in best if n not in frontier)
        while frontier:
            node_id = frontier.popleft()
            for move in incoming.get(node_id, ()):
                if certain_only and move.conditional:
                    continue
                if move.source in reached:
                    continue
                reached.add(move.source)
                best[move.source] = move
                frontier.append(move.source)
    ids = list(starts) if starts is not None else [
        n.id for n in graph.nodes.values() if not n.variant]
    out = []
    for node_id in ids:
        if graph.admin.get(node_id) or node_id not in best:
            continue
        hops: list[Move] = []
        current = node_id
        while current in best and len(hops) <= len(graph.nodes):
            move = best[current]
            hops.append(move)
            current = move.target.id
        out.append(Path(graph.nodes[node_id], tuple(hops)))
    return out


def admins(graph: Graph) -> list[Node]:
    return [graph.nodes[n] for n, a in graph.admin.items() if a and not graph.nodes[n].variant]


# -- who can -------------------------------------------------------------------------------

def who_can(directory: Directory, action: str, resource: str) -> list[tuple[Entity, Step]]:
    """Every stored principal the engine allows ``action`` on ``resource`` (or conditionally
    allows), with the resource's own policy when the directory holds it: a role's trust
    policy for sts:AssumeRole*, a bucket's policy for S3."""
    parts = resource.split(":")
    account = parts[4] if len(parts) > 5 and len(parts[4]) == 12 else None
    policy = None
    trust = False
    tags: dict[str, str | list[str]] = {}
    target = directory.entities.get(resource)
    if target is not None:
        tags = resource_tag_context(target.tags)
        if target.trust is not None and action.lower().startswith("sts:assumerole"):
            policy, trust = (target.arn, target.trust), True
    elif len(parts) > 5 and parts[2] == "s3":
        bucket = parts[5].split("/", 1)[0]
        found = directory.buckets.get(bucket)
        if found is not None:
            account = found[0]
            policy = found[1]
    out = []
    for entity in directory.entities.values():
        got = decide(directory, entity, action, resource, resource_account=account,
                     resource_policy=policy, trust=trust, extra=tags)
        if got is not None:
            out.append((entity, got))
    return out
