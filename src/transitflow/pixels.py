"""Light curves from target pixel files (TESS, K2, Kepler): aperture photometry through
lightkurve, with centroids and background from the pixels."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

#: Threshold aperture, in standard deviations above the median image, when a file has no
#: pipeline aperture (lightkurve's ``create_threshold_mask`` default).
THRESHOLD_SIGMA = 3.0
#: How the ledger names the sky subtracted from a file without a pipeline background.
SKY_ESTIMATE = "sky from the pixels below the median"
#: How a light curve from pixels names its flux column: ``"<this>: <aperture>"``.
APERTURE_PHOTOMETRY = "aperture photometry"


class NoAperture(ValueError):
    """A pixel file with neither a pipeline aperture nor a pixel above the threshold."""


def aperture_photometry(path: str | Path) -> tuple[dict[str, np.ndarray], str]:
    """Sum the pixels of ``path`` in its pipeline aperture, else in a
    :data:`THRESHOLD_SIGMA` threshold aperture; a file without a pipeline background (a
    TESScut cutout) first has the sky subtracted (:data:`SKY_ESTIMATE`).

    Returns the light curve's columns (:data:`~transitflow.lightcurve.ARRAY_FIELDS`): the
    file's TIME (mission days on its own BJD reference, NaN kept), flux, its error and the
    background summed over the aperture (NaN on cadences with no finite pixel there),
    flux-weighted centroids (pixels) and quality; and which aperture was used (e.g.
    "pipeline aperture, 12 px", or "threshold aperture (3 sigma), 5 px, sky from ...").

    Raises
    ------
    NoAperture
        When the file has no pipeline aperture and no pixel above the threshold.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # lightkurve warns on import and on missing keywords
        import lightkurve

        pixels = lightkurve.read(str(path), quality_bitmask="none")  # keep every cadence
        try:
            return _photometry(pixels)
        finally:
            pixels.hdu.close()


def _photometry(pixels) -> tuple[dict[str, np.ndarray], str]:
    pixels, sky = _background_subtracted(pixels)
    mask, aperture = _aperture(pixels)
    flux = np.asarray(pixels.flux.value, dtype=np.float64)[:, mask]
    error = np.asarray(pixels.flux_err.value, dtype=np.float64)[:, mask]
    background = (np.asarray(pixels.flux_bkg.value, dtype=np.float64)[:, mask] if sky is None
                  else np.repeat(sky[:, None], mask.sum(), axis=1))
    col, row = pixels.estimate_centroids(aperture_mask=mask, method="moments")
    seen = np.isfinite(flux).any(axis=1)
    columns = {"time": np.asarray(pixels.hdu[1].data["TIME"], dtype=np.float64),
               "flux": np.where(seen, np.nansum(flux, axis=1), np.nan),
               "flux_err": np.where(seen, np.sqrt(np.nansum(error ** 2, axis=1)), np.nan),
               "centroid_col": np.asarray(col.value, dtype=np.float64),
               "centroid_row": np.asarray(row.value, dtype=np.float64),
               "background": np.where(seen, np.nansum(background, axis=1), np.nan),
               "quality": np.asarray(pixels.quality, dtype=np.int32)}
    if sky is not None:
        aperture += f", {SKY_ESTIMATE}"
    return columns, aperture


def _background_subtracted(pixels):
    """The pixels, and None when the file's pipeline subtracted a background (its FLUX_BKG);
    else (a TESScut cutout, whose FLUX_BKG is zero) the pixels less the sky per pixel and
    cadence, the median of the pixels fainter than the median image, and that sky."""
    if np.nan_to_num(np.asarray(pixels.flux_bkg.value)).any():
        return pixels, None
    sky = np.asarray(pixels.estimate_background("background").flux.value, dtype=np.float64)
    return pixels - sky[:, None, None], sky


def _aperture(pixels) -> tuple[np.ndarray, str]:
    """The pipeline aperture when the file has one (lightkurve gives every pixel when the file
    has none, as a TESScut cutout), else a threshold aperture."""
    mask = np.asarray(pixels.pipeline_mask, dtype=bool)
    if mask.any() and not mask.all():
        return mask, f"pipeline aperture, {int(mask.sum())} px"
    mask = np.asarray(pixels.create_threshold_mask(threshold=THRESHOLD_SIGMA), dtype=bool)
    if not mask.any():
        raise NoAperture("target pixel file without a usable aperture: no pipeline aperture "
                         f"and no pixel {THRESHOLD_SIGMA:g} sigma above the median image")
    return mask, f"threshold aperture ({THRESHOLD_SIGMA:g} sigma), {int(mask.sum())} px"
