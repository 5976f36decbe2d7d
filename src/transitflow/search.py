"""Transit search: BLS (or TLS) periodic search, iterated for multi-planet systems, and a
single-event box search when no periodic signal rests on two or more events.

Times are BTJD days; config durations are hours; depths are fractions of the flux.
"""

from __future__ import annotations

import logging
import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from astropy.timeseries import BoxLeastSquares, BoxLeastSquaresResults

from transitflow.detrend import detrend
from transitflow.lightcurve import LightCurve, LightCurveMeta
from transitflow.signals import (KEPLER_A_RSUN, Signal, inverse_variance_mean,
                                 orbital_period, planet_radius_earth)
from transitflow.options import options_from_dict, reject_invalid

log = logging.getLogger(__name__)
#: Period ratios (later / earlier) at which a signal on an earlier one's events is its echo,
#: and the relative tolerance of a match.
ECHO_PERIOD_RATIOS = (0.5, 1.0, 2.0)
ECHO_PERIOD_TOLERANCE = 0.005
#: Search rounds per signal slot: echoes are masked without taking a slot.
ATTEMPTS_PER_SIGNAL = 2

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
#: Search bins per shortest trial duration (coarser cadences are searched unbinned).
BINS_PER_DURATION = 3
#: BLS phase bins per trial duration (astropy's ``oversample``; refined on full cadence).
BLS_OVERSAMPLE = 5
#: Detrending window (days) = this factor x the longest duration searched.
DETREND_WINDOW_FACTOR = 3.0
#: Running-median kernel of the periodogram trend, in units of the oversampling (as TLS).
SDE_KERNEL_PER_OVERSAMPLING = 30
#: A periodic detection rests on one event when the others alone reach less than this
#: fraction of ``snr_threshold``.
REST_SNR_FRACTION = 0.5
#: ... or when one event dominates: its single-event SNR over the signal's SNR above
#: LEO-vetter's max_SES_to_MES (0.8, Kunimoto et al.), and its depth above the next
#: strongest event's by more than DOMINANT_EVENT_SIGMA (a deep eclipse linked to noise or
#: to a shallow secondary, not a train of alike transits).
MAX_SES_TO_MES = 0.8
DOMINANT_EVENT_SIGMA = 5.0
#: A transit holds a dip at this many standard errors, and is empty when this far below
#: the dips' mean and not a dip (:func:`true_multiple`).
MIN_DIP_SIGMA = 3.0
#: Found transits are masked over at least this many full durations T14 (issue 17, as
#: DR25's multi-TCE search; :func:`full_duration`), measured in bins of a fifth of the box
#: duration, within this many box durations of mid-transit, bins this many standard errors
#: below the level counting as in transit.
T14_MASK_FACTOR = 1.5
T14_BINS_PER_DURATION = 5
T14_REACH = 3.0
T14_SIGMA = 3.0
T14_DEPTH_FRACTION = 0.1
#: Standard error of a median of Gaussian noise over that of the mean: sqrt(pi / 2).
MEDIAN_ERROR_FACTOR = 1.2533
#: The search stops when fewer cadences than this are left unmasked.
MIN_SEARCH_CADENCES = 50
#: Full-cadence refinement: trial periods within this many grid steps of the peak.
REFINE_STEPS = 2.0
REFINE_N_PERIODS = 41
REFINE_DURATION_RANGE = 1.5
REFINE_N_DURATIONS = 11
REFINE_OVERSAMPLE = 50
#: Single-event search: duration grid ratio, epoch step (fraction of shortest duration)
#: and the fraction of a box's expected cadences that must have data.
SINGLE_DURATION_STEP = 1.15
SINGLE_EPOCH_STEP = 0.125
SINGLE_MIN_COVERAGE = 0.75
#: Fewest covered boxes of a duration from which to estimate their scatter.
SINGLE_MIN_WINDOWS = 20
#: Robust standard deviation from the median absolute deviation.
MAD_TO_STD = 1.4826
HOURS_PER_DAY = 24.0
MINUTES_PER_DAY = 1440.0
#: TLS's default stellar radius and mass ranges (R_sun, M_sun), widened to include the star.
TLS_R_STAR_RANGE = (0.13, 3.5)
TLS_M_STAR_RANGE = (0.1, 1.0)
#: TLS warnings that are expected and harmless here: empty transit windows (the period may
#: be twice as long; checked by vetting), its own warm-up search's fallback grid, and a
#: mean flux below 0.99 (deep eclipses; the median is 1 after detrending).
TLS_KNOWN_WARNINGS = (r".*transits without data.*", r"period_grid defaults to R_star=1.*",
                      r".*mean flux should be normalized.*")


@dataclass(frozen=True)
class SearchConfig:
    """Options of the transit search (the ``search`` section of the workflow config).

    method : "bls" (astropy BoxLeastSquares) or "tls" (transitleastsquares 2.0.4).
    min_period, max_period : period range, days; ``max_period=None`` is half the data span.
        A star of known density is searched from its closest orbit (:func:`shortest_period`)
        when that is longer than ``min_period``.
    durations : trial durations, hours, for a star of solar density; scaled by
        ``rho^(-1/3)`` when the stellar density is known (radius and mass or logg).
    oversampling : period grid oversampling (Ofir 2014 grid; 3 as TLS).
    max_signals : most search iterations (signals found, including skipped ones).
    sde_threshold, snr_threshold : a periodic signal needs both.
    single_snr_threshold : matched-filter SNR a single event needs.
    detrend_window : wotan biweight window, days; None is 3x the longest duration.
    mask_factor : found transits are masked over this many durations before searching on
        (or :data:`T14_MASK_FACTOR` full durations, when wider).
    search_bin_minutes : finer cadences are binned to this (at most a third of the
        shortest duration tried at a period) for the period search, then refined on
        full cadence.
    tls_backend : TLS search backend, pinned so results name what produced them.
    """

    method: str = "bls"
    min_period: float = 0.2
    max_period: float | None = None
    durations: tuple[float, ...] = (0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 4.5, 6.5, 9.0, 13.0)
    oversampling: float = 3.0
    max_signals: int = 3
    sde_threshold: float = 9.0
    snr_threshold: float = 7.0
    single_snr_threshold: float = 8.0
    detrend_window: float | None = None
    mask_factor: float = 2.0
    search_bin_minutes: float = 10.0
    tls_backend: str = "fused-pl"

    def __post_init__(self) -> None:
        object.__setattr__(self, "durations", tuple(float(d) for d in self.durations))
        problems = [
            (self.method not in ("bls", "tls"), f"method must be bls or tls, not {self.method!r}"),
            (self.min_period <= 0, "min_period must be positive"),
            (self.max_period is not None and self.max_period <= self.min_period,
             "max_period must exceed min_period"),
            (not self.durations or min(self.durations) <= 0, "durations must be positive hours"),
            (self.max_signals < 1, "max_signals must be at least 1"),
            (self.oversampling <= 0, "oversampling must be positive"),
        ]
        reject_invalid("search config", problems)

    @classmethod
    def from_dict(cls, options: Mapping) -> SearchConfig:
        """The options from a config section; an unknown key is an error naming it."""
        return options_from_dict(cls, options, "search")


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


def stellar_density(meta: LightCurveMeta) -> float:
    """Mean stellar density, solar units (NaN when unknown).

    From ``meta.radius`` and ``meta.mass`` (R_sun, M_sun), the mass taken from
    ``meta.logg`` (cgs) when missing.
    """
    density = _stellar_mass(meta) / meta.radius ** 3
    return float(density) if np.isfinite(density) and density > 0 else float("nan")


def shortest_period(min_period: float, density: float) -> float:
    """The shortest trial period, days: ``min_period``, or for a star of known ``density``
    (solar units) its orbit :data:`MIN_ORBIT_A_RS` stellar radii out when that is longer."""
    if not np.isfinite(density):
        return min_period
    return max(min_period, orbital_period(density, MIN_ORBIT_A_RS))


def search_durations(config: SearchConfig, meta: LightCurveMeta) -> np.ndarray:
    """Trial durations, days, ascending.

    ``config.durations`` (hours, for solar density) times ``rho^(-1/3)`` when the
    star's density ``rho`` is known (durations at fixed period scale so).
    """
    density = stellar_density(meta)
    scale = density ** (-1 / 3) if np.isfinite(density) else 1.0
    return np.sort(np.asarray(config.durations)) * scale / HOURS_PER_DAY


def detrend_window(config: SearchConfig, meta: LightCurveMeta) -> float:
    """Biweight window, days: ``config.detrend_window``, else DETREND_WINDOW_FACTOR times
    the longest trial duration (so that transits survive detrending)."""
    if config.detrend_window is not None:
        return config.detrend_window
    return DETREND_WINDOW_FACTOR * float(search_durations(config, meta).max())


def detrend_for_search(lc: LightCurve, config: SearchConfig) -> LightCurve:
    """``lc`` detrended as the search's first round sees it (relative flux ~1)."""
    return detrend(lc, detrend_window(config, lc.meta))


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
    low, high = _period_limits(lc, config)
    if high <= low:
        raise ValueError(f"{lc.meta.key}: no periods to search between {low:.3f} and "
                         f"{high:.3f} d (data span {np.ptp(lc.time):.2f} d)")
    search = _tls_periodogram if config.method == "tls" else _bls_periodogram
    return search(lc, config, low, high)


def _period_limits(lc: LightCurve, config: SearchConfig) -> tuple[float, float]:
    """Shortest (:func:`shortest_period`) and longest trial period, days. The longest unless
    configured: half the span, or for sectors joined (:func:`~transitflow.lightcurve.stitch`)
    the whole span, where two transits in different sectors fix a period (marked ambiguous
    in vetting)."""
    span = float(np.ptp(lc.time))
    high = config.max_period if config.max_period is not None else (
        span if lc.meta.stitched else span / 2)
    return shortest_period(config.min_period, stellar_density(lc.meta)), float(high)


def search_lightcurve(lc: LightCurve, config: SearchConfig = SearchConfig()) -> list[Signal]:
    """Transit-like signals of one light curve, strongest first.

    Repeats until ``config.max_signals`` are found: detrend the cadences not yet masked
    (wotan biweight), run a periodic search and, when that has no significant signal
    resting on two or more events, a single-event search; then mask the signal's events,
    so that they neither return nor bias the next round's trend. A signal whose events fall
    on an earlier one's at the same period, half or double it (:func:`is_echo`: the wings
    of a deep eclipse the mask did not cover) is masked too but takes no slot; at most
    :data:`ATTEMPTS_PER_SIGNAL` rounds per slot.

    Parameters
    ----------
    lc : raw light curve (any flux units; flagged cadences are dropped).
    config : search options.

    Returns
    -------
    list of Signal
        Indexed 0, 1, ... in the order found, whatever their size (vetting judges it).
    """
    durations = search_durations(config, lc.meta)
    keep = np.ones(len(lc), bool)
    signals: list[Signal] = []
    masked: list[float] = []  # the width masked around each found signal's events
    for _ in range(ATTEMPTS_PER_SIGNAL * config.max_signals):
        if np.count_nonzero(keep) < MIN_SEARCH_CADENCES:
            break
        detrended = detrend_for_search(lc.select(keep), config)
        found = _next_signal(detrended, config, durations)
        if found is None:
            break
        width = mask_width(detrended, found, config.mask_factor)
        keep &= ~_event_mask(lc.time, found, width)
        echoed = next((earlier for earlier, earlier_width in zip(signals, masked)
                       if is_echo(found, earlier, earlier_width)), None)
        if echoed is not None:
            log.info("%s: %s signal at P=%.5f d, epoch %.4f falls on signal %d's events: "
                     "masked as its echo", lc.meta.key, found.kind, found.period, found.epoch,
                     echoed.index)
            continue
        signals.append(replace(found, index=len(signals)))
        masked.append(width)
        if len(signals) == config.max_signals:
            break
    return signals


def is_echo(found: Signal, earlier: Signal, masked: float) -> bool:
    """Whether ``found`` is a residue of ``earlier``: a single event, or a periodic signal
    at :data:`ECHO_PERIOD_RATIOS` times its period, whose epoch lies within half the width
    ``masked`` around the earlier signal's events plus its own duration of one of them.
    A periodic signal through an earlier single event is not its echo."""
    if math.isfinite(found.period):
        if not math.isfinite(earlier.period) or not any(
                abs(found.period / earlier.period / ratio - 1) < ECHO_PERIOD_TOLERANCE
                for ratio in ECHO_PERIOD_RATIOS):
            return False
    reach = masked / 2 + found.duration
    return bool(_event_mask(np.array([found.epoch]), earlier, 2 * reach)[0])


def mask_width(detrended: LightCurve, signal: Signal, mask_factor: float) -> float:
    """Days masked around each of the signal's events: ``mask_factor`` box durations or
    :data:`T14_MASK_FACTOR` full durations (:func:`full_duration`), the wider."""
    return max(mask_factor * signal.duration,
               T14_MASK_FACTOR * full_duration(detrended, signal))


def full_duration(detrended: LightCurve, signal: Signal) -> float:
    """The signal's full duration (T14) measured on the detrended light curve: around
    mid-transit (folded at the period), the span of consecutive bins of a
    :data:`T14_BINS_PER_DURATION` th of the box duration whose median flux lies below the
    level outside by :data:`T14_SIGMA` standard errors and :data:`T14_DEPTH_FRACTION` of
    the depth, walking through up to a cadence of bins without data (a period
    commensurate with the cadence samples the transit at a few phases only, a cadence
    apart); at least the box duration (a V-shaped eclipse's wings reach beyond its box).
    Medians, not means: another planet's transits and flares folded in at random phases
    would pull bins of a shallow transit's fold below the level."""
    width = signal.duration / T14_BINS_PER_DURATION
    offset = signal.offset(detrended.time)
    near = np.abs(offset) < T14_REACH * signal.duration
    if near.all() or not near.any():
        return signal.duration
    flux = detrended.flux.astype(np.float64)
    index = np.floor(offset[near] / width).astype(np.int64)
    shift = -index.min()
    count = np.bincount(index + shift)
    median = pd.Series(flux[near]).groupby(index + shift).median()
    dip = np.median(flux[~near]) - median.reindex(range(len(count))).to_numpy()
    median_error = MEDIAN_ERROR_FACTOR * robust_std(flux) / np.sqrt(np.maximum(count, 1))
    below = ((count > 0) & (dip > T14_DEPTH_FRACTION * signal.depth)
             & (dip > T14_SIGMA * median_error))
    # a period commensurate with the cadence samples the fold a cadence apart, leaving up
    # to ceil(cadence / width) - 1 empty bins between samples
    spacing = float(np.median(np.diff(detrended.time))) if len(detrended) > 1 else width
    max_gap = max(1, math.ceil(spacing / width) - 1)
    ends = [_farthest_below(below, count == 0, shift, way, max_gap) for way in (-1, 1)]
    if None in ends:
        return signal.duration
    return max(signal.duration, (ends[1] - ends[0] + 1) * width)


def _farthest_below(below: np.ndarray, empty: np.ndarray, start: int, way: int,
                    max_gap: int) -> int | None:
    """The farthest bin from ``start`` in direction ``way`` (+1 or -1) reached through
    bins below the level and runs of at most ``max_gap`` empty bins (an empty ``start``
    counts in the run); None unless ``start`` is below or empty and a below bin is
    reached, in which case the caller keeps the box duration."""
    if not (below[start] or empty[start]):
        return None
    farthest, gap, k = (start, 0, start) if below[start] else (None, 1, start)
    while 0 <= k + way < len(below):
        k += way
        if below[k]:
            farthest, gap = k, 0
        elif empty[k] and gap < max_gap:
            gap += 1
        else:
            break
    return farthest


def _next_signal(lc: LightCurve, config: SearchConfig, durations: np.ndarray) -> Signal | None:
    """The strongest periodic signal if significant on two or more events, else the
    strongest single event if significant, else None."""
    low, high = _period_limits(lc, config)
    if high > low and len(lc) > 1:
        signal = _periodic_signal(lc, periodogram(lc, config), config)
        if signal is not None:
            return signal
    return _single_event(lc, durations, config)


def _periodic_signal(lc: LightCurve, pg: Periodogram, config: SearchConfig) -> Signal | None:
    """The periodogram peak refined and measured on full cadence, if it passes the thresholds.

    A peak at a whole fraction of the true period (only every k-th transit holds a dip, the
    others are empty: :func:`true_multiple`) is measured at k times the period; whether it
    rests on one event is judged on all the transits the peak predicts."""
    if not np.isfinite(pg.period) or pg.sde < config.sde_threshold:
        return None
    t, f = lc.time, lc.flux.astype(np.float64)
    sigma = robust_std(f)
    bls = BoxLeastSquares(t, f, np.full(len(t), sigma))
    period, epoch, duration = (_refine(bls, pg) if config.method == "bls"
                               else (pg.period, pg.epoch, pg.duration))
    fold = _fold_transits(bls, t, f, period, duration, epoch)
    rests_on_one = (_rest_snr(fold.depths, fold.counts, sigma)
                    < REST_SNR_FRACTION * config.snr_threshold
                    or _one_event_dominates(fold.depths, fold.counts, sigma))
    has_data = fold.counts > 0
    multiple, kept = true_multiple(fold.depths[has_data], sigma / np.sqrt(fold.counts[has_data]),
                                   np.flatnonzero(has_data), MIN_DIP_SIGMA)
    if multiple > 1 and (config.max_period is None or multiple * period <= config.max_period):
        period *= multiple
        fold = _fold_transits(bls, t, f, period, duration, fold.times[has_data][kept][0])
    snr = fold.depth / fold.depth_err
    if snr < config.snr_threshold or rests_on_one:
        return None
    has_data = fold.counts > 0
    times = fold.times[has_data]
    return _signal(lc.meta, kind="periodic", method=config.method,
                   period=_two_transit_period(period, times, config), epoch=float(times[0]),
                   duration=duration, depth=fold.depth, depth_err=fold.depth_err, snr=snr,
                   sde=pg.sde, transit_times=times, transit_depths=fold.depths[has_data])


@dataclass(frozen=True)
class TransitFold:
    """A box ephemeris measured on full cadence: the folded depth and its error, and per
    transit its time, cadence count and depth (NaN without data)."""

    depth: float
    depth_err: float
    times: np.ndarray
    counts: np.ndarray
    depths: np.ndarray


def _fold_transits(bls: BoxLeastSquares, t: np.ndarray, f: np.ndarray, period: float,
                   duration: float, epoch: float) -> TransitFold:
    """The box ephemeris (``period``, ``duration``, ``epoch``) measured on ``bls``'s data."""
    stats = bls.compute_stats(period, duration, epoch)
    depth, depth_err = (float(x) for x in stats["depth"])
    times = np.asarray(stats["transit_times"], dtype=np.float64)
    return TransitFold(depth=depth, depth_err=depth_err, times=times,
                       counts=np.asarray(stats["per_transit_count"]),
                       depths=_per_transit_depths(t, f, period, duration, times))


def true_multiple(depths: np.ndarray, errs: np.ndarray, cycles: np.ndarray,
                  min_sigma: float) -> tuple[int, np.ndarray]:
    """A signal found at a fraction of its period: ``(k, transits)`` when the full transits
    (two or more) fall every ``k`` >= 2 cycles and every other transit is empty: less than
    half as deep as the mean of the dips (transits ``min_sigma`` errors deep or more) and
    ``min_sigma`` errors below it (another planet's transit may overlap one). Else
    ``(1, all)``."""
    dips = depths >= min_sigma * errs
    if dips.sum() < 2:
        return 1, np.ones(len(depths), dtype=bool)
    mean, _ = inverse_variance_mean(depths[dips], errs[dips])
    empty = (depths < mean / 2) & (mean - depths > min_sigma * errs)
    full = cycles[~empty]
    if not empty.any() or len(full) < 2:
        return 1, np.ones(len(depths), dtype=bool)
    multiple = int(np.gcd.reduce(np.diff(full)))
    on_period = (cycles - full[0]) % multiple == 0
    if multiple < 2 or not np.array_equal(on_period, ~empty):
        return 1, np.ones(len(depths), dtype=bool)
    return multiple, ~empty


def _two_transit_period(period: float, times: np.ndarray, config: SearchConfig) -> float:
    """For a signal with two transits, their separation (within ``max_period``): the longest
    period they allow, of which the search's peak is a whole fraction whose other transits
    fall in gaps; vetting and the report mark such periods ambiguous. Else ``period``."""
    if len(times) != 2:
        return period
    separation = float(times[1] - times[0])
    return separation if config.max_period is None or separation <= config.max_period else period


def _bls_periodogram(lc: LightCurve, config: SearchConfig, low: float, high: float) -> Periodogram:
    """astropy BLS on the Ofir grid of the star's density between ``low`` and ``high``."""
    periods = period_grid(np.ptp(lc.time), low, high, stellar_density(lc.meta),
                          config.oversampling)
    return bls_spectrum(lc, periods, config)


def bls_spectrum(lc: LightCurve, periods: np.ndarray, config: SearchConfig) -> Periodogram:
    """astropy BLS on trial ``periods`` (days), each with its plausible durations, on
    suitably binned data: the search's periodogram, and the reference that the batched
    detection search is tested and benchmarked against."""
    durations = search_durations(config, lc.meta)
    first, last = _duration_windows(periods, durations, stellar_density(lc.meta))
    periods, first, last = periods[last > first], first[last > first], last[last > first]
    if not len(periods):
        nan, empty = float("nan"), np.array([])
        return Periodogram(method="bls", periods=empty, power=empty, power_raw=empty, sde=0.0,
                           period=nan, epoch=nan, duration=nan, depth=nan)
    # runs of periods sharing a duration window (both ends grow with the period)
    cuts = np.flatnonzero((np.diff(first) != 0) | (np.diff(last) != 0)) + 1
    parts = [_bls_power(lc, periods[a:b], durations[first[a]:last[a]], config)
             for a, b in zip(np.r_[0, cuts], np.r_[cuts, len(periods)])]
    power_raw = np.concatenate([p.power for p in parts])
    power, sde = sde_spectrum(power_raw, config.oversampling)
    best = int(np.argmax(power))
    pick = {name: np.concatenate([getattr(p, name) for p in parts])[best]
            for name in ("transit_time", "duration", "depth")}
    return Periodogram(method="bls", periods=periods, power=power, power_raw=power_raw,
                       sde=sde, period=float(periods[best]), epoch=float(pick["transit_time"]),
                       duration=float(pick["duration"]), depth=float(pick["depth"]))


def _bls_power(lc: LightCurve, periods: np.ndarray, durations: np.ndarray,
               config: SearchConfig) -> BoxLeastSquaresResults:
    """BLS log-likelihood power, the light curve binned to ``search_bin_minutes`` or a
    BINS_PER_DURATION-th of the shortest duration (days), whichever is shorter."""
    width = min(config.search_bin_minutes / MINUTES_PER_DAY, durations[0] / BINS_PER_DURATION)
    t, f = _binned(lc, width)
    bls = BoxLeastSquares(t, f, np.full(len(t), robust_std(f)))
    return bls.power(periods, durations, objective="likelihood", oversample=BLS_OVERSAMPLE)


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
    mass = _stellar_mass(meta)
    return dict(R_star=meta.radius, M_star=mass,
                R_star_min=min(TLS_R_STAR_RANGE[0], meta.radius),
                R_star_max=max(TLS_R_STAR_RANGE[1], meta.radius),
                M_star_min=min(TLS_M_STAR_RANGE[0], mass),
                M_star_max=max(TLS_M_STAR_RANGE[1], mass))


def _stellar_mass(meta: LightCurveMeta) -> float:
    """Stellar mass, M_sun: ``meta.mass``, else from logg and radius, else NaN."""
    if np.isfinite(meta.mass):
        return meta.mass
    return 10 ** (meta.logg - LOGG_SUN) * meta.radius ** 2


def _refine(bls: BoxLeastSquares, pg: Periodogram) -> tuple[float, float, float]:
    """Period, epoch and duration (days) from a fine BLS grid around the peak, full cadence."""
    peak = int(np.argmin(np.abs(pg.periods - pg.period)))
    step = np.gradient(pg.periods)[peak] if len(pg.periods) > 1 else pg.period * 1e-3
    periods = pg.period + step * np.linspace(-REFINE_STEPS, REFINE_STEPS, REFINE_N_PERIODS)
    longest = max(pg.duration, MAX_DUTY_CYCLE * periods.min())
    durations = np.unique(np.minimum(longest, pg.duration * np.geomspace(
        1 / REFINE_DURATION_RANGE, REFINE_DURATION_RANGE, REFINE_N_DURATIONS)))
    result = bls.power(periods, durations, objective="likelihood", oversample=REFINE_OVERSAMPLE)
    best = int(np.argmax(result.power))
    return float(periods[best]), float(result.transit_time[best]), float(result.duration[best])


def _single_event(lc: LightCurve, durations: np.ndarray, config: SearchConfig) -> Signal | None:
    """Strongest box-shaped dip over epochs and durations, if above the single-event SNR.

    The SNR of a box is its depth over the robust scatter of all box depths of that
    duration across the light curve, so correlated noise raises the bar.
    """
    if len(lc) < 2:
        return None
    t = lc.time
    cadence = float(np.median(np.diff(t)))
    n_widths = max(1, math.ceil(math.log(durations.max() / durations.min(), SINGLE_DURATION_STEP)))
    widths = np.geomspace(durations.min(), durations.max(), n_widths + 1)
    centres = np.arange(t[0], t[-1], max(cadence, SINGLE_EPOCH_STEP * durations.min()))
    depth = _box_depths(t, lc.flux.astype(np.float64), centres, widths, cadence)
    usable = np.sum(np.isfinite(depth), axis=1) >= SINGLE_MIN_WINDOWS
    depth, widths = depth[usable], widths[usable]
    spread = np.abs(depth - np.nanmedian(depth, axis=1, keepdims=True))
    noise = MAD_TO_STD * np.nanmedian(spread, axis=1)
    depth, widths, noise = depth[noise > 0], widths[noise > 0], noise[noise > 0]
    if not len(noise):
        return None
    snr = np.nan_to_num(depth / noise[:, None], nan=-np.inf)
    row, col = np.unravel_index(np.argmax(snr), snr.shape)
    if snr[row, col] < config.single_snr_threshold:
        return None
    epoch = float(centres[col])
    return _signal(lc.meta, kind="single", method="single_event", period=float("nan"),
                   epoch=epoch, duration=float(widths[row]), depth=float(depth[row, col]),
                   depth_err=float(noise[row]), snr=float(snr[row, col]), sde=float("nan"),
                   transit_times=np.array([epoch]), transit_depths=depth[row, col:col + 1])


def _box_depths(t: np.ndarray, f: np.ndarray, centres: np.ndarray, widths: np.ndarray,
                cadence: float) -> np.ndarray:
    """Mean depth below 1 in boxes (widths x centres, days); NaN for boxes with fewer than
    SINGLE_MIN_COVERAGE of their expected cadences."""
    lo = np.searchsorted(t, centres - widths[:, None] / 2)
    hi = np.searchsorted(t, centres + widths[:, None] / 2)
    count = hi - lo
    dips = np.concatenate(([0.0], np.cumsum(1.0 - f)))
    covered = count >= SINGLE_MIN_COVERAGE * widths[:, None] / cadence
    return np.where(covered, (dips[hi] - dips[lo]) / np.maximum(count, 1), np.nan)


def _signal(meta: LightCurveMeta, *, transit_times: np.ndarray, transit_depths: np.ndarray,
            **values) -> Signal:
    """A Signal of ``meta``'s light curve (index 0) with its planet radius."""
    radius = planet_radius_earth(values["depth"], meta)
    return Signal(tic=meta.tic, sector=meta.sector, index=0, n_transits=len(transit_times),
                  transit_times=tuple(float(x) for x in transit_times),
                  transit_depths=tuple(float(x) for x in transit_depths),
                  radius_earth=radius, **values)


def _event_mask(time: np.ndarray, signal: Signal, width: float) -> np.ndarray:
    """Cadences within ``width``/2 days of the signal's (predicted) transits."""
    return np.abs(signal.offset(time)) < width / 2


def _per_transit_depths(t: np.ndarray, f: np.ndarray, period: float, duration: float,
                        transit_times: np.ndarray) -> np.ndarray:
    """Depth of each transit (fraction; NaN without data): the out-of-transit mean minus
    the transit's in-transit mean."""
    number = np.round((t - transit_times[0]) / period).astype(np.int64)
    inside = (np.abs(t - transit_times[0] - number * period) < duration / 2) \
        & (number >= 0) & (number < len(transit_times))
    level = np.mean(f[~inside])
    count = np.bincount(number[inside], minlength=len(transit_times))
    total = np.bincount(number[inside], f[inside], minlength=len(transit_times))
    mean = np.divide(total, count, out=np.full(len(count), np.nan), where=count > 0)
    return level - mean


def _rest_snr(depths: np.ndarray, counts: np.ndarray, sigma: float) -> float:
    """SNR of the transits without the strongest one (0 when only one has data)."""
    weight = np.where(counts > 0, counts * np.nan_to_num(depths), 0.0)
    rest = np.ones(len(counts), bool)
    rest[np.argmax(weight)] = False
    n_rest = counts[rest].sum()
    return float(weight[rest].sum() / (sigma * np.sqrt(n_rest))) if n_rest else 0.0


def _one_event_dominates(depths: np.ndarray, counts: np.ndarray, sigma: float) -> bool:
    """Whether the strongest event dominates the signal (:data:`MAX_SES_TO_MES`) and is
    deeper than the next strongest by more than :data:`DOMINANT_EVENT_SIGMA` errors."""
    used = counts > 0
    depths, counts = np.nan_to_num(depths[used]), counts[used]
    if len(depths) < 2:
        return False
    single = depths * np.sqrt(counts)
    multiple = np.sum(depths * counts) / np.sqrt(np.sum(counts))
    first, second = np.argsort(single)[::-1][:2]
    apart = (depths[first] - depths[second]) / (
        sigma * np.sqrt(1 / counts[first] + 1 / counts[second]))
    return bool(single[first] > MAX_SES_TO_MES * multiple and apart > DOMINANT_EVENT_SIGMA)


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


def _binned(lc: LightCurve, width: float) -> tuple[np.ndarray, np.ndarray]:
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


def running_median(values: np.ndarray, kernel: int) -> np.ndarray:
    """Centred running median of odd width ``kernel`` along the last axis, the ends padded
    with the edge values."""
    half = kernel // 2
    rows = np.atleast_2d(values)
    padded = np.pad(rows, ((0, 0), (half, half)), mode="edge")
    median = pd.DataFrame(padded.T).rolling(kernel, center=True).median().to_numpy().T
    return median[:, half:half + rows.shape[1]].reshape(values.shape)


def robust_std(values: np.ndarray) -> float:
    """Standard deviation from the median absolute deviation."""
    return float(MAD_TO_STD * np.median(np.abs(values - np.median(values))))
