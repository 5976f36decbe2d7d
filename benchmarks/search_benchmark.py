"""Seconds per light curve of the transit search (:func:`transitflow.searching.search_lightcurve`).

    python benchmarks/search_benchmark.py --n 8 --cadences 30 2 --methods bls tls

Simulates ``--n`` stars of the default class mix (planets, binaries, variables, quiet stars)
at each cadence and searches each light curve with each method (default ``SearchConfig``
otherwise: up to three signals, detrending included), one process, one thread. One search of
another star first warms numba's caches (wotan, TLS), so the figures are steady-state. Prints a
markdown table.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from transitflow.lightcurve import LightCurve
from transitflow.searching import SearchConfig, search_lightcurve
from transitflow.simulate import SimConfig, simulate_stars

MARKDOWN_HEADER = ("| method | cadence (min) | cadences/LC | LCs | mean s/LC | min s | max s "
                   "| signals | load (1 min) |\n|---|---|---|---|---|---|---|---|---|")


def time_searches(light_curves: list[LightCurve], config: SearchConfig) -> tuple[np.ndarray, int]:
    """Seconds of each search and the number of signals found in all."""
    seconds, signals = [], 0
    for lc in light_curves:
        start = time.perf_counter()
        signals += len(search_lightcurve(lc, config))
        seconds.append(time.perf_counter() - start)
    return np.array(seconds), signals


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=8, help="light curves per cadence")
    parser.add_argument("--cadences", type=float, nargs="+", default=[30.0, 2.0],
                        help="minutes")
    parser.add_argument("--methods", nargs="+", default=["bls", "tls"], choices=["bls", "tls"])
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    print(MARKDOWN_HEADER)
    for cadence in args.cadences:
        sim = SimConfig(n_stars=args.n + 1, cadence_min=cadence, seed=args.seed)
        warm_up, *light_curves = simulate_stars(sim).light_curves
        for method in args.methods:
            config = SearchConfig(method=method)
            search_lightcurve(warm_up, config)
            seconds, signals = time_searches(light_curves, config)
            cadences = int(np.median([len(lc) for lc in light_curves]))
            print(f"| {method} | {cadence:g} | {cadences:,} | {len(seconds)} "
                  f"| {seconds.mean():.3f} | {seconds.min():.3f} | {seconds.max():.3f} "
                  f"| {signals} | {os.getloadavg()[0]:.2f} |", flush=True)


if __name__ == "__main__":
    main()
