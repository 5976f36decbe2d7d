"""Seconds per signal of the vetting tests and of a vetting sheet, on a run's own shard.

    python benchmarks/vet_benchmark.py --run results/sim-default --shard 0000 --n 60

Takes the first ``--n`` light curves of the shard that the run's search found signals in
and vets each with the vet stage's own step (:func:`transitflow.vetting.stage.vet_and_draw`:
the sector's crowded epochs marked, the network's word on the sheet), in one process: after
a warm-up pass, once without sheets (the tests) and once with a sheet for every signal; the
sheets' time is the difference. Prints a markdown row of seconds per signal (issue 19's
targets on a 30-min sector: tests <= 0.1 s, a sheet <= 0.25 s) with matplotlib's version
and the load average.
The sheets go to ``--out`` (a temporary folder unless given). Needs the run's finished
vet inputs (data, search, infer, crowded epochs) and its config.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import matplotlib
import yaml

from transitflow.searching import SearchConfig
from transitflow.searching.stage import read_spectra
from transitflow.shards import iter_shard
from transitflow.signals import DISPOSITIONS
from transitflow.tables import read_table
from transitflow.vetting.config import VetConfig
from transitflow.vetting.skye import CrowdedEpochs, mark_crowded
from transitflow.vetting.stage import network_of, signals_by_light_curve, vet_and_draw

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--run", type=Path, default=REPO / "results/sim-default")
    parser.add_argument("--shard", default="0000")
    parser.add_argument("--n", type=int, default=60, help="light curves")
    parser.add_argument("--config", type=Path, default=REPO / "config/config.yaml")
    parser.add_argument("--out", type=Path, help="folder for the sheets")
    args = parser.parse_args()
    config = yaml.safe_load(args.config.read_text())
    search, vet = SearchConfig.from_dict(config["search"]), VetConfig.from_dict(config["vet"])
    signals = signals_by_light_curve(read_table(args.run / "search/signals" /
                                                f"{args.shard}.parquet"))
    chosen = dict(list(signals.items())[:args.n])
    if not chosen:
        raise SystemExit(f"{args.run}: shard {args.shard} has no signals to vet")
    spectra = read_spectra(args.run / "search/spectra" / f"{args.shard}.parquet")
    crowded = CrowdedEpochs.read(args.run / "vet/crowded_epochs.json")
    network = network_of(read_table(args.run / "infer/scores.parquet"))
    out = args.out or Path(tempfile.mkdtemp(prefix="sheets-"))
    out.mkdir(parents=True, exist_ok=True)
    light_curves = list(iter_shard(args.run / "data/shards" / f"{args.shard}.arrow", chosen))

    def vet_all(sheets_for) -> float:
        start = time.perf_counter()
        for lc in light_curves:
            _, failure = vet_and_draw(mark_crowded(lc, crowded), chosen[lc.meta.key], search,
                                      vet, out, sheets_for, spectra.get(lc.meta.key),
                                      network.get(lc.meta.key, {}))
            if failure is not None:
                raise SystemExit(f"{lc.meta.key}: its sheets failed: {failure}")
        return time.perf_counter() - start

    vet_all(())  # warm-up: compiled kernels and caches loaded
    seconds = {False: vet_all(()), True: vet_all(DISPOSITIONS)}
    n_signals = sum(map(len, chosen.values()))
    tests, sheets = seconds[False] / n_signals, (seconds[True] - seconds[False]) / n_signals
    print(f"sheets in {out}")
    print("| light curves | signals | tests s/signal | sheet s/signal | matplotlib | load |")
    print("|---|---|---|---|---|---|")
    print(f"| {len(chosen)} | {n_signals} | {tests:.3f} | {sheets:.3f} "
          f"| {matplotlib.__version__} | {os.getloadavg()[0]:.2f} |")


if __name__ == "__main__":
    main()
