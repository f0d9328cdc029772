"""Check a decision tree DSL file: line-numbered errors, or its questions, outcomes and paths.

    .venv/bin/python scripts/check_decision_tree.py seeds/cs-customer-health.dag

Exits 1 when the file has problems (each printed as `file:line N: message`), 0 otherwise.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from decision_dag import DagError, load_dag
from rich.console import Console
from rich.table import Table


def main(argv: list[str] | None = None, console: Console | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
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


if __name__ == "__main__":
    sys.exit(main())
