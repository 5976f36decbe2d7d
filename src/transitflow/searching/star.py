"""What the star sets in a search: its density, the trial durations and periods (Ofir
2014), the shortest orbit, and the detrending window that keeps its transits.

Times and durations in days (config durations in hours), densities in solar units.
"""

from __future__ import annotations

import math

import numpy as np

from transitflow.detrend import clip_brightenings, detrend, flattened
from transitflow.lightcurve import LightCurve, LightCurveMeta
from transitflow.searching.config import SearchConfig
from transitflow.signals import KEPLER_A_RSUN, orbital_period


#: Central transit duration of a Sun-density star, T = COEFF * P^(1/3) rho^(-1/3),
#: T and P in days, rho in solar units (13 h at 365 d; Ofir 2014, eq. 1-3): P / (pi a/R*).
DURATION_COEFF = 1.0 / (math.pi * KEPLER_A_RSUN)
#: log10 surface gravity of the Sun, cgs.
LOGG_SUN = 4.438
#: Longest transit searched at a period, as a fraction of it (as TLS).
MAX_DUTY_CYCLE = 0.12
#: Shortest transit searched at a period, as a fraction of the central transit's duration
#: (impact parameter ~0.97), and the stellar density (solar units) assumed for it when
#: the star's is unknown (late M dwarf), which leaves the short end of the grid open.
MIN_DURATION_FRACTION = 0.25
MAX_DENSITY = 60.0
#: The closest orbit searched, in stellar radii (ultra-short-period planets orbit at a/R* of
#: about 2.5-4; none survives inside ~2).
MIN_ORBIT_A_RS = 2.0
#: Detrending window (days) = this factor x the longest duration searched.
DETREND_WINDOW_FACTOR = 3.0
#: Upward outliers above this many robust standard deviations of a light curve are the
#: brightenings its nulls leave out (:func:`without_brightenings`). At the search's own clip
#: (3) the nulls lose the noise's upper tail and the detrending's upward ramps, which mirror
#: the data's dips: on the simulated sector the stars without a signal then passed the
#: edge-event threshold at 106 per 10,000 against the 45 the nulls gave, the periodic one at
#: 618 against 495; at 5, at 21 and 522 (939 stars).
FLARE_SIGMA = 5.0
HOURS_PER_DAY = 24.0
MINUTES_PER_DAY = 1440.0


def stellar_density(meta: LightCurveMeta) -> float:
    """Mean stellar density, solar units (NaN when unknown).

    From ``meta.radius`` and ``meta.mass`` (R_sun, M_sun), the mass taken from
    ``meta.logg`` (cgs) when missing.
    """
    if not meta.radius > 0:  # unknown (NaN), or a catalogue's 0 for unknown
        return float("nan")
    density = stellar_mass(meta) / meta.radius ** 3
    return float(density) if np.isfinite(density) and density > 0 else float("nan")


def stellar_mass(meta: LightCurveMeta) -> float:
    """Stellar mass, M_sun: ``meta.mass``, else from logg and radius, else NaN."""
    if np.isfinite(meta.mass):
        return meta.mass
    return 10 ** (meta.logg - LOGG_SUN) * meta.radius ** 2


def shortest_period(min_period: float, density: float) -> float:
    """The shortest trial period, days: ``min_period``, or for a star of known ``density``
    (solar units) its orbit :data:`MIN_ORBIT_A_RS` stellar radii out when that is longer."""
    if not np.isfinite(density):
        return min_period
    return max(min_period, orbital_period(density, MIN_ORBIT_A_RS))


def search_durations(config: SearchConfig, meta: LightCurveMeta) -> np.ndarray:
    """Trial durations, days, ascending.

    ``config.durations`` (hours, for solar density) times ``rho^(-1/3)`` when the
    star's density ``rho`` is known (durations at fixed period scale so), and never
    shorter than the light curve's cadence: a shorter box holds at most one cadence per
    transit, which an outlier fills as well as a transit, and at a long cadence the
    search would measure a deep planet on its deepest cadences only.
    """
    density = stellar_density(meta)
    scale = density ** (-1 / 3) if np.isfinite(density) else 1.0
    durations = np.asarray(config.durations) * scale / HOURS_PER_DAY
    cadence = meta.cadence_min / MINUTES_PER_DAY if np.isfinite(meta.cadence_min) else 0.0
    return np.unique(np.maximum(durations, cadence))


def detrend_window(config: SearchConfig, meta: LightCurveMeta) -> float:
    """Biweight window, days: ``config.detrend_window``, else DETREND_WINDOW_FACTOR times
    the longest trial duration (so that transits survive detrending)."""
    if config.detrend_window is not None:
        return config.detrend_window
    return DETREND_WINDOW_FACTOR * float(search_durations(config, meta).max())


def detrend_for_search(lc: LightCurve, config: SearchConfig) -> LightCurve:
    """``lc`` detrended as the search's first round sees it (relative flux ~1)."""
    return detrend(lc, detrend_window(config, lc.meta))


def flatten_for_search(lc: LightCurve, config: SearchConfig) -> LightCurve:
    """:func:`detrend_for_search` before its clip (:func:`transitflow.detrend.flattened`)."""
    return flattened(lc, detrend_window(config, lc.meta))


def without_brightenings(lc: LightCurve, config: SearchConfig,
                         flat: LightCurve | None = None) -> LightCurve:
    """``lc`` without its brightenings (flares, cosmic rays): the cadences more than
    FLARE_SIGMA robust standard deviations above its trend, detrended as the search
    detrends it (flagged and non-finite cadences dropped too). Mirrored, it is a null of
    what the search of ``lc`` meets: the search clips these from the data, where they never
    become dips, but mirrored they would, and set the detection thresholds of a sector of
    flaring M dwarfs. ``flat``: ``lc`` already :func:`flatten_for_search`-ed, where known."""
    flat = flatten_for_search(lc, config) if flat is None else flat
    return lc.select(np.isin(lc.time, clip_brightenings(flat, FLARE_SIGMA).time))


def period_grid(span: float, min_period: float, max_period: float, density: float,
                oversampling: float) -> np.ndarray:
    """Trial periods for a transit search (Ofir 2014), uniform in frequency^(1/3).

    Parameters
    ----------
    span : data time span, days.
    min_period, max_period : period range, days.
    density : stellar density, solar units; NaN is taken as solar.
    oversampling : trial periods per period step that shifts the last transit of a
        central transit train by its full duration.

    Returns
    -------
    numpy.ndarray
        Periods in days, ascending.
    """
    rho = density if np.isfinite(density) else 1.0
    step = DURATION_COEFF * rho ** (-1 / 3) / (span * oversampling) / 3.0
    cube_roots = np.arange(max_period ** (-1 / 3), min_period ** (-1 / 3), step)
    return np.sort(cube_roots ** -3.0)


def period_limits(lc: LightCurve, config: SearchConfig) -> tuple[float, float]:
    """Shortest (:func:`shortest_period`) and longest trial period, days. The longest unless
    configured: half the span, or for sectors joined (:func:`~transitflow.lightcurve.stitch`)
    the whole span, where two transits in different sectors fix a period (marked ambiguous
    in vetting)."""
    span = float(np.ptp(lc.time))
    high = config.max_period if config.max_period is not None else (
        span if lc.meta.stitched else span / 2)
    return shortest_period(config.min_period, stellar_density(lc.meta)), float(high)
