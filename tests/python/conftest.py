"""Shared pytest fixtures."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from harness import HealthgenExtract

from customer_health.generator.generator import Config, generate


@pytest.fixture(scope="session")
def healthgen_extract(tmp_path_factory: pytest.TempPathFactory) -> HealthgenExtract:
    """Factory for synthetic raw extracts, generated once per argument set per session.

    Call it with ``accounts``, ``days``, ``seed``, ``dirty``, ``dirty_rate``, ``chunk_size``
    and ``start_date`` (all optional); it returns the output directory. Treat it as
    read-only: other tests share it.
    """
    cache: dict[tuple[object, ...], Path] = {}

    def make(
        accounts: int = 120,
        days: int = 150,
        seed: int = 11,
        dirty: bool = False,
        dirty_rate: float = 0.02,
        chunk_size: int = 50,
        start_date: dt.date = dt.date(2024, 1, 1),
    ) -> Path:
        key = (accounts, days, seed, dirty, dirty_rate, chunk_size, start_date)
        if key not in cache:
            out = tmp_path_factory.mktemp("healthgen_extract")
            generate(
                Config(
                    accounts=accounts,
                    days=days,
                    seed=seed,
                    out=out,
                    start_date=start_date,
                    dirty=dirty,
                    dirty_rate=dirty_rate,
                    chunk_size=chunk_size,
                )
            )
            cache[key] = out
        return cache[key]

    return make


# The Spark comparison and the six generator worlds take the longest: `make test` runs the
# suite on two workers, one file per worker at a time (`--dist loadfile`, in collection
# order), so they start first, one on each worker, and the other files fill in after them.
FIRST = ("functional/test_spark.py", "functional/test_worlds.py", "unit/")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        path = item.path.as_posix()
        return next((i for i, part in enumerate(FIRST) if part in path), len(FIRST))

    items.sort(key=rank)
