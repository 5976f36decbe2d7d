"""FITS light curves of each mission and pipeline: their format, flux column, time
system, identity and stellar parameters; pixel files through aperture photometry."""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import replace
from pathlib import Path
from typing import IO

import numpy as np
from astropy.io import fits

from transitflow.lightcurve import (BKJD_ZERO, BTJD_ZERO, MISSION_CATALOGS, LightCurve,
                                    LightCurveMeta)
from transitflow.pixels import APERTURE_PHOTOMETRY, NoAperture, aperture_photometry
from transitflow.readers.errors import LightCurveReadError, checked, first_present, median_step_min
from transitflow.readers.fitsfile import header_number, read_columns
from transitflow.readers.text import star_from_name


FORMATS = ("spoc", "tess-spoc-ffi", "tglc", "tasoc", "eleanor", "lightkurve", "k2", "csv")
#: FITS light curves of high-level science products told by their primary ORIGIN header.
ORIGINS = {"UCSB/TGLC": "tglc", "TASOC/Aarhus": "tasoc"}
BJD_REFERENCE_RANGE = (2.4e6, 2.5e6)  # days; a BJD reference of this era (or 0: TIME is BJD)
#: FITS flux columns (names upper-cased), the first one present wins (for lightkurve files
#: the flux the user wrote); errors come from ``<flux column>_ERR``. QLP's detrended flux is
#: DET_FLUX from sector 56 on, KSPSAP_FLUX before; TGLC's calibrated aperture flux is the one
#: its authors advise for transits; TASOC's corrected flux is relative, in ppm
#: (:data:`RELATIVE_UNITS`).
DEFAULT_FLUX_COLUMNS = ("PDCSAP_FLUX", "DET_FLUX", "KSPSAP_FLUX", "FLUX")
FLUX_COLUMNS = {"lightkurve": ("FLUX", "PDCSAP_FLUX"), "eleanor": ("CORR_FLUX", "RAW_FLUX"),
                "tglc": ("CAL_APER_FLUX", "CAL_PSF_FLUX", "APERTURE_FLUX"),
                "tasoc": ("FLUX_CORR", "FLUX_RAW")}
#: Flux units (TUNIT) of a relative flux about 0, and their size: read as 1 + value * size.
RELATIVE_UNITS = {"ppm": 1e-6, "ppt": 1e-3}
#: Other FITS columns per light-curve field, the first one present wins.
FITS_COLUMNS = {
    "centroid_col": ("MOM_CENTR1", "SAP_X", "X_CENTROID"),
    "centroid_row": ("MOM_CENTR2", "SAP_Y", "Y_CENTROID"),
    "background": ("SAP_BKG", "FLUX_BKG", "BACKGROUND"),
    "quality": ("QUALITY", "SAP_QUALITY", "TESS_FLAGS"),
}


def fits_format(path: Path, primary: fits.Header, header: fits.Header,
                 names: Collection[str]) -> str:
    if _text((primary,), "TELESCOP").lower() == "kepler":
        return "k2"
    if "folded" in _text((primary,), "CREATOR").lower():
        raise LightCurveReadError(path, "a phase-folded light curve, not a time series; give "
                                        "the light curve before folding")
    if _text((primary,), "ORIGIN") in ORIGINS:
        return ORIGINS[_text((primary,), "ORIGIN")]
    if "PCORIGIN" in primary or "eleanor" in _text((primary,), "GITHUB"):
        return "eleanor"
    if _text((primary,), "CREATOR").startswith("lightkurve"):
        return "lightkurve"
    if (path.name.lower().startswith("hlsp_") or "KSPSAP_FLUX" in names
            or header_number((header,), "TIMEDEL") * 1440.0 > 2.5):
        return "tess-spoc-ffi"
    return "spoc" if "PDCSAP_FLUX" in names else "lightkurve"


def fits_lightcurve(path: Path, stream: IO[bytes], fmt: str,
                     headers: tuple[fits.Header, fits.Header],
                     layout: dict[str, tuple[int, int, str]], tic: int | None,
                     sector: int | None) -> LightCurve:
    flux_candidates = FLUX_COLUMNS.get(fmt, DEFAULT_FLUX_COLUMNS)
    flux = first_present(layout, flux_candidates)
    if "TIME" not in layout or flux is None:
        wanted = f"flux column ({' or '.join(flux_candidates)})" if flux is None else "TIME column"
        raise LightCurveReadError(path, f"no {wanted} in HDU 1; is this a light-curve file?")
    wanted = {"time": "TIME", "flux": flux, "flux_err": f"{flux}_ERR"} | {
        field: first_present(layout, candidates) for field, candidates in FITS_COLUMNS.items()}
    names = {field: name for field, name in wanted.items() if name in layout}
    columns = _relative_flux(read_columns(path, stream, headers[1], layout, names),
                             _unit(headers[1], layout[flux][0]))
    with np.errstate(invalid="ignore", over="ignore"):  # corrupt times become NaN, dropped
        columns["time"] = columns["time"] + _time_offset(path, headers, fmt)
    keep = np.isfinite(columns["time"])
    columns = {field: values[keep] for field, values in columns.items()}
    meta = replace(_fits_meta(path, fmt, headers, columns["time"], tic, sector),
                   flux_column=_flux_origin(headers, flux))
    return checked(path, LightCurve.from_arrays(meta, **columns))


def _unit(header: fits.Header, number: int) -> str:
    return str(header.get(f"TUNIT{number}", "")).strip().lower()


def _relative_flux(columns: dict[str, np.ndarray], unit: str) -> dict[str, np.ndarray]:
    """Flux in a :data:`RELATIVE_UNITS` unit (variations about 0) as relative flux about 1."""
    if unit not in RELATIVE_UNITS:
        return columns
    size = RELATIVE_UNITS[unit]
    relative = {"flux": 1.0 + columns["flux"] * size}
    if "flux_err" in columns:
        relative["flux_err"] = columns["flux_err"] * size
    return columns | relative


def _flux_origin(headers: tuple[fits.Header, ...], column: str) -> str:
    """The flux column read, or for lightkurve's FLUX the column it came from (FLUX_ORIGIN,
    e.g. ``pdcsap_flux``), upper case."""
    origin = _text(headers, "FLUX_ORIGIN") if column == "FLUX" else ""
    return (origin or column).upper()


def holds_pixels(layout: dict[str, tuple[int, int, str]]) -> bool:
    """Whether the table is a target pixel file's (or a TESScut cutout's): an image per
    cadence in its FLUX column."""
    match = re.match(r"(\d*)", layout.get("FLUX", (0, 0, ""))[2])
    return int(match.group(1) or 1) > 1


def pixel_lightcurve(path: Path, fmt: str, headers: tuple[fits.Header, fits.Header],
                      tic: int | None, sector: int | None) -> LightCurve:
    """A light curve by aperture photometry of a pixel file (:mod:`transitflow.pixels`);
    ``flux_column`` says which aperture."""
    try:
        columns, aperture = aperture_photometry(path)
    except NoAperture as error:
        raise LightCurveReadError(path, str(error)) from error
    columns["time"] = columns["time"] + _time_offset(path, headers, fmt)
    keep = np.isfinite(columns["time"])
    columns = {field: values[keep] for field, values in columns.items()}
    meta = replace(_fits_meta(path, fmt, headers, columns["time"], tic, sector),
                   flux_column=f"{APERTURE_PHOTOMETRY}: {aperture}")
    return checked(path, LightCurve.from_arrays(meta, **columns))


def _time_offset(path: Path, headers: tuple[fits.Header, ...], fmt: str) -> float:
    """Days to add to the file's TIME to get BTJD (-2167 for Kepler/K2 BKJD).

    Files without BJDREFI (lightkurve-written ones) count from BKJD_ZERO if from Kepler/K2,
    else from BTJD_ZERO.
    """
    reference = header_number(headers, "BJDREFI")
    if np.isnan(reference):
        reference = BKJD_ZERO if fmt == "k2" else BTJD_ZERO
    reference += np.nan_to_num(header_number(headers, "BJDREFF"))
    if reference != 0 and not BJD_REFERENCE_RANGE[0] < reference < BJD_REFERENCE_RANGE[1]:
        raise LightCurveReadError(path, f"BJDREFI + BJDREFF = {reference:.6g} is no mission's "
                                        "time reference (BJD 2454833 Kepler, 2457000 TESS)")
    return reference - BTJD_ZERO


def _fits_meta(path: Path, fmt: str, headers: tuple[fits.Header, ...], time: np.ndarray,
               tic: int | None, sector: int | None) -> LightCurveMeta:
    mission = _text(headers, "MISSION") or _mission(fmt, headers)
    tic = tic if tic is not None else _target_id(path, headers, mission)
    sector = sector if sector is not None else _header_int(headers, "SECTOR", "CAMPAIGN",
                                                             "QUARTER")
    if sector is None:
        raise LightCurveReadError(path, "no SECTOR, CAMPAIGN or QUARTER header; pass sector=")
    timedel = header_number(headers, "TIMEDEL") * 1440.0
    return LightCurveMeta(
        tic=tic, sector=sector,
        mission=mission,
        camera=_header_int(headers, "CAMERA", default=-1),
        ccd=_header_int(headers, "CCD", default=-1),
        cadence_min=timedel if np.isfinite(timedel) else median_step_min(time),
        tmag=_stellar(headers, "TESSMAG"), radius=_stellar(headers, "RADIUS"),
        teff=_stellar(headers, "TEFF"), logg=_stellar(headers, "LOGG"),
        mass=_stellar(headers, "MASS"), contamination=1.0 - header_number(headers, "CROWDSAP"),
        ra=header_number(headers, "RA_OBJ"), dec=header_number(headers, "DEC_OBJ"),
        source_file=str(path))


def _mission(fmt: str, headers: tuple[fits.Header, ...]) -> str:
    """The mission of a file without a MISSION card: a Kepler-telescope file is Kepler when it
    names a QUARTER and no CAMPAIGN, else K2."""
    if fmt != "k2":
        return "TESS"
    campaign, quarter = (_header_int(headers, key) for key in ("CAMPAIGN", "QUARTER"))
    return "Kepler" if campaign is None and quarter is not None else "K2"


def _stellar(headers: tuple[fits.Header, ...], key: str) -> float:
    """A stellar parameter; NaN for the 0 that files without one hold (TESScut cutouts)."""
    value = header_number(headers, key)
    return value if value != 0 else float("nan")


def _target_id(path: Path, headers: tuple[fits.Header, ...], mission: str) -> int:
    """TICID, TIC_ID (eleanor) or KEPLERID, else an OBJECT like ``TIC 123``, ``EPIC 456`` or
    ``789``, else the ID of the ``mission``'s catalogue in the file name (a TESScut cutout
    has none in its headers)."""
    number = _header_int(headers, "TICID", "TIC_ID", "KEPLERID")
    match = re.fullmatch(r"(?:TIC|EPIC|KIC)?\s*(\d+)", _text(headers, "OBJECT"), re.I)
    if number is not None or match is not None:
        return number if number is not None else int(match.group(1))
    named = star_from_name(path)
    catalogue = MISSION_CATALOGS.get(mission, mission)
    if named is None or named[0] != mission:
        raise LightCurveReadError(path, "no TICID, KEPLERID or numeric OBJECT header and no "
                                        f"{catalogue} ID in the file name (a TESScut cutout "
                                        "has none); rename it to hold one, like "
                                        f"{catalogue}123456_cutout.fits")
    return named[1]


def _header_int(headers: tuple[fits.Header, ...], *keys: str,
                default: int | None = None) -> int | None:
    values = (header_number(headers, key) for key in keys)
    return next((int(value) for value in values if np.isfinite(value)), default)


def _text(headers: tuple[fits.Header, ...], key: str) -> str:
    return next((h[key].strip() for h in headers if isinstance(h.get(key), str)), "")
