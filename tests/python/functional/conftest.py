"""Session fixtures: generated raw data sets built once with dbt."""

from __future__ import annotations

import pytest
from dbt.cli.main import dbtRunnerResult
from harness import DbtProject, HealthgenExtract, project_for


@pytest.fixture(scope="session")
def clean_build(
    tmp_path_factory: pytest.TempPathFactory, healthgen_extract: HealthgenExtract
) -> tuple[DbtProject, dbtRunnerResult]:
    """Clean generated data (80 accounts x 150 days), built once, with every unit test (the
    suite's one DuckDB run of them; the other builds leave them out)."""
    tmp = tmp_path_factory.mktemp("clean")
    project = project_for(tmp, healthgen_extract(accounts=80, days=150, seed=7))
    return project, project.invoke("build", unit_tests=True)


@pytest.fixture(scope="session")
def dirty_build(
    tmp_path_factory: pytest.TempPathFactory, healthgen_extract: HealthgenExtract
) -> tuple[DbtProject, dbtRunnerResult]:
    """Data with the default ~2% injected defects (150 accounts x 150 days), built once."""
    tmp = tmp_path_factory.mktemp("dirty")
    project = project_for(tmp, healthgen_extract(accounts=150, days=150, seed=11, dirty=True))
    return project, project.invoke("build")
