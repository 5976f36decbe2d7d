"""Detrending shared by the search and vetting: quality mask, wotan biweight, outlier clip."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from wotan import flatten

from transitflow.lightcurve import DEFAULT_QUALITY_BITMASK, LightCurve
from transitflow.signals import robust_std


#: Upward outliers above this many robust standard deviations are clipped by default.
CLIP_SIGMA = 3.0


def detrend(lc: LightCurve, window_days: float = 1.0,
            bitmask: int = DEFAULT_QUALITY_BITMASK, upper_sigma: float = CLIP_SIGMA) -> LightCurve:
    """Relative flux with the stellar trend divided out.

    Drops flagged cadences, normalises, divides by a wotan biweight trend of width
    ``window_days`` (about three times the longest transit searched, so transits survive)
    and removes upward outliers above ``upper_sigma`` robust standard deviations.
    """
    return clip_brightenings(flattened(lc, window_days, bitmask), upper_sigma)


def flattened(lc: LightCurve, window_days: float = 1.0,
              bitmask: int = DEFAULT_QUALITY_BITMASK) -> LightCurve:
    """:func:`detrend` before its clip, flux and flux_err in float64: the trend is the
    costly part, and one flattened light curve serves several clips."""
    lc = lc.good(bitmask).normalized()
    trend = flatten(lc.time, lc.flux.astype(np.float64), method="biweight",
                    window_length=window_days, return_trend=True)[1]
    ok = np.isfinite(trend)
    lc = lc.select(ok)
    return replace(lc, flux=lc.flux / trend[ok], flux_err=lc.flux_err / trend[ok])


def clip_brightenings(flat: LightCurve, upper_sigma: float = CLIP_SIGMA) -> LightCurve:
    """A :func:`flattened` light curve without its cadences more than ``upper_sigma`` robust
    standard deviations above its median, flux and flux_err in float32."""
    residual = flat.flux - np.median(flat.flux)
    scatter = robust_std(flat.flux)
    keep = residual < upper_sigma * scatter if scatter > 0 else np.ones(len(flat), bool)
    return replace(flat, flux=flat.flux.astype(np.float32),
                   flux_err=flat.flux_err.astype(np.float32)).select(keep)
