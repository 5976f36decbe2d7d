"""False-alarm rate of a vetting test on real light curves at random ephemerides.

    python benchmarks/vetting_null_benchmark.py [--test background] [--snr S] [--n 200]
                                                [--given snr] [--planets]
                                                [--set KEY=VALUE ...]
                                                [--realdata ../shared/realdata]

For each real SPOC light curve of a quiet star or a planet host in ``realdata/truth.csv``
(EBs left out: their eclipses would be signals), with the known transits cut out (two
durations either side), ``--n`` random single events (durations 1.5-5 h) and ``--n`` random
periodic ephemerides (P 1-10 d); per light curve and overall: the share with |significance|
> 3 and the share flagged (of the ephemerides the test measured: it skips light curves
without background data), with no signal injected, and with a 2.5% on-target transit
injected on the same ephemerides (which the test must not flag either; with ``--snr``, a
transit of that expected white-noise SNR instead). With ``--planets``, the ephemerides are
periodic planets drawn for the star instead (:func:`drawn_planets`: limb-darkened, their
duration from the star's density, 0.7-23 R_earth), which the shape and radius tests, whose
nulls depend on the star, need. The test sees the light curve detrended once (window 1 d),
the transit injected into both. Prints one JSON document.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
from dataclasses import replace
from pathlib import Path

import numpy as np

from transitflow import vetting
from transitflow.detrend import detrend
from transitflow.inject import in_transit, transit_flux, transit_params, white_noise
from transitflow.lightcurve import LightCurve
from transitflow.readers import read_lightcurves
from transitflow.searching import stellar_density
from transitflow.signals import R_SUN_IN_R_EARTH, Signal, planet_radius_earth
from transitflow.vetting.measure import a_over_rstar

REPO = Path(__file__).resolve().parents[1]
CLASSES = ("no_known_signal", "planet_KP", "planet_CP", "planet_CP_single_transit")
DEPTH = 0.025
DETREND_WINDOW = 1.0
#: Drawn planets: radius (R_earth, log-uniform; up to an inflated 2.05 R_Jup, and at most
#: MAX_RP_RS of the star), period (days, uniform), impact parameter (uniform, no grazing).
PLANET_RADII, PLANET_PERIODS, MAX_IMPACT, MAX_RP_RS = (0.7, 23.0), (1.0, 10.0), 0.9, 0.3


def cases(realdata: Path) -> list[dict]:
    """The truth rows of SPOC FITS light curves of quiet stars and planet hosts."""
    with open(realdata / "truth.csv", newline="") as handle:
        return [row for row in csv.DictReader(handle)
                if row["truth_class"] in CLASSES and row["file"].endswith(".fits")
                and "ktwo" not in row["file"]]


def without_known_transits(lc: LightCurve, truth: dict) -> LightCurve:
    """``lc`` without the cadences within two durations of the known transits."""
    if not truth["t0"]:
        return lc
    period = float(truth["period_d"]) if truth["period_d"] else math.nan
    known = in_transit(lc.time, period, float(truth["t0"]), 4.0 * float(truth["duration_h"]) / 24)
    return lc.select(~known)


def random_signals(lc: LightCurve, rng: np.random.Generator, n: int) -> list[Signal]:
    """``n`` single and ``n`` periodic random ephemerides over ``lc``."""
    signals = []
    for index in range(2 * n):
        duration = rng.uniform(1.5, 5.0) / 24.0
        single = index < n
        period = math.nan if single else rng.uniform(1.0, 10.0)
        epoch = rng.uniform(lc.time[0] + 0.3, lc.time[-1] - 0.3) if single else (
            lc.time[0] + rng.uniform(0.0, period))
        signals.append(Signal(lc.meta.tic, lc.meta.sector, 0, "single" if single else "periodic",
                              "bls", period, epoch, duration, DEPTH, math.nan, math.nan,
                              math.nan, 1))
    return signals


def drawn_planets(lc: LightCurve, rng: np.random.Generator, n: int) -> list[tuple[Signal, dict]]:
    """``n`` periodic planets for ``lc``'s star, each as the signal a search would report
    (true ephemeris and duration, the central depth, the radius that depth gives as the
    pipeline computes it) and its transit parameters; none when the star's density or
    radius is unknown."""
    if not (math.isfinite(lc.meta.radius) and math.isfinite(stellar_density(lc.meta))):
        return []
    finite = lc.flux[np.isfinite(lc.flux)]
    sigma = white_noise(finite / np.median(finite))
    planets = []
    while len(planets) < n:
        period = rng.uniform(*PLANET_PERIODS)
        probe = Signal(lc.meta.tic, lc.meta.sector, 0, "periodic", "bls", period, 0.0, 0.1,
                       0.0, math.nan, math.nan, math.nan, 1)
        a_rs = a_over_rstar(probe, lc)
        rp_rs = min(math.exp(rng.uniform(*np.log(PLANET_RADII)))
                    / (lc.meta.radius * R_SUN_IN_R_EARTH), MAX_RP_RS)
        if a_rs <= 1.0 + rp_rs:  # inside the star: no orbit
            continue
        epoch = lc.time[0] + rng.uniform(0.0, period)
        params = transit_params(lc.time, sigma, period, epoch, rp_rs, a_rs,
                                rng.uniform(0.0, MAX_IMPACT), tuple(rng.random(2)))
        signal = replace(probe, epoch=epoch, duration=params["duration"], depth=params["depth"],
                         radius_earth=planet_radius_earth(params["depth"], lc.meta))
        planets.append((signal, params))
    return planets


def with_planet(lc: LightCurve, params: dict) -> LightCurve:
    """``lc`` with the limb-darkened transits of ``params``."""
    return replace(lc, flux=(lc.flux * transit_flux(lc.time, params)).astype(np.float32))


def with_box(lc: LightCurve, signal: Signal, depth: float) -> LightCurve:
    """``lc`` with a box transit of ``depth`` on ``signal``'s ephemeris (on target)."""
    dip = np.abs(signal.offset(lc.time)) < 0.5 * signal.duration
    return replace(lc, flux=(lc.flux * (1.0 - depth * dip)).astype(np.float32))


def box_depth(detrended: LightCurve, signal: Signal, snr: float | None) -> float:
    """:data:`DEPTH`, or the depth of expected white-noise SNR ``snr`` on ``signal``."""
    if snr is None:
        return DEPTH
    inside = int(np.count_nonzero(np.abs(signal.offset(detrended.time)) < 0.5 * signal.duration))
    noise = white_noise(detrended.flux / np.median(detrended.flux))
    return snr * noise / math.sqrt(max(inside, 1))


def injections(lc: LightCurve, detrended: LightCurve, rng: np.random.Generator, n: int,
               snr: float | None, planets: bool):
    """(signal, ``lc`` and ``detrended`` with its transits) per ephemeris: drawn planets,
    or boxes on random ephemerides (:func:`box_depth` deep)."""
    if planets:
        for signal, params in drawn_planets(lc, rng, n):
            yield signal, with_planet(lc, params), with_planet(detrended, params)
        return
    for signal in random_signals(lc, rng, n):
        depth = box_depth(detrended, signal, snr)
        yield signal, with_box(lc, signal, depth), with_box(detrended, signal, depth)


def measure(realdata: Path, n: int, seed: int, test: str = "background",
            snr: float | None = None, config: vetting.VetConfig = vetting.VetConfig(),
            given: str | None = None, planets: bool = False) -> dict:
    """The shares per light curve and overall; with ``given``, also the share flagged of
    the injected transits that test passes."""
    rng = np.random.default_rng(seed)
    run = vetting.REGISTRY[test]
    rows, totals = [], {"null": [], "injected": []}
    for truth in cases(realdata):
        lc = without_known_transits(read_lightcurves(realdata / truth["file"])[0], truth)
        detrended = detrend(lc, DETREND_WINDOW)
        outcome = {"null": [], "injected": []}
        for signal, *injected in injections(lc, detrended, rng, n, snr, planets):
            for name, pair in (("null", (lc, detrended)), ("injected", injected)):
                result = run(*pair, signal, config)
                passes = not (given and vetting.REGISTRY[given](*pair, signal, config).flag)
                if math.isfinite(result.significance) or math.isfinite(result.metric):
                    # else skipped: no data to test
                    outcome[name].append((abs(result.significance) > 3, result.flag, passes))
        if not outcome["null"]:
            continue
        row = {"file": truth["file"], "class": truth["truth_class"],
               "ephemerides": len(outcome["null"])}
        for name, values in outcome.items():
            values = np.array(values, dtype=bool)
            totals[name].append(values)
            row[f"{name}: |sigma| > 3"] = round(float(values[:, 0].mean()), 4)
            row[f"{name}: flagged"] = round(float(values[:, 1].mean()), 4)
        rows.append(row)
    overall = {f"{name}: {what}": round(float(np.concatenate(v)[:, i].mean()), 4)
               for name, v in totals.items() for i, what in enumerate(("|sigma| > 3", "flagged"))}
    if given:
        injected = np.concatenate(totals["injected"])
        passing = injected[injected[:, 2]]
        overall[f"injected passing {given}"] = len(passing)
        overall["of those, flagged"] = round(float(passing[:, 1].mean()), 4) if len(
            passing) else None
    return {"per_light_curve": rows, "overall": overall}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--realdata", type=Path, default=REPO.parent / "shared" / "realdata")
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--test", choices=sorted(vetting.REGISTRY), default="background")
    injected = parser.add_mutually_exclusive_group()
    injected.add_argument("--snr", type=float, default=None,
                          help="inject boxes of this expected SNR instead of 2.5%% deep")
    parser.add_argument("--given", choices=sorted(vetting.REGISTRY), default=None,
                        help="also the share flagged of the injections this test passes")
    injected.add_argument("--planets", action="store_true",
                          help="n drawn limb-darkened planets per light curve instead of n "
                               "single and n periodic boxes at random ephemerides")
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE",
                        help="VetConfig thresholds to change, e.g. min_ms1=0.2")
    args = parser.parse_args()
    config = vetting.VetConfig.from_dict({key: float(value) for key, value
                                      in (item.split("=", 1) for item in args.set)})
    print(json.dumps(measure(args.realdata, args.n, args.seed, args.test, args.snr, config,
                             args.given, args.planets), indent=1))


if __name__ == "__main__":
    main()
