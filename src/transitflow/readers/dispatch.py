"""Reading any supported file: FITS light curves, pixel files and text tables."""

from __future__ import annotations

from pathlib import Path

from transitflow.lightcurve import LightCurve
from transitflow.readers.errors import read_errors
from transitflow.readers.fitsfile import column_layout, fits_headers, is_fits, open_file
from transitflow.readers.text import read_csv
from transitflow.readers.missions import (fits_format, fits_lightcurve, holds_pixels,
                                          pixel_lightcurve)


def read_lightcurves(path: str | Path, tic: int | None = None,
                     sector: int | None = None) -> list[LightCurve]:
    """Read every light curve in a supported file.

    Parameters
    ----------
    path
        A SPOC 2-min, TESS-SPOC/QLP/TGLC/TASOC FFI HLSP, lightkurve-written or K2/Kepler
        FITS file (a flux in ppm or ppt about 0, as TASOC's, read as relative flux), a
        target pixel file (aperture photometry, :mod:`transitflow.pixels`; may be gzipped),
        or a CSV (see Notes).
    tic, sector
        Override the star's ID (in its mission's catalogue: TIC, EPIC or KIC) and the
        sector taken from the file.

    Returns
    -------
    list of LightCurve
        One per sector or segment, time in BTJD (K2's BKJD shifted by -2167 d), sorted.
        Cadences with non-finite time and repeats of an earlier time are dropped (logged),
        infinite flux becomes NaN; nothing else (quality filtering comes later).

    Raises
    ------
    LightCurveReadError
        On any failure, with a one-line reason: missing, empty or truncated file, a
        corrupt FITS header (no END card, non-text bytes, invalid layout cards or time
        reference; refused after :data:`~transitflow.readers.fitsfile.MAX_HEADER_BLOCKS` blocks), no time or flux
        column, flux NaN everywhere, constant or with a median that is not a positive
        photometric flux, times outside any mission's BTJD, unknown target or sector;
        :class:`~transitflow.readers.errors.PartlyRead` (one) when some of a CSV's light
        curves fail and the others, which it carries, were read.

    Notes
    -----
    Text tables (:data:`~transitflow.readers.fitsfile.TABLE_SUFFIXES`) are read as CSV, with columns time (BTJD),
    flux[, flux_err, centroids, background, quality, sector], named as in
    :data:`~transitflow.readers.text.CSV_COLUMNS` (any case), or magnitudes (:data:`~transitflow.readers.text.MAGNITUDE_COLUMNS`) read as
    relative flux; a header row is optional (a leading ``#`` is allowed;
    its names must match the data rows' fields) and without one the columns are time,
    flux[, flux_err]. ``# key: value`` lines may precede it (the star's ID as
    :data:`~transitflow.readers.text.STAR_KEYS`, ``sector``, ``campaign`` or ``quarter``
    are read). The star is a TIC, EPIC or KIC ID from a column of IDs (named as those
    keys; one light curve per star), else the metadata, else the file name
    (``TIC307210830``, ``epic211945201_k2c10``, ``kplr011446443``); ``tic`` overrides the
    ID. Times above 2,400,000 are taken as BJD, and a Kepler or K2 star's times in its BKJD
    span as BKJD when the table holds that telescope's data (a campaign or quarter line or
    column, or a kplr/ktwo/k2cNN name, and no sector line or column); both are shifted to
    BTJD. A ``sector`` argument, else a metadata sector, keeps the file as one light curve
    of that sector; else a ``sector`` (``campaign``, ``quarter``) column splits the rows into
    light curves (a row without one is refused); without one, a TESS star's times are split
    into the TESS sectors they fall in (:func:`~transitflow.readers.text.tess_sectors`), and
    other times at gaps longer than :data:`~transitflow.readers.text.SEGMENT_GAP_DAYS`, the
    segments numbered 1..k as their ``sector``.
    """
    path = Path(path)
    if not is_fits(path):
        return read_csv(path, tic, sector)
    with read_errors(path, "FITS"), open_file(path) as stream:
        primary, header = fits_headers(path, stream)
        layout = column_layout(path, header)
        fmt = fits_format(path, primary, header, layout)
        if holds_pixels(layout):
            return [pixel_lightcurve(path, fmt, (primary, header), tic, sector)]
        return [fits_lightcurve(path, stream, fmt, (primary, header), layout, tic, sector)]


def detect_format(path: str | Path) -> str:
    """The format of a light-curve file, one of :data:`~transitflow.readers.missions.FORMATS`.

    FITS files (told by their first bytes) are ``"k2"`` (Kepler telescope), ``"tglc"`` or
    ``"tasoc"`` (their ORIGIN, :data:`~transitflow.readers.missions.ORIGINS`), ``"eleanor"`` (PCORIGIN or eleanor's GITHUB
    header), ``"lightkurve"`` (written by lightkurve, or no PDCSAP_FLUX column),
    ``"tess-spoc-ffi"`` (``hlsp_`` file name, a QLP KSPSAP_FLUX column or a cadence over
    2.5 min) or ``"spoc"``; text tables (:data:`~transitflow.readers.fitsfile.TABLE_SUFFIXES`) are ``"csv"``. A
    phase-folded light curve is refused.

    Raises
    ------
    LightCurveReadError
        If the file is missing or empty, or a corrupt FITS file.
    """
    path = Path(path)
    if not is_fits(path):
        return "csv"
    with read_errors(path, "FITS"), open_file(path) as stream:
        primary, header = fits_headers(path, stream)
        return fits_format(path, primary, header, column_layout(path, header))
