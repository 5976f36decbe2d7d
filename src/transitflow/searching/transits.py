"""A periodic signal measured transit by transit: the fold on full cadence, per-transit
depths, whether it rests on one event, its true period when only every k-th transit holds
a dip, the ephemeris of a signal with few transits from their times, and the Signal it
makes."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from astropy.timeseries import BoxLeastSquares

from transitflow.lightcurve import LightCurveMeta, cadence_at
from transitflow.searching.config import SearchConfig
from transitflow.signals import Signal, inverse_variance_mean, planet_radius_earth


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
#: Signals with at most this many transits holding data are timed transit by transit: the
#: fold's likelihood is flat over a range of periods when a box takes in or leaves whole
#: cadences, and its argmax, the range's first period, is biased short.
MAX_TIMED_TRANSITS = 3
#: Trial transit centres per cadence when timing a transit, and at most this many per
#: transit (a long transit at a short cadence is timed in coarser steps).
TIMING_STEPS_PER_CADENCE = 10
MAX_TIMING_STEPS = 400
#: A transit is timed when it holds a dip (MIN_DIP_SIGMA errors deep) and at least this
#: share of the cadences of its timing window (a duration either side): an empty or
#: gapped one would be timed on noise.
MIN_TIMED_COVERAGE = 0.5
#: The whole fractions of a two-transit signal's period, 2 up to this, that it may have when
#: the transits between fall in gaps (:func:`alias_periods`): half, one transit in a gap
#: (each more tried adds trials to the tests run at them).
MAX_ALIAS_DIVISOR = 2


@dataclass(frozen=True)
class TransitFold:
    """A box ephemeris measured on full cadence: the folded depth and its error, and per
    transit its time, cadence count and depth (NaN without data)."""

    depth: float
    depth_err: float
    times: np.ndarray
    counts: np.ndarray
    depths: np.ndarray


def fold_transits(bls: BoxLeastSquares, t: np.ndarray, f: np.ndarray, period: float,
                   duration: float, epoch: float) -> TransitFold:
    """The box ephemeris (``period``, ``duration``, ``epoch``) measured on ``bls``'s data."""
    stats = bls.compute_stats(period, duration, epoch)
    depth, depth_err = (float(x) for x in stats["depth"])
    times = np.asarray(stats["transit_times"], dtype=np.float64)
    return TransitFold(depth=depth, depth_err=depth_err, times=times,
                       counts=np.asarray(stats["per_transit_count"]),
                       depths=per_transit_depths(t, f, period, duration, times))


def per_transit_depths(t: np.ndarray, f: np.ndarray, period: float, duration: float,
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


def timed_ephemeris(t: np.ndarray, f: np.ndarray, fold: TransitFold, period: float,
                    duration: float, sigma: float) -> tuple[float, float] | None:
    """Period and epoch of a fold with at most :data:`MAX_TIMED_TRANSITS` transits holding
    data, from a straight line through the times of those that hold a dip and data on most
    of the window they are timed in, a duration either side (two or more; a transit cut by
    a gap times badly, while one short transit may hold a single cadence and time well),
    each timed on its own (:func:`transit_time`); else None.
    ``sigma`` is the flux scatter per cadence; the epoch is the first timed transit's."""
    cadence = float(np.median(np.diff(t)))
    errs = sigma / np.sqrt(np.maximum(fold.counts, 1))
    around = (np.searchsorted(t, fold.times + duration)
              - np.searchsorted(t, fold.times - duration))  # the window a transit is timed in
    timed = ((around >= MIN_TIMED_COVERAGE * 2 * duration / cadence_at(t, fold.times))
             & (np.nan_to_num(fold.depths) >= MIN_DIP_SIGMA * errs))
    if np.count_nonzero(fold.counts) > MAX_TIMED_TRANSITS or timed.sum() < 2:
        return None
    times = fold.times[timed]
    centres = [transit_time(t, f, time, duration, cadence) for time in times]
    cycles = np.round((times - times[0]) / period)
    slope, first = np.polyfit(cycles, centres, 1)
    return float(slope), float(first)


def transit_time(t: np.ndarray, f: np.ndarray, centre: float, duration: float,
                 cadence: float) -> float:
    """Centre of the box of ``duration`` (within half a duration of ``centre``) that holds
    the strongest dip (summed dip over the square root of its cadences); of the centres
    that take in the same cadences, the middle one."""
    step = max(cadence / TIMING_STEPS_PER_CADENCE, duration / MAX_TIMING_STEPS)
    offsets = np.arange(-duration / 2, duration / 2 + step / 2, step)
    near = np.abs(t - centre) < duration
    inside = np.abs(t[near][None, :] - (centre + offsets)[:, None]) < duration / 2
    count = inside.sum(axis=1)
    dip = inside.astype(np.float64) @ (1.0 - f[near])
    strength = np.where(count > 0, dip / np.sqrt(np.maximum(count, 1)), -np.inf)
    best = int(np.argmax(strength))
    same = np.all(inside == inside[best], axis=1)
    edges = np.flatnonzero(np.diff(np.r_[False, same, False].astype(np.int8)))
    first, last = next((lo, hi) for lo, hi in zip(edges[::2], edges[1::2]) if lo <= best < hi)
    return centre + float(np.mean(offsets[first:last]))


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


def two_transit_period(period: float, times: np.ndarray, config: SearchConfig) -> float:
    """For a signal with two transits, their separation (within ``max_period``): the longest
    period they allow, of which the search's peak is a whole fraction whose other transits
    fall in gaps; vetting and the report mark such periods ambiguous. Else ``period``."""
    if len(times) != 2:
        return period
    separation = float(times[1] - times[0])
    return separation if config.max_period is None or separation <= config.max_period else period


def alias_periods(time: np.ndarray, signal: Signal) -> list[float]:
    """The periods P/k (k = 2 to :data:`MAX_ALIAS_DIVISOR`) that a signal of two transits,
    P apart (:func:`two_transit_period`), may have because its other transits would fall
    where ``time`` has no data."""
    if signal.n_transits != 2 or len(signal.transit_times) != 2:
        return []
    first, second = signal.transit_times
    periods = []
    for divisor in range(2, MAX_ALIAS_DIVISOR + 1):
        between = first + (second - first) * np.arange(1, divisor) / divisor
        if not np.any(np.abs(time[:, None] - between) < signal.duration / 2):
            periods.append((second - first) / divisor)
    return periods


def rest_snr(depths: np.ndarray, counts: np.ndarray, sigma: float) -> float:
    """SNR of the transits without the strongest one (0 when only one has data)."""
    weight = np.where(counts > 0, counts * np.nan_to_num(depths), 0.0)
    rest = np.ones(len(counts), bool)
    rest[np.argmax(weight)] = False
    n_rest = counts[rest].sum()
    return float(weight[rest].sum() / (sigma * np.sqrt(n_rest))) if n_rest else 0.0


def one_event_dominates(depths: np.ndarray, counts: np.ndarray, sigma: float) -> bool:
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


def signal_of(meta: LightCurveMeta, *, transit_times: np.ndarray, transit_depths: np.ndarray,
            **values) -> Signal:
    """A Signal of ``meta``'s light curve (index 0) with its planet radius."""
    radius = planet_radius_earth(values["depth"], meta)
    return Signal(tic=meta.tic, sector=meta.sector, index=0, n_transits=len(transit_times),
                  transit_times=tuple(float(x) for x in transit_times),
                  transit_depths=tuple(float(x) for x in transit_depths),
                  radius_earth=radius, **values)
