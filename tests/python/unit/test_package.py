"""The package's front door: one command with a subcommand per job, one settings module,
installs that match the declared dependencies, and hooks that run the pinned tools."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement

from customer_health import cli, settings

PROJECT_DIR = Path(__file__).resolve().parents[3]
PACKAGE = PROJECT_DIR / "src" / "customer_health"
# Every job that used to be a script of its own.
JOBS = (
    "generate",
    "publish",
    "sync",
    "properties",
    "audit",
    "report",
    "summary",
    "bench",
    "check-tree",
    "compare-engines",
)


def python_files(*roots: Path) -> list[Path]:
    return sorted(path for root in roots for path in root.rglob("*.py"))


@pytest.mark.parametrize("name", sorted(cli.COMMANDS))
def test_every_subcommand_describes_itself(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main([name, "--help"])
    assert exited.value.code == 0
    assert f"usage: customer-health {name}" in capsys.readouterr().out


def test_every_former_script_has_a_subcommand() -> None:
    assert set(JOBS) <= set(cli.COMMANDS)


def test_the_top_level_help_lists_every_subcommand(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--help"]) == 0
    out = capsys.readouterr().out
    for name in cli.COMMANDS:
        assert re.search(rf"^  {re.escape(name)} ", out, re.M), name
    assert cli.main([]) == 2
    assert cli.main(["no-such-command"]) == 2
    assert "unknown command 'no-such-command'" in capsys.readouterr().err


def test_the_console_script_and_python_m_run_the_same_command() -> None:
    script = Path(sys.executable).parent / "customer-health"
    for command in ([str(script)], [sys.executable, "-m", "customer_health"]):
        done = subprocess.run(
            [*command, "check-tree", str(PROJECT_DIR / "seeds" / "cs-customer-health.dag")],
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        assert "ok " in done.stdout
        assert "root-to-outcome paths" in done.stdout


def test_a_subcommand_loads_only_its_own_libraries() -> None:
    probe = (
        "import sys; from customer_health import cli; cli.runner('generate'); "
        "print(sorted(m for m in ('plotly', 'httpx', 'jinja2', 'pyspark') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_nothing_imports_through_sys_path() -> None:
    offenders = [
        str(path.relative_to(PROJECT_DIR))
        for path in python_files(PROJECT_DIR / "src", PROJECT_DIR / "tests", PROJECT_DIR / "models")
        if re.search(r"sys\.path\.(insert|append)|sys\.path \+?=", path.read_text(encoding="utf-8"))
    ]
    assert offenders == []


def environment_reads(path: Path) -> list[str]:
    """The environment reads in a module: os.environ[...] / .get / os.getenv."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Attribute) and node.attr in {"environ", "getenv"}:
            found.append(f"{path.name}:{node.lineno}")
    return found


def test_only_the_settings_module_reads_the_environment() -> None:
    readers = {
        path.relative_to(PACKAGE).as_posix(): reads
        for path in python_files(PACKAGE)
        if (reads := environment_reads(path))
    }
    assert set(readers) == {"settings.py"}, readers


def test_every_environment_variable_is_named_in_the_settings_module_only() -> None:
    for var in settings.ENV_VARS:
        named_in = {
            path.relative_to(PACKAGE).as_posix()
            for path in python_files(PACKAGE)
            if re.search(rf"""["']{var.name}["']""", path.read_text(encoding="utf-8"))
        }
        assert named_in <= {"settings.py"}, (var.name, named_in)


def test_only_the_dbt_artifacts_module_opens_dbts_artifacts() -> None:
    openers = [
        path.relative_to(PACKAGE).as_posix()
        for path in python_files(PACKAGE)
        if re.search(r"[\"'](run_results|manifest|sources)\.json[\"']", path.read_text())
    ]
    assert openers == ["dbt_artifacts.py"]


def test_settings_defaults_and_overrides() -> None:
    default = settings.Settings.from_env({"HEALTH_PROJECT_DIR": str(PROJECT_DIR)})
    assert default.project_dir == PROJECT_DIR
    assert default.build_db == Path("data/build/customer_health.duckdb")
    assert default.serving_db == Path("data/serving/customer_health.duckdb")
    assert default.report_dir == Path("data/serving/report")
    assert default.raw_dir == Path("data/raw")
    assert default.threads == 2
    assert default.hubspot_token is None
    assert default.hubspot_api_base == "https://api.hubapi.com"
    assert default.resolve(Path("target")) == PROJECT_DIR / "target"
    assert default.resolve(Path("/abs/target")) == Path("/abs/target")
    given = settings.Settings.from_env(
        {
            "HEALTH_PROJECT_DIR": "/p",
            "HEALTH_DB_PATH": "/b/w.duckdb",
            "HEALTH_SERVING_DIR": "/s",
            "HEALTH_THREADS": "6",
            "DBT_TARGET_PATH": "t2",
            "HUBSPOT_ACCESS_TOKEN": "pat-1",
        }
    )
    assert (given.build_db, given.serving_db, given.threads) == (
        Path("/b/w.duckdb"),
        Path("/s/customer_health.duckdb"),
        6,
    )
    assert given.target_path == Path("t2")
    assert given.hubspot_token == "pat-1"
    # Finding the project reads nothing else: a bad HEALTH_THREADS does not stop it.
    assert settings.project_dir({"HEALTH_PROJECT_DIR": "/p", "HEALTH_THREADS": "x"}) == Path("/p")
    for bad in ("0", "two", "1.5", "-1"):
        with pytest.raises(ValueError, match="HEALTH_THREADS"):
            settings.Settings.from_env({"HEALTH_THREADS": bad})


def test_the_project_is_found_upwards_from_any_folder_inside_it(tmp_path: Path) -> None:
    inside = PROJECT_DIR / "models" / "marts"
    assert settings.find_project_dir(inside) == PROJECT_DIR
    # Outside any project: the source checkout the package was installed from.
    assert settings.find_project_dir(tmp_path) == PROJECT_DIR
    other = tmp_path / "other"
    other.mkdir()
    (other / "dbt_project.yml").write_text("name: another_project\n", encoding="utf-8")
    assert settings.find_project_dir(other) == PROJECT_DIR
    mine = tmp_path / "mine"
    (mine / "deep").mkdir(parents=True)
    (mine / "dbt_project.yml").write_text("name: customer_health\n", encoding="utf-8")
    assert settings.find_project_dir(mine / "deep") == mine


def dbt_defaults(text: str) -> dict[str, str]:
    """env_var('NAME', 'default') calls in dbt's YAML and Jinja."""
    return dict(re.findall(r"env_var\('(\w+)',\s*'([^']*)'\)", text))


def test_dbt_and_make_keep_the_settings_defaults() -> None:
    files = {
        "profiles.yml": dbt_defaults((PROJECT_DIR / "profiles.yml").read_text()),
        "dbt_project.yml": dbt_defaults((PROJECT_DIR / "dbt_project.yml").read_text()),
        "macros": dbt_defaults(
            "\n".join(path.read_text() for path in (PROJECT_DIR / "macros").rglob("*.sql"))
        ),
        "Makefile": dict(
            re.findall(r"^export (\w+) \?= (\S+)$", (PROJECT_DIR / "Makefile").read_text(), re.M)
        ),
    }
    catalogue = {var.name: var for var in settings.ENV_VARS}
    for where, defaults in files.items():
        for name, default in defaults.items():
            assert name in catalogue, f"{where} reads {name}, which settings.ENV_VARS lacks"
            assert default == catalogue[name].default, (where, name)
            assert where in catalogue[name].also_in, (where, name)
    for var in settings.ENV_VARS:
        for where in var.also_in:
            assert var.name in files[where], (var.name, where)
    # Models read the environment too (the decision-tree variant switch).
    models = "\n".join(path.read_text() for path in (PROJECT_DIR / "models").rglob("*.sql"))
    for name, default in dbt_defaults(models).items():
        assert catalogue[name].default == default, name


def pins(path: Path) -> dict[str, str]:
    found = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("-r"):
            name, _, version = line.partition("==")
            assert version, f"{path.name}: {line} is not pinned with =="
            found[Requirement(name).name.lower()] = version
    return found


def test_requirements_pin_every_declared_dependency_within_its_range() -> None:
    pyproject = tomllib.loads((PROJECT_DIR / "pyproject.toml").read_text())["project"]
    runtime = pins(PROJECT_DIR / "requirements.txt")
    spark = pins(PROJECT_DIR / "requirements-spark.txt")
    for declared, pinned in (
        (pyproject["dependencies"], runtime),
        (pyproject["optional-dependencies"]["spark"], spark),
    ):
        for text in declared:
            requirement = Requirement(text)
            name = requirement.name.lower()
            assert name in pinned, f"{name} is declared but not pinned"
            assert requirement.specifier.contains(pinned[name]), (text, pinned[name])
    assert set(runtime) == {Requirement(t).name.lower() for t in pyproject["dependencies"]}
    assert pyproject["scripts"] == {"customer-health": "customer_health.cli:main"}


def makefile_recipe(target: str) -> str:
    text = (PROJECT_DIR / "Makefile").read_text()
    match = re.search(rf"^{re.escape(target)}:.*\n((?:\t.*\n|#.*\n)*)", text, re.M)
    assert match, target
    return match.group(1)


def test_make_run_installs_only_what_running_needs() -> None:
    runtime = pins(PROJECT_DIR / "requirements.txt")
    assert not {"pyspark", "dbt-spark", "playwright", "pytest", "mypy", "ruff"} & set(runtime)
    assert "-r" not in (PROJECT_DIR / "requirements.txt").read_text()
    setup = makefile_recipe("$(RUNTIME_STAMP)")
    assert "requirements.txt" in setup
    assert "requirements-dev" not in setup
    assert "requirements-spark" not in setup
    run_targets = re.search(r"^run: (.*)$", (PROJECT_DIR / "Makefile").read_text(), re.M)
    assert run_targets
    makefile = (PROJECT_DIR / "Makefile").read_text()
    for target in run_targets.group(1).split():
        prerequisites = re.search(rf"^{re.escape(target)}: (.*)$", makefile, re.M)
        assert prerequisites, target
        assert "setup-dev" not in prerequisites.group(1), target


def test_make_test_sets_up_the_suite_and_ci_only_calls_it() -> None:
    text = (PROJECT_DIR / "Makefile").read_text()
    pytest_deps = re.search(r"^pytest: (.*)$", text, re.M)
    assert pytest_deps
    assert {"setup-dev", "system-deps"} <= set(pytest_deps.group(1).split())
    system = makefile_recipe("system-deps")
    assert "openjdk-17-jre-headless" in text
    assert "chromium" in text
    assert "apt-get install" in system
    ci = [
        line
        for line in (PROJECT_DIR / ".ci" / "run").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert ci[-1] == "make test"
    assert not any("apt-get" in line for line in ci)


def test_the_pre_commit_hooks_run_the_pinned_linters() -> None:
    config = yaml.safe_load((PROJECT_DIR / ".pre-commit-config.yaml").read_text())
    hooks = {hook["id"]: hook for repo in config["repos"] for hook in repo["hooks"]}
    assert {"ruff", "ruff-format", "mypy", "sqlfluff", "check-yaml"} <= set(hooks)
    dev = pins(PROJECT_DIR / "requirements-dev.txt")
    for tool in ("ruff", "mypy", "sqlfluff", "pre-commit", "pre-commit-hooks"):
        assert tool in dev, tool
    validate = subprocess.run(
        [str(Path(sys.executable).parent / "pre-commit"), "validate-config"],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        check=False,
    )
    assert validate.returncode == 0, validate.stdout + validate.stderr
