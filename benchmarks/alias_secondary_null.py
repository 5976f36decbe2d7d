"""False alarms of the secondary test's search at alias periods, on planets.

Planets of two transits whose middle one falls in the orbit gap (so the period may be half
or a third of their separation: ``searching.alias_periods``) are injected as boxes into the
quiet real SPOC light curves of TIC 150065151 (sectors 1 and 2), vetted as the search would
report them, and counted where the secondary test flags them: with the alias periods (the
test as it is) and at the separation alone (as before the alias search). Every flag is a
false alarm: a planet has no secondary eclipse.

    python benchmarks/alias_secondary_null.py --n 100
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

import numpy as np

from transitflow.readers import read_lightcurves
from transitflow.searching import SearchConfig, alias_periods, detrend_for_search
from transitflow.signals import Signal
from transitflow.vetting import VetConfig
from transitflow.vetting.eclipse import secondary_at, secondary

REPO = Path(__file__).resolve().parents[1]
QUIET = ("tess2018206045859-s0001-0000000150065151-0120-s_lc.fits",
         "tess2018234235059-s0002-0000000150065151-0121-s_lc.fits")
HALF_SEPARATION_DAYS = (9.0, 12.0)
DEPTHS = (0.003, 0.02)
DURATION_HOURS = (2.0, 4.0)


def gap_planets(lc, n: int, rng: np.random.Generator):
    """Up to ``n`` (light curve with the planet, its two-transit signal) pairs."""
    time = lc.time[np.isfinite(lc.flux)]
    gap = int(np.argmax(np.diff(time)))
    middle = 0.5 * (time[gap] + time[gap + 1])
    for _ in range(n):
        half = rng.uniform(*HALF_SEPARATION_DAYS)
        depth = rng.uniform(*DEPTHS)
        duration = rng.uniform(*DURATION_HOURS) / 24.0
        first, second = middle - half, middle + half
        if first < time[0] + duration or second > time[-1] - duration:
            continue
        inside = np.minimum(np.abs(lc.time - first), np.abs(lc.time - second)) < duration / 2
        planet = replace(lc, flux=(lc.flux * (1.0 - depth * inside)).astype(np.float32))
        yield planet, Signal(lc.meta.tic, lc.meta.sector, 0, "periodic", "bls", 2 * half, first,
                             duration, depth, depth / 20, 20.0, 10.0, 2, (first, second),
                             (depth, depth))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--realdata", type=Path, default=REPO.parent / "shared" / "realdata")
    parser.add_argument("--n", type=int, default=100, help="planets per light curve")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    planets = with_alias = flagged = flagged_at_period = 0
    for name in QUIET:
        [lc] = read_lightcurves(args.realdata / "lightcurves" / "qusi" / name)
        for planet, signal in gap_planets(lc, args.n, rng):
            detrended = detrend_for_search(planet, SearchConfig())
            planets += 1
            with_alias += bool(alias_periods(detrended.time, signal))
            flagged += secondary(planet, detrended, signal, VetConfig()).flag
            flagged_at_period += secondary_at(planet, detrended, signal, VetConfig()).flag
    print("| planets | with an alias period | secondary flagged, with aliases | at the "
          "period alone |")
    print("|---|---|---|---|")
    print(f"| {planets} | {with_alias} | {flagged} ({flagged / planets:.1%}) | "
          f"{flagged_at_period} ({flagged_at_period / planets:.1%}) |")


if __name__ == "__main__":
    main()
