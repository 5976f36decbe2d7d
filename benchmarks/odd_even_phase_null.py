"""Odd/even on planets whose odd and even transits sample different cadence phases.

    snakemake --cores 2 results/sim-default/data/stars.parquet
    python benchmarks/odd_even_phase_null.py [--n 500] [--seed 0] [--rp-rs 0.03 0.3] \
        [--any-phase] [--systematic 0.005] [--star 1.0 1.0]

Injects limb-darkened planets (a share ``--grazing`` grazing, b from 0.9 to 1 + 0.8 rp/rs)
into the default run's quiet simulated stars (30-min) at periods of k + 0.5 cadences (k
20-599), so that odd transits fall half a cadence from even ones (``--any-phase``: at
periods drawn uniformly over the same range), on orbits about a star of ``--star`` mass
and radius (solar; 0.3 0.3 for an M dwarf's shorter transits); keeps those with SNR >= 10
and 4+ transits, vets them with a box of 0.8 of the duration (``--systematic``: odd/even's
systematic error as a fraction of the depth, the config's by default), and prints one JSON
line: how many odd/even compared on the shared profile, on the summed deficits, or skipped,
and the flagged ones (each a false alarm: the injections are planets).
"""

from __future__ import annotations

import argparse
import json
import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from transitflow.inject import (grazing_impact, orbit_a_rs, transit_flux, transit_params,
                                white_noise)
from transitflow.searching import SearchConfig, detrend_for_search
from transitflow.shards import read_shard
from transitflow.signals import Signal
from transitflow.vetting import VetConfig
from transitflow.vetting.parity import odd_even

REPO = Path(__file__).resolve().parents[1]
CADENCE = 30.0 / 1440.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--run", type=Path, default=REPO / "results" / "sim-default")
    parser.add_argument("--n", type=int, default=500, help="injections drawn")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--rp-rs", type=float, nargs=2, default=(0.03, 0.3))
    parser.add_argument("--grazing", type=float, default=0.4)
    parser.add_argument("--any-phase", action="store_true")
    parser.add_argument("--systematic", type=float, default=VetConfig.odd_even_systematic)
    parser.add_argument("--star", type=float, nargs=2, default=(1.0, 1.0),
                        metavar=("MASS", "RADIUS"), help="the orbits' star, solar units")
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    hosts = quiet_hosts(args.run)
    counts = {"profile": 0, "summed deficits": 0, "skipped": 0}
    flagged = []
    config = VetConfig(odd_even_systematic=args.systematic)
    for _ in range(args.n):
        injected = inject(hosts[rng.integers(len(hosts))], rng, args.rp_rs, args.grazing,
                          args.any_phase, args.star)
        if injected is None:
            continue
        lc, signal = injected
        result = odd_even(lc, detrend_for_search(lc, SearchConfig()), signal, config)
        path = ("skipped" if not math.isfinite(result.significance) else
                "summed deficits" if "summed deficits" in result.reason else "profile")
        counts[path] += 1
        if result.flag:
            flagged.append({"path": path, "period": signal.period, "snr": signal.snr,
                            "reason": result.reason})
    print(json.dumps({"vetted": counts, "flagged": flagged}))


def quiet_hosts(run: Path) -> list:
    quiet = pd.read_parquet(run / "data" / "stars.parquet").query("sim_class == 'quiet'")
    return [lc for shard in sorted((run / "data" / "shards").glob("*.arrow"))
            for lc in read_shard(shard) if lc.meta.tic in set(quiet["tic"])]


def inject(host, rng: np.random.Generator, rp_rs_range, grazing: float, any_phase: bool,
           star: tuple[float, float]):
    """``host`` with a planet at k + 0.5 cadences (any period of that range with
    ``any_phase``) about a ``star`` of (mass, radius), and its signal; None when too
    faint."""
    good = host.good()
    period = (rng.uniform(20, 600) if any_phase else rng.integers(20, 600) + 0.5) * CADENCE
    rp_rs = math.exp(rng.uniform(*np.log(rp_rs_range)))
    impact = grazing_impact(rng, rp_rs) if rng.random() < grazing else rng.uniform(0, 0.9)
    epoch = float(good.time[0] + rng.uniform(0, period))
    params = transit_params(good.time, white_noise(good.flux / np.median(good.flux)), period,
                            epoch, rp_rs, orbit_a_rs(period, *star), impact,
                            tuple(rng.random(2)))
    if params["n_transits"] < 4 or params["snr"] < 10:
        return None
    lc = replace(host, flux=(host.flux * transit_flux(host.time, params)).astype(np.float32))
    signal = Signal(host.meta.tic, host.meta.sector, 0, "periodic", "bls", period, epoch,
                    0.8 * params["duration"], params["depth"], params["depth"] / params["snr"],
                    params["snr"], math.nan, params["n_transits"])
    return lc, signal


if __name__ == "__main__":
    main()
