"""Periodograms: BLS (astropy's algorithm, :mod:`.box_least_squares`) on binned data (refined
on full cadence) or TLS, and the SDE spectrum both share."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from transitflow.kernels import cached_njit
from transitflow.lightcurve import LightCurve, LightCurveMeta
from transitflow.searching.box_least_squares import BoxPeaks, BoxSearch, box_least_squares
from transitflow.searching.config import SearchConfig
from transitflow.searching.star import (DURATION_COEFF, MAX_DENSITY, MAX_DUTY_CYCLE,
                                        MIN_DURATION_FRACTION, MINUTES_PER_DAY, period_grid,
                                        period_limits, search_durations, stellar_density,
                                        stellar_mass)
from transitflow.signals import robust_std


#: Search bins per shortest trial duration (coarser cadences are searched unbinned).
BINS_PER_DURATION = 3
#: BLS phase bins per trial duration (astropy's ``oversample``; refined on full cadence).
BLS_OVERSAMPLE = 5
#: Running-median kernel of the periodogram trend, in units of the oversampling (as TLS).
SDE_KERNEL_PER_OVERSAMPLING = 30
#: Full-cadence refinement: trial periods within this many grid steps of the peak.
REFINE_STEPS = 2.0
REFINE_N_PERIODS = 41
REFINE_DURATION_RANGE = 1.5
REFINE_N_DURATIONS = 11
REFINE_OVERSAMPLE = 50
#: TLS's default stellar radius and mass ranges (R_sun, M_sun), widened to include the star.
TLS_R_STAR_RANGE = (0.13, 3.5)
TLS_M_STAR_RANGE = (0.1, 1.0)
#: TLS warnings that are expected and harmless here: empty transit windows (the period may
#: be twice as long; checked by vetting), its own warm-up search's fallback grid, and a
#: mean flux below 0.99 (deep eclipses; the median is 1 after detrending).
TLS_KNOWN_WARNINGS = (r".*transits without data.*", r"period_grid defaults to R_star=1.*",
                      r".*mean flux should be normalized.*")
#: Equal log-period bins of a spectrum kept for display: a sheet's periodogram panel is
#: about 300 pixels wide.
DISPLAY_BINS = 600


@dataclass(frozen=True)
class Periodogram:
    """A period search's spectrum and its peak.

    ``power`` is the trend-removed spectrum in SDE units (its peak is ``sde``);
    ``power_raw`` the method's own (BLS: log-likelihood; TLS: raw SDE spectrum).
    Period, epoch and duration in days, depth a fraction.
    """

    method: str
    periods: np.ndarray
    power: np.ndarray
    power_raw: np.ndarray
    sde: float
    period: float
    epoch: float
    duration: float
    depth: float


@dataclass(frozen=True)
class Spectrum:
    """A periodogram's power (SDE units) on its trial periods (days), as a sheet draws it."""

    periods: np.ndarray
    power: np.ndarray


def display_spectrum(pg: Periodogram | None, bins: int = DISPLAY_BINS) -> Spectrum | None:
    """``pg``'s spectrum thinned for display: in each of ``bins`` equal log-period bins, its
    lowest and its highest finite power, at their periods, in period order (all of it when
    that is no more); None without a periodogram or a finite value in it. Peaks and the
    noise floor look as on the full grid; a sector's grid holds thousands of periods, a
    stitched star's many more."""
    if pg is None:
        return None
    periods, power = np.asarray(pg.periods, float), np.asarray(pg.power, float)
    finite = np.isfinite(periods) & np.isfinite(power) & (periods > 0)
    if not finite.any():
        return None
    order = np.argsort(periods[finite])
    periods, power = periods[finite][order], power[finite][order]
    if len(periods) <= 2 * bins:
        return Spectrum(periods, power)
    edges = np.linspace(np.log(periods[0]), np.log(periods[-1]), bins + 1)
    which = np.clip(np.searchsorted(edges, np.log(periods), side="right") - 1, 0, bins - 1)
    by_bin = np.lexsort((power, which))  # each bin's periods, lowest power first
    first = np.flatnonzero(np.diff(which[by_bin], prepend=-1))
    last = np.append(first[1:] - 1, len(by_bin) - 1)
    keep = np.unique(np.concatenate([by_bin[first], by_bin[last]]))
    return Spectrum(periods[keep], power[keep])


def periodogram(lc: LightCurve, config: SearchConfig) -> Periodogram:
    """Period search of a detrended light curve with ``config.method``.

    Parameters
    ----------
    lc : detrended light curve (relative flux ~1, e.g. from ``detrend.detrend``).
    config : search options; BLS bins cadences finer than ``search_bin_minutes``.

    Returns
    -------
    Periodogram
        The spectrum on the trial periods (empty if no period fits the durations) and
        its peak, unrefined.

    Raises
    ------
    ValueError
        If the period range is empty (``max_period`` below ``min_period``).
    """
    low, high = period_limits(lc, config)
    if high <= low:
        raise ValueError(f"{lc.meta.key}: no periods to search between {low:.3f} and "
                         f"{high:.3f} d (data span {np.ptp(lc.time):.2f} d)")
    search = _tls_periodogram if config.method == "tls" else _bls_periodogram
    return search(lc, config, low, high)


def _bls_periodogram(lc: LightCurve, config: SearchConfig, low: float, high: float) -> Periodogram:
    """BLS on the Ofir grid of the star's density between ``low`` and ``high``."""
    periods = period_grid(np.ptp(lc.time), low, high, stellar_density(lc.meta),
                          config.oversampling)
    return bls_spectrum(lc, periods, config)


def bls_spectrum(lc: LightCurve, periods: np.ndarray, config: SearchConfig,
                 engine: BoxSearch = box_least_squares) -> Periodogram:
    """BLS on trial ``periods`` (days), each with its plausible durations, on suitably
    binned data: the search's periodogram, and the reference that the batched detection
    search is tested and benchmarked against (``engine``: the compiled BLS, or astropy's
    own, ``box_least_squares.astropy_box_least_squares``, to time it)."""
    durations = search_durations(config, lc.meta)
    first, last = _duration_windows(periods, durations, stellar_density(lc.meta))
    periods, first, last = periods[last > first], first[last > first], last[last > first]
    if not len(periods):
        nan, empty = float("nan"), np.array([])
        return Periodogram(method="bls", periods=empty, power=empty, power_raw=empty, sde=0.0,
                           period=nan, epoch=nan, duration=nan, depth=nan)
    # runs of periods sharing a duration window (both ends grow with the period)
    cuts = np.flatnonzero((np.diff(first) != 0) | (np.diff(last) != 0)) + 1
    parts = [_bls_power(lc, periods[a:b], durations[first[a]:last[a]], config, engine)
             for a, b in zip(np.r_[0, cuts], np.r_[cuts, len(periods)])]
    power_raw = _finite(np.concatenate([p.power for p in parts]))
    power, sde = sde_spectrum(power_raw, config.oversampling)
    best = int(np.argmax(power))
    pick = {name: np.concatenate([getattr(p, name) for p in parts])[best]
            for name in ("transit_time", "duration", "depth")}
    return Periodogram(method="bls", periods=periods, power=power, power_raw=power_raw,
                       sde=sde, period=float(periods[best]), epoch=float(pick["transit_time"]),
                       duration=float(pick["duration"]), depth=float(pick["depth"]))


def _finite(power: np.ndarray) -> np.ndarray:
    """``power`` with its non-finite values (astropy's -inf at a period whose boxes find no
    dip) raised to its lowest finite one, so that one such period cannot blank the SDE."""
    finite = np.isfinite(power)
    if finite.all():
        return power
    return np.where(finite, power, power[finite].min() if finite.any() else 0.0)


def _bls_power(lc: LightCurve, periods: np.ndarray, durations: np.ndarray,
               config: SearchConfig, engine: BoxSearch) -> BoxPeaks:
    """BLS log-likelihood power, the light curve binned to ``search_bin_minutes`` or a
    BINS_PER_DURATION-th of the shortest duration (days), whichever is shorter."""
    width = min(config.search_bin_minutes / MINUTES_PER_DAY, durations[0] / BINS_PER_DURATION)
    t, f = binned(lc, width)
    return engine(t, f, robust_std(f), periods, durations, BLS_OVERSAMPLE)


def _duration_windows(periods: np.ndarray, durations: np.ndarray,
                      density: float) -> tuple[np.ndarray, np.ndarray]:
    """Per period, the slice [first, last) of ``durations`` (days) to try: from the grid
    step below MIN_DURATION_FRACTION of the central duration (for the star's density, or
    when unknown MAX_DENSITY) up to MAX_DUTY_CYCLE of the period."""
    rho = density if np.isfinite(density) else MAX_DENSITY
    shortest = MIN_DURATION_FRACTION * DURATION_COEFF * (periods / rho) ** (1 / 3)
    first = np.maximum(np.searchsorted(durations, shortest) - 1, 0)
    return first, np.searchsorted(durations, MAX_DUTY_CYCLE * periods, side="right")


def _tls_periodogram(lc: LightCurve, config: SearchConfig, low: float, high: float) -> Periodogram:
    """transitleastsquares on full cadence, single-threaded, with the pinned backend."""
    from transitleastsquares import transitleastsquares

    t, f = lc.time, lc.flux.astype(np.float64)
    # errstate: TLS's per-transit pink-noise SNR (unused here) divides by zero on flat data
    with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
        for message in TLS_KNOWN_WARNINGS:
            warnings.filterwarnings("ignore", message=message, category=UserWarning)
        model = transitleastsquares(t, f, np.full(len(t), robust_std(f)), verbose=False)
        result = model.power(period_min=low, period_max=high,
                             oversampling_factor=config.oversampling, use_threads=1,
                             show_progress_bar=False, verbose=False,
                             backend=config.tls_backend, **_tls_star(lc.meta))
    return Periodogram(method="tls", periods=np.asarray(result.periods),
                       power=np.asarray(result.power), power_raw=np.asarray(result.power_raw),
                       sde=float(result.SDE), period=float(result.period), epoch=float(result.T0),
                       duration=float(result.duration), depth=1.0 - float(result.depth))


def _tls_star(meta: LightCurveMeta) -> dict:
    """TLS stellar radius and mass (solar units) with limits that include them, when known."""
    if not np.isfinite(stellar_density(meta)):
        return {}
    mass = stellar_mass(meta)
    return dict(R_star=meta.radius, M_star=mass,
                R_star_min=min(TLS_R_STAR_RANGE[0], meta.radius),
                R_star_max=max(TLS_R_STAR_RANGE[1], meta.radius),
                M_star_min=min(TLS_M_STAR_RANGE[0], mass),
                M_star_max=max(TLS_M_STAR_RANGE[1], mass))


def refine(t: np.ndarray, f: np.ndarray, sigma: float,
           pg: Periodogram) -> tuple[float, float, float]:
    """Period, epoch and duration (days) from a fine BLS grid around the peak, on the full
    cadence times ``t`` and flux ``f`` of scatter ``sigma``."""
    peak = int(np.argmin(np.abs(pg.periods - pg.period)))
    step = np.gradient(pg.periods)[peak] if len(pg.periods) > 1 else pg.period * 1e-3
    periods = pg.period + step * np.linspace(-REFINE_STEPS, REFINE_STEPS, REFINE_N_PERIODS)
    longest = max(pg.duration, MAX_DUTY_CYCLE * periods.min())
    durations = np.unique(np.minimum(longest, pg.duration * np.geomspace(
        1 / REFINE_DURATION_RANGE, REFINE_DURATION_RANGE, REFINE_N_DURATIONS)))
    result = box_least_squares(t, f, sigma, periods, durations, REFINE_OVERSAMPLE)
    best = int(np.argmax(result.power))
    return float(periods[best]), float(result.transit_time[best]), float(result.duration[best])


def sde_spectrum(power_raw: np.ndarray,
                 oversampling: float) -> tuple[np.ndarray, float | np.ndarray]:
    """Power with its running median removed, in units of its standard deviation, and the
    SDE (the peak of that spectrum above its mean), as TLS (Hippke & Heller 2019).

    ``power_raw`` is one spectrum or a stack of them (periods along the last axis); the SDE
    is a float or an array with one value per spectrum.
    """
    kernel = min(power_raw.shape[-1], int(oversampling * SDE_KERNEL_PER_OVERSAMPLING)) // 2 * 2 + 1
    flat = power_raw - running_median(power_raw, kernel)
    spread = np.std(flat, axis=-1, keepdims=True)
    safe = np.where(spread > 0, spread, 1.0)
    power = np.where(spread > 0, (flat - flat.mean(axis=-1, keepdims=True)) / safe, 0.0)
    sde = power.max(axis=-1)
    return power, (float(sde) if power_raw.ndim == 1 else sde)


def running_median(values: np.ndarray, kernel: int) -> np.ndarray:
    """Centred running median of odd width ``kernel`` along the last axis, the ends padded
    with the edge values (NaN where a window holds a NaN)."""
    half = kernel // 2
    rows = np.atleast_2d(values).astype(np.float64)
    padded = np.pad(rows, ((0, 0), (half, half)), mode="edge")
    if not np.isfinite(padded).all():
        median = pd.DataFrame(padded.T).rolling(kernel, center=True).median().to_numpy().T
        return median[:, half:half + rows.shape[1]].reshape(values.shape)
    median = np.empty(rows.shape)
    _sliding_median(padded, kernel, median)
    return median.reshape(values.shape)


@cached_njit
def _sliding_median(padded, kernel, out):  # pragma: no cover - compiled
    """Median of each window of ``kernel`` finite values along the rows of ``padded``: a
    sorted copy of the window, one value leaving and one entering per step."""
    half = kernel // 2
    window = np.empty(kernel)
    for r in range(padded.shape[0]):
        row = padded[r]
        window[:] = np.sort(row[:kernel])
        out[r, 0] = window[half]
        for i in range(1, padded.shape[1] - kernel + 1):
            at = np.searchsorted(window, row[i - 1])  # where the leaving value sits
            entering = row[i + kernel - 1]
            while at > 0 and window[at - 1] > entering:  # shift the gap to the entering
                window[at] = window[at - 1]  # value's place, keeping the window sorted
                at -= 1
            while at < kernel - 1 and window[at + 1] < entering:
                window[at] = window[at + 1]
                at += 1
            window[at] = entering
            out[r, i] = window[half]


def binned(lc: LightCurve, width: float) -> tuple[np.ndarray, np.ndarray]:
    """Time and flux averaged in bins of ``width`` days (unchanged if not finer)."""
    t, f, _ = binned_with_counts(lc, width)
    return t, f


def binned_with_counts(lc: LightCurve,
                       width: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Time and flux averaged in bins of ``width`` days, and the cadences in each bin
    (unchanged, one each, if not finer)."""
    t, f = lc.time, lc.flux.astype(np.float64)
    if len(t) < 2 or np.median(np.diff(t)) >= width / 2:
        return t, f, np.ones(len(t))
    index = np.floor((t - t[0]) / width).astype(np.int64)
    count = np.bincount(index)
    full = count > 0
    return (np.bincount(index, t)[full] / count[full], np.bincount(index, f)[full] / count[full],
            count[full].astype(np.float64))
