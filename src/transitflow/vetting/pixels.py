"""Pixel-level tests: the centroid shift in transit, and the background rising in
transit."""

from __future__ import annotations

import math

import numpy as np

from transitflow.lightcurve import MOMENTUM_DUMP_BIT, LightCurve
from transitflow.signals import Signal, VetResult
from transitflow.vetting.config import VetConfig
from transitflow.vetting.measure import (BASELINE_DURATIONS, NAN, USABLE, calibrated_contrast,
                                         contrast, skipped)
from transitflow.vetting.registry import register


#: Pixel scale of each mission's detectors, arcsec per pixel (light curves of unknown
#: mission take TESS's).
PIXEL_ARCSEC = {"TESS": 21.0, "K2": 3.98, "Kepler": 3.98}

#: Radius of a typical SPOC photometric aperture, pixels (about 4 px across).
APERTURE_RADIUS_PX = 2.0


@register("centroid", argues="BEB",
          extras=("dcol", "drow", "offset_px", "offset_err_px", "offset_arcsec"))
def centroid(lc: LightCurve, detrended: LightCurve, signal: Signal,
             config: VetConfig) -> VetResult:
    """In-transit minus out-of-transit flux-weighted centroid (as SPOC DV's centroid test).

    A source that dims by the whole observed depth sits ``shift (1 / depth - 1)`` pixels
    from the out-of-transit centroid (SPOC DV, Twicken et al. 2018), the depth measured on
    the same cadences as the shift; its error is the shift's carried through, and arcsec
    use the mission's pixel scale (:data:`PIXEL_ARCSEC`).
    Flagged when the shift is significant (the square root of its two-degree-of-freedom
    chi-square) and that source is farther than a transit on the target could put it
    (:func:`_on_target_offset`). The spacecraft settles at a slightly different pointing
    after each momentum dump, so the centroids get a level of their own between dumps.
    """
    good = lc.good(USABLE)
    good = good.select(np.isfinite(good.centroid_col) & np.isfinite(good.centroid_row))
    if len(good) == 0:
        return skipped("centroid", "no centroid data")
    dumps = lc.time[(lc.quality & MOMENTUM_DUMP_BIT) != 0]
    col, row = (contrast(good.time, values.astype(np.float64), signal, breaks=dumps)
                for values in (good.centroid_col, good.centroid_row))
    if not (math.isfinite(col.sigma) and math.isfinite(row.sigma)):
        return skipped("centroid", "no centroid contrast: constant centroids, or no transit "
                                 "with centroids in and out of transit")
    sigma = math.hypot(col.sigma, row.sigma)
    shift = math.hypot(col.value, row.value)
    flux = good.flux.astype(np.float64) / float(np.median(good.flux))
    depth = -contrast(good.time, flux, signal).value
    lever = 1.0 / depth - 1.0 if 0 < depth < 1 else NAN
    offset, offset_err = shift * lever, shift / sigma * lever if sigma > 0 else NAN
    flag = sigma > config.centroid_sigma and offset >= _on_target_offset(lc, config)
    scale = PIXEL_ARCSEC.get(lc.meta.mission, PIXEL_ARCSEC["TESS"])
    reason = (f"centroid shift {shift:.2g} px ({sigma:.1f} sigma): source {offset:.2f} +- "
              f"{offset_err:.2f} px ({offset * scale:.0f} +- {offset_err * scale:.0f} arcsec) "
              "from the target centroid")
    extra = {"dcol": col.value, "drow": row.value, "offset_px": offset,
             "offset_err_px": offset_err, "offset_arcsec": offset * scale}
    return VetResult("centroid", shift, sigma, flag, reason, extra)


def _on_target_offset(lc: LightCurve, config: VetConfig) -> float:
    """Largest implied source distance, pixels, of a transit on the target.

    A transit on the target moves the centroid as if the source sat at the out-of-transit
    light centroid's distance from the target: the contamination times the distance of
    the contaminating light, at most ``APERTURE_RADIUS_PX``; ``centroid_min_offset`` at
    least. Unknown contamination counts as none.
    """
    contamination = lc.meta.contamination if math.isfinite(lc.meta.contamination) else 0.0
    return max(config.centroid_min_offset, contamination * APERTURE_RADIUS_PX)


@register("background", argues="SYSTEMATIC",
          extras=("excess", "correlation"))
def background(lc: LightCurve, detrended: LightCurve, signal: Signal,
               config: VetConfig) -> VetResult:
    """Background rising in transit: a dip made by background over-subtraction.

    The in-transit background excess is set against the flux deficit on the same
    cadences (both in flux units). Flagged when the excess is significant against the
    background's own scatter at null epochs (:func:`calibrated_contrast`)
    and explains at least ``background_min_fraction`` of the dip.
    """
    good = lc.good(USABLE)
    good = good.select(np.isfinite(good.background))
    if len(good) == 0:
        return skipped("background", "no background data")
    bkg = good.background.astype(np.float64)
    excess = calibrated_contrast(good.time, bkg, signal)
    if not math.isfinite(excess.sigma):
        return skipped("background", "no background contrast: constant background, or no "
                                   "transit with background in and out of transit")
    deficit = -contrast(good.time, good.flux.astype(np.float64), signal).value
    fraction = excess.value / deficit if deficit > 0 else NAN
    near = np.abs(signal.offset(good.time)) < BASELINE_DURATIONS[1] * signal.duration
    flag = excess.sigma > config.background_sigma and fraction >= config.background_min_fraction
    reason = (f"in-transit background excess {excess.sigma:.1f} sigma, {fraction:.0%} of "
              f"the flux deficit")
    extra = {"excess": excess.value, "correlation": _correlation(good.flux[near], bkg[near])}
    return VetResult("background", fraction, excess.sigma, flag, reason, extra)


def _correlation(x: np.ndarray, y: np.ndarray) -> float:
    """Pearson correlation; NaN for fewer than three points or a constant series."""
    if len(x) < 3 or np.std(x) == 0 or np.std(y) == 0:
        return NAN
    return float(np.corrcoef(x, y)[0, 1])
