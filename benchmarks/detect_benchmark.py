"""The batched detection search against astropy BLS and TLS on the same light curves.

    python benchmarks/detect_benchmark.py --n 200 --cadences 30 2 --tls 20

Simulates ``--n`` stars with one periodic planet each (every planet sized for an expected SNR
of 10 or more) at each cadence, then, in one process on one thread:

- ``batched``: :func:`transitflow.detect.search_batch` over all of them (detrending, the
  periodic search, the single-event search and the edge event included);
- ``astropy``: the same detrending, then astropy ``BoxLeastSquares.power`` on the same period
  grid, each period with the star's plausible durations, on the same binned data;
- ``tls``: transitleastsquares 2.0.4 (the pinned ``fused-pl`` backend) on the first ``--tls``
  light curves, full cadence, its own grid over the same period range.

A period is recovered when it is within 1% of the planted one, half or double it. Prints a
markdown table; the ratio column is astropy's seconds per light curve over each method's.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import torch

from transitflow.detect import DetectConfig, search_batch, trial_periods
from transitflow.searching import SearchConfig, bls_spectrum, detrend_for_search, stellar_density
from transitflow.simulate import SimConfig, simulate_stars

HEADER = ("| cadence (min) | method | LCs | s/LC | astropy / method | periods recovered | load |\n"
          "|---|---|---|---|---|---|---|")
RATIOS = (0.5, 1.0, 2.0)


def recovered(found: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Whether each found period is the true one, half or double it, within 1%."""
    return np.any([np.abs(found / (truth * r) - 1) < 0.01 for r in RATIOS], axis=0)


def astropy_period(lc, search: SearchConfig, periods: np.ndarray) -> float:
    """The astropy BLS best period on ``periods``, each with the star's durations."""
    return bls_spectrum(detrend_for_search(lc, search), periods, search).period


def tls_period(lc, search: SearchConfig, low: float, high: float) -> float:
    from transitflow.searching import periodogram

    flat = detrend_for_search(lc, search)
    return periodogram(flat, SearchConfig(method="tls", max_period=high, min_period=low)).period


def timed(function, light_curves) -> tuple[float, np.ndarray]:
    start = time.perf_counter()
    periods = np.array([function(lc) for lc in light_curves])
    return (time.perf_counter() - start) / len(light_curves), periods


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--cadences", type=float, nargs="+", default=[30.0, 2.0])
    parser.add_argument("--tls", type=int, default=20, help="light curves for TLS (slow)")
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    torch.set_num_threads(1)
    search, config = SearchConfig(), DetectConfig()
    print(HEADER)
    for cadence in args.cadences:
        sim = SimConfig(n_stars=args.n, cadence_min=cadence, seed=args.seed,
                        class_fractions={"planet": 1.0}, multi_planet_fraction=0.0,
                        single_transit_fraction=0.0, detectable_fraction=1.0)
        batch = simulate_stars(sim)
        truth = batch.stars.set_index("key").loc[[lc.meta.key for lc in batch.light_curves],
                                                 "period"].to_numpy()
        search_batch(batch.light_curves[:2], search, config)  # compile the kernel once
        start = time.perf_counter()
        found = search_batch(batch.light_curves, search, config)
        batched_s = (time.perf_counter() - start) / args.n
        span = np.ptp(batch.light_curves[0].time)
        periods = trial_periods(span, [stellar_density(lc.meta) for lc in batch.light_curves],
                                search)
        low, high = float(periods[0]), float(periods[-1])
        rows = [("batched", args.n, batched_s, found["period"].to_numpy(), truth)]
        seconds, period = timed(lambda lc: astropy_period(lc, search, periods),
                                batch.light_curves)
        rows.append(("astropy BLS", args.n, seconds, period, truth))
        astropy_s = seconds
        subset = batch.light_curves[:args.tls]
        seconds, period = timed(lambda lc: tls_period(lc, search, low, high), subset)
        rows.append(("TLS 2.0.4", len(subset), seconds, period, truth[:args.tls]))
        for name, count, seconds, period, true in rows:
            print(f"| {cadence:g} | {name} | {count} | {seconds:.4f} | {astropy_s / seconds:.1f} "
                  f"| {recovered(period, true).mean():.1%} | {os.getloadavg()[0]:.2f} |",
                  flush=True)
        print(f"<!-- {len(periods)} trial periods {low:.3f}-{high:.3f} d -->")


if __name__ == "__main__":
    main()
