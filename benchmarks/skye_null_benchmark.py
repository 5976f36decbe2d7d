"""False-alarm rate of the crowded-epoch test (Skye) on sectors of independent events, and the
bins it marks on a run's own signals.

    python benchmarks/skye_null_benchmark.py [--sectors 200] [--stars 1000 300]
                                             [--false-alarm 1e-3] [--run results/sim-default]

Each null sector holds ``--stars`` stars with one to three events each at uniform random
times over 27 days (real transits fall at independent times) and, on every tenth star, a
periodic signal of 20 events (too many to count). Prints one JSON document: per star count,
the crowded bins of all null sectors, their share of the bins of both grids and the
merged windows per sector; and, with ``--run``, the crowded bins of that run's search
signals with the stars in each.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd

from transitflow.vetting.skye import BIN_DAYS, GRID_OFFSETS, crowded_epochs

SPAN_DAYS = 27.0


def null_sector(rng: np.random.Generator, stars: int) -> pd.DataFrame:
    """Signals of one sector whose events fall at independent times."""
    rows = []
    for tic in range(stars):
        n = int(rng.integers(1, 4))
        rows.append({"tic": tic, "sector": 1, "n_transits": n,
                     "transit_times": list(SPAN_DAYS * rng.random(n))})
        if tic % 10 == 0:
            rows.append({"tic": tic, "sector": 1, "n_transits": 20,
                         "transit_times": list(0.3 + 1.3 * np.arange(20))})
    return pd.DataFrame(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sectors", type=int, default=200)
    parser.add_argument("--stars", type=int, nargs="+", default=[1000, 300])
    parser.add_argument("--false-alarm", type=float, default=1e-3)
    parser.add_argument("--run", type=Path, help="a run's results folder")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    bins = args.sectors * int(SPAN_DAYS / BIN_DAYS) * len(GRID_OFFSETS)
    nulls = {}
    for stars in args.stars:
        epochs = [crowded_epochs(null_sector(rng, stars), args.false_alarm)
                  for _ in range(args.sectors)]
        crowded = sum(len(sector.sectors[1]["crowded"]) for sector in epochs)
        nulls[stars] = {"crowded_bins": crowded, "bins": bins, "rate": crowded / bins,
                        "windows_per_sector": sum(len(e.windows) for e in epochs) / args.sectors}
    document = {"false_alarm": args.false_alarm, "nulls": nulls}
    if args.run:
        signals = pd.concat(pd.read_parquet(path) for path in
                            sorted((args.run / "search" / "signals").glob("*.parquet")))
        document["run"] = crowded_epochs(signals, args.false_alarm).sectors
    print(json.dumps(document))


if __name__ == "__main__":
    main()
