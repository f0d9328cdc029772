"""Evaluate a decision tree over a whole table of answers at once (Apache Arrow compute).

Each question is bound to a signal column (`Binding`): `true` answers `yes`, `false`
answers `no`, a text column gives the answer label itself, and a missing value (null)
takes the binding's `missing_answer` and is reported as a data gap. Rows walk the tree
together: questions are visited in topological order and, at each, every row standing on
it takes the edge of its answer. The loop runs over the questions, never over the rows.

The dbt macro `decision_tree_outcomes` compiles the same rules to nested CASE expressions
for engines without Python models; both give identical outcomes, paths and gaps.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from customer_health.decision_tree.dsl import DecisionDag

KEY_COLUMNS = ("account_id", "as_of_date")
GAP_SEPARATOR = "; "
PATH_SEPARATOR = ">"


@dataclass(frozen=True)
class Binding:
    """Which signal column answers a question, and what a missing value answers."""

    question_id: str
    signal_column: str
    missing_answer: str
    missing_reason: str

    def gap_text(self) -> str:
        return f"{self.question_id}: {self.missing_reason}"


class BindingError(ValueError):
    """Bindings that do not fit the tree or the signal table."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        listed = "\n".join(f"  {problem}" for problem in problems)
        super().__init__(f"{len(problems)} problem(s) in the decision tree bindings:\n{listed}")


def check_bindings(
    dag: DecisionDag, bindings: Iterable[Binding], signal_types: Mapping[str, pa.DataType]
) -> dict[str, Binding]:
    """Bindings by question id; raise `BindingError` unless every question has exactly one
    binding to an existing boolean or text column whose missing answer is one of the
    question's answers."""
    problems: list[str] = []
    by_question: dict[str, Binding] = {}
    for binding in bindings:
        if binding.question_id in by_question:
            problems.append(f"question '{binding.question_id}' is bound twice")
            continue
        by_question[binding.question_id] = binding
        question = dag.questions.get(binding.question_id)
        if question is None:
            problems.append(f"binding for unknown question '{binding.question_id}'")
            continue
        column_type = signal_types.get(binding.signal_column)
        if column_type is None:
            problems.append(
                f"question '{question.id}' is bound to '{binding.signal_column}', "
                "which is not a column of the signal table"
            )
        elif not (pa.types.is_boolean(column_type) or pa.types.is_string(column_type)):
            problems.append(
                f"question '{question.id}' is bound to '{binding.signal_column}' of type "
                f"{column_type}; bind a boolean or text column"
            )
        if question.edge_for(binding.missing_answer) is None:
            answers = ", ".join(f"'{edge.answer}'" for edge in question.edges)
            problems.append(
                f"missing answer '{binding.missing_answer}' of '{question.id}' is not one of "
                f"its answers ({answers})"
            )
    problems.extend(
        f"question '{question_id}' has no binding"
        for question_id in dag.questions
        if question_id not in by_question
    )
    if problems:
        raise BindingError(problems)
    return by_question


def _answers(column: pa.ChunkedArray, missing_answer: str) -> pa.ChunkedArray:
    labels = pc.if_else(column, "yes", "no") if pa.types.is_boolean(column.type) else column
    return pc.fill_null(labels, missing_answer)


def _append(text: pa.ChunkedArray, piece: pa.ChunkedArray, separator: str) -> pa.ChunkedArray:
    """`text + separator + piece`, or `piece` where text is null."""
    return pc.coalesce(pc.binary_join_element_wise(text, piece, separator), piece)


def evaluate_table(
    dag: DecisionDag, bindings: Mapping[str, Binding], signals: pa.Table
) -> pa.Table:
    """(account_id, as_of_date, outcome_id, decision_path, data_gaps, data_gap_count) for
    every row of `signals`. `outcome_id` is null where an answer has no edge; the gap says
    which."""
    rows = signals.num_rows
    current = pc.fill_null(pa.nulls(rows, pa.string()), dag.entry)
    path = pa.nulls(rows, pa.string())
    gaps = pa.nulls(rows, pa.string())
    gap_count = pc.fill_null(pa.nulls(rows, pa.int32()), 0)
    for question_id in dag.question_order():
        here = pc.fill_null(pc.equal(current, question_id), False)
        if not pc.any(here).as_py():
            continue
        question = dag.questions[question_id]
        binding = bindings[question_id]
        column = signals.column(binding.signal_column)
        answer = _answers(column, binding.missing_answer)
        step = pc.binary_join_element_wise(f"{question_id}:", answer, "")
        path = pc.if_else(here, _append(path, step, PATH_SEPARATOR), path)

        edge_index = pc.index_in(answer, value_set=pa.array([e.answer for e in question.edges]))
        targets = pa.array([edge.target for edge in question.edges], pa.string())
        current = pc.if_else(here, pc.take(targets, edge_index), current)

        missing = pc.and_(here, pc.is_null(column))
        gap = pa.scalar(binding.gap_text())
        gaps = pc.if_else(missing, _append(gaps, gap, GAP_SEPARATOR), gaps)
        gap_count = pc.if_else(missing, pc.add(gap_count, 1), gap_count)

        stuck = pc.and_(here, pc.is_null(edge_index))
        if pc.any(stuck).as_py():
            note = pc.binary_join_element_wise(
                f"{question_id}: no edge for answer '", answer, "'", ""
            )
            gaps = pc.if_else(stuck, _append(gaps, note, GAP_SEPARATOR), gaps)
            gap_count = pc.if_else(stuck, pc.add(gap_count, 1), gap_count)

    reached = pc.is_in(current, value_set=pa.array(list(dag.outcomes), pa.string()))
    outcome = pc.if_else(reached, current, pa.scalar(None, pa.string()))
    return pa.table(
        {
            "account_id": signals.column("account_id"),
            "as_of_date": signals.column("as_of_date"),
            "outcome_id": outcome,
            "decision_path": path,
            "data_gaps": gaps,
            "data_gap_count": pc.cast(gap_count, pa.int32()),
        }
    )


def outcome_table(dag: DecisionDag) -> pa.Table:
    """One row per outcome: id, label, code, color and description (the recommended action)."""
    outcomes = list(dag.outcomes.values())
    return pa.table(
        {
            "outcome_id": [outcome.id for outcome in outcomes],
            "outcome_label": [outcome.label for outcome in outcomes],
            "outcome_code": [outcome.code for outcome in outcomes],
            "outcome_color": [outcome.color for outcome in outcomes],
            "recommended_action": [outcome.description for outcome in outcomes],
        },
        schema=pa.schema(
            [
                (name, pa.string())
                for name in (
                    "outcome_id",
                    "outcome_label",
                    "outcome_code",
                    "outcome_color",
                    "recommended_action",
                )
            ]
        ),
    )
