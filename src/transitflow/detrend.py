"""Detrending shared by the search and vetting: quality mask, wotan biweight, outlier clip."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from wotan import flatten

from transitflow.lightcurve import DEFAULT_QUALITY_BITMASK, LightCurve
from transitflow.signals import robust_std


def detrend(lc: LightCurve, window_days: float = 1.0,
            bitmask: int = DEFAULT_QUALITY_BITMASK, upper_sigma: float = 3.0) -> LightCurve:
    """Relative flux with the stellar trend divided out.

    Drops flagged cadences, normalises, divides by a wotan biweight trend of width
    ``window_days`` (about three times the longest transit searched, so transits survive)
    and removes upward outliers above ``upper_sigma`` robust standard deviations.
    """
    lc = lc.good(bitmask).normalized()
    trend = flatten(lc.time, lc.flux.astype(np.float64), method="biweight",
                    window_length=window_days, return_trend=True)[1]
    ok = np.isfinite(trend)
    lc = lc.select(ok)
    flat = lc.flux / trend[ok]
    flat_err = lc.flux_err / trend[ok]
    residual = flat - np.median(flat)
    scatter = robust_std(flat)
    keep = residual < upper_sigma * scatter if scatter > 0 else np.ones(len(flat), bool)
    return replace(lc, flux=flat.astype(np.float32), flux_err=flat_err.astype(np.float32)).select(keep)
