"""Box least squares: astropy's ``bls_fast`` (the log-likelihood objective) compiled by numba
in a form the compiler can vectorise. The same arithmetic in the same order, so every power,
depth, duration and transit time equals astropy's to the bit (tested against
``BoxLeastSquares.power``), in about a third of the time: the in-depth search is mostly BLS."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from astropy.timeseries import BoxLeastSquares

from transitflow.kernels import cached_njit

#: C's DBL_EPSILON: astropy's least inverse variance in or out of a box, and least duration.
MIN_IVAR = float(np.finfo(np.float64).eps)


@dataclass(frozen=True)
class BoxPeaks:
    """Per trial period, the most likely box: its log-likelihood, depth (a fraction),
    duration and mid-transit time (days); -inf and NaNs where no box dips."""

    power: np.ndarray
    depth: np.ndarray
    duration: np.ndarray
    transit_time: np.ndarray


def box_least_squares(t: np.ndarray, flux: np.ndarray, sigma: float, periods: np.ndarray,
                      durations: np.ndarray, oversample: int) -> BoxPeaks:
    """As ``BoxLeastSquares(t, flux, sigma).power(periods, durations, objective="likelihood",
    oversample=oversample)``: the phase grid in steps of the shortest duration over
    ``oversample``. ValueError, as astropy's, when a duration is not positive or not shorter
    than every period, or ``oversample`` is under 1."""
    periods = np.ascontiguousarray(periods, dtype=np.float64)
    durations = np.ascontiguousarray(durations, dtype=np.float64)
    if not (periods.min() > durations.max() and durations.min() >= MIN_IVAR):
        raise ValueError(f"BLS durations {durations.min():.4g}-{durations.max():.4g} d must be "
                         f"positive and shorter than the shortest period ({periods.min():.4g} d)")
    if oversample < 1:
        raise ValueError(f"BLS oversample must be at least 1, not {oversample}")
    t = np.asarray(t, dtype=np.float64)
    y = np.asarray(flux, dtype=np.float64)
    t_ref = float(np.min(t))
    ivar = 1.0 / np.full(len(t), sigma, dtype=np.float64) ** 2  # x*x, as astropy's array
    power, depth, duration, phase = _bls_kernel(t - t_ref, y - np.median(y), ivar, periods,
                                                durations, int(oversample))
    return BoxPeaks(power=power, depth=depth, duration=duration, transit_time=phase + t_ref)


def astropy_box_least_squares(t: np.ndarray, flux: np.ndarray, sigma: float,
                              periods: np.ndarray, durations: np.ndarray,
                              oversample: int) -> BoxPeaks:
    """The reference :func:`box_least_squares` reproduces: astropy's ``BoxLeastSquares.power``
    itself (NaNs where no box dips), which the tests and benchmarks compare against."""
    result = BoxLeastSquares(t, flux, np.full(len(t), sigma, dtype=np.float64)).power(
        periods, durations, objective="likelihood", oversample=oversample)
    dips = np.isfinite(result.power)
    return BoxPeaks(power=np.asarray(result.power), **{
        name: np.where(dips, np.asarray(getattr(result, name)), np.nan)
        for name in ("depth", "duration", "transit_time")})


#: A BLS engine: (t, flux, sigma, periods, durations, oversample) -> BoxPeaks.
BoxSearch = Callable[..., BoxPeaks]


@cached_njit(error_model="numpy")
def _bls_kernel(t, y, ivar, periods, durations, oversample):  # pragma: no cover - compiled
    """astropy's ``run_bls`` (bls.c), likelihood objective: per period, weighted flux summed
    in phase bins of the shortest duration / ``oversample``, wrapped, cumulated; every box of
    every duration scored. ``t`` starts at 0."""
    bin_duration = durations.min() / oversample
    max_bins = int(math.ceil(periods.max() / bin_duration)) + oversample
    cum_y, cum_ivar, score = np.empty(max_bins + 1), np.empty(max_bins + 1), np.empty(max_bins)
    index = np.empty(len(t), np.int32)  # int32: the conversions vectorise
    weighted = y * ivar
    sum_y, sum_ivar = 0.0, 0.0
    for i in range(len(t)):
        sum_y += weighted[i]
        sum_ivar += ivar[i]
    widths = np.empty(len(durations), np.int64)
    for k in range(len(durations)):  # C's round(): halves away from zero
        x = durations[k] / bin_duration
        widths[k] = int(math.floor(x) + 1.0 if x - math.floor(x) >= 0.5 else math.floor(x))
    power = np.full(len(periods), -np.inf)
    depth = np.full(len(periods), np.nan)
    best_duration, phase = depth.copy(), depth.copy()
    for p in range(len(periods)):
        n_bins = _cumulated_phase_bins(t, weighted, ivar, periods[p], bin_duration, oversample,
                                       index, cum_y, cum_ivar)
        best, best_n, best_k = -np.inf, -1, -1
        for k in range(len(widths)):
            boxes = n_bins - widths[k] + 1
            _box_scores(cum_y, cum_ivar, sum_y, sum_ivar, widths[k], boxes, score)
            top = _maximum(score, boxes)
            if top > best:  # the first box of the best score, as astropy's running maximum
                best, best_n, best_k = top, _first_equal(score, top), k
        if best_k >= 0:
            width = widths[best_k]
            y_in = cum_y[best_n + width] - cum_y[best_n]
            ivar_in = cum_ivar[best_n + width] - cum_ivar[best_n]
            y_out = (sum_y - y_in) / (sum_ivar - ivar_in)
            power[p], depth[p] = best, y_out - y_in / ivar_in
            best_duration[p] = width * bin_duration
            phase[p] = np.fmod(best_n * bin_duration + 0.5 * best_duration[p], periods[p])
    return power, depth, best_duration, phase


@cached_njit(error_model="numpy")
def _cumulated_phase_bins(t, weighted, ivar, period, bin_duration, oversample, index, cum_y,
                          cum_ivar):  # pragma: no cover - compiled
    """Cumulative sums of the weighted flux and inverse variance over phase bins (bin 0
    empty, the first ``oversample`` bins repeated at the end); the number of bins."""
    n_bins = int(math.ceil(period / bin_duration)) + oversample
    cum_y[:n_bins + 1] = 0.0
    cum_ivar[:n_bins + 1] = 0.0
    for n in range(len(t)):  # the bin indices apart from the sums, so that they vectorise
        index[n] = np.int32((t[n] - period * math.floor(t[n] / period)) / bin_duration) + 1
    for n in range(len(t)):
        cum_y[index[n]] += weighted[n]
        cum_ivar[index[n]] += ivar[n]
    for n in range(1, oversample + 1):
        cum_y[n_bins - oversample + n - 1] = cum_y[n]
        cum_ivar[n_bins - oversample + n - 1] = cum_ivar[n]
    for n in range(1, n_bins + 1):
        cum_y[n] += cum_y[n - 1]
        cum_ivar[n] += cum_ivar[n - 1]
    return n_bins


@cached_njit(error_model="numpy")
def _box_scores(cum_y, cum_ivar, sum_y, sum_ivar, width, boxes, score):  # pragma: no cover
    """Log-likelihood of a dip in each of the first ``boxes`` boxes of ``width`` bins, -inf
    where the box holds no data, all of it, or a brightening (astropy's skipped boxes)."""
    for n in range(boxes):
        y_in = cum_y[n + width] - cum_y[n]
        ivar_in = cum_ivar[n + width] - cum_ivar[n]
        ivar_out = sum_ivar - ivar_in
        mean_in = y_in / ivar_in
        mean_out = (sum_y - y_in) / ivar_out
        dip = mean_out - mean_in
        usable = (ivar_in >= MIN_IVAR) & (ivar_out >= MIN_IVAR) & (mean_out >= mean_in)
        score[n] = 0.5 * ivar_in * dip * dip if usable else -np.inf


@cached_njit
def _maximum(score, boxes):  # pragma: no cover - compiled
    """The highest of the first ``boxes`` scores (-inf for none)."""
    top = -np.inf
    for n in range(boxes):
        if score[n] > top:
            top = score[n]
    return top


@cached_njit
def _first_equal(score, value):  # pragma: no cover - compiled
    """The index of the first score equal to ``value``, -1 if none is."""
    for n in range(len(score)):
        if score[n] == value:
            return n
    return -1
