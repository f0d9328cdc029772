"""The ``customer-health`` command: one subcommand per job.

Each subcommand lives in its own module and is imported only when it runs, so
``customer-health generate`` does not load the report's or the sync's libraries.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from customer_health import __version__

PROG = "customer-health"


@dataclass(frozen=True)
class Command:
    """A subcommand: the module whose ``main(argv, prog)`` runs it, and a one-line summary."""

    module: str
    summary: str
    # Words put before the user's arguments (the CRM sync's own subcommand).
    prefix: tuple[str, ...] = ()


COMMANDS: dict[str, Command] = {
    "generate": Command(
        "customer_health.generator.cli", "write a synthetic raw extract (the demo data)"
    ),
    "check-tree": Command(
        "customer_health.decision_tree.check", "check a decision-tree DSL file and list its paths"
    ),
    "publish": Command(
        "customer_health.serving.cli",
        "dbt build, then publish the release for BI tools if every test passed",
    ),
    "summary": Command(
        "customer_health.summary", "print the portfolio summary of the build database"
    ),
    "report": Command(
        "customer_health.report.cli", "write the static HTML report of the served release"
    ),
    "sync": Command(
        "customer_health.crm_sync.cli",
        "send changed scores to HubSpot companies (or a CSV/JSONL file)",
        ("sync",),
    ),
    "sync-tasks": Command(
        "customer_health.crm_sync.cli",
        "send open CSM actions to HubSpot as tasks on their companies",
        ("sync-tasks",),
    ),
    "properties": Command(
        "customer_health.crm_sync.cli",
        "print (or create in HubSpot) the company properties the sync writes",
        ("properties",),
    ),
    "audit": Command(
        "customer_health.crm_sync.cli",
        "show recent CRM sync runs and their rejected rows",
        ("audit",),
    ),
    "bench": Command(
        "customer_health.bench.cli", "benchmark a full build and a one-day incremental build"
    ),
    "worlds": Command(
        "customer_health.bench.worlds",
        "validate the score's churn prediction in each generator world",
    ),
    "churn-model": Command(
        "customer_health.churn_model.cli",
        "train the churn model's scorecard file (engines without Python models), or "
        "propose category weights from it",
    ),
    "compare-engines": Command(
        "customer_health.compare_engines", "compare every mart of a Spark build with DuckDB's"
    ),
    "contract-doc": Command(
        "customer_health.contract_docs",
        "write (or --check) docs/raw-data-contract.md from the sources YAML",
    ),
}


def usage() -> str:
    width = max(len(name) for name in COMMANDS)
    lines = [
        f"usage: {PROG} [--version] <command> [arguments]",
        "",
        "Warehouse-native customer health scoring: the commands around the dbt project.",
        "",
        "commands:",
        *(f"  {name:<{width}}  {command.summary}" for name, command in COMMANDS.items()),
        "",
        f"`{PROG} <command> --help` describes a command's arguments.",
    ]
    return "\n".join(lines)


def runner(name: str) -> Callable[[Sequence[str]], int]:
    """The function that runs subcommand ``name`` with its arguments."""
    command = COMMANDS[name]
    module = importlib.import_module(command.module)
    main: Callable[..., int] = module.main
    if command.prefix:
        return lambda argv: main([*command.prefix, *argv], prog=PROG)
    return lambda argv: main(list(argv), prog=f"{PROG} {name}")


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help"):
        print(usage())
        return 0 if args else 2
    if args[0] == "--version":
        print(f"{PROG} {__version__}")
        return 0
    if args[0] not in COMMANDS:
        print(f"{PROG}: unknown command {args[0]!r}\n\n{usage()}", file=sys.stderr)
        return 2
    return runner(args[0])(args[1:])
