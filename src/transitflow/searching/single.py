"""The single-event search: the strongest box dip over epochs and durations."""

from __future__ import annotations

import math

import numpy as np

from transitflow.lightcurve import LightCurve, cadence_at
from transitflow.searching.config import SearchConfig
from transitflow.searching.transits import REST_SNR_FRACTION, signal_of
from transitflow.signals import MAD_TO_STD, Signal


#: Single-event search: duration grid ratio, epoch step (fraction of shortest duration)
#: and the fraction of a box's expected cadences that must have data.
SINGLE_DURATION_STEP = 1.15
SINGLE_EPOCH_STEP = 0.125
SINGLE_MIN_COVERAGE = 0.75
#: Fewest covered boxes of a duration from which to estimate their scatter.
SINGLE_MIN_WINDOWS = 20


def single_event(lc: LightCurve, durations: np.ndarray, config: SearchConfig) -> Signal | None:
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
    depth = _box_depths(t, lc.flux.astype(np.float64), centres, widths, cadence_at(t, centres))
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
    return signal_of(lc.meta, kind="single", method="single_event", period=float("nan"),
                   epoch=epoch, duration=float(widths[row]), depth=float(depth[row, col]),
                   depth_err=float(noise[row]), snr=float(snr[row, col]), sde=float("nan"),
                   transit_times=np.array([epoch]), transit_depths=depth[row, col:col + 1])


def rests_on_one_cadence(lc: LightCurve, event: Signal, config: SearchConfig) -> bool:
    """Whether a single event is one outlying cadence: without its deepest cadence, its box
    keeps less than :data:`REST_SNR_FRACTION` of the single-event SNR threshold."""
    inside = np.abs(lc.time - event.epoch) <= event.duration / 2
    dips = 1.0 - lc.flux[inside].astype(np.float64)
    if len(dips) < 2:
        return True
    n = len(dips)
    rest = (dips.sum() - dips.max()) / (n - 1)
    rest_err = event.depth_err * np.sqrt(n / (n - 1))  # the error of a mean of n - 1 cadences
    return bool(rest / rest_err < REST_SNR_FRACTION * config.single_snr_threshold)


def _box_depths(t: np.ndarray, f: np.ndarray, centres: np.ndarray, widths: np.ndarray,
                cadence: np.ndarray) -> np.ndarray:
    """Mean depth below 1 in boxes (widths x centres, days); NaN for boxes with fewer than
    SINGLE_MIN_COVERAGE of their expected cadences (at ``cadence``, one per centre)."""
    lo = np.searchsorted(t, centres - widths[:, None] / 2)
    hi = np.searchsorted(t, centres + widths[:, None] / 2)
    count = hi - lo
    dips = np.concatenate(([0.0], np.cumsum(1.0 - f)))
    covered = count >= SINGLE_MIN_COVERAGE * widths[:, None] / cadence
    return np.where(covered, (dips[hi] - dips[lo]) / np.maximum(count, 1), np.nan)
