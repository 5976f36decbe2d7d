"""Job-seconds per rule and the wall of a finished Snakemake run, from Snakemake's records.

    python benchmarks/job_timeline.py --workdir . --run results/sim-default

Snakemake keeps a record of each output under ``.snakemake/metadata`` (the file's name is
the output's path, base64-encoded): its rule, the job's hash, its start (when the output's
incomplete marker was made, as the job started) and its end (the output's modification
time); a job's outputs differ by milliseconds. Prints a markdown row per rule (jobs,
job-seconds, when its first job started and its last ended, in seconds from the first
start) and the whole. The workdir keeps the records of every run made in it: ``--run``
keeps the outputs under one run's folder; read it for a run made in one go, as a job
rerun later moves its rule's times.
"""

from __future__ import annotations

import argparse
import base64
import json
import math
from collections import defaultdict
from pathlib import Path


def jobs_of(workdir: Path, run: str) -> list[tuple[str, float, float]]:
    """(rule, start, end) of each job whose outputs lie under ``run``, by start: the
    earliest start and the latest end of the outputs of one rule that share a job hash."""
    metadata = workdir / ".snakemake" / "metadata"
    spans = {}
    for path in filter(Path.is_file, metadata.rglob("*")):
        # a long name is split into folders, each named "@" and its part
        name = "".join(part.removeprefix("@") for part in path.relative_to(metadata).parts)
        output = base64.urlsafe_b64decode(name).decode()
        if not output.startswith(run):
            continue
        record = json.loads(path.read_text())
        job = (record["rule"], record["job_hash"])
        start, end = spans.get(job, (math.inf, 0.0))
        spans[job] = (min(start, record["starttime"]), max(end, record["endtime"]))
    return sorted(((rule, start, end) for (rule, _), (start, end) in spans.items()),
                  key=lambda job: job[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workdir", type=Path, default=Path("."),
                        help="the folder snakemake ran in")
    parser.add_argument("--run", default="", help="a run's results folder, e.g. "
                        "results/sim-default, relative to the workdir (default: every run)")
    args = parser.parse_args()
    jobs = jobs_of(args.workdir, args.run)
    if not jobs:
        raise SystemExit(f"{args.workdir}: no job records under .snakemake/metadata"
                         f"{' for ' + args.run if args.run else ''}")
    begin = jobs[0][1]
    by_rule = defaultdict(list)  # rules in the order their first job started
    for rule, start, end in jobs:
        by_rule[rule].append((start - begin, end - begin))
    print("| rule | jobs | job-seconds | first start (s) | last end (s) |")
    print("|---|---|---|---|---|")
    for rule, spans in by_rule.items():
        seconds = sum(end - start for start, end in spans)
        print(f"| {rule} | {len(spans)} | {seconds:.0f} | {spans[0][0]:.0f} "
              f"| {max(end for _, end in spans):.0f} |")
    total = sum(end - start for _, start, end in jobs)
    print(f"| **all** | {len(jobs)} | {total:.0f} | 0 "
          f"| {max(end for _, _, end in jobs) - begin:.0f} |")


if __name__ == "__main__":
    main()
