"""Whether the signal is planet-sized and strong enough: the radius and SNR tests."""

from __future__ import annotations

import math

import numpy as np

from transitflow.lightcurve import LightCurve
from transitflow.signals import Signal, VetResult
from transitflow.vetting.config import VetConfig
from transitflow.vetting.measure import NAN, event_times, mean_depth, noise_of, skipped
from transitflow.vetting.registry import register


@register("radius", argues="EB", physical=True)
def radius(lc: LightCurve, detrended: LightCurve, signal: Signal,
           config: VetConfig) -> VetResult:
    """Planet radius (from the depth and stellar radius) against ``max_radius``: flagged
    when above it by more than ``radius_sigma`` times its error from the stellar radius
    (``stellar_radius_error``, fractional), so that an inflated hot Jupiter around a star
    with an uncertain radius is not called a binary."""
    if not math.isfinite(signal.radius_earth):
        return skipped("radius", "stellar radius unknown: no planet radius")
    error = signal.radius_earth * config.stellar_radius_error
    excess = (signal.radius_earth - config.max_radius) / error if error > 0 else math.inf
    flag = bool(signal.radius_earth > config.max_radius and excess > config.radius_sigma)
    reason = (f"planet radius {signal.radius_earth:.1f} +- {error:.1f} R_earth "
              f"({'too large for a planet: above' if flag else 'within'} "
              f"{config.max_radius:g})")
    return VetResult("radius", float(signal.radius_earth), float(excess), flag, reason)


@register("snr", argues="LOW_SNR",
          extras=("white", "beta", "transits", "search"))
def snr(lc: LightCurve, detrended: LightCurve, signal: Signal,
        config: VetConfig) -> VetResult:
    """Transit SNR on the detrended light curve, and the number of transits with data.

    SNR is the mean in-transit depth over its white-noise error times the red-noise
    factor. Flagged below ``min_snr`` or with fewer than ``min_transits`` transits; a
    single transit is noted.
    """
    noise = noise_of(detrended, signal)
    depth = mean_depth(detrended, signal, noise, np.ones(len(detrended), dtype=bool))
    n_transits = len(event_times(signal, detrended.time))
    value = depth.sigma
    if not math.isfinite(value):
        return VetResult("snr", NAN, NAN, True, "no in-transit cadences with data",
                         {"transits": 0.0, "search": float(signal.snr)})
    flag = value < config.min_snr or n_transits < config.min_transits
    reason = f"SNR {value:.1f} over {n_transits} transit{'' if n_transits == 1 else 's'}"
    reason += " (single transit)" if n_transits == 1 else ""
    extra = {"white": value * noise.beta, "beta": noise.beta, "transits": float(n_transits),
             "search": float(signal.snr)}
    return VetResult("snr", value, value, flag, reason, extra)
