"""How often a background eclipsing binary blended into a real light curve is named BEB.

    python benchmarks/blend_benchmark.py [--n 100] [--realdata ../shared/realdata]

Into each real SPOC light curve of a quiet star or a planet host in ``realdata/truth.csv``
with centroid data (known transits cut out, as ``vetting_null_benchmark.py``), ``--n``
blends: a background binary ``--offset`` px from the target (uniform, random direction)
holding a share ``--weight`` of the light (log-uniform) and eclipsing by 10-50% of its own
flux (box-shaped, P 1-10 d, 1.5-5 h). The target's flux dips by deficit = weight x eclipse
depth and its flux-weighted centroid moves by -offset x deficit x (1 - weight) / (1 -
deficit), the simulator's blend (transitflow.simulate); the real centroid noise stays.
Each blend, and the same dip on target (no centroid motion), is vetted at its true
ephemeris through every test. Prints, per light curve and overall, the share named BEB
(of all blends, and of those bright enough to pass the snr test, as a search would find
them), the share the centroid test flags, and for the on-target dips the share named BEB
(which must stay near zero). One JSON document.
"""

from __future__ import annotations

import argparse
import json
import math
from dataclasses import replace
from pathlib import Path

import numpy as np
from vetting_null_benchmark import REPO, cases, without_known_transits

from transitflow import vetting
from transitflow.detrend import detrend
from transitflow.lightcurve import LightCurve
from transitflow.readers import read_lightcurves
from transitflow.signals import Signal
from transitflow.simulate import blend_centroid_shift

DETREND_WINDOW = 1.0


def blend(lc: LightCurve, signal: Signal, deficit: float, shift: np.ndarray) -> LightCurve:
    """``lc`` with a box dip of ``deficit`` on ``signal``'s ephemeris and the centroids
    moved by ``shift`` (col, row; px) in it."""
    dip = np.abs(signal.offset(lc.time)) < 0.5 * signal.duration
    return replace(lc, flux=(lc.flux * (1.0 - deficit * dip)).astype(np.float32),
                   centroid_col=(lc.centroid_col + shift[0] * dip).astype(np.float32),
                   centroid_row=(lc.centroid_row + shift[1] * dip).astype(np.float32))


def draw(lc: LightCurve, rng: np.random.Generator, offsets: tuple[float, float],
         weights: tuple[float, float]) -> tuple[Signal, float, np.ndarray]:
    """A random blend's ephemeris, flux deficit and centroid shift."""
    period, duration = rng.uniform(1.0, 10.0), rng.uniform(1.5, 5.0) / 24.0
    epoch = lc.time[0] + rng.uniform(0.0, period)
    weight = math.exp(rng.uniform(*np.log(weights)))
    deficit = weight * rng.uniform(0.1, 0.5)
    angle = rng.uniform(0.0, 2.0 * math.pi)
    offset = rng.uniform(*offsets) * np.array([math.cos(angle), math.sin(angle)])
    signal = Signal(lc.meta.tic, lc.meta.sector, 0, "periodic", "bls", period, epoch,
                    duration, deficit, math.nan, math.nan, math.nan, 1)
    return signal, deficit, blend_centroid_shift(offset, deficit, weight)


def named(lc: LightCurve, signal: Signal) -> tuple[str, dict[str, bool]]:
    """The disposition of ``signal`` on ``lc`` and each test's flag."""
    results = vetting.vet_signal(lc, signal, vetting.VetConfig(), detrended=detrend(lc, DETREND_WINDOW))
    label, _ = vetting.disposition(signal, results, vetting.VetConfig())
    return label, {r.test: r.flag for r in results}


def measure(realdata: Path, n: int, seed: int, offsets: tuple[float, float],
            weights: tuple[float, float]) -> dict:
    rng = np.random.default_rng(seed)
    rows, outcomes = [], []
    for truth in cases(realdata):
        lc = without_known_transits(read_lightcurves(realdata / truth["file"])[0], truth)
        if not np.isfinite(lc.centroid_col).any():
            continue
        outcome = []
        for _ in range(n):
            signal, deficit, shift = draw(lc, rng, offsets, weights)
            blended, flags = named(blend(lc, signal, deficit, shift), signal)
            on_target, _ = named(blend(lc, signal, deficit, np.zeros(2)), signal)
            outcome.append((blended == "BEB", not flags["snr"], flags["centroid"],
                            on_target == "BEB"))
        values = np.array(outcome, dtype=bool)
        outcomes.append(values)
        rows.append({"file": truth["file"], "blends": n, **shares(values)})
    return {"per_light_curve": rows, "overall": shares(np.concatenate(outcomes))}


def shares(values: np.ndarray) -> dict[str, float]:
    """The shares of :func:`measure`'s outcome columns (BEB, passes snr, centroid flag,
    on-target BEB)."""
    beb, bright, centroid, on_target = values.T
    return {"blends named BEB": round(float(beb.mean()), 4),
            "blends passing the snr test": round(float(bright.mean()), 4),
            "of those, named BEB": round(float(beb[bright].mean()), 4) if bright.any() else None,
            "blends the centroid test flags": round(float(centroid.mean()), 4),
            "on-target dips named BEB": round(float(on_target.mean()), 4)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--realdata", type=Path, default=REPO.parent / "shared" / "realdata")
    parser.add_argument("--n", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--offset", type=float, nargs=2, default=(1.0, 3.0),
                        help="source distance range, px")
    parser.add_argument("--weight", type=float, nargs=2, default=(0.02, 0.15),
                        help="range of the binary's share of the light")
    args = parser.parse_args()
    print(json.dumps(measure(args.realdata, args.n, args.seed, tuple(args.offset),
                             tuple(args.weight)), indent=1))


if __name__ == "__main__":
    main()
