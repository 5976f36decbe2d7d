"""Modshift (Coughlin et al. 2014, 2016): the primary, secondary, tertiary and positive
events of a phase-folded light curve, and their significances."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from transitflow.lightcurve import LightCurve
from transitflow.signals import Signal, robust_std
from transitflow.vetting.measure import NAN, NOISE_GAP, false_alarm, relative_flux


#: Modshift phase bins per transit duration (Coughlin's modshift, exovetter).
MODSHIFT_BINS_PER_DURATION = 10

#: Modshift exclusions, in durations around the primary and secondary: for the secondary,
#: tertiary and Fred; for the positive event (modshift-v4.cpp widthfac 4 and 6
#: half-durations; Fred excludes two durations here because our boxes have flanks). The
#: white noise excludes :data:`~transitflow.vetting.measure.NOISE_GAP`.
EVENT_GAP = 2.0
POSITIVE_GAP = 3.0


@dataclass(frozen=True)
class ModShift:
    """Modshift events of a phase-folded light curve (Coughlin et al. 2014, 2016).

    Phases run 0-1 with the primary at 0 (NaN for an event with no room left), depths are
    box means (fractions), significances are over white noise (0 for a missing event);
    ``fred`` is the red-noise ratio, the scatter of the significance curve away from
    the primary and secondary; ``fa1`` and ``fa2`` the false-alarm thresholds.
    """

    phase_pri: float
    phase_sec: float
    phase_ter: float
    phase_pos: float
    depth_pri: float
    depth_sec: float
    sigma_pri: float
    sigma_sec: float
    sigma_ter: float
    sigma_pos: float
    fred: float
    fa1: float
    fa2: float


def modshift(detrended: LightCurve, signal: Signal, trials: float = 20000) -> ModShift:
    """Box-convolve the folded light curve and locate the modshift events.

    At each phase (bins of a tenth of the duration) the depth is the mean flux of a
    one-duration box below that of half-duration flanks on both sides, so variability
    slower than the transit (ellipsoidal, reflection) cancels. The primary is the deepest
    box within two durations of phase 0; the secondary the deepest farther than two
    durations from it; the tertiary the deepest farther than two from both; the positive
    event the highest farther than three (as modshift-v4.cpp). None of their boxes or
    flanks may reach into the primary eclipse (:func:`_eclipse_reach`), which can be
    longer than the signal's duration says.
    """
    n_bins = max(math.ceil(MODSHIFT_BINS_PER_DURATION * signal.period / signal.duration),
                 4 * MODSHIFT_BINS_PER_DURATION)
    flux = relative_flux(detrended)
    phase = ((detrended.time - signal.epoch) / signal.period) % 1.0
    index = np.minimum((phase * n_bins).astype(np.int64), n_bins - 1)
    counts = np.bincount(index, minlength=n_bins).astype(np.float64)
    sums = np.bincount(index, flux, minlength=n_bins)
    width = max(2, round(n_bins * signal.duration / signal.period))
    lo, hi, flank = -(width // 2), width - width // 2, width // 2
    n_box, s_box = _box_sum(counts, lo, hi), _box_sum(sums, lo, hi)
    n_out = _box_sum(counts, lo - flank, lo) + _box_sum(counts, hi, hi + flank)
    s_out = _box_sum(sums, lo - flank, lo) + _box_sum(sums, hi, hi + flank)
    valid = (n_box > 0) & (n_out > 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        depth = np.where(valid, s_out / n_out - s_box / n_box, np.nan)
        scale = np.sqrt(1.0 / n_box + 1.0 / n_out)
    centres = np.arange(n_bins) / n_bins
    gap = signal.duration / signal.period

    near_zero = np.abs(_phase_distance(centres, 0.0)) < EVENT_GAP * gap
    pri = _strongest(depth, valid & near_zero)
    reach = 0.0 if pri is None else (
        _eclipse_reach(counts, sums, robust_std(flux), pri) + hi + flank) / n_bins

    def away(*events: int, by: float) -> np.ndarray:
        keep = valid.copy()
        for i in events:
            radius = max(by * gap, reach) if i == pri else by * gap
            keep &= np.abs(_phase_distance(centres, centres[i])) >= radius
        return keep

    sec = None if pri is None else _strongest(depth, away(pri, by=EVENT_GAP))
    events = [i for i in (pri, sec) if i is not None]
    ter = _strongest(depth, away(*events, by=EVENT_GAP))
    pos = _strongest(-depth, away(*events, by=POSITIVE_GAP))
    quiet = np.ones(len(flux), dtype=bool)
    for i in events:
        quiet &= np.abs(_phase_distance(phase, centres[i])) >= NOISE_GAP * gap
    noise = robust_std(flux[quiet] if quiet.sum() > 1 else flux)
    with np.errstate(invalid="ignore", divide="ignore"):
        significance = depth / (noise * scale)
    calm = away(*events, by=EVENT_GAP)

    def at(i: int | None, values: np.ndarray, missing: float) -> float:
        return missing if i is None else float(values[i])

    return ModShift(
        phase_pri=at(pri, centres, NAN), phase_sec=at(sec, centres, NAN),
        phase_ter=at(ter, centres, NAN), phase_pos=at(pos, centres, NAN),
        depth_pri=at(pri, depth, NAN), depth_sec=at(sec, depth, NAN),
        sigma_pri=at(pri, significance, 0.0), sigma_sec=at(sec, significance, 0.0),
        sigma_ter=at(ter, significance, 0.0), sigma_pos=-at(pos, significance, 0.0),
        fred=float(np.std(significance[calm])) if calm.sum() > 1 else NAN,
        fa1=false_alarm(signal, trials), fa2=false_alarm(signal, 1.0))


def _eclipse_reach(counts: np.ndarray, sums: np.ndarray, noise: float, pri: int) -> int:
    """Phase bins from the primary's to the farthest bin of its eclipse, on either side.

    The eclipse goes on through bins without data and bins more than three sigma below
    the baseline (``noise`` per cadence): a long cadence commensurate with the period
    samples the eclipse at a few phases, between which a short duration leaves its
    ingress and egress outside the primary's box.
    """
    dark = (counts == 0) | (sums < -3.0 * noise * np.sqrt(counts))
    reach = 0
    for step in (1, -1):
        k = 1
        while k < len(counts) // 2 and dark[(pri + step * k) % len(counts)]:
            k += 1
        reach = max(reach, k - 1)
    return reach


def _box_sum(values: np.ndarray, start: int, stop: int) -> np.ndarray:
    """Circular sum, for each bin k, over bins k + start ... k + stop - 1."""
    n = len(values)
    cumulative = np.concatenate([[0.0], np.cumsum(np.tile(values, 3))])
    k = np.arange(n) + n
    return cumulative[k + stop] - cumulative[k + start]


def _strongest(values: np.ndarray, allowed: np.ndarray) -> int | None:
    """Index of the largest allowed value; None when nothing is allowed."""
    if not allowed.any():
        return None
    return int(np.argmax(np.where(allowed, values, -np.inf)))


def _phase_distance(phase: np.ndarray, centre: float) -> np.ndarray:
    """Signed phase difference, wrapped to [-0.5, 0.5)."""
    return (phase - centre + 0.5) % 1.0 - 0.5
