"""Seconds per signal of the vetting tests and of a vetting sheet, on a run's own shard.

    python benchmarks/vet_benchmark.py --run results/sim-default --shard 0000 --n 30

Takes the first ``--n`` light curves of the shard that the run's search found signals in,
vets each as the vet stage does (the light curve detrended once, every signal's tests) and
draws a sheet of every signal, in one process on one core; prints a markdown row of the
seconds per signal of each part (the issue's targets: tests <= 0.1 s, a sheet <= 0.25 s on
a 30-min sector) with matplotlib's version and the load average. The sheets go to
``--out`` (a temporary folder unless given). Needs the run's data, search and config.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import matplotlib
import yaml

from transitflow.searching import SearchConfig, detrend_for_search
from transitflow.searching.stage import read_spectra
from transitflow.shards import iter_shard
from transitflow.sheets import draw_sheets
from transitflow.tables import read_table
from transitflow.vetting.config import VetConfig
from transitflow.vetting.stage import signals_by_light_curve
from transitflow.vetting.vetter import others_masked, others_of, vet_light_curve


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--run", type=Path, default=Path("results/sim-default"))
    parser.add_argument("--shard", default="0000")
    parser.add_argument("--n", type=int, default=30, help="light curves")
    parser.add_argument("--config", type=Path, default=Path("config/config.yaml"))
    parser.add_argument("--out", type=Path, help="folder for the sheets")
    args = parser.parse_args()
    config = yaml.safe_load(args.config.read_text())
    search, vet = SearchConfig.from_dict(config["search"]), VetConfig.from_dict(config["vet"])
    signals = signals_by_light_curve(read_table(args.run / "search/signals" /
                                                f"{args.shard}.parquet"))
    chosen = dict(list(signals.items())[:args.n])
    spectra = read_spectra(args.run / "search/spectra" / f"{args.shard}.parquet")
    out = args.out or Path(tempfile.mkdtemp(prefix="sheets-"))
    out.mkdir(parents=True, exist_ok=True)
    tests = sheets = 0.0
    n_signals = 0
    for lc in iter_shard(args.run / "data/shards" / f"{args.shard}.arrow", chosen):
        found = chosen[lc.meta.key]
        start = time.perf_counter()
        detrended = detrend_for_search(lc, search)
        rows = vet_light_curve(lc, found, vet, detrended)
        middle = time.perf_counter()
        views = [others_masked(lc, signal, others_of(signal, found), vet, detrended)
                 for signal in found]
        draw_sheets(list(zip(found, rows)), views, spectra.get(lc.meta.key), out)
        tests, sheets = tests + middle - start, sheets + time.perf_counter() - middle
        n_signals += len(found)
    print("| light curves | signals | tests s/signal | sheet s/signal | matplotlib | load |")
    print("|---|---|---|---|---|---|")
    print(f"| {len(chosen)} | {n_signals} | {tests / n_signals:.3f} | {sheets / n_signals:.3f} "
          f"| {matplotlib.__version__} | {os.getloadavg()[0]:.2f} |")


if __name__ == "__main__":
    main()
