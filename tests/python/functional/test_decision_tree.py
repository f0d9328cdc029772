"""The decision tree in dbt: Python and compiled-SQL variants, DSL edits, bindings, errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from dbt.cli.main import dbtRunnerResult
from harness import DbtProject, broken_rules, copy_project, project_for, statuses

from customer_health.decision_tree import load_dag

pytestmark = pytest.mark.functional

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "decision_trees"
TREE_MODELS = (
    "decision_tree_bindings int_decision_tree_definition int_decision_tree_signals "
    "fct_account_health_decision_tree"
)
SIGNAL_COLUMNS = (
    "is_adoption_above_target",
    "is_recently_engaged",
    "is_latest_survey_satisfied",
    "has_support_backlog",
    "is_renewal_due",
)
SEED_DAG = Path(__file__).resolve().parents[3] / "seeds" / "cs-customer-health.dag"
SHIPPED_BINDINGS = {
    "Q1": ("is_adoption_above_target", "no"),
    "Q2": ("is_recently_engaged", "no"),
    "Q3": ("is_latest_survey_satisfied", "no"),
    "Q4": ("has_support_backlog", "no"),
    "Q5": ("is_renewal_due", "no"),
    "Q6": ("is_renewal_due", "no"),
}
# Replaces the signal model: every combination of true / false / null for the five bound
# signals, times five adoption levels for a tree with other answer labels.
TRUTH_TABLE_MODEL = (
    "with answer_values as (\n"
    "    select * from (values (true), (false), (cast(null as boolean))) as v (answer)\n"
    "),\n"
    "levels as (\n"
    "    select * from (values ('high'), ('medium'), ('low'), ('unheard of'),"
    " (cast(null as varchar))) as l (level)\n"
    ")\n"
    "select\n"
    "    concat_ws('-', "
    + ", ".join(f"coalesce(cast(s{i}.answer as varchar), 'null')" for i in range(5))
    + ", coalesce(levels.level, 'null')) as account_id,\n"
    "    date '2024-03-31' as as_of_date,\n"
    + "".join(f"    s{i}.answer as {column},\n" for i, column in enumerate(SIGNAL_COLUMNS))
    + "    levels.level as adoption_level\n"
    "from answer_values as s0\n"
    + "".join(f"cross join answer_values as s{i}\n" for i in range(1, 5))
    + "cross join levels\n"
)
TREE_COLUMNS = "account_id, outcome_id, decision_path, data_gaps, data_gap_count, has_data_gap"


@pytest.fixture(scope="module")
def tree_project(tmp_path_factory: pytest.TempPathFactory) -> DbtProject:
    """A project copy whose signal model is the truth table (no raw data needed)."""
    tmp = tmp_path_factory.mktemp("decision_tree")
    project_dir = copy_project(tmp / "project")
    signal_model = (
        project_dir / "models" / "intermediate" / "health" / "int_decision_tree_signals.sql"
    )
    signal_model.write_text(TRUTH_TABLE_MODEL)
    project = project_for(tmp, tmp / "no_raw_data")
    project.project_dir = project_dir
    return project


def build_tree(project: DbtProject, variant: str, **dbt_vars: Any) -> dbtRunnerResult:
    return project.invoke(
        "build",
        "--select",
        *TREE_MODELS.split(),
        "--indirect-selection",
        "cautious",
        dbt_vars=dbt_vars or None,
        env={"HEALTH_DECISION_TREE_VARIANT": variant},
    )


def tree_rows(project: DbtProject) -> dict[str, tuple[Any, ...]]:
    rows = project.query(f"select {TREE_COLUMNS} from marts.fct_account_health_decision_tree")
    return {row[0]: row[1:] for row in rows}


def expected_rows(
    project: DbtProject, dsl: Path, bindings: dict[str, tuple[str, str]]
) -> dict[str, Any]:
    """The outcome and path of every truth-table row, walked one row at a time in Python.
    `bindings`: question id -> (signal column, answer when the signal is null)."""
    dag = load_dag(dsl)
    columns = sorted({column for column, _ in bindings.values()})
    signals = project.query(
        f"select account_id, {', '.join(columns)} from intermediate.int_decision_tree_signals"
    )
    expected = {}
    for account_id, *values in signals:
        row = dict(zip(columns, values, strict=True))
        answers = {}
        for question_id, (column, missing_answer) in bindings.items():
            value = row[column]
            if value is None:
                answers[question_id] = missing_answer
            elif isinstance(value, str):
                answers[question_id] = value
            else:
                answers[question_id] = "yes" if value else "no"
        steps, outcome = dag.walk(answers)
        expected[account_id] = (outcome, ">".join(f"{s.question_id}:{s.answer}" for s in steps))
    return expected


def test_both_variants_give_the_walked_outcome_for_every_combination(
    tree_project: DbtProject,
) -> None:
    python_build = build_tree(tree_project, "python")
    assert python_build.success, statuses(python_build)
    # the data test comparing the compiled SQL with the Python model ran in that build
    assert statuses(python_build)["assert_decision_tree_sql_matches_python"] == "pass"
    python_rows = tree_rows(tree_project)

    sql_build = build_tree(tree_project, "sql")
    assert sql_build.success, statuses(sql_build)
    sql_rows = tree_rows(tree_project)

    assert len(python_rows) == 3**5 * 5
    assert sql_rows == python_rows
    expected = expected_rows(
        tree_project,
        tree_project.project_dir / "seeds" / "cs-customer-health.dag",
        SHIPPED_BINDINGS,
    )
    assert {k: v[:2] for k, v in python_rows.items()} == expected
    # every root-to-outcome path of the shipped tree occurs
    paths = {path.decision_path for path in load_dag(SEED_DAG).paths()}
    assert {row[1] for row in python_rows.values()} == paths


def test_swapping_two_outcomes_in_the_dsl_changes_the_results(tree_project: DbtProject) -> None:
    dsl = tree_project.project_dir / "seeds" / "cs-customer-health.dag"
    original_text = dsl.read_text()
    assert build_tree(tree_project, "python").success
    before = tree_rows(tree_project)
    dsl.write_text(
        original_text.replace("-> [CRITICAL]", "-> [SWAP]")
        .replace("-> [HEALTHY]", "-> [CRITICAL]")
        .replace("-> [SWAP]", "-> [HEALTHY]")
    )
    try:
        flip = {"CRITICAL": "HEALTHY", "HEALTHY": "CRITICAL"}
        for variant in ("python", "sql"):
            assert build_tree(tree_project, variant).success
            after = tree_rows(tree_project)
            assert {k: (flip.get(v[0], v[0]), *v[1:]) for k, v in before.items()} == after
    finally:
        dsl.write_text(original_text)


def test_other_answer_labels_and_a_rebinding_need_no_code_change(
    tree_project: DbtProject,
) -> None:
    """A three-way question bound to a text column; an answer without an edge fails the
    outcome's not_null test and names itself in data_gaps."""
    seed = tree_project.project_dir / "seeds" / "decision_tree_bindings.csv"
    original_seed = seed.read_text()
    seed.write_text(
        "question_id,signal_column,missing_answer,missing_reason\n"
        "ADOPTION,adoption_level,low,no adoption data\n"
        "RENEWAL,is_renewal_due,yes,no renewal date\n"
    )
    dsl = FIXTURES / "custom_answers.dag"
    try:
        results = {}
        for variant in ("python", "sql"):
            build = build_tree(tree_project, variant, decision_tree_path=str(dsl))
            assert statuses(build)["column_values_fct_account_health_decision_tree"] == "fail"
            broken = broken_rules(
                tree_project, build, "column_values_fct_account_health_decision_tree"
            )
            assert list(broken) == [("outcome_id", "not_null")]
            results[variant] = tree_rows(tree_project)
    finally:
        seed.write_text(original_seed)
    assert results["python"] == results["sql"]
    bindings = {"ADOPTION": ("adoption_level", "low"), "RENEWAL": ("is_renewal_due", "yes")}
    expected = expected_rows(tree_project, dsl, bindings)
    # rows with a null level take the missing answer `low`
    assert {k: v[:2] for k, v in results["python"].items()} == expected
    stuck = [v for k, v in results["python"].items() if k.endswith("-unheard of")]
    assert stuck
    assert all(v[0] is None and v[2] == "ADOPTION: no edge for answer 'unheard of'" for v in stuck)
    assert {v[0] for v in results["python"].values()} == {"GREEN", "AMBER", "RED", None}


def test_the_jinja_parser_reports_the_same_errors_as_the_python_parser(
    tree_project: DbtProject,
) -> None:
    expected = json.loads((FIXTURES / "expected_errors.json").read_text())
    logged: list[str] = []

    def collect(event: Any) -> None:
        if event.info.name == "JinjaLogInfo" and event.data.msg.startswith("decision_tree_check "):
            logged.append(event.data.msg.removeprefix("decision_tree_check "))

    paths = [str(FIXTURES / name) for name in sorted(expected)] + [
        str(FIXTURES / "custom_answers.dag")
    ]
    result = tree_project.invoke(
        "run-operation",
        "decision_tree_check",
        "--args",
        json.dumps({"paths": paths}),
        callbacks=[collect],
    )
    assert result.success, result.exception
    reported = {
        Path(item["path"]).name: [f"line {n}: {m}" for n, m in item["errors"]]
        for item in map(json.loads, logged)
    }
    assert reported == expected | {"custom_answers.dag": []}


@pytest.mark.parametrize(
    ("dsl", "message"),
    [
        ("cycle.dag", "cycle.dag:line 13: cycle: Q2 -> Q3 -> Q2"),
        ("missing_entry.dag", "missing_entry.dag:line 1: missing header field 'entry'"),
        ("no_such_file.dag", "file not found"),
    ],
)
def test_an_invalid_tree_fails_the_build_with_its_line_numbers(
    tree_project: DbtProject, dsl: str, message: str
) -> None:
    result = build_tree(tree_project, "python", decision_tree_path=str(FIXTURES / dsl))
    assert not result.success
    failed = {
        item.node.name: item.message
        for item in result.result.results
        if str(item.status) == "error"
    }
    assert set(failed) == {"int_decision_tree_definition"}
    assert message in failed["int_decision_tree_definition"]


def test_dim_shows_the_tree_outcome_beside_the_weighted_band(
    clean_build: tuple[DbtProject, dbtRunnerResult],
) -> None:
    project, _ = clean_build
    [(accounts, with_outcome, mismatched_band, wrong_flag)] = project.query(
        """
        select
            count(*),
            count(dim.tree_outcome_id),
            count_if(dim.tree_band is distinct from bands.band_id),
            count_if(
                dim.is_assessment_disagreement
                is distinct from (abs(dim.tree_band_rank_gap)
                >= 3)
            )
        from marts.dim_account_health as dim
        left join config.health_bands as bands
            on dim.tree_outcome_id = bands.decision_tree_outcome_id
        """
    )
    assert accounts > 0
    assert with_outcome == accounts
    assert mismatched_band == 0
    assert wrong_flag == 0
    # every assessment day of the signal model has one tree row, point in time
    [(signal_rows, tree_rows_count, outcomes)] = project.query(
        """
        select
            (select count(*) from intermediate.int_decision_tree_signals),
            (select count(*) from marts.fct_account_health_decision_tree),
            (select count(distinct outcome_id) from marts.fct_account_health_decision_tree)
        """
    )
    assert signal_rows == tree_rows_count > accounts
    assert outcomes >= 3
