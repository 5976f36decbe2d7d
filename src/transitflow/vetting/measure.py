"""Measurements the vetting tests share: transit cycles, robust noise and red-noise
factors, depths, in-/out-of-transit contrasts calibrated at null epochs.

Depths are fractions of the flux, times BTJD days; an :class:`Estimate` is a value and
its one-sigma error.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
from scipy.special import erfcinv

from transitflow.lightcurve import DEFAULT_QUALITY_BITMASK, LightCurve
from transitflow.searching import stellar_density
from transitflow.signals import (Signal, VetResult, inverse_variance_mean, robust_std,
                                 scaled_semi_major_axis)


NAN = float("nan")

#: Cadences closer than this many durations to a transit or modshift event are left out
#: of the white noise (modshift-v4.cpp widthfac 2 half-durations).
NOISE_GAP = 1.0

#: Local baseline of in-/out-of-transit contrasts, durations from mid-transit.
BASELINE_DURATIONS = (1.0, 2.0)

#: Null epochs (one event moved off the signal's events) on which a contrast's scatter is
#: measured, and the fewest that make a measurement.
NULL_EPOCHS = 24
MIN_NULL_EPOCHS = 8

#: Quality bit vet_signal sets on the cadences it masks for other signals (above the
#: TESS bits); the tests drop cadences flagged in USABLE's bits.
OTHER_SIGNAL_BIT = 1 << 30
USABLE = DEFAULT_QUALITY_BITMASK | OTHER_SIGNAL_BIT


def transit_cycle(time: np.ndarray, signal: Signal) -> np.ndarray:
    """Number of the nearest transit, 0 at the epoch."""
    if not signal.periodic:
        return np.zeros(len(time), dtype=np.int64)
    return np.round((time - signal.epoch) / signal.period).astype(np.int64)


def in_transit(time: np.ndarray, signal: Signal, frac: float = 1.0) -> np.ndarray:
    """Cadences within the central ``frac`` of the duration."""
    return np.abs(signal.offset(time)) < 0.5 * frac * signal.duration


def relative_flux(lc: LightCurve) -> np.ndarray:
    """Flux minus its median: about 0 out of transit, negative in transit."""
    flux = lc.flux.astype(np.float64)
    return flux - np.median(flux)


def false_alarm(signal: Signal, trials: float) -> float:
    """Modshift false-alarm threshold, sigma: sqrt(2) erfcinv(T / (P trials))."""
    return float(math.sqrt(2.0) * erfcinv(signal.duration / (signal.period * trials)))


def skipped(test: str, reason: str) -> VetResult:
    return VetResult(test, NAN, NAN, False, reason)


def ppm(depth: float) -> str:
    return f"{depth * 1e6:.0f} ppm"


@dataclass(frozen=True)
class Estimate:
    """A measured value and its one-sigma error."""

    value: float
    err: float

    @property
    def sigma(self) -> float:
        return self.value / self.err if self.err > 0 else NAN


@dataclass(frozen=True)
class Noise:
    """White noise per cadence and red-noise factor of detrended flux away from transits."""

    sigma: float
    beta: float


def noise_of(detrended: LightCurve, signal: Signal) -> Noise:
    """Noise of the detrended flux farther than a duration from transits.

    ``sigma`` is its robust scatter; ``beta`` (Pont et al. 2006), at least 1, the robust
    scatter of duration-long bin means over their white-noise expectation.
    """
    flux = relative_flux(detrended)
    far = np.abs(signal.offset(detrended.time)) >= NOISE_GAP * signal.duration
    if far.sum() < 2:
        return Noise(NAN, 1.0)
    time, flux = detrended.time[far], flux[far]
    sigma = robust_std(flux)
    bins = np.floor((time - time[0]) / signal.duration).astype(np.int64)
    counts, sums = np.bincount(bins), np.bincount(bins, flux)
    full = counts >= 0.5 * counts.max()
    if full.sum() < 5 or sigma <= 0:
        return Noise(sigma, 1.0)
    z = sums[full] / np.sqrt(counts[full]) / sigma
    return Noise(sigma, max(1.0, robust_std(z)))


def mean_depth(detrended: LightCurve, signal: Signal, noise: Noise, select: np.ndarray,
           frac: float = 1.0) -> Estimate:
    """Mean depth of the selected cadences in the central ``frac`` of the duration.

    The error is the white noise over the square root of the number of cadences, times
    the red-noise factor; NaN without cadences.
    """
    inside = select & in_transit(detrended.time, signal, frac)
    n = int(inside.sum())
    if n == 0:
        return Estimate(NAN, NAN)
    return Estimate(float(-relative_flux(detrended)[inside].mean()),
                     noise.sigma * noise.beta / math.sqrt(n))


def contrast(time: np.ndarray, values: np.ndarray, signal: Signal,
              breaks: Sequence[float] = ()) -> Estimate:
    """In-transit minus local out-of-transit level of a time series, over transits.

    Per transit (:func:`transit_fits`), a least-squares fit to the cadences in transit and
    1-2 durations from mid-transit, with a linear drift and a level of its own for each
    stretch between ``breaks`` (times where the series jumps). The point-to-point scatter
    is the per-cadence noise; transits are averaged with inverse-variance weights. With
    three or more transits the error grows by the square root of the reduced chi-square of
    the per-transit values, if above 1. A noiseless series has error 0 (and a NaN
    significance).
    """
    return combined(transit_fits(time, values, signal, breaks), values)


def transit_fits(time: np.ndarray, values: np.ndarray, signal: Signal,
                  breaks: Sequence[float] = ()) -> np.ndarray:
    """Per transit with a usable baseline, its contrast and variance factor
    (:func:`_transit_contrast`) and its cycle number, as rows of a (n, 3) array."""
    offset = signal.offset(time) / signal.duration
    near, far = BASELINE_DURATIONS
    used = (np.abs(offset) < 0.5) | ((np.abs(offset) >= near) & (np.abs(offset) < far))
    cycle = transit_cycle(time, signal)[used]
    stretch = np.searchsorted(np.sort(np.asarray(breaks, dtype=float)), time[used])
    fits = [(c, _transit_contrast(offset[used][cycle == c], values[used][cycle == c],
                                  stretch[cycle == c])) for c in np.unique(cycle)]
    return np.array([(*fit, c) for c, fit in fits if fit is not None]).reshape(-1, 3)


def combined(fits: np.ndarray, values: np.ndarray) -> Estimate:
    """The inverse-variance mean of per-transit contrasts (see :func:`contrast`)."""
    if not len(fits):
        return Estimate(NAN, NAN)
    diffs, spreads = fits[:, 0], fits[:, 1]
    noise = robust_std(np.diff(values)) / math.sqrt(2.0)
    if noise == 0:
        return Estimate(float(diffs.mean()), 0.0)
    errs = noise * np.sqrt(spreads)
    mean, err = inverse_variance_mean(diffs, errs)
    if len(diffs) >= 3:
        chi2 = float(np.sum(((diffs - mean) / errs) ** 2)) / (len(diffs) - 1)
        err *= math.sqrt(max(1.0, chi2))
    return Estimate(mean, err)


def calibrated_contrast(time: np.ndarray, values: np.ndarray, signal: Signal,
                         breaks: Sequence[float] = ()) -> Estimate:
    """:func:`contrast`, its error at least the root mean square (about zero, the null's
    value) of one event's contrast at null epochs (:func:`null_epochs`) over the square
    root of the transits: the series' own red noise on the transit's time scale
    (scattered light, pointing drifts), which point-to-point scatter misses. With fewer
    than :data:`MIN_NULL_EPOCHS` null epochs (a period too short for them) the error stays
    the point-to-point one. Measured on real light curves at random ephemerides in
    docs/benchmarks.md."""
    fits = transit_fits(time, values, signal, breaks)
    measured = combined(fits, values)
    reach = (BASELINE_DURATIONS[1] + 0.5) * signal.duration
    event = replace(signal, kind="single", period=NAN)
    nulls = []
    for epoch in null_epochs(signal, time):
        window = slice(*np.searchsorted(time, [epoch - reach, epoch + reach]))
        nulls.append(contrast(time[window], values[window], replace(event, epoch=epoch),
                               breaks).value)
    nulls = np.array(nulls)[np.isfinite(nulls)]
    if len(nulls) < MIN_NULL_EPOCHS or not math.isfinite(measured.err):
        return measured
    null_err = float(np.sqrt(np.mean(nulls ** 2))) / math.sqrt(len(fits))
    return Estimate(measured.value, max(measured.err, null_err))


def null_epochs(signal: Signal, time: np.ndarray) -> np.ndarray:
    """Up to :data:`NULL_EPOCHS` epochs of one event whose window and baseline miss the
    signal's events: for a single event the nearest such times either side (the noise
    where it lies, as a scattered-light ramp at an orbit's end); for a periodic signal
    times spread evenly over the light curve between its transits."""
    reach = (BASELINE_DURATIONS[1] + 0.5) * signal.duration
    grid = np.arange(time.min() + reach, time.max() - reach, reach)
    if signal.periodic:
        grid = grid[np.abs(signal.offset(grid)) >= 2 * reach]
        return grid[np.linspace(0, len(grid) - 1, min(NULL_EPOCHS, len(grid))).astype(int)]
    grid = grid[np.abs(grid - signal.epoch) >= 2 * reach]
    return grid[np.argsort(np.abs(grid - signal.epoch), kind="stable")][:NULL_EPOCHS]


def _transit_contrast(offset: np.ndarray, values: np.ndarray,
                      stretch: np.ndarray) -> tuple[float, float] | None:
    """One transit's in-transit contrast and its variance per unit cadence variance.

    ``offset`` in durations from mid-transit, ``stretch`` the index of each cadence's
    stretch between breaks. None without baseline cadences both before and after the
    transit and in every stretch, or without cadences in transit.
    """
    inside = np.abs(offset) < 0.5
    stretches = np.unique(stretch)
    if not (inside.any() and (offset[~inside] < 0).any() and (offset[~inside] > 0).any()
            and np.isin(stretches, stretch[~inside]).all()):
        return None
    design = np.column_stack([inside, offset, stretch[:, None] == stretches]).astype(float)
    if np.linalg.matrix_rank(design) < design.shape[1]:
        return None
    coef = np.linalg.lstsq(design, values, rcond=None)[0]
    return float(coef[0]), float(np.linalg.inv(design.T @ design)[0, 0])


def a_over_rstar(signal: Signal, lc: LightCurve) -> float:
    """a/R*: from the stellar density when known, else from the duration (central transit)."""
    density = stellar_density(lc.meta)
    if math.isfinite(density):
        return scaled_semi_major_axis(density, signal.period)
    return signal.period / (math.pi * signal.duration)


def event_times(signal: Signal, time: np.ndarray) -> np.ndarray:
    """Mid-times of the transits with at least one in-transit cadence."""
    cycles = np.unique(transit_cycle(time[in_transit(time, signal)], signal))
    return signal.epoch + cycles * (signal.period if signal.periodic else 0.0)


def distance_to_nearest(times: np.ndarray, marks: np.ndarray) -> np.ndarray:
    """Distance from each time to the nearest mark; infinite without marks."""
    if len(marks) == 0:
        return np.full(len(times), np.inf)
    marks = np.sort(marks)
    right = np.clip(np.searchsorted(marks, times), 0, len(marks) - 1)
    left = np.clip(right - 1, 0, len(marks) - 1)
    return np.minimum(np.abs(times - marks[left]), np.abs(times - marks[right]))
