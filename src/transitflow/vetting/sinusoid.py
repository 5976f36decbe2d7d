"""The harmonics test: a sinusoid at the period or half of it that fits better than
the transit."""

from __future__ import annotations

import math

import numpy as np

from transitflow.lightcurve import LightCurve
from transitflow.signals import Signal, VetResult
from transitflow.vetting.config import VetConfig
from transitflow.vetting.measure import NAN, in_transit, ppm, relative_flux, skipped
from transitflow.vetting.registry import register


@register("harmonics", argues="SYSTEMATIC",
          extras=("period", "amplitude"))
def harmonics(lc: LightCurve, detrended: LightCurve, signal: Signal,
              config: VetConfig) -> VetResult:
    """A sinusoid at P or P/2 that fits better than the transit (cf. SWEET).

    The metric is the variance a least-squares sinusoid removes over the variance the
    box transit on the signal's ephemeris removes; the significance is the sinusoid's
    amplitude over its error. Flagged when the sinusoid fits better and its full swing
    (twice the amplitude) reaches the transit depth, so that its trough alone can make
    the dip (cf. Robovetter DR25 SWEET_NTL, amplitude above depth); a smaller sinusoid
    beside a deeper eclipse is an ellipsoidal binary, left to the EB tests.
    """
    if not signal.periodic:
        return skipped("harmonics", "single transit: no period for a sinusoid")
    flux = relative_flux(detrended)
    inside = in_transit(detrended.time, signal)
    n_in, n = int(inside.sum()), len(flux)
    if n_in in (0, n):
        return skipped("harmonics", "no cadences in or out of transit")
    depth = float(flux[~inside].mean() - flux[inside].mean())
    box = n_in * (n - n_in) / n * depth ** 2
    fits = [_sinusoid(detrended.time, flux, period)
            for period in (signal.period, 0.5 * signal.period)]
    period, explained, amplitude = max(fits, key=lambda fit: fit[1])
    ratio = explained / box if box > 0 else math.inf
    err = math.sqrt(max(np.var(flux) - explained / n, 0.0) * 2.0 / n)
    flag = ratio > config.max_harmonic_ratio and 2.0 * amplitude >= depth
    reason = (f"sinusoid at {period / signal.period:g}P ({ppm(amplitude)}; transit "
              f"{ppm(depth)}) explains {ratio:.2f}x the transit's variance")
    return VetResult("harmonics", ratio, amplitude / err if err > 0 else NAN, flag, reason,
                     {"period": period, "amplitude": amplitude})


def _sinusoid(time: np.ndarray, flux: np.ndarray, period: float) -> tuple[float, float, float]:
    """Least-squares sinusoid of a period: the period, variance removed, amplitude."""
    angle = 2.0 * np.pi * time / period
    design = np.column_stack([np.ones_like(time), np.sin(angle), np.cos(angle)])
    coef = np.linalg.lstsq(design, flux, rcond=None)[0]
    explained = float(np.sum((flux - flux.mean()) ** 2) - np.sum((flux - design @ coef) ** 2))
    return period, explained, float(math.hypot(coef[1], coef[2]))
