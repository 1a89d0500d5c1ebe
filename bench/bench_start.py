"""CPU time of the CLI's start: ``danggol --help``, ``segment --help``, ``--version`` and the
``--help`` of every command, next to ``python -c pass`` measured in the same run.

Each figure is the median user+system CPU seconds of N fresh processes (os.wait4 rusage), so a
busy shared machine inflates it less than wall-clock time would. ``--src`` names the source
trees to compare (default: this worktree's src; add /work/main/src for the code before).

    python bench/bench_start.py [--repeat 7] [--src PATH ...] [--write-docs]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine

ROOT = Path(__file__).resolve().parents[1]
TARGET_S = 0.3


def cpu_seconds(argv: list[str], env: dict[str, str]) -> float:
    """User+system CPU seconds of one process running ``argv`` (its children included)."""
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return usage.ru_utime + usage.ru_stime


def median_cpu(argv: list[str], env: dict[str, str], repeat: int) -> float:
    return statistics.median(cpu_seconds(argv, env) for _ in range(repeat))


def leaf_commands(src: Path) -> list[list[str]]:
    """Every command path of the CLI in ``src`` (``['segment', 'count']``, ``['init']`` …)."""
    sys.path.insert(0, str(src))
    try:
        from danggol.cli.main import command_paths
    finally:
        sys.path.remove(str(src))
    return command_paths()


def run(srcs: list[Path], repeat: int) -> list[str]:
    py = sys.executable
    base_env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    baseline = median_cpu([py, "-c", "pass"], base_env, repeat)
    lines = [
        f"`python -c pass` (baseline): **{baseline:.3f} s** CPU (median of {repeat})",
        "",
        "| source | command | CPU s (median) | × baseline | under 0.3 s |",
        "|---|---|---:|---:|:---:|",
    ]
    for src in srcs:
        env = {**base_env, "PYTHONPATH": str(src)}
        cli = [py, "-c", "from danggol.cli.main import run; run()"]
        for args in (["--help"], ["segment", "--help"], ["--version"]):
            if args == ["--version"] and "--version" not in _root_options(src):
                lines.append(f"| {src} | `danggol --version` | (no such option) | | |")
                continue
            s = median_cpu([*cli, *args], env, repeat)
            ok = "yes" if s < TARGET_S else "no"
            lines.append(
                f"| {src} | `danggol {' '.join(args)}` | {s:.3f} | {s / baseline:.1f} | {ok} |"
            )
        if src != srcs[0]:
            continue  # every command's --help: only for the first source (the one measured)
        every = {
            " ".join(p): median_cpu([*cli, *p, "--help"], env, max(1, repeat // 3))
            for p in leaf_commands(src)
        }
        worst = max(every, key=every.__getitem__)
        med = statistics.median(every.values())
        lines.append(
            f"| {src} | `--help` of each of {len(every)} commands: median | {med:.3f} | "
            f"{med / baseline:.1f} | {'yes' if med < TARGET_S else 'no'} |"
        )
        lines.append(
            f"| {src} | slowest: `danggol {worst} --help` | {every[worst]:.3f} | "
            f"{every[worst] / baseline:.1f} | {'yes' if every[worst] < TARGET_S else 'no'} |"
        )
    return lines


def _root_options(src: Path) -> str:
    env = {**os.environ, "PYTHONPATH": str(src)}
    done = subprocess.run(
        [sys.executable, "-c", "from danggol.cli.main import run; run()", "--help"],
        env=env,
        capture_output=True,
        text=True,
    )
    return done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--src", type=Path, action="append")
    args = parser.parse_args()
    srcs = args.src or [ROOT / "src"]
    m = machine()
    print(f"machine: {m['cpu']}, {m['cores']} cores (shared), Python {m['python']}, {m['date']}")
    print(
        f"command: python bench/bench_start.py --repeat {args.repeat} "
        + " ".join(f"--src {s}" for s in srcs)
    )
    print()
    print("\n".join(run(srcs, args.repeat)))


if __name__ == "__main__":
    main()
