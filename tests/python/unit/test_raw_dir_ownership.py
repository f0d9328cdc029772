"""Whose raw directory is it: the generator, `make data` and the bench delete only their own
files, and a folder of the user's own data is never overwritten unless forced."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from customer_health.bench import rawdata
from customer_health.generator.contract import TABLE_NAMES
from customer_health.generator.generator import Config, generate
from customer_health.generator.writer import ForeignDataError, Ownership, ownership

REPO = Path(__file__).resolve().parents[3]
PYTHON_CLI = [sys.executable, "-m", "customer_health"]
SMALL = {"accounts": 20, "days": 60, "seed": 3, "chunk_size": 50}
SMALL_ARGS = ["--accounts", "20", "--days", "60", "--seed", "3"]


def snapshot(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` (relative path) -> SHA-256 of its bytes."""
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def write_parquet(path: Path, rows: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    table = pa.table({"id": [f"mine_{i}" for i in range(rows)], "note": ["x"] * rows})
    pq.write_table(table, path)


@pytest.fixture
def user_raw(tmp_path: Path) -> Path:
    """A folder of the user's own extract: Parquet files in table folders, no marker."""
    raw = tmp_path / "my_extract"
    write_parquet(raw / "tickets" / "part-0.parquet", 3)
    write_parquet(raw / "accounts" / "export.parquet", 2)
    # The very name the generator gives its first part.
    write_parquet(raw / "users" / "part-00000.parquet", 4)
    (raw / "README.txt").write_text("exported from our CRM\n")
    return raw


def generate_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*PYTHON_CLI, "generate", *SMALL_ARGS, *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


def manifest(raw: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((raw / "_manifest.json").read_text())
    return data


# ---------------------------------------------------------------------------- the generator


def test_generator_refuses_a_folder_of_user_files_and_leaves_every_byte(user_raw: Path) -> None:
    before = snapshot(user_raw)
    done = generate_cli("--out", str(user_raw))
    assert done.returncode == 1, done.stdout
    assert str(user_raw) in done.stderr
    assert "not written by the generator" in done.stderr
    assert "--force" in done.stderr
    assert snapshot(user_raw) == before
    with pytest.raises(ForeignDataError, match="my_extract"):
        generate(Config(out=user_raw, **SMALL))
    assert snapshot(user_raw) == before


@pytest.mark.parametrize(
    "marker",
    ["", "{}", '{"generator": "someone-else"}', '["healthgen"]', "not json {"],
    ids=["empty", "no-generator", "other-generator", "not-an-object", "unparseable"],
)
def test_a_manifest_that_does_not_name_the_generator_is_no_marker(
    user_raw: Path, marker: str
) -> None:
    (user_raw / "_manifest.json").write_text(marker)
    assert ownership(user_raw) is Ownership.FOREIGN
    before = snapshot(user_raw)
    with pytest.raises(ForeignDataError):
        generate(Config(out=user_raw, **SMALL))
    assert snapshot(user_raw) == before


def test_a_foreign_next_day_folder_stops_the_run_before_anything_is_written(
    user_raw: Path, tmp_path: Path
) -> None:
    before = snapshot(user_raw)
    out = tmp_path / "new"
    with pytest.raises(ForeignDataError):
        generate(Config(out=out, next_day_out=user_raw, **SMALL))
    assert not out.exists()
    assert snapshot(user_raw) == before


def test_force_overwrites_the_table_folders(user_raw: Path) -> None:
    done = generate_cli("--out", str(user_raw), "--force")
    assert done.returncode == 0, done.stderr
    m = manifest(user_raw)
    assert m["generator"] == "healthgen"
    assert m["complete"] is True
    for table in TABLE_NAMES:
        assert pq.read_table(user_raw / table).num_rows == m["row_counts"][table], table
    assert not (user_raw / "tickets" / "part-0.parquet").exists()
    assert not (user_raw / "accounts" / "export.parquet").exists()
    assert "mine_0" not in pq.read_table(user_raw / "users").column("user_id").to_pylist()
    # A file outside the table folders is no part of the build and stays.
    assert (user_raw / "README.txt").read_text() == "exported from our CRM\n"


@pytest.mark.parametrize("state", ["missing", "empty"])
def test_missing_and_empty_directories_generate(tmp_path: Path, state: str) -> None:
    out = tmp_path / "raw"
    if state == "empty":
        out.mkdir()
    assert ownership(out) is (Ownership.EMPTY if state == "empty" else Ownership.MISSING)
    m = generate(Config(out=out, **SMALL))
    assert manifest(out) == m
    assert ownership(out) is Ownership.GENERATED
    assert pq.read_table(out / "accounts").num_rows == m["row_counts"]["accounts"]


def test_a_generator_directory_is_regenerated_and_unrelated_user_files_survive(
    tmp_path: Path,
) -> None:
    out = tmp_path / "raw"
    generate(Config(out=out, dirty=True, **{**SMALL, "accounts": 100}))
    assert len(list((out / "tickets").glob("*.parquet"))) == 2
    (out / "notes.txt").write_text("mine\n")
    write_parquet(out / "tickets" / "extra.parquet", 1)
    # Named like a part, but beyond the parts the manifest counts: not the generator's.
    write_parquet(out / "tickets" / "part-00007.parquet", 1)
    write_parquet(out / "my_table" / "part-00000.parquet", 1)
    mine = {
        k: v
        for k, v in snapshot(out).items()
        if k in {"notes.txt", "tickets/extra.parquet", "tickets/part-00007.parquet"}
        or k.startswith("my_table/")
    }
    assert len(mine) == 4

    generate(Config(out=out, **{**SMALL, "seed": 4, "accounts": 40}))
    after = snapshot(out)
    assert {k: after.get(k) for k in mine} == mine
    assert manifest(out)["seed"] == 4
    # The old run's second part and its defect log are gone; its first part is rewritten.
    assert sorted(p.name for p in (out / "tickets").glob("part-0000*.parquet")) == [
        "part-00000.parquet",
        "part-00007.parquet",
    ]
    assert not (out / "_defects").exists()


def test_a_file_in_the_way_of_a_part_stops_the_run_and_stays(tmp_path: Path) -> None:
    out = tmp_path / "raw"
    generate(Config(out=out, **SMALL))
    # A link where the generator writes a part: never written through, never deleted.
    target = tmp_path / "elsewhere.parquet"
    write_parquet(target, 1)
    before = target.read_bytes()
    part = out / "accounts" / "part-00000.parquet"
    part.unlink()
    part.symlink_to(target)
    with pytest.raises(ForeignDataError, match="part-00000"):
        generate(Config(out=out, **SMALL))
    assert part.is_symlink()
    assert target.read_bytes() == before


def test_an_unfinished_run_is_the_generators_and_is_generated_again(tmp_path: Path) -> None:
    out = tmp_path / "raw"
    out.mkdir()
    (out / "_manifest.json").write_text('{"generator": "healthgen", "complete": false}')
    write_parquet(out / "tickets" / "part-00003.parquet", 1)
    assert ownership(out) is Ownership.UNFINISHED
    done = generate_cli("--if-absent", "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert "unfinished" in done.stdout
    assert manifest(out)["complete"] is True
    assert not (out / "tickets" / "part-00003.parquet").exists()


def test_a_file_is_not_a_directory(tmp_path: Path) -> None:
    out = tmp_path / "raw"
    out.write_text("data\n")
    for extra in ([], ["--force"], ["--if-absent"]):
        done = generate_cli("--out", str(out), *extra)
        assert done.returncode == 1, extra
        assert "not a directory" in done.stderr
    assert out.read_text() == "data\n"


# ---------------------------------------------------------------------------- make data


def test_if_absent_leaves_user_data_and_an_extract_alone(user_raw: Path, tmp_path: Path) -> None:
    before = snapshot(user_raw)
    done = generate_cli("--if-absent", "--out", str(user_raw))
    assert done.returncode == 0, done.stderr
    assert "built as it is" in done.stdout
    assert snapshot(user_raw) == before

    extract = tmp_path / "extract"
    generate(Config(out=extract, **SMALL))
    stamp = snapshot(extract)
    done = generate_cli("--if-absent", "--out", str(extract), "--seed", "9")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"Raw data found in {extract}")
    assert snapshot(extract) == stamp

    empty = tmp_path / "empty"
    empty.mkdir()
    done = generate_cli("--if-absent", "--out", str(empty))
    assert done.returncode == 0, done.stderr
    assert ownership(empty) is Ownership.GENERATED


def make_data(raw: Path) -> subprocess.CompletedProcess[str]:
    """`make data` on ``raw``, with the test's interpreter as the CLI and no setup step."""
    return subprocess.run(
        [
            "make",
            "--no-print-directory",
            "-o",
            ".venv/.runtime-stamp",
            "data",
            f"HEALTH_RAW_DIR={raw}",
            f"CLI={sys.executable} -m customer_health",
            "DEMO_ACCOUNTS=20",
            "DEMO_DAYS=60",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


@pytest.mark.skipif(shutil.which("make") is None, reason="GNU make is not installed")
def test_make_data_builds_user_files_as_they_are_and_generates_only_into_an_empty_folder(
    user_raw: Path, tmp_path: Path
) -> None:
    dry = subprocess.run(
        ["make", "-n", "-o", ".venv/.runtime-stamp", "data", f"HEALTH_RAW_DIR={user_raw}"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    assert "generate --if-absent" in dry.stdout

    before = snapshot(user_raw)
    done = make_data(user_raw)
    assert done.returncode == 0, done.stderr
    assert "built as it is" in done.stdout
    assert snapshot(user_raw) == before

    fresh = tmp_path / "fresh"
    done = make_data(fresh)
    assert done.returncode == 0, done.stderr
    assert manifest(fresh)["accounts"] == 20
    stamp = snapshot(fresh)
    done = make_data(fresh)
    assert done.returncode == 0, done.stderr
    assert f"Raw data found in {fresh}" in done.stdout
    assert snapshot(fresh) == stamp


# ---------------------------------------------------------------------------- the bench


def test_bench_deletes_only_folders_it_created(tmp_path: Path) -> None:
    mine = tmp_path / "mine"
    write_parquet(mine / "tickets" / "part-0.parquet", 1)
    before = snapshot(mine)
    with pytest.raises(rawdata.NotBenchFolderError, match="mine"):
        rawdata.remove_folder(mine)
    (mine / rawdata.BENCH_MARKER).write_text('{"created_by": "someone else"}')
    with pytest.raises(rawdata.NotBenchFolderError):
        rawdata.remove_folder(mine)
    assert {k: v for k, v in snapshot(mine).items() if k != rawdata.BENCH_MARKER} == before

    rawdata.remove_folder(tmp_path / "missing")
    ours = tmp_path / "ours"
    rawdata.make_folder(ours)
    (ours / "run.log").write_text("x")
    assert rawdata.is_bench_folder(ours)
    rawdata.remove_folder(ours)
    assert not ours.exists()


def test_bench_links_and_replaces_only_inside_its_own_run_folder(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    generate(Config(out=cache / "raw", next_day_out=cache / "next", **SMALL))
    cached = snapshot(cache)

    not_ours = tmp_path / "not_ours"
    write_parquet(not_ours / "raw" / "tickets" / "part-0.parquet", 1)
    before = snapshot(not_ours)
    with pytest.raises(rawdata.NotBenchFolderError):
        rawdata.link_extract(cache, not_ours / "raw")
    assert snapshot(not_ours) == before

    run = tmp_path / "run"
    rawdata.make_folder(run)
    rawdata.link_extract(cache, run / "raw")
    assert all(p.is_symlink() for p in (run / "raw" / "accounts").iterdir())
    # A real file in a table folder the delivery replaces: the bench stops, the file stays.
    write_parquet(run / "raw" / "accounts" / "mine.parquet", 1)
    with pytest.raises(rawdata.NotBenchFolderError, match="accounts"):
        rawdata.append_next_day(cache, run / "raw")
    assert (run / "raw" / "accounts" / "mine.parquet").is_file()

    rawdata.link_extract(cache, run / "raw")
    assert rawdata.append_next_day(cache, run / "raw") == "2024-03-01"
    assert snapshot(cache) == cached


def test_bench_refuses_a_cache_folder_it_did_not_create(tmp_path: Path) -> None:
    mine = tmp_path / "60x120"
    write_parquet(mine / "tickets" / "part-0.parquet", 1)
    before = snapshot(mine)
    done = subprocess.run(
        [*PYTHON_CLI, "bench", "--accounts", "60", "--days", "120", "--cache", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert done.returncode == 1, done.stderr[-2000:]
    assert "not created by the benchmark" in " ".join(done.stderr.split())
    assert snapshot(mine) == before
