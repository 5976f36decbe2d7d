"""The odd/even test: odd against even transit depths on a shared profile, or their summed
deficits where odd and even transits sample different phases or a transit's central half
is shorter than a cadence."""

from __future__ import annotations

import math

import numpy as np

from transitflow.lightcurve import LightCurve, cadence_at
from transitflow.signals import Signal, VetResult
from transitflow.vetting.config import VetConfig
from transitflow.vetting.measure import (NAN, Estimate, Noise, event_times, false_alarm,
                                         mean_depth, noise_of, ppm, relative_flux, skipped,
                                         transit_cycle)
from transitflow.vetting.registry import register


#: Variance inflation of the odd/even difference above which the parities are taken as
#: sampled at different parts of the transit (a common multicollinearity limit).
MAX_PARITY_VIF = 10.0


@register("odd_even", argues="EB", physical=True,
          extras=("odd_depth", "even_depth", "odd_depth_err", "even_depth_err"))
def odd_even(lc: LightCurve, detrended: LightCurve, signal: Signal,
             config: VetConfig) -> VetResult:
    """Odd against even transit depths: the light curve folded at twice the period.

    An eclipsing binary found at half its period shows its primary and secondary eclipses
    as odd and even transits (DAVE re-vets such signals at twice the period). Each depth
    is the mean detrended flux over the central ``odd_even_duration_frac`` of the
    duration. Their difference is fitted on a profile both parities share
    (:func:`_parity_difference`), so that transits sampled at different phases of a long
    cadence compare fairly, with errors grown by the excess scatter of the per-transit
    depths; where the parities sample so different phases that the profile takes up any
    difference, or the central window is shorter than a cadence, their summed deficits
    instead (:func:`_parity_summed_deficits`). Flagged
    when the difference exceeds the modshift false-alarm threshold FA1 (DAVE RoboVet
    ODD_EVEN_DIFF) and no parity is empty (:func:`_one_parity_empty`): with one parity
    empty the period is twice as long, and there are no two eclipses to compare.
    """
    if not signal.periodic:
        return skipped("odd_even", "single transit: no odd/even comparison")
    noise = noise_of(detrended, signal)
    odd = transit_cycle(detrended.time, signal) % 2 == 1
    frac = config.odd_even_duration_frac
    d_odd, d_even = (mean_depth(detrended, signal, noise, sel, frac) for sel in (odd, ~odd))
    if not (math.isfinite(d_odd.value) and math.isfinite(d_even.value)):
        return skipped("odd_even", "no odd or no even transit with data")
    fit = _parity_difference(detrended, signal, noise, frac)
    if fit is not None:
        diff, scale = fit
        d_odd, d_even = (Estimate(d.value, d.err * scale) for d in (d_odd, d_even))
        compared = "on a common profile"
    else:
        summed = _parity_summed_deficits(detrended, signal, noise)
        if summed is None:
            return skipped("odd_even", "odd and even transits sampled at different phases "
                                       "only, and no whole odd and even transit apart from "
                                       "the next to sum: no comparison")
        d_odd, d_even, diff = summed
        compared = ("in their summed deficits (sampled at different phases; depths of a box "
                    "of the duration)")
    mean = 0.5 * (d_odd.value + d_even.value)
    diff = Estimate(diff.value, math.hypot(diff.err, config.odd_even_systematic * mean))
    sigma = abs(diff.sigma)
    threshold = false_alarm(signal, config.false_alarm_trials)
    reason = (f"odd {ppm(d_odd.value)} vs even {ppm(d_even.value)}, "
              f"{ppm(abs(diff.value))} apart {compared}: {sigma:.1f} sigma "
              f"(FA1 {threshold:.1f})")
    empty = _one_parity_empty(d_odd, d_even, config.odd_even_min_sigma)
    flagged = sigma > threshold and not empty
    if empty:
        reason += "; one parity has no transit: the period may be twice as long"
    elif flagged:
        reason += f"; a binary's eclipses at twice the period, {2 * signal.period:.6f} d"
    extra = {"odd_depth": d_odd.value, "even_depth": d_even.value,
             "odd_depth_err": d_odd.err, "even_depth_err": d_even.err}
    return VetResult("odd_even", abs(diff.value / mean) if mean else NAN, sigma,
                     flagged, reason, extra)


def _one_parity_empty(odd: Estimate, even: Estimate, min_sigma: float) -> bool:
    """Whether the shallower parity has no eclipse: its depth is below ``min_sigma`` and the
    other parity's is ``min_sigma`` deeper. Low per-parity SNR alone does not empty one."""
    shallow, deep = sorted((odd, even), key=lambda estimate: estimate.value)
    apart = (deep.value - shallow.value) / math.hypot(deep.err, shallow.err)
    return shallow.sigma < min_sigma and apart > min_sigma


def _parity_difference(detrended: LightCurve, signal: Signal, noise: Noise,
                       frac: float) -> tuple[Estimate, float] | None:
    """Odd minus even depth over the central ``frac`` of the duration, and the error scale.

    A least-squares fit of the in-transit depths with a parabola in the time from
    mid-transit, shared by both parities (the transit's limb-darkened and exposure-smeared
    bottom, and an epoch slightly off, to second order), plus half the difference for odd
    and minus half for even transits, solved by projecting the parabola out of both (the
    Frisch-Waugh-Lovell theorem). Its error is the white noise times the red-noise factor,
    times the scale :func:`_excess_scatter` of the per-transit residuals. None when the
    parities are sampled at different parts of the profile, so that the parabola can take
    up the difference: when the parabola explains all but a :data:`MAX_PARITY_VIF`-th of the
    parity's variance (e.g. a period of a whole and a half cadences), or when the central
    window is shorter than the transits' cadence: each transit's depth is then one
    exposure or none, at its own phase of the transit, and the profile fitted to them can
    read parities of one depth far apart (a 45-min box at 30-min cadence, 40%).
    """
    events = event_times(signal, detrended.time)
    if len(events) and frac * signal.duration < np.median(cadence_at(detrended.time, events)):
        return None  # the median transit's cadence: a stitched light curve's sectors differ
    offset = signal.offset(detrended.time)
    inside = np.abs(offset) < 0.5 * frac * signal.duration
    x = offset[inside] / signal.duration
    cycle = transit_cycle(detrended.time, signal)[inside]
    profile = np.column_stack([np.ones_like(x), x, x ** 2])
    odd = np.where(cycle % 2 == 1, 0.5, -0.5)
    parity = _residual(profile, odd)
    information = float(parity @ parity)
    if information * MAX_PARITY_VIF <= float(np.sum((odd - odd.mean()) ** 2)):
        return None
    depth = _residual(profile, -relative_flux(detrended)[inside])
    diff = float(parity @ depth) / information
    white = (noise.sigma * noise.beta) ** 2
    scale = _excess_scatter(cycle, depth - diff * parity, white)
    return Estimate(diff, math.sqrt(white / information) * scale), scale


def _parity_summed_deficits(detrended: LightCurve, signal: Signal,
                            noise: Noise) -> tuple[Estimate, Estimate, Estimate] | None:
    """Odd and even transits' mean summed deficit, and their difference, as depths of a box
    of the signal's duration: for parities sampled at different phases of the transit.

    Each transit's deficit times its cadence is summed over a window of a duration and a
    cadence either side of mid-transit (wider than the transit, whose box duration from the
    search is often shorter): exposures that each integrate their whole cadence sum to the
    transit's equivalent width whatever their phase, where central depths would differ with
    it. Only whole transits count: data within a cadence of both window edges and no step
    over 1.5 cadences inside. Errors are the white noise times the red-noise factor, grown
    by the excess scatter of the per-transit sums. None without a whole odd and a whole even
    transit, or when a window would reach the next transit.
    """
    half = signal.duration + float(np.median(np.diff(detrended.time)))
    if 2 * half >= signal.period:
        return None
    offset = signal.offset(detrended.time)
    inside = np.abs(offset) < half
    cycle = transit_cycle(detrended.time, signal)[inside]
    deficit, offset = -relative_flux(detrended)[inside], offset[inside]
    sums, unit_variances, odd = [], [], []  # variances per unit white variance
    for transit in np.unique(cycle):
        mine = cycle == transit
        cadence = _whole_transit_cadence(offset[mine], half)
        if cadence:
            sums.append(cadence * deficit[mine].sum())
            unit_variances.append(cadence ** 2 * mine.sum())
            odd.append(transit % 2 == 1)
    sums, unit_variances = np.array(sums), np.array(unit_variances)
    odd = np.array(odd, dtype=bool)
    if not odd.any() or odd.all():
        return None
    white = (noise.sigma * noise.beta) ** 2
    means = {parity: sums[chosen].mean() for parity, chosen in (("odd", odd), ("even", ~odd))}
    residuals = sums - np.where(odd, means["odd"], means["even"])
    scale = _sum_excess_scatter(residuals, unit_variances * white)
    odd_depth, even_depth = (
        Estimate(means[parity] / signal.duration,
                 math.sqrt(white * unit_variances[chosen].sum()) / chosen.sum() * scale
                 / signal.duration)
        for parity, chosen in (("odd", odd), ("even", ~odd)))
    diff = Estimate(odd_depth.value - even_depth.value, math.hypot(odd_depth.err,
                                                                   even_depth.err))
    return odd_depth, even_depth, diff


def _whole_transit_cadence(offsets: np.ndarray, half: float) -> float:
    """The cadence of a transit's window (offsets from mid-transit within ``half``), or 0
    when the window is not whole: no data within a cadence of an edge, or a gap inside."""
    if len(offsets) < 2:
        return 0.0
    steps = np.diff(offsets)
    cadence = float(np.median(steps))
    whole = (offsets[0] <= -half + cadence and offsets[-1] >= half - cadence
             and steps.max() <= 1.5 * cadence)
    return cadence if whole else 0.0


def _sum_excess_scatter(residuals: np.ndarray, variances: np.ndarray) -> float:
    """Square root of the reduced chi-square of per-transit summed residuals of expected
    ``variances``, at least 1; with under three transits, 1."""
    if len(residuals) < 3 or not np.all(variances > 0):
        return 1.0
    chi2 = float(np.sum(residuals ** 2 / variances)) / (len(residuals) - 2)
    return math.sqrt(max(1.0, chi2))


def _residual(design: np.ndarray, values: np.ndarray) -> np.ndarray:
    """What the columns of ``design`` leave of ``values`` in a least-squares fit."""
    return values - design @ np.linalg.lstsq(design, values, rcond=None)[0]


def _excess_scatter(cycle: np.ndarray, residuals: np.ndarray, white: float) -> float:
    """Square root of the reduced chi-square of per-transit mean residuals, at least 1;
    ``white`` is the per-cadence variance."""
    index = np.unique(cycle, return_inverse=True)[1]
    return _sum_excess_scatter(np.bincount(index, residuals), np.bincount(index) * white)
