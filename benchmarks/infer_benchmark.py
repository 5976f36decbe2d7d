"""Shard-scoring throughput: read shard + features + model, the path the infer rule runs.

    python benchmarks/infer_benchmark.py --cadence 30 --n 2000 --preset cnn --repeat 5

Simulates ``--n`` stars at ``--cadence`` minutes into one shard (or reads ``--shard``), saves a
randomly initialised ``--preset`` model (or reads ``--model``; speed does not depend on the
weights), and times :func:`transitflow.infer.score_shard` end to end, best of ``--repeat``
after one warm-up run, and its parts. Prints light curves per second and a markdown row
(columns as in ``docs/benchmarks.md``).
"""

from __future__ import annotations

import argparse
import math
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from transitflow.features import FeatureConfig, featurize_table
from transitflow.infer import (load_model, predict_logits, resolve_device, save_model,
                               score_shard)
from transitflow.lightcurve import LightCurve
from transitflow.models import build_model
from transitflow.shards import open_shard, shard_metadata, write_shard
from transitflow.simulate import SimConfig, simulate_stars

MARKDOWN_HEADER = ("| preset | cadence (min) | LCs | cadences/LC | threads | best s | LC/s "
                   "| its CPU s | features ms/LC | model ms/LC | load (1 min) |\n"
                   "|---|---|---|---|---|---|---|---|---|---|---|")


def simulated_light_curves(n: int, cadence: float, seed: int = 42) -> list[LightCurve]:
    """``n`` simulated stars of one sector at ``cadence`` minutes."""
    return simulate_stars(SimConfig(n_stars=n, cadence_min=cadence, seed=seed)).light_curves


def random_model(path: Path, preset: str) -> Path:
    """Save a seeded, untrained ``preset`` model for the default features to ``path``."""
    torch.manual_seed(0)
    features = FeatureConfig()
    options = {"in_channels": len(features.channels), "length": features.length}
    save_model(path, build_model(preset, **options), preset, options, features, threshold=0.5,
               calibration={"slope": 1.0, "intercept": 0.0})
    return path


def best_of(repeat: int, func: Callable[[], object]) -> tuple[float, float]:
    """The fastest of ``repeat`` calls: wall and process CPU seconds."""
    best = (math.inf, math.inf)
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        func()
        best = min(best, (time.perf_counter() - wall, time.process_time() - cpu))
    return best


def time_scoring(model_path: Path, shard_path: Path, repeat: int, batch_size: int,
                 device: str) -> dict:
    """Best-of-``repeat`` timings of ``score_shard`` and of its features and model parts."""
    score_shard(model_path, shard_path, batch_size, device)  # warm-up
    n = open_shard(shard_path).num_rows
    total, cpu = best_of(repeat, lambda: score_shard(model_path, shard_path, batch_size, device))
    model, meta = load_model(model_path)
    model.to(resolve_device(device))
    features = featurize_table(open_shard(shard_path), meta["features"])
    featurize, _ = best_of(repeat, lambda: featurize_table(open_shard(shard_path),
                                                           meta["features"]))
    forward, _ = best_of(repeat, lambda: predict_logits(model, features.x, batch_size))
    return {"n": n, "seconds": total, "cpu_seconds": cpu, "rate": n / total,
            "features_ms": 1e3 * featurize / n, "model_ms": 1e3 * forward / n,
            "preset": meta["preset"], **_shard_summary(shard_path)}


def _shard_summary(shard_path: Path) -> dict:
    """Median cadence (minutes) and number of cadences of the shard's light curves."""
    frame = shard_metadata(shard_path)
    return {"cadence": float(np.median(frame["cadence_min"])),
            "cadences": int(np.median(frame["n_cadences"]))}


def markdown_row(result: dict, threads: int, load: float) -> str:
    """One row under :data:`MARKDOWN_HEADER`."""
    return (f"| {result['preset']} | {result['cadence']:g} | {result['n']:,} "
            f"| {result['cadences']:,} | {threads} | {result['seconds']:.3f} "
            f"| {result['rate']:,.0f} | {result['cpu_seconds']:.3f} "
            f"| {result['features_ms']:.3f} | {result['model_ms']:.3f} | {load:.2f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cadence", type=float, default=30.0, help="minutes (simulation)")
    parser.add_argument("--n", type=int, default=2000, help="light curves (simulation)")
    parser.add_argument("--preset", default="cnn", help="model preset (random weights)")
    parser.add_argument("--model", type=Path, help="a model file instead of --preset")
    parser.add_argument("--shard", type=Path, help="a shard instead of a simulated one")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=512)
    parser.add_argument("--threads", type=int, help="torch CPU threads (default: torch's)")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    threads = args.threads or torch.get_num_threads()
    with tempfile.TemporaryDirectory() as tmp:
        shard = args.shard or write_shard(Path(tmp) / "bench.arrow",
                                          simulated_light_curves(args.n, args.cadence), {})
        torch.set_num_threads(threads)  # after batman's OpenMP calls, which set 1
        model = args.model or random_model(Path(tmp) / "model.pt", args.preset)
        load_before = os.getloadavg()[0]
        result = time_scoring(model, shard, args.repeat, args.batch_size, args.device)
    load = max(load_before, os.getloadavg()[0])
    print(f"score_shard: {result['n']:,} light curves of {result['cadences']:,} cadences in "
          f"{result['seconds']:.3f} s (best of {args.repeat}; CPU {result['cpu_seconds']:.3f} s)"
          f" = {result['rate']:,.0f} LC/s; features {result['features_ms']:.3f} ms/LC, model "
          f"{result['model_ms']:.3f} ms/LC; torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads; load average {load:.2f}")
    print(MARKDOWN_HEADER)
    print(markdown_row(result, torch.get_num_threads(), load))


if __name__ == "__main__":
    main()
