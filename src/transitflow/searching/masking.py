"""Masking a found signal before the next search round: the width to mask (the full
duration T14 measured on the data), and echoes of an earlier signal."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from transitflow.lightcurve import LightCurve
from transitflow.signals import Signal, coincidence_chance, has_period, robust_std


#: Period ratios (later / earlier) at which a signal on an earlier one's events is its echo,
#: and the relative tolerance of a match.
ECHO_PERIOD_RATIOS = (0.5, 1.0, 2.0)
ECHO_PERIOD_TOLERANCE = 0.005
#: A periodic signal at those ratios of a stellar eclipse (an earlier signal at least
#: PHASE_CURVE_MIN_DEPTH deep), at most PHASE_CURVE_DEPTH_FRACTION as deep and locked to
#: it in phase (drifting by less than its duration over the data), is the eclipse's phase
#: curve wherever it falls (issue 17: CM Dra's 700 ppm modulation at twice the period of
#: its 33% eclipses, TIC 126602778's 0.47% ellipsoidal dips at half the period of its 29%
#: eclipses, took slots as LOW_SNR). A near-resonant planet drifts and is kept. So shallow,
#: a signal whose every transit falls on the eclipses is their residue, at any period, when
#: chance would do that with a probability under RESIDUE_CHANCE (TIC 9000000382 of the
#: default sector: 1.1%, two transits within 0.16 d of eclipses 3.08 d apart).
PHASE_CURVE_MIN_DEPTH = 0.1
PHASE_CURVE_DEPTH_FRACTION = 0.05
RESIDUE_CHANCE = 0.05
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


def is_echo(found: Signal, earlier: Signal, masked: float, span: float) -> bool:
    """Whether ``found`` is a residue of ``earlier``: a single event, or a periodic signal
    at :data:`ECHO_PERIOD_RATIOS` times its period, whose epoch lies within half the width
    ``masked`` around the earlier signal's events plus its own duration of one of them
    (every transit, at any period, when shallow beside a stellar eclipse:
    :func:`_eclipse_residue`); or the phase curve of an eclipse
    (:data:`PHASE_CURVE_MIN_DEPTH`), wherever it lies, over data ``span`` days long. A
    periodic signal through an earlier single event is not its echo, nor a single event
    deeper than the earlier signal and its nearest transit and no shorter
    (:func:`_not_what_masking_left`)."""
    if not math.isfinite(found.period) and _not_what_masking_left(found, earlier):
        return False
    reach = masked / 2 + found.duration
    if math.isfinite(found.period):
        ratio = next((ratio for ratio in ECHO_PERIOD_RATIOS if math.isfinite(earlier.period)
                      and abs(found.period / earlier.period / ratio - 1) < ECHO_PERIOD_TOLERANCE),
                     None)
        if ratio is None:
            return _eclipse_residue(found, earlier, reach)
        if _phase_curve(found, earlier, ratio, span):
            return True
    return bool(event_mask(np.array([found.epoch]), earlier, 2 * reach)[0])


def _not_what_masking_left(single: Signal, earlier: Signal) -> bool:
    """Whether a single event is deeper than the earlier signal, both its fold and its
    transit nearest the event, and lasts at least as long: what masking leaves of a dip is
    shallower than the dip (its wings) or shorter (the sliver of a transit that a drifting
    ephemeris puts partly outside the mask, at full depth). At a short period the reach of
    an echo covers much of the orbit, where another planet's lone transit may fall. The
    fold alone would not do: a fold through a binary's primary and secondary is shallower
    than the deeper of them. A NaN depth of the earlier signal leaves the event an echo."""
    depth = earlier.depth
    if earlier.transit_times and len(earlier.transit_depths) == len(earlier.transit_times):
        nearest = int(np.argmin(np.abs(np.asarray(earlier.transit_times) - single.epoch)))
        depth = max(depth, earlier.transit_depths[nearest])
    return single.depth > depth and single.duration >= earlier.duration


def _eclipse_residue(found: Signal, eclipse: Signal, reach: float) -> bool:
    """Whether ``found``, shallow beside a stellar eclipse, is what the mask left of its
    events: every transit within ``reach`` of one, which chance would do with a probability
    under :data:`RESIDUE_CHANCE` (an eccentric binary found at a third of its period,
    primaries and secondaries folded together, leaves the wings of the longer secondaries)."""
    if not (has_period(eclipse.period) and _shallow_beside_eclipse(found, eclipse)):
        return False
    times = np.asarray(found.transit_times)
    chance = coincidence_chance(reach, eclipse.period, len(times))
    return chance < RESIDUE_CHANCE and bool(event_mask(times, eclipse, 2 * reach).all())


def _phase_curve(found: Signal, eclipse: Signal, ratio: float, span: float) -> bool:
    """Whether ``found``, at ``ratio`` times ``eclipse``'s period, is its phase curve."""
    drift = abs(found.period - ratio * eclipse.period) * span / found.period
    return _shallow_beside_eclipse(found, eclipse) and drift < found.duration


def _shallow_beside_eclipse(found: Signal, eclipse: Signal) -> bool:
    """Whether ``eclipse`` is a stellar eclipse (:data:`PHASE_CURVE_MIN_DEPTH`) and
    ``found`` at most :data:`PHASE_CURVE_DEPTH_FRACTION` as deep."""
    return (eclipse.depth >= PHASE_CURVE_MIN_DEPTH
            and found.depth <= PHASE_CURVE_DEPTH_FRACTION * eclipse.depth)


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
    shift = max(0, -index.min())  # the mid-transit bin, where data may start or end
    count = np.bincount(index + shift, minlength=shift + 1)
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


def event_mask(time: np.ndarray, signal: Signal, width: float) -> np.ndarray:
    """Cadences within ``width``/2 days of the signal's (predicted) transits."""
    return np.abs(signal.offset(time)) < width / 2
