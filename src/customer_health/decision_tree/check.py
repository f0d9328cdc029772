"""Check a decision tree DSL file: line-numbered errors, or its questions, outcomes and paths.

    customer-health check-tree seeds/cs-customer-health.dag

Exits 1 when the file has problems (each printed as `file:line N: message`), 0 otherwise.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console
from rich.table import Table

from customer_health.decision_tree import DagError, load_dag


def main(
    argv: Sequence[str] | None = None,
    prog: str = "customer-health check-tree",
    console: Console | None = None,
) -> int:
    parser = argparse.ArgumentParser(prog=prog, description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="+", type=Path, help="DSL files (.dag)")
    args = parser.parse_args(argv)
    out = console or Console()
    failed = False
    for path in args.paths:
        try:
            dag = load_dag(path)
        except DagError as error:
            failed = True
            out.print(f"[red]{len(error.issues)} problem(s)[/red] in {path}:", highlight=False)
            for issue in error.issues:
                out.print(f"  {path}:{issue}", highlight=False, markup=False)
            continue
        except OSError as error:
            failed = True
            out.print(f"[red]cannot read[/red] {path}: {error.strerror}", highlight=False)
            continue
        out.print(
            f"[green]ok[/green] {path}: {dag.name or '(no title)'} version {dag.version or '-'}, "
            f"entry {dag.entry}, {len(dag.questions)} questions, {len(dag.outcomes)} outcomes",
            highlight=False,
        )
        paths = Table(title=f"{len(dag.paths())} root-to-outcome paths")
        paths.add_column("decision_path")
        paths.add_column("outcome")
        for dag_path in dag.paths():
            paths.add_row(dag_path.decision_path, dag_path.outcome_id)
        out.print(paths)
    return 1 if failed else 0
