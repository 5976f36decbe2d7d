"""Where a pipeline job spends its time: py-spy samples, summed by function.

Runs one command under py-spy (``pip install py-spy``; it is not a dependency of the
pipeline), or reads a raw profile py-spy wrote for a running job, and prints markdown rows of
the functions holding the most samples, inclusive (the function and what it calls) and self.
Take a job's command from ``snakemake -p`` or from the job's log::

    python benchmarks/profile_stage.py -- python -m transitflow vet --shard ... --out ...
    py-spy record -r 20 --nonblocking -f raw -o vet.txt -p PID   # a job of a running workflow
    python benchmarks/profile_stage.py --raw vet.txt
"""

from __future__ import annotations

import argparse
import collections
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

#: A py-spy frame: ``function (path/to/file.py:line)``.
FRAME = re.compile(r"\s*(?P<function>[^(]*) \((?P<file>[^()]*):\d+\)\s*$")


def record(command: list[str], rate: int, raw: Path) -> None:
    """Run ``command`` under py-spy, writing its raw (collapsed) stacks to ``raw``."""
    if shutil.which("py-spy") is None:
        sys.exit("py-spy is not installed: pip install py-spy")
    subprocess.run(["py-spy", "record", "-r", str(rate), "--subprocesses", "-f", "raw",
                    "-o", str(raw), "--", *command], check=True)


def function_names(stack: str) -> list[str]:
    """``module/file.py:function`` of each Python frame of a stack, the path cut to the
    package; process names (a shell command may hold ';') and frozen imports left out."""
    names = []
    for match in map(FRAME.match, stack.split(";")):
        if match is not None and not match["file"].startswith("<frozen"):
            path = re.sub(r".*/(site-packages|src)/", "", match["file"])
            names.append(f"{path}:{match['function']}")
    return names


def sample_counts(raw: Path) -> tuple[collections.Counter, collections.Counter, int]:
    """Samples per function, inclusive and self, and the total, from a raw profile."""
    inclusive, own, total = collections.Counter(), collections.Counter(), 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():  # a process name's first line, when it holds a newline
            continue
        frames = function_names(stack)
        total += int(count)
        inclusive.update(dict.fromkeys(frames, int(count)))
        if frames:
            own[frames[-1]] += int(count)
    return inclusive, own, total


def table(inclusive: collections.Counter, own: collections.Counter, total: int,
          top: int) -> str:
    """Markdown rows of the ``top`` functions by inclusive samples, with their self share."""
    rows = ["| function | inclusive | self |", "|---|---|---|"]
    rows += [f"| `{name}` | {100 * count / total:.1f}% | {100 * own[name] / total:.1f}% |"
             for name, count in inclusive.most_common(top)]
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--raw", type=Path, help="a raw py-spy profile to summarise")
    parser.add_argument("--rate", type=int, default=50, help="samples per second")
    parser.add_argument("--top", type=int, default=20, help="functions listed")
    parser.add_argument("command", nargs="*", help="the command to profile, after --")
    args = parser.parse_args()
    if (args.raw is None) == (not args.command):
        parser.error("give either --raw FILE or a command after --")
    with tempfile.TemporaryDirectory() as scratch:
        raw = args.raw or Path(scratch) / "profile.txt"
        if args.command:
            record(args.command, args.rate, raw)
        inclusive, own, total = sample_counts(raw)
    print(f"{total} samples\n")
    print(table(inclusive, own, total, args.top))


if __name__ == "__main__":
    main()
