"""Kill tests: a job killed with SIGKILL at a random point leaves the store at its last
committed state, and running the job again finishes it with nothing lost or doubled.

The jobs are the real library calls in a subprocess — a load (``ingest_files`` with the
Shopify preset: customers, orders and lines in one transaction), a refresh (profile, scores,
predictions, grade history, every saved segment) and a grade re-evaluation
(``evaluate_grades``). The subprocess counts the statements the job sends to the store and
kills itself with SIGKILL just before statement *k*, for seeded random *k* (the slow tier also
kills after a random delay from outside). Afterwards the store must equal a copy taken
before the job, and re-running the job must give the same store as an uninterrupted run.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import kill_job
from danggol.demo import generate_shop
from danggol.ingest.load import ingest_tables
from danggol.pipeline import refresh
from danggol.segments.definition import Segment
from danggol.segments.service import registry
from danggol.store.workspace import Workspace

SRC = Path(__file__).parent.parent / "src"
FIRST, AS_OF = dt.date(2025, 5, 31), dt.date(2025, 6, 30)
#: what a second run of a finished job must leave as it was (the logs record the second run)
DATA = ("customers", "orders", "order_items", "events", "profile_snapshot", "segment_members")
#: wall-clock columns: the only ones allowed to differ between a re-run and a clean run
CLOCK = {"started_at", "finished_at", "seconds", "recorded_at", "quarantined_at", "ingested_at"}

JOB = str(Path(__file__).parent / "kill_job.py")

SHOPIFY = (
    "Name,Email,Financial Status,Total,Created at,Lineitem name,Lineitem quantity\n"
    + "".join(
        f"#K{i},kill{i % 7}@example.com,paid,{1000 + i},2025-06-{1 + i % 28:02d} 10:00:00 +0900,"
        f"P{i % 5},{1 + i % 3}\n"
        for i in range(40)
    )
    + "#K1,kill1@example.com,,,2025-06-02 10:00:00 +0900,Extra line,1\n"
    + "#BAD,bad@example.com,paid,-5,2025-06-03,Scarf,1\n"
)


def run_job(job: str, path: Path, kill_at: int, extra: tuple[str, ...] = ()):
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    return subprocess.run(
        [sys.executable, JOB, job, str(path), str(kill_at), *extra],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )


def _norm(value: object) -> object:
    if isinstance(value, float):
        return float(f"{value:.9g}")  # DuckDB's parallel sums may differ in the last bits
    if isinstance(value, list):
        return [_norm(v) for v in value]
    return value


def store_state(path: Path) -> dict[str, list[tuple]]:
    """Every table of the store, wall-clock columns left out, rows sorted."""
    with Workspace.open(path) as ws:
        con = ws.duck
        tables = [
            r[0]
            for r in con.execute(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = 'main' AND table_catalog = current_database() ORDER BY 1"
            ).fetchall()
        ]
        state = {}
        for table in tables:
            columns = [
                r[0]
                for r in con.execute(
                    "SELECT column_name FROM information_schema.columns WHERE table_name = ? "
                    "AND table_schema = 'main' ORDER BY ordinal_position",
                    [table],
                ).fetchall()
                if r[0] not in CLOCK
            ]
            if table == "prediction_runs":  # the run's JSON carries its fit time
                columns = [c for c in columns if c != "run"]
            rows = con.execute(
                "SELECT " + ", ".join(f'"{c}"' for c in columns) + f' FROM "{table}"'
            ).fetchall()
            state[table] = sorted((tuple(_norm(v) for v in r) for r in rows), key=repr)
        return state


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    """A shop with a saved segment, one earlier refresh and grade history."""
    path = tmp_path_factory.mktemp("kill") / "shop"
    ws = Workspace.init(path)
    ingest_tables(ws, generate_shop(300, seed=3, end=AS_OF))
    registry(ws).save(
        Segment(name="regulars", query="number_of_orders >= 2 AND last_order_date >= -90d")
    )
    refresh(ws, FIRST)
    ws.close()
    return path


@pytest.fixture(scope="module")
def shopify_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("kill-input") / "orders_export.csv"
    path.write_text(SHOPIFY, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def reference(base, shopify_file, tmp_path_factory):
    """For each job: the statements it sends and the store after an uninterrupted run."""
    out = {}
    for job in ("refresh", "grades", "ingest"):
        path = tmp_path_factory.mktemp(f"ref-{job}") / "shop"
        shutil.copytree(base, path)
        with kill_job.counting() as counter:
            kill_job.run(job, str(path), str(shopify_file))
        out[job] = (counter[0], store_state(path))
    return out


def _kill_and_rerun(base, shopify_file, reference, tmp_path, job, kill_at):
    statements, after = reference[job]
    before = store_state(base)
    assert after != before, "the job must change the store, or the test shows nothing"
    path = tmp_path / f"{job}-{kill_at}" / "shop"
    shutil.copytree(base, path)
    proc = run_job(job, path, kill_at, extra=(str(shopify_file),))
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    assert store_state(path) == before, f"{job} killed before statement {kill_at}/{statements}"
    kill_job.run(job, str(path), str(shopify_file))  # re-running finishes the job
    assert store_state(path) == after


def _points(job: str, statements: int, n: int, seed: int) -> list[int]:
    rng = random.Random(f"{job}-{seed}")
    return sorted(rng.sample(range(1, statements + 1), min(n, statements)))


@pytest.mark.parametrize("job", ["refresh", "ingest"])
def test_a_job_killed_at_a_random_statement_leaves_the_last_committed_state(
    base, shopify_file, reference, tmp_path, job
):
    statements, _ = reference[job]
    assert statements > 3
    for kill_at in _points(job, statements, 1, seed=9):
        _kill_and_rerun(base, shopify_file, reference, tmp_path, job, kill_at)


@pytest.mark.slow
@pytest.mark.parametrize("job", ["refresh", "grades", "ingest"])
def test_a_job_killed_at_many_random_statements(base, shopify_file, reference, tmp_path, job):
    statements, _ = reference[job]
    for kill_at in _points(job, statements, 12, seed=int(os.environ.get("DANGGOL_KILL_SEED", 1))):
        _kill_and_rerun(base, shopify_file, reference, tmp_path, job, kill_at)


@pytest.mark.slow
@pytest.mark.parametrize("job", ["refresh", "ingest"])
def test_a_job_killed_after_a_random_delay(base, shopify_file, reference, tmp_path, job):
    """SIGKILL from outside at a random moment: the store is before or after, never between."""
    _, after = reference[job]
    before = store_state(base)
    rng = random.Random(f"delay-{job}")
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    outcomes = []
    for i in range(8):
        path = tmp_path / f"{job}-{i}" / "shop"
        shutil.copytree(base, path)
        proc = subprocess.Popen(
            [sys.executable, JOB, job, str(path), "0", str(shopify_file)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        time.sleep(rng.uniform(0.5, 4.0))
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
        state = store_state(path)
        assert state in (before, after), f"{job} killed at attempt {i}: a state in between"
        outcomes.append("after" if state == after else "before")
        kill_job.run(job, str(path), str(shopify_file))  # not knowing, the operator re-runs it
        again = store_state(path)
        if outcomes[-1] == "before":
            assert again == after
        else:  # it had finished: the re-run is a second load / refresh, doubling nothing
            for table in DATA:
                assert again[table] == after[table], table
    print(job, outcomes)
