"""A simulated sector: the stars' classes, their planted signals observed with trends,
scattered light, momentum dumps and noise, and the truth tables."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import astropy.units as u
import numpy as np
import pandas as pd
from astropy.coordinates import SkyCoord

from transitflow.lightcurve import MOMENTUM_DUMP_BIT, LightCurve, LightCurveMeta
from transitflow.simulate.config import (DOWNLINK_GAP_DAYS, LABELS, MOMENTUM_DUMP_INTERVAL_DAYS,
                                         SECTOR1_START, SECTOR_DAYS, SIMULATED_FLUX, SIM_CLASSES,
                                         SIM_TIC_OFFSET, SimConfig)
from transitflow.simulate.physics import log_uniform
from transitflow.simulate.star import (Draw, Planted, SectorFrame, draw_star, seeded_rng,
                                       smooth_trend)
from transitflow.simulate.planets import plant_planets
from transitflow.simulate.binaries import plant_beb, plant_eb
from transitflow.simulate.variability import plant_false_dips, plant_variable, with_activity


#: Per-star truth columns and their dtypes; the primary signal is the highest-SNR one.
STAR_COLUMNS = {"tic": "int64", "sector": "int64", "key": "object", "sim_class": "object",
                "label": "object", "n_signals": "int64", "tmag": "float64", "radius": "float64",
                "teff": "float64", "mass": "float64", "contamination": "float64",
                "noise_ppm_hr": "float64", "period": "float64", "epoch": "float64",
                "duration": "float64", "depth": "float64", "rp_rearth": "float64",
                "snr": "float64", "var_kind": "object", "var_period": "float64",
                "var_amplitude": "float64"}
#: Per-signal truth columns; ``snr`` is the expected white-noise SNR over the sector.
SIGNAL_COLUMNS = {"tic": "int64", "sector": "int64", "key": "object", "signal_index": "int64",
                  "sim_class": "object", "kind": "object", "period": "float64",
                  "epoch": "float64", "duration": "float64", "depth": "float64",
                  "rp_rearth": "float64", "impact": "float64", "ecc": "float64",
                  "secondary_depth": "float64", "secondary_phase": "float64",
                  "source_offset_px": "float64", "n_events_in_data": "int64", "snr": "float64"}
_GOLDEN = (math.sqrt(5.0) - 1.0) / 2.0


@dataclass
class SimulatedBatch:
    """Light curves of a range of simulated stars with their truth tables
    (columns :data:`STAR_COLUMNS` and :data:`SIGNAL_COLUMNS`)."""

    light_curves: list[LightCurve]
    stars: pd.DataFrame
    signals: pd.DataFrame


def simulate_stars(config: SimConfig, start: int = 0, stop: int | None = None) -> SimulatedBatch:
    """Simulate stars ``[start, stop)`` (all ``config.n_stars`` by default)."""
    stop = config.n_stars if stop is None else stop
    if not 0 <= start <= stop <= config.n_stars:
        raise ValueError(f"star range [{start}, {stop}) is not within [0, {config.n_stars})")
    frame = _sector_frame(config)
    classes = _star_classes(config, np.arange(start, stop))
    results = [_simulate_star(config, frame, i, c) for i, c in zip(range(start, stop), classes)]
    return SimulatedBatch(
        light_curves=[lc for lc, _, _ in results],
        stars=_frame([row for _, row, _ in results], STAR_COLUMNS),
        signals=_frame([row for _, _, rows in results for row in rows], SIGNAL_COLUMNS))


def _sector_frame(config: SimConfig) -> SectorFrame:
    rng = seeded_rng(config.seed, 2, config.sector)
    start = SECTOR1_START + SECTOR_DAYS * (config.sector - 1)
    step = config.cadence_min / 1440.0
    time = start + (np.arange(int(SECTOR_DAYS / step)) + 0.5) * step
    gap_start = start + 0.5 * (SECTOR_DAYS - DOWNLINK_GAP_DAYS)
    time = time[(time < gap_start) | (time >= gap_start + DOWNLINK_GAP_DAYS)]
    split = np.searchsorted(time, gap_start)
    orbits = ((time[0], time[split - 1]), (time[split], time[-1]))
    interval = rng.uniform(*MOMENTUM_DUMP_INTERVAL_DAYS)
    dumps = np.zeros(len(time), bool)
    for first, last in orbits:
        when = np.arange(first + rng.uniform(0.3, interval), last, interval)
        dumps[np.searchsorted(time, when)] = True
    jumps = np.where(dumps, rng.normal(0.0, 0.003, (2, len(time))), 0.0)
    return SectorFrame(time, orbits, dumps, np.cumsum(jumps, axis=1))


def _star_classes(config: SimConfig, indices: np.ndarray) -> list[str]:
    """Classes from a seeded golden-ratio sequence through the cumulative fractions."""
    u = (seeded_rng(config.seed, 3).random() + indices * _GOLDEN) % 1.0
    edges = np.cumsum([config.fractions[name] for name in SIM_CLASSES])
    chosen = np.minimum(np.searchsorted(edges, u, side="right"), len(SIM_CLASSES) - 1)
    return [SIM_CLASSES[k] for k in chosen]


_PLANTERS: dict[str, Callable[[Draw], Planted]] = {
    "planet": plant_planets, "eb": plant_eb, "beb": plant_beb,
    "false_dip": plant_false_dips, "variable": plant_variable,
    "quiet": lambda draw: Planted.nothing(len(draw.frame.time)),
}


def _simulate_star(config: SimConfig, frame: SectorFrame, index: int,
                   sim_class: str) -> tuple[LightCurve, dict, list[dict]]:
    star_rng = seeded_rng(config.seed, 0, index)
    star = draw_star(config, index, sim_class, star_rng)
    draw = Draw(config, frame, star, star_rng, seeded_rng(config.seed, 1, config.sector, index))
    planted = with_activity(draw, _PLANTERS[sim_class](draw))
    lc = _observe(draw, planted)
    signals = sorted(planted.signals, key=lambda s: -s["snr"])
    signals = [{"tic": lc.meta.tic, "sector": config.sector, "key": lc.meta.key,
                "signal_index": k, "sim_class": sim_class, **s} for k, s in enumerate(signals)]
    return lc, _star_row(draw, lc, planted, signals), signals


def _observe(draw: Draw, planted: Planted) -> LightCurve:
    """Add trends, scattered light, momentum dumps and noise; the light curve in e-/s."""
    config, frame, star, rng = draw.config, draw.frame, draw.star, draw.obs_rng
    time, n = frame.time, len(frame.time)
    x = 2.0 * (time - time[0]) / (time[-1] - time[0]) - 1.0
    scattered = _scattered_light(frame, rng)
    systematics = 1.0 + config.systematics_scale * (
        smooth_trend(rng, x, float(log_uniform(rng, 1e-4, 2e-3)))
        + rng.choice((-1.0, 1.0)) * log_uniform(rng, 1e-4, 1e-3) * scattered)
    relative = planted.flux * systematics + draw.sigma * rng.standard_normal(n)
    relative[frame.dumps] *= 1.0 - rng.uniform(0.002, 0.01, int(frame.dumps.sum()))
    background_noise = 0.01 * math.sqrt(30.0 / config.cadence_min) * rng.standard_normal(n)
    background = star.background * (1.0 + scattered + planted.background + background_noise)
    drift = np.array([smooth_trend(rng, x, 0.005) for _ in range(2)])
    centroid = (np.array(star.position)[:, None] + frame.pointing + drift + planted.centroid
                + (0.5 * draw.sigma + 3e-4) * rng.standard_normal((2, n)))
    ra, dec = _sky_position(config, star.index)
    meta = LightCurveMeta(
        tic=SIM_TIC_OFFSET + star.index, sector=config.sector, mission="TESS",
        camera=star.camera, ccd=star.ccd, cadence_min=config.cadence_min, tmag=star.tmag,
        radius=star.radius, teff=star.teff, logg=star.logg, mass=star.mass,
        contamination=star.contamination, flux_column=SIMULATED_FLUX, ra=ra, dec=dec,
        source_file=f"sim:{config.seed}:{star.index}")
    return LightCurve.from_arrays(meta, time, star.flux * relative,
                                  np.full(n, star.flux * draw.sigma), centroid[0], centroid[1],
                                  background, np.where(frame.dumps, MOMENTUM_DUMP_BIT, 0))


def _sky_position(config: SimConfig, index: int) -> tuple[float, float]:
    """RA and Dec (deg) uniform on the sky within 12 deg of the southern ecliptic pole (in
    TESS's continuous viewing zone, so the same in every sector), from a stream of its own
    so the light curves do not depend on it."""
    rng = seeded_rng(config.seed, 5, index)
    centre = SkyCoord(ra=90.0, dec=-66.56, unit="deg")
    separation = np.degrees(np.arccos(rng.uniform(math.cos(math.radians(12.0)), 1.0)))
    position = centre.directional_offset_by(rng.uniform(0.0, 360.0) * u.deg,
                                            separation * u.deg)
    return float(position.ra.deg), float(position.dec.deg)


def _scattered_light(frame: SectorFrame, rng: np.random.Generator) -> np.ndarray:
    """Background ramps at the start and end of each orbit, in units of the background."""
    ramp = np.zeros(len(frame.time))
    for first, last in frame.orbits:
        inside = (frame.time >= first) & (frame.time <= last)
        t = frame.time[inside]
        start, end = rng.uniform(0.0, 3.0, 2)
        tau = rng.uniform(0.2, 1.0)
        ramp[inside] = start * np.exp(-(t - first) / tau) + end * np.exp(-(last - t) / tau)
    return ramp


def _star_row(draw: Draw, lc: LightCurve, planted: Planted, signals: list[dict]) -> dict:
    star = draw.star
    primary = signals[0] if signals else {}
    return {"tic": lc.meta.tic, "sector": lc.meta.sector, "key": lc.meta.key,
            "sim_class": star.sim_class, "label": LABELS[star.sim_class],
            "n_signals": len(signals), "tmag": star.tmag, "radius": star.radius,
            "teff": star.teff, "mass": star.mass, "contamination": star.contamination,
            "noise_ppm_hr": 1e6 * star.noise_hr,
            **{name: primary.get(name, math.nan)
               for name in ("period", "epoch", "duration", "depth", "rp_rearth", "snr")},
            "var_kind": planted.variability[0], "var_period": planted.variability[1],
            "var_amplitude": planted.variability[2]}


def _frame(rows: list[dict], columns: dict[str, str]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=list(columns)).astype(columns)
