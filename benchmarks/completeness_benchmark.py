"""Completeness measured by injection against the simulation's own truth, and its cost.

    snakemake --cores 2
    python benchmarks/completeness_benchmark.py --run results/sim-default

Per expected-SNR bin: the injections of the run (``completeness/injections.parquet``) found
as PC, and the planted planets of the stars outside the training split recovered as PC in
the run's candidate table, with their difference, over all injections and like for like
(:func:`transitflow.report.injections_against_truth`). Then the in-depth cost:
``recover_shard`` again on the first shard's injected copies, timed, in seconds per
injected light curve. Prints one JSON document.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import pandas as pd
import yaml

from transitflow.completeness import recover_shard, score_copies
from transitflow.detect import DetectConfig
from transitflow.flag_summary import read_flag_summary
from transitflow.report import injections_against_truth
from transitflow.searching import SearchConfig
from transitflow.shards import read_shard
from transitflow.vetting import VetConfig

REPO = Path(__file__).resolve().parents[1]


def agreement(run: Path) -> dict[str, list[dict]]:
    """Both views per SNR bin (:func:`transitflow.report.injections_against_truth`): every
    injection against every planted planet, and like for like."""
    injections = pd.read_parquet(run / "completeness" / "injections.parquet")
    truth = pd.read_parquet(run / "data" / "truth.parquet")
    stars = pd.read_parquet(run / "data" / "stars.parquet")
    candidates = pd.read_csv(run / "candidates.csv")
    split = run / "split" / "split.parquet"
    split = pd.read_parquet(split) if split.exists() else None
    return {view: injections_against_truth(injections, truth, stars, candidates, split, alike)
            .round(3).to_dict("records")
            for view, alike in (("all", False), ("like for like", True))}


def cost(run: Path) -> dict:
    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    shard = run / "completeness" / "shards" / "0000.arrow"
    injections = pd.read_parquet(run / "completeness" / "injected" / "0000.parquet")
    summary = read_flag_summary(run / "infer" / "flag_summary.json")
    search, detect = (SearchConfig.from_dict(config["search"]),
                      DetectConfig.from_dict(config["detect"]))
    start = time.perf_counter()
    copies = read_shard(shard)
    scores, statistics = score_copies(shard, copies, run / "model" / "model.pt", summary,
                                      search, detect)
    recover_shard(copies, injections, scores, summary, search, detect,
                  VetConfig.from_dict(config["vet"]), statistics=statistics)
    seconds = time.perf_counter() - start
    return {"injections": len(injections), "seconds": round(seconds, 1),
            "seconds_per_injection": round(seconds / max(len(injections), 1), 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, default=REPO / "results" / "sim-default")
    args = parser.parse_args()
    print(json.dumps({"by_snr": agreement(args.run), "cost_first_shard": cost(args.run)},
                     indent=1))


if __name__ == "__main__":
    main()
