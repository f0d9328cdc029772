"""The Decision DAG DSL: parsing the shipped tree, line-numbered errors, vectorised evaluation."""

from __future__ import annotations

import datetime as dt
import itertools
import json
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from customer_health.decision_tree import (
    Binding,
    BindingError,
    DagError,
    check_bindings,
    evaluate_table,
    load_dag,
    parse_dag,
)
from customer_health.decision_tree.dbt_model import decision_tree_relation
from customer_health.decision_tree.dsl import format_path

PROJECT_DIR = Path(__file__).resolve().parents[3]
SEED_DAG = PROJECT_DIR / "seeds" / "cs-customer-health.dag"
FIXTURES = PROJECT_DIR / "tests" / "fixtures" / "decision_trees"
EXPECTED_ERRORS = json.loads((FIXTURES / "expected_errors.json").read_text())

# The shipped bindings: Q5 and Q6 ask the same question.
SIGNALS = {
    "Q1": "is_adoption_above_target",
    "Q2": "is_recently_engaged",
    "Q3": "is_latest_survey_satisfied",
    "Q4": "has_support_backlog",
    "Q5": "is_renewal_due",
    "Q6": "is_renewal_due",
}
BINDINGS = {
    question_id: Binding(question_id, column, "no", f"no data for {column}")
    for question_id, column in SIGNALS.items()
}
SIGNAL_TYPES = {column: pa.bool_() for column in SIGNALS.values()}
DAY = dt.date(2024, 3, 31)


def signal_table(rows: list[dict[str, object]], types: dict[str, pa.DataType]) -> pa.Table:
    columns = {
        "account_id": pa.array([f"acc_{i:04d}" for i in range(len(rows))]),
        "as_of_date": pa.array([DAY] * len(rows), pa.date32()),
    }
    for column, column_type in types.items():
        columns[column] = pa.array([row.get(column) for row in rows], column_type)
    return pa.table(columns)


def test_the_shipped_tree_parses_with_its_header() -> None:
    dag = load_dag(SEED_DAG)
    assert dag.entry == "Q1"
    assert dag.version == "1.0.0"
    assert dag.name == "How do I assess the health of a customer account?"
    assert dag.tags == [
        "customer success",
        "health score",
        "churn prevention",
        "account management",
    ]
    assert list(dag.questions) == ["Q1", "Q2", "Q3", "Q4", "Q5", "Q6"]
    assert list(dag.outcomes) == ["HEALTHY", "NEEDS_ATTENTION", "AT_RISK", "CRITICAL"]
    assert dag.questions["Q3"].hint is not None
    assert "90 days" in dag.questions["Q3"].hint
    assert [(e.answer, e.target) for e in dag.questions["Q4"].edges] == [
        ("yes", "Q5"),
        ("no", "Q6"),
    ]
    assert dag.outcomes["CRITICAL"].code == "CS_HEALTH_RED"
    assert dag.outcomes["HEALTHY"].color == "#22c55e"
    assert dag.outcomes["AT_RISK"].description.startswith("Multiple health signals")


def test_the_shipped_tree_matches_its_json_export() -> None:
    """The publisher's JSON export holds the same DSL, questions and outcomes."""
    export = json.loads((FIXTURES / "cs-customer-health.tree.json").read_text())
    assert export["dsl"] == SEED_DAG.read_text()
    dag = load_dag(SEED_DAG)
    assert [(q["id"], q["text"]) for q in export["questions"]] == [
        (q.id, q.text) for q in dag.questions.values()
    ]
    assert [(o["id"], o["label"]) for o in export["outcomes"]] == [
        (o.id, o.label) for o in dag.outcomes.values()
    ]
    assert export["meta"]["entry"] == dag.entry
    assert export["meta"]["tags"] == dag.tags


def test_the_shipped_tree_has_sixteen_root_to_outcome_paths() -> None:
    paths = {path.decision_path: path.outcome_id for path in load_dag(SEED_DAG).paths()}
    assert len(paths) == 16
    assert paths["Q1:yes>Q2:yes>Q3:yes>Q4:no>Q6:no"] == "HEALTHY"
    assert paths["Q1:yes>Q2:no>Q4:no>Q6:yes"] == "NEEDS_ATTENTION"
    assert paths["Q1:no>Q3:no>Q5:no"] == "AT_RISK"
    assert paths["Q1:no>Q3:no>Q5:yes"] == "CRITICAL"
    assert {outcome for outcome in paths.values()} == set(load_dag(SEED_DAG).outcomes)


@pytest.mark.parametrize("fixture", sorted(EXPECTED_ERRORS))
def test_malformed_trees_give_line_numbered_errors(fixture: str) -> None:
    with pytest.raises(DagError) as raised:
        parse_dag((FIXTURES / fixture).read_text(), source=fixture)
    assert [str(issue) for issue in raised.value.issues] == EXPECTED_ERRORS[fixture]
    assert f"{fixture}:line " in str(raised.value)


def test_every_path_of_the_shipped_tree_is_evaluated() -> None:
    """One row per path, answering its questions and leaving the others contrary."""
    dag = load_dag(SEED_DAG)
    paths = dag.paths()
    rows = []
    for path in paths:
        answers = {step.question_id: step.answer for step in path.steps}
        row: dict[str, object] = {column: False for column in SIGNALS.values()}
        for question_id, answer in answers.items():
            row[SIGNALS[question_id]] = answer == "yes"
        rows.append(row)
    result = evaluate_table(dag, BINDINGS, signal_table(rows, SIGNAL_TYPES)).to_pylist()
    assert [(r["decision_path"], r["outcome_id"]) for r in result] == [
        (path.decision_path, path.outcome_id) for path in paths
    ]
    assert all(r["data_gaps"] is None and r["data_gap_count"] == 0 for r in result)


def test_evaluation_equals_walking_each_row() -> None:
    """Every combination of yes / no / missing for the five signals, against a row walk."""
    dag = load_dag(SEED_DAG)
    columns = list(dict.fromkeys(SIGNALS.values()))
    combos = list(itertools.product([True, False, None], repeat=len(columns)))
    rows = [dict(zip(columns, combo, strict=True)) for combo in combos]
    result = evaluate_table(dag, BINDINGS, signal_table(rows, SIGNAL_TYPES)).to_pylist()
    for row, got in zip(rows, result, strict=True):
        answers = {
            q: "no" if row[c] is None else ("yes" if row[c] else "no") for q, c in SIGNALS.items()
        }
        steps, outcome = dag.walk(answers)
        gaps = [
            BINDINGS[s.question_id].gap_text() for s in steps if row[SIGNALS[s.question_id]] is None
        ]
        assert got["decision_path"] == format_path(steps)
        assert got["outcome_id"] == outcome
        assert got["data_gaps"] == ("; ".join(gaps) or None)
        assert got["data_gap_count"] == len(gaps)


def test_a_missing_survey_answers_no_and_is_reported_as_a_gap() -> None:
    dag = load_dag(SEED_DAG)
    row = dict.fromkeys(SIGNALS.values(), False) | {"is_latest_survey_satisfied": None}
    [got] = evaluate_table(dag, BINDINGS, signal_table([row], SIGNAL_TYPES)).to_pylist()
    assert got["decision_path"] == "Q1:no>Q3:no>Q5:no"
    assert got["outcome_id"] == "AT_RISK"
    assert got["data_gaps"] == "Q3: no data for is_latest_survey_satisfied"


def test_custom_answer_labels_come_from_a_text_column() -> None:
    dag = load_dag(FIXTURES / "custom_answers.dag")
    bindings = {
        "ADOPTION": Binding("ADOPTION", "adoption_level", "low", "no adoption data"),
        "RENEWAL": Binding("RENEWAL", "is_renewal_due", "yes", "no renewal date"),
    }
    types = {"adoption_level": pa.string(), "is_renewal_due": pa.bool_()}
    rows = [
        {"adoption_level": "high", "is_renewal_due": False},
        {"adoption_level": "medium", "is_renewal_due": None},
        {"adoption_level": None, "is_renewal_due": True},
        {"adoption_level": "unheard of", "is_renewal_due": True},
    ]
    result = evaluate_table(dag, bindings, signal_table(rows, types)).to_pylist()
    assert [(r["decision_path"], r["outcome_id"], r["data_gaps"]) for r in result] == [
        ("ADOPTION:high>RENEWAL:no", "GREEN", None),
        ("ADOPTION:medium>RENEWAL:yes", "AMBER", "RENEWAL: no renewal date"),
        ("ADOPTION:low", "RED", "ADOPTION: no adoption data"),
        ("ADOPTION:unheard of", None, "ADOPTION: no edge for answer 'unheard of'"),
    ]


def test_swapping_two_outcomes_in_the_dsl_swaps_the_results() -> None:
    text = SEED_DAG.read_text()
    swapped = (
        text.replace("-> [CRITICAL]", "-> [SWAP]")
        .replace("-> [HEALTHY]", "-> [CRITICAL]")
        .replace("-> [SWAP]", "-> [HEALTHY]")
    )
    original, edited = parse_dag(text), parse_dag(swapped)
    columns = list(dict.fromkeys(SIGNALS.values()))
    rows = [
        dict(zip(columns, combo, strict=True))
        for combo in itertools.product([True, False], repeat=len(columns))
    ]
    table = signal_table(rows, SIGNAL_TYPES)
    before = evaluate_table(original, BINDINGS, table).column("outcome_id").to_pylist()
    after = evaluate_table(edited, BINDINGS, table).column("outcome_id").to_pylist()
    flip = {"CRITICAL": "HEALTHY", "HEALTHY": "CRITICAL"}
    assert after == [flip.get(outcome, outcome) for outcome in before]
    assert before != after


def test_bindings_are_checked_against_the_tree_and_the_signals() -> None:
    dag = load_dag(SEED_DAG)
    bindings = [b for b in BINDINGS.values() if b.question_id != "Q6"] + [
        Binding("Q1", "is_renewal_due", "no", "again"),
        Binding("Q7", "is_renewal_due", "no", "unknown question"),
    ]
    types = dict(SIGNAL_TYPES) | {"has_support_backlog": pa.int32()}
    bindings[1] = Binding("Q2", "no_such_column", "no", "x")
    bindings[2] = Binding("Q3", "is_latest_survey_satisfied", "maybe", "x")
    with pytest.raises(BindingError) as raised:
        check_bindings(dag, bindings, types)
    assert raised.value.problems == [
        "question 'Q2' is bound to 'no_such_column', which is not a column of the signal table",
        "missing answer 'maybe' of 'Q3' is not one of its answers ('yes', 'no')",
        "question 'Q4' is bound to 'has_support_backlog' of type int32; "
        "bind a boolean or text column",
        "question 'Q1' is bound twice",
        "binding for unknown question 'Q7'",
        "question 'Q6' has no binding",
    ]


def test_the_model_body_returns_a_duckdb_relation_with_the_mart_columns() -> None:
    con = duckdb.connect()
    con.execute(
        "create table definition as "
        "select ? as dsl_path, ? as dsl_text, ? as decision_tree_version",
        ["seeds/cs-customer-health.dag", SEED_DAG.read_text(), "1.0.0+test"],
    )
    con.execute(
        "create table bindings as select * from (values "
        + ", ".join(
            f"('{b.question_id}', '{b.signal_column}', 'no', 'gap')" for b in BINDINGS.values()
        )
        + ") as t(question_id, signal_column, missing_answer, missing_reason)"
    )
    con.register(
        "signals_arrow", signal_table([dict.fromkeys(SIGNALS.values(), True)], SIGNAL_TYPES)
    )
    con.execute("create table signals as select * from signals_arrow")
    relation = decision_tree_relation(
        con, con.table("definition"), con.table("bindings"), con.table("signals")
    )
    assert isinstance(relation, duckdb.DuckDBPyRelation)
    assert relation.columns == [
        "account_id", "outcome_id", "outcome_label", "outcome_code", "outcome_color",
        "decision_path", "recommended_action", "data_gaps", "decision_tree_version",
        "data_gap_count", "has_data_gap", "as_of_date",
    ]  # fmt: skip
    [row] = relation.fetchall()
    assert row[1:4] == ("CRITICAL", "Critical (Red Flag)", "CS_HEALTH_RED")
    assert row[5] == "Q1:yes>Q2:yes>Q3:yes>Q4:yes>Q5:yes"
    assert row[8:] == ("1.0.0+test", 0, False, DAY)


def test_the_checker_lists_paths_or_line_numbered_errors() -> None:
    from rich.console import Console

    from customer_health.decision_tree.check import main

    console = Console(record=True, width=200)
    assert main([str(SEED_DAG)], console=console) == 0
    text = console.export_text()
    assert "6 questions, 4 outcomes" in text
    assert "16 root-to-outcome paths" in text
    assert "Q1:no>Q3:no>Q5:yes" in text

    console = Console(record=True, width=200)
    assert main([str(FIXTURES / "cycle.dag"), str(SEED_DAG)], console=console) == 1
    assert f"{FIXTURES / 'cycle.dag'}:line 13: cycle: Q2 -> Q3 -> Q2" in console.export_text()
