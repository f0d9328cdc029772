"""Parser and validator for the Decision DAG DSL (the `.dag` files of drawdecisiontree.com).

A file holds header fields, then questions and outcomes::

    dag: How do I assess the health of a customer account?
    version: 1.0.0
    entry: Q1

    Q1: Is adoption above 60% of licensed seats?
      hint: Check the product analytics dashboard.
      yes -> Q2
      no  -> [AT_RISK]

    [AT_RISK]: At Risk (Orange)
      color: #f97316
      description: Build a 30-day recovery plan.
      code: CS_HEALTH_ORANGE

- Header fields are `key: value` lines before the first node; the known keys are
  `HEADER_FIELDS`. `tags` is a comma-separated list.
- A question is `ID: text` at the start of a line; an outcome is `[ID]: label`.
- Indented lines below a node are its properties (`key: value`) or, for questions, answer
  edges `label -> TARGET`: a bare `TARGET` is a question, `[TARGET]` an outcome. Any label
  may be used (`yes`, `no`, `not sure`, ...).
- Blank lines and lines starting with `#` or `//` are ignored.

`parse_dag` collects every problem with its line number and raises `DagError` listing
them: unreadable lines, duplicate ids or answers, a missing or unknown entry, a question
without an answer edge, an unknown edge target, a cycle, an unreachable node. The messages
are the ones the dbt macro `parse_decision_dag` gives for the same file.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

HEADER_FIELDS = frozenset(
    {"dag", "version", "image", "description", "tags", "entry", "mode", "locale", "author"}
)
# Property keys read before the `label -> target` form, so a hint may contain "->".
NODE_PROPERTIES = frozenset({"hint", "color", "description", "code"})

# Spaces are matched as [ \t] (not \s) and the "[" of an outcome is tested before the
# pattern (no backslashes), so that the dbt macro's patterns are the same.
_ID = r"[A-Za-z0-9_][-A-Za-z0-9_.]*"
_OUTCOME_LINE = re.compile(rf"^({_ID})][ \t]*:[ \t]*(.*)$")
_KEY_LINE = re.compile(rf"^({_ID})[ \t]*:[ \t]*(.*)$")
_PROPERTY_LINE = re.compile(r"^([A-Za-z_][-A-Za-z0-9_]*)[ \t]*:[ \t]*(.*)$")
_EDGE_LINE = re.compile(r"^(.*?)[ \t]*->[ \t]*(.*)$")
_OUTCOME_REF = re.compile(rf"^({_ID})]$")
_QUESTION_REF = re.compile(rf"^({_ID})$")


@dataclass(frozen=True)
class DagIssue:
    """One problem in a DSL file."""

    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


class DagError(ValueError):
    """A DSL file that cannot be used, with every problem found."""

    def __init__(self, issues: list[DagIssue], source: str = "<dsl>") -> None:
        self.issues = sorted(issues, key=lambda issue: (issue.line, issue.message))
        self.source = source
        listed = "\n".join(f"  {source}:{issue}" for issue in self.issues)
        super().__init__(f"{len(self.issues)} problem(s) in decision tree {source}:\n{listed}")


@dataclass(frozen=True)
class Edge:
    """An answer to a question and the node it leads to."""

    answer: str
    target: str
    target_is_outcome: bool
    line: int


@dataclass
class Question:
    id: str
    text: str
    line: int
    properties: dict[str, str] = field(default_factory=dict)
    edges: list[Edge] = field(default_factory=list)

    @property
    def hint(self) -> str | None:
        return self.properties.get("hint")

    def edge_for(self, answer: str) -> Edge | None:
        return next((edge for edge in self.edges if edge.answer == answer), None)


@dataclass
class Outcome:
    id: str
    label: str
    line: int
    properties: dict[str, str] = field(default_factory=dict)

    @property
    def color(self) -> str | None:
        return self.properties.get("color")

    @property
    def description(self) -> str | None:
        return self.properties.get("description")

    @property
    def code(self) -> str | None:
        return self.properties.get("code")


@dataclass(frozen=True)
class Step:
    """A question visited and the answer taken."""

    question_id: str
    answer: str


@dataclass(frozen=True)
class DagPath:
    """A root-to-outcome path."""

    steps: tuple[Step, ...]
    outcome_id: str

    @property
    def decision_path(self) -> str:
        return format_path(self.steps)


def format_path(steps: tuple[Step, ...] | list[Step]) -> str:
    """`Q1:yes>Q2:no>Q4:yes`: the questions visited and the answers taken, in order."""
    return ">".join(f"{step.question_id}:{step.answer}" for step in steps)


@dataclass
class DecisionDag:
    """A parsed, valid decision tree."""

    header: dict[str, str]
    questions: dict[str, Question]
    outcomes: dict[str, Outcome]

    @property
    def entry(self) -> str:
        return self.header["entry"]

    @property
    def name(self) -> str | None:
        return self.header.get("dag")

    @property
    def version(self) -> str | None:
        return self.header.get("version")

    @property
    def tags(self) -> list[str]:
        return [tag.strip() for tag in self.header.get("tags", "").split(",") if tag.strip()]

    def question_order(self) -> list[str]:
        """Questions in topological order from the entry: a question comes after every
        question that can lead to it (depth-first, answers in file order)."""
        seen: set[str] = set()
        finished: list[str] = []

        def visit(question_id: str) -> None:
            seen.add(question_id)
            for edge in self.questions[question_id].edges:
                if not edge.target_is_outcome and edge.target not in seen:
                    visit(edge.target)
            finished.append(question_id)

        visit(self.entry)
        return finished[::-1]

    def paths(self) -> list[DagPath]:
        """Every root-to-outcome path, answers in file order."""
        found: list[DagPath] = []

        def walk(question_id: str, steps: tuple[Step, ...]) -> None:
            for edge in self.questions[question_id].edges:
                taken = (*steps, Step(question_id, edge.answer))
                if edge.target_is_outcome:
                    found.append(DagPath(taken, edge.target))
                else:
                    walk(edge.target, taken)

        walk(self.entry, ())
        return found

    def walk(self, answers: dict[str, str]) -> tuple[list[Step], str | None]:
        """Follow the tree for one set of answers (question id -> answer label): the steps
        taken and the outcome, or None when an answer has no edge. A reference for tests;
        the models evaluate whole tables at once."""
        steps: list[Step] = []
        node = self.entry
        while True:
            answer = answers[node]
            steps.append(Step(node, answer))
            edge = self.questions[node].edge_for(answer)
            if edge is None:
                return steps, None
            if edge.target_is_outcome:
                return steps, edge.target
            node = edge.target


def parse_dag(text: str, source: str = "<dsl>") -> DecisionDag:
    """Parse and validate DSL text; raise `DagError` listing every problem."""
    issues: list[DagIssue] = []
    header: dict[str, str] = {}
    header_lines: dict[str, int] = {}
    questions: dict[str, Question] = {}
    outcomes: dict[str, Outcome] = {}
    node_lines: dict[str, int] = {}
    current: Question | Outcome | None = None

    def define(node_id: str, line: int) -> bool:
        if node_id in node_lines:
            first = node_lines[node_id]
            issues.append(
                DagIssue(line, f"duplicate id '{node_id}' (first defined on line {first})")
            )
            return False
        node_lines[node_id] = line
        return True

    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.rstrip()
        stripped = line.strip()
        if not stripped or stripped.startswith(("#", "//")):
            continue
        if line[:1] not in (" ", "\t"):
            current = None
            outcome_match = _OUTCOME_LINE.match(line[1:]) if line[:1] == "[" else None
            key_match = _KEY_LINE.match(line)
            if outcome_match:
                outcome_id, label = outcome_match.groups()
                outcome = Outcome(outcome_id, label.strip(), number)
                if define(outcome_id, number):
                    outcomes[outcome_id] = outcome
                current = outcome
            elif key_match and key_match.group(1) in HEADER_FIELDS and not node_lines:
                key, value = key_match.groups()
                if key in header:
                    issues.append(
                        DagIssue(
                            number,
                            f"duplicate header field '{key}' (first on line {header_lines[key]})",
                        )
                    )
                else:
                    header[key] = value.strip()
                    header_lines[key] = number
            elif key_match and key_match.group(1) in HEADER_FIELDS:
                issues.append(
                    DagIssue(
                        number,
                        f"header field '{key_match.group(1)}' after the first question or outcome",
                    )
                )
            elif key_match:
                question_id, question_text = key_match.groups()
                question = Question(question_id, question_text.strip(), number)
                if not question.text:
                    issues.append(DagIssue(number, f"question '{question_id}' has no text"))
                if define(question_id, number):
                    questions[question_id] = question
                current = question
            else:
                issues.append(DagIssue(number, f"cannot read line: {stripped}"))
            continue
        if current is None:
            issues.append(
                DagIssue(number, f"indented line outside a question or outcome: {stripped}")
            )
            continue
        property_match = _PROPERTY_LINE.match(stripped)
        edge_match = _EDGE_LINE.match(stripped)
        if property_match and (property_match.group(1) in NODE_PROPERTIES or not edge_match):
            key, value = property_match.groups()
            if key in current.properties:
                issues.append(DagIssue(number, f"duplicate property '{key}' of '{current.id}'"))
            else:
                current.properties[key] = value.strip()
        elif edge_match:
            _read_edge(current, edge_match.group(1), edge_match.group(2).strip(), number, issues)
        else:
            issues.append(DagIssue(number, f"cannot read line: {stripped}"))

    issues.extend(_check_graph(header, header_lines, questions, outcomes))
    if issues:
        raise DagError(issues, source)
    return DecisionDag(header, questions, outcomes)


def _read_edge(
    node: Question | Outcome, answer: str, target: str, line: int, issues: list[DagIssue]
) -> None:
    if isinstance(node, Outcome):
        issues.append(DagIssue(line, f"outcome '{node.id}' cannot have answers"))
        return
    outcome_ref = _OUTCOME_REF.match(target[1:]) if target[:1] == "[" else None
    question_ref = _QUESTION_REF.match(target)
    if not answer:
        issues.append(DagIssue(line, f"answer of '{node.id}' has no label"))
    elif not (outcome_ref or question_ref):
        issues.append(DagIssue(line, f"cannot read edge target '{target}'"))
    elif node.edge_for(answer) is not None:
        issues.append(DagIssue(line, f"duplicate answer '{answer}' of '{node.id}'"))
    elif outcome_ref:
        node.edges.append(Edge(answer, outcome_ref.group(1), True, line))
    else:
        node.edges.append(Edge(answer, target, False, line))


def _check_graph(
    header: dict[str, str],
    header_lines: dict[str, int],
    questions: dict[str, Question],
    outcomes: dict[str, Outcome],
) -> Iterator[DagIssue]:
    for question in questions.values():
        if not question.edges:
            yield DagIssue(question.line, f"question '{question.id}' has no answer edge")
        for edge in question.edges:
            known = outcomes if edge.target_is_outcome else questions
            if edge.target not in known:
                written = f"[{edge.target}]" if edge.target_is_outcome else edge.target
                kind = "outcome" if edge.target_is_outcome else "question"
                yield DagIssue(
                    edge.line,
                    f"unknown edge target '{written}': no {kind} '{edge.target}' "
                    f"(answer '{edge.answer}' of '{question.id}')",
                )
    entry = header.get("entry")
    if not entry:
        yield DagIssue(1, "missing header field 'entry'")
        return
    if entry not in questions:
        yield DagIssue(header_lines["entry"], f"entry '{entry}' is not a question")
        return
    yield from _check_cycles(questions)
    reachable = _reachable(entry, questions)
    nodes: list[tuple[str, Question | Outcome]] = [*questions.items(), *outcomes.items()]
    for node_id, node in nodes:
        if node_id not in reachable:
            yield DagIssue(node.line, f"'{node_id}' cannot be reached from entry '{entry}'")


def _check_cycles(questions: dict[str, Question]) -> Iterator[DagIssue]:
    """One issue per edge that closes a cycle (depth-first, questions in file order)."""
    state: dict[str, str] = {}
    stack: list[str] = []
    found: list[DagIssue] = []

    def visit(question_id: str) -> None:
        state[question_id] = "open"
        stack.append(question_id)
        for edge in questions[question_id].edges:
            if edge.target_is_outcome or edge.target not in questions:
                continue
            if state.get(edge.target) == "open":
                loop = [*stack[stack.index(edge.target) :], edge.target]
                found.append(DagIssue(edge.line, f"cycle: {' -> '.join(loop)}"))
            elif edge.target not in state:
                visit(edge.target)
        stack.pop()
        state[question_id] = "done"

    for question_id in questions:
        if question_id not in state:
            visit(question_id)
    yield from found


def _reachable(entry: str, questions: dict[str, Question]) -> set[str]:
    seen = {entry}
    pending = [entry]
    while pending:
        for edge in questions[pending.pop()].edges:
            if edge.target not in seen:
                seen.add(edge.target)
                if not edge.target_is_outcome and edge.target in questions:
                    pending.append(edge.target)
    return seen


def load_dag(path: str | Path) -> DecisionDag:
    """Parse and validate a `.dag` file."""
    file = Path(path)
    return parse_dag(file.read_text(encoding="utf-8"), source=str(file))
