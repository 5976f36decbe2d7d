"""The batched detection search against BLS (astropy's and compiled) and TLS, same light curves.

    python benchmarks/detect_benchmark.py --n 200 --cadences 30 2 --tls 20

Simulates ``--n`` stars with one periodic planet each (every planet sized for an expected SNR
of 10 or more) at each cadence, then, in one process on one thread:

- ``batched``: :func:`transitflow.detect.search_batch` over all of them (detrending, the
  periodic search, the single-event search and the edge event included);
- ``astropy``: the same detrending, then astropy ``BoxLeastSquares.power`` on the same period
  grid, each period with the star's plausible durations, on the same binned data;
- ``compiled BLS``: the same with the in-depth search's compiled BLS (equal results);
- ``tls``: transitleastsquares 2.0.4 (the pinned ``fused-pl`` backend) on the first ``--tls``
  light curves, full cadence, its own grid over the same period range.

A period is recovered when it is within 1% of the planted one, half or double it. Prints a
markdown table; the ratio column is astropy's seconds per light curve over each method's.

``--device cuda`` runs the batched search on a GPU (the detrending and binning stay on the
CPU). ``--throughput N`` also times the phase scan alone, the part a GPU takes, on N light
curves of the first cadence (the simulated ones, detrended and binned once, repeated up to
N, searched in batches of ``--batch-size``) on ``--device``, and on at most CPU_SCAN_LIMIT
of them on the CPU (whose rate does not grow with the batch): light curves per second. On a
GPU machine, ``benchmarks/device_check.sh`` runs it.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import torch

from transitflow.detect import DetectConfig, search_batch, trial_periods
from transitflow.detect.batch import _groups, _prepare_copies, _search_group
from transitflow.searching import SearchConfig, bls_spectrum, detrend_for_search, stellar_density
from transitflow.searching.box_least_squares import (BoxSearch, astropy_box_least_squares,
                                                     box_least_squares)
from transitflow.simulate import SimConfig, simulate_stars

HEADER = ("| cadence (min) | method | LCs | s/LC | astropy / method | periods recovered | load |\n"
          "|---|---|---|---|---|---|---|")
RATIOS = (0.5, 1.0, 2.0)
#: Most light curves of the phase scan's timing on the CPU.
CPU_SCAN_LIMIT = 1024


def recovered(found: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Whether each found period is the true one, half or double it, within 1%."""
    return np.any([np.abs(found / (truth * r) - 1) < 0.01 for r in RATIOS], axis=0)


def bls_period(lc, search: SearchConfig, periods: np.ndarray, engine: BoxSearch) -> float:
    """The BLS best period on ``periods``, each with the star's durations."""
    return bls_spectrum(detrend_for_search(lc, search), periods, search, engine).period


def tls_period(lc, search: SearchConfig, low: float, high: float) -> float:
    from transitflow.searching import periodogram

    flat = detrend_for_search(lc, search)
    return periodogram(flat, SearchConfig(method="tls", max_period=high, min_period=low)).period


def timed(function, light_curves) -> tuple[float, np.ndarray]:
    start = time.perf_counter()
    periods = np.array([function(lc) for lc in light_curves])
    return (time.perf_counter() - start) / len(light_curves), periods


def scan_rate(light_curves, search: SearchConfig, n: int, batch_size: int,
              device: str) -> float:
    """Light curves per second of the batched search's phase scan on ``device``: the light
    curves detrended and binned once, repeated up to ``n``, searched in batches."""
    config = DetectConfig(batch_size=batch_size, device=device)
    prepared = [_prepare_copies(lc, search, config, ("data",))["data"] for lc in light_curves]
    for outcome in prepared:
        if isinstance(outcome, Exception):
            raise outcome
    repeated = [prepared[i % len(prepared)] for i in range(n)]
    groups = list(_groups(repeated, batch_size))
    _search_group(groups[0][:2], search, config, torch.device(device))  # compile, warm up
    start = time.perf_counter()
    for group in groups:
        _search_group(group, search, config, torch.device(device))
    return n / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--cadences", type=float, nargs="+", default=[30.0, 2.0])
    parser.add_argument("--tls", type=int, default=20, help="light curves for TLS (slow)")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--device", default="cpu", help="the batched search's device")
    parser.add_argument("--throughput", type=int, default=0, metavar="N",
                        help="also time the phase scan alone on N light curves")
    parser.add_argument("--batch-size", type=int, default=DetectConfig().batch_size)
    args = parser.parse_args()
    torch.set_num_threads(1)
    search, config = SearchConfig(), DetectConfig(device=args.device)
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
        rows = [(f"batched ({args.device})", args.n, batched_s, found["period"].to_numpy(), truth)]
        for name, engine in (("astropy BLS", astropy_box_least_squares),
                             ("compiled BLS", box_least_squares)):
            seconds, period = timed(lambda lc: bls_period(lc, search, periods, engine),
                                    batch.light_curves)
            rows.append((name, args.n, seconds, period, truth))
        astropy_s = rows[1][2]
        subset = batch.light_curves[:args.tls]
        seconds, period = timed(lambda lc: tls_period(lc, search, low, high), subset)
        rows.append(("TLS 2.0.4", len(subset), seconds, period, truth[:args.tls]))
        for name, count, seconds, period, true in rows:
            print(f"| {cadence:g} | {name} | {count} | {seconds:.4f} | {astropy_s / seconds:.1f} "
                  f"| {recovered(period, true).mean():.1%} | {os.getloadavg()[0]:.2f} |",
                  flush=True)
        print(f"<!-- {len(periods)} trial periods {low:.3f}-{high:.3f} d -->")
        if args.throughput and cadence == args.cadences[0]:
            runs = {"cpu": min(args.throughput, CPU_SCAN_LIMIT)}
            if args.device != "cpu":
                runs[args.device] = args.throughput
            for device, n in runs.items():
                size = min(n, args.batch_size)
                rate = scan_rate(batch.light_curves, search, n, size, device)
                print(f"<!-- phase scan alone, {device}, {n} light curves of {cadence:g} min "
                      f"in batches of {size}: {rate:,.0f} LC/s -->")


if __name__ == "__main__":
    main()
