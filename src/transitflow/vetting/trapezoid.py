"""The shape test: a trapezoid fit, its V-shape and its duration against the star."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.optimize import least_squares

from transitflow.lightcurve import LightCurve
from transitflow.searching import stellar_density
from transitflow.signals import Signal, VetResult
from transitflow.vetting.config import VetConfig
from transitflow.vetting.measure import NAN, a_over_rstar, noise_of, relative_flux, skipped
from transitflow.vetting.registry import register


#: Trapezoid fit: half-width of the window and bins per duration; exposure sub-samples.
SHAPE_WINDOW = 2.0
SHAPE_BINS_PER_DURATION = 20
SHAPE_SUBSAMPLES = 5

#: Chi-square by which a flat-bottomed trapezoid must fit worse for a V-shape (three
#: sigma for one parameter).
SHAPE_CHI2 = 9.0


@dataclass(frozen=True)
class _Trapezoid:
    """A trapezoid fit: depth (fraction), total duration and ingress (days), and the
    least-squares cost (half the sum of squared count-weighted residuals)."""

    depth: float
    total: float
    ingress: float
    cost: float


@register("shape", argues="EB",
          extras=("depth", "total", "ingress", "duration_ratio"))
def shape(lc: LightCurve, detrended: LightCurve, signal: Signal,
          config: VetConfig) -> VetResult:
    """Trapezoid fit (as DAVE's trapezoidFit): V-shape, and duration against the star.

    The metric is ingress over total duration (0.5: V-shaped). V-shaped means above
    ``max_vshape`` and significantly so: a trapezoid held to ``max_vshape`` fits worse
    by a chi-square of ``SHAPE_CHI2`` or more (an ingress shorter than the cadence, at a
    period commensurate with it, leaves the two alike). With the stellar radius and mass
    (or logg) the total is compared with the longest central transit of this star on a
    circular orbit; much longer means the eclipsed star is not the target.
    """
    fit = _trapezoid_fit(detrended, signal)
    if fit is None:
        return skipped("shape", "too few cadences around the transit for a trapezoid fit")
    vshape = fit.ingress / fit.total
    ratio = fit.total / _longest_duration(signal, lc, fit.depth)
    v_shaped = vshape > config.max_vshape and _worse_flat(detrended, signal, fit, config)
    too_long = ratio > config.max_duration_ratio
    reason = f"ingress/duration {vshape:.2f}" + (" (V-shaped)" if v_shaped else "")
    if math.isfinite(ratio):
        reason += (f", duration {ratio:.2f}x the longest for this star"
                   + (" (too long)" if too_long else ""))
    extra = {"depth": fit.depth, "total": fit.total, "ingress": fit.ingress,
             "duration_ratio": ratio}
    return VetResult("shape", vshape, NAN, v_shaped or too_long, reason, extra)


def _worse_flat(detrended: LightCurve, signal: Signal, fit: _Trapezoid,
                config: VetConfig) -> bool:
    """Whether a trapezoid held to ``max_vshape`` fits worse by ``SHAPE_CHI2`` or more."""
    flat = _trapezoid_fit(detrended, signal, config.max_vshape)
    noise = noise_of(detrended, signal)
    return bool(2.0 * (flat.cost - fit.cost) > SHAPE_CHI2 * (noise.sigma * noise.beta) ** 2)


def _trapezoid(x: np.ndarray, depth: float, total: float, ingress: float) -> np.ndarray:
    """Trapezoid dip: 0 outside, -depth on the flat bottom, linear ingress and egress."""
    return -depth * np.clip((0.5 * total - np.abs(x)) / ingress, 0.0, 1.0)


def _trapezoid_fit(detrended: LightCurve, signal: Signal,
                   max_vshape: float = 0.5) -> _Trapezoid | None:
    """Least-squares trapezoid, its ingress at most ``max_vshape`` of the total.

    Fitted to the folded light curve binned within ``SHAPE_WINDOW`` durations of
    mid-transit (bins weighted by their counts), the model averaged over each exposure;
    None when under half the bins have data.
    """
    duration = signal.duration
    x = signal.offset(detrended.time) / duration
    near = np.abs(x) < SHAPE_WINDOW
    n_bins = int(2 * SHAPE_WINDOW * SHAPE_BINS_PER_DURATION)
    index = ((x[near] + SHAPE_WINDOW) * SHAPE_BINS_PER_DURATION).astype(np.int64)
    counts = np.bincount(index, minlength=n_bins)
    if np.count_nonzero(counts) < n_bins // 2:
        return None
    sums = np.bincount(index, relative_flux(detrended)[near], minlength=n_bins)
    filled = counts > 0
    centres = ((np.flatnonzero(filled) + 0.5) / SHAPE_BINS_PER_DURATION - SHAPE_WINDOW) * duration
    flux, weight = sums[filled] / counts[filled], np.sqrt(counts[filled])
    exposure = float(np.median(np.diff(detrended.time)))
    samples = centres[:, None] + exposure * ((np.arange(SHAPE_SUBSAMPLES) + 0.5)
                                             / SHAPE_SUBSAMPLES - 0.5)

    def residuals(p: np.ndarray) -> np.ndarray:
        shift, depth, total, vshape = p
        model = _trapezoid(samples - shift, depth, total, vshape * total).mean(axis=1)
        return weight * (flux - model)

    core = np.abs(centres) < 0.25 * duration
    start = max(float(-flux[core].mean()) if core.any() else 0.0, 1e-6)
    lower = [-0.5 * duration, 0.0, 0.2 * duration, 0.01]
    upper = [0.5 * duration, 2.0 * start + 1e-3, 1.5 * SHAPE_WINDOW * duration, max_vshape]
    guess = [0.0, start, duration, min(0.2, 0.5 * max_vshape)]
    fit = least_squares(residuals, guess, bounds=(lower, upper))
    _, depth, total, vshape = fit.x
    return _Trapezoid(float(depth), float(total), float(vshape * total), float(fit.cost))


def _longest_duration(signal: Signal, lc: LightCurve, depth: float) -> float:
    """Duration of a central transit on a circular orbit, days; NaN without the star."""
    if not signal.periodic or not math.isfinite(stellar_density(lc.meta)):
        return NAN
    reach = (1.0 + math.sqrt(max(depth, 0.0))) / a_over_rstar(signal, lc)
    return signal.period / math.pi * math.asin(min(1.0, reach))
