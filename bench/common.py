"""Shared helpers of the benchmark scripts: machine description, timing, markdown."""

from __future__ import annotations

import datetime as dt
import platform
import resource
import subprocess
import time
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path


def machine() -> dict[str, str]:
    cpu = _proc_field("/proc/cpuinfo", "model name") or "unknown"
    mem_kb = int((_proc_field("/proc/meminfo", "MemTotal") or "0 kB").split()[0])
    try:
        cores = subprocess.run(["nproc"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        cores = "?"
    libs = ", ".join(
        f"{name} {version(name)}"
        for name in ("duckdb", "ibis-framework", "pyarrow", "pandas", "numpy")
    )
    return {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": cpu,
        "cores": cores,
        "memory": f"{mem_kb / 1024 / 1024:.0f} GiB",
        "python": platform.python_version(),
        "libraries": libs,
    }


def _proc_field(path: str, name: str) -> str | None:
    try:
        with open(path, encoding="utf-8") as f:
            for line in f:
                if line.startswith(name):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def best_of(fn: Callable[[], object], repeat: int = 3) -> tuple[float, object]:
    """Best wall-clock time of ``repeat`` runs (seconds) and the last result."""
    best = float("inf")
    result: object = None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def peak_rss_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024


def md_table(headers: list[str], rows: list[list[object]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def given_workspaces(items: list[str]) -> dict[str, Path]:
    """``--workspace SIZE=PATH`` values (repeatable) as {SIZE: PATH}."""
    return {label: Path(where) for label, _, where in (i.partition("=") for i in items)}
