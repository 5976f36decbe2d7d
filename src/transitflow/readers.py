"""Light-curve files -> :class:`LightCurve`: SPOC, TESS-SPOC/QLP FFI HLSP, lightkurve, K2, CSV.

FITS light curves are read lean, because the pipeline reads thousands of them: astropy
parses the two headers, the table rows are read in one go and numpy views only the needed
columns (about 5 ms per SPOC 2-min file, half the time of ``fits.open(...)[1].data``, which
parses every column definition; most of the rest is astropy parsing header cards).
"""

from __future__ import annotations

import gzip
import itertools
import logging
import math
import os
import re
import warnings
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import IO

import numpy as np
import pandas as pd
from astropy.io import fits
from astropy.io.fits.verify import VerifyError
from astropy.utils.exceptions import AstropyWarning

from transitflow.lightcurve import BTJD_ZERO, LightCurve, LightCurveMeta
from transitflow.pixels import APERTURE_PHOTOMETRY, NoAperture, aperture_photometry

log = logging.getLogger(__name__)

FORMATS = ("spoc", "tess-spoc-ffi", "tglc", "tasoc", "eleanor", "lightkurve", "k2", "csv")
#: FITS light curves of high-level science products told by their primary ORIGIN header.
ORIGINS = {"UCSB/TGLC": "tglc", "TASOC/Aarhus": "tasoc"}
BKJD_ZERO = 2454833.0  # Kepler/K2 BKJD = BJD - 2454833
SEGMENT_GAP_DAYS = 5.0  # CSV series without a sector column are split at longer gaps
BJD_REFERENCE_RANGE = (2.4e6, 2.5e6)  # days; a BJD reference of this era (or 0: TIME is BJD)
BTJD_RANGE = (-3000.0, 20000.0)  # days; Kepler (BTJD ~ -2100) to decades of TESS, with margin
MAX_FLUX_LEVEL = 1e15  # e-/s; far above any star, far below float32 overflow of its square
FITS_MAGIC = b"SIMPLE  ="
GZIP_MAGIC = b"\x1f\x8b"
FITS_BLOCK = 2880
FITS_CARD = 80
MAX_HEADER_BLOCKS = 100  # 3,600 cards; mission light-curve headers fill fewer than 10 blocks
MAX_TABLE_BYTES = 2 ** 32  # a TESS 20-s sector table is ~50 MB
FITS_SUFFIXES = (".fits", ".fit", ".fts", ".fits.gz", ".fit.gz", ".fts.gz")
TABLE_SUFFIXES = (".csv", ".txt", ".tsv", ".dat")  # text tables read as CSV

#: FITS flux columns (names upper-cased), the first one present wins (for lightkurve files
#: the flux the user wrote); errors come from ``<flux column>_ERR``. KSPSAP_FLUX is QLP's;
#: TGLC's calibrated aperture flux is the one its authors advise for transits; TASOC's
#: corrected flux is relative, in ppm (:data:`RELATIVE_UNITS`).
DEFAULT_FLUX_COLUMNS = ("PDCSAP_FLUX", "KSPSAP_FLUX", "FLUX")
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
#: Bytes per element of each binary-table TFORM code, and the numpy type of the scalar ones.
TFORM_BYTES = {"L": 1, "B": 1, "I": 2, "J": 4, "K": 8, "A": 1, "E": 4, "D": 8, "C": 8, "M": 16,
               "P": 8, "Q": 16}
TFORM_DTYPES = {"B": "u1", "I": ">i2", "J": ">i4", "K": ">i8", "E": ">f4", "D": ">f8"}

#: CSV column names per field (matched case-insensitively), the first one present wins.
CSV_COLUMNS = {
    "time": ("time", "btjd", "t", "bjd", "bjd_tdb"),
    "flux": ("flux", "pdcsap_flux", "corr_flux", "sap_flux"),  # corr_flux: eleanor's
    "flux_err": ("flux_err", "pdcsap_flux_err", "sap_flux_err", "flux_error", "err", "e_flux"),
    "centroid_col": ("centroid_col", "centroids_x", "centroid_x", "mom_centr1"),
    "centroid_row": ("centroid_row", "centroids_y", "centroid_y", "mom_centr2"),
    "background": ("background", "background_flux", "bkg", "sap_bkg"),
    "quality": ("quality", "sap_quality"),
    "sector": ("sector", "campaign"),
}
#: CSV magnitude columns and their errors, read as relative flux when there is no flux column.
MAGNITUDE_COLUMNS = ("mag", "magnitude", "tmag", "tess_mag")
MAGNITUDE_ERR_COLUMNS = ("mag_err", "magnitude_err", "e_mag", "tmag_err", "tess_mag_err")
HEADERLESS_COLUMNS = ("time", "flux", "flux_err")
#: A ``# key: value`` (or ``=``) metadata line at the top of a CSV, and the keys of the TIC
#: ID among them.
METADATA_LINE = re.compile(r"^\s*#\s*([A-Za-z_][\w ]*?)\s*[:=]\s*(\S.*)$")
TIC_KEYS = ("tic_id", "tic", "ticid", "tic id")


class LightCurveReadError(ValueError):
    """A light-curve file that cannot be read; ``str()`` is one line naming the file."""

    def __init__(self, path: str | Path, problem: str) -> None:
        super().__init__(" ".join(f"{path}: {problem}".split()))


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
        Override the target ID and sector taken from the file.

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
        reference; refused after :data:`MAX_HEADER_BLOCKS` blocks), no time or flux
        column, flux NaN everywhere, constant or with a median that is not a positive
        photometric flux, times outside any mission's BTJD, unknown target or sector.

    Notes
    -----
    Text tables (:data:`TABLE_SUFFIXES`) are read as CSV, with columns time (BTJD),
    flux[, flux_err, centroids, background, quality, sector], named as in
    :data:`CSV_COLUMNS` (any case), or magnitudes (:data:`MAGNITUDE_COLUMNS`) read as
    relative flux; a header row is optional (a leading ``#`` is allowed;
    its names must match the data rows' fields) and without one the columns are time,
    flux[, flux_err]. ``# key: value`` lines may precede it (``tic_id``, ``tic``,
    ``sector`` are read). Times above 2,400,000 are taken as BJD and shifted to BTJD. The
    TIC ID is ``tic``, else the metadata's, else taken from the file name
    (``TIC307210830``, ``tic55525572``). A ``sector`` argument, else a metadata sector,
    keeps the file as one light curve of that sector; else a ``sector`` column splits the
    rows into light curves; without one the series is split at gaps longer than
    :data:`SEGMENT_GAP_DAYS` and the segments, numbered 1..k, are used as ``sector`` (so a
    single-sector CSV is sector 1).
    """
    path = Path(path)
    if not _is_fits(path):
        return _read_csv(path, tic, sector)
    with _read_errors(path, "FITS"), _open(path) as stream:
        primary, header = _fits_headers(path, stream)
        layout = _column_layout(path, header)
        fmt = _fits_format(path, primary, header, layout)
        if _holds_pixels(layout):
            return [_pixel_lightcurve(path, fmt, (primary, header), tic, sector)]
        return [_fits_lightcurve(path, stream, fmt, (primary, header), layout, tic, sector)]


def detect_format(path: str | Path) -> str:
    """The format of a light-curve file, one of :data:`FORMATS`.

    FITS files (told by their first bytes) are ``"k2"`` (Kepler telescope), ``"tglc"`` or
    ``"tasoc"`` (their ORIGIN, :data:`ORIGINS`), ``"eleanor"`` (PCORIGIN or eleanor's GITHUB
    header), ``"lightkurve"`` (written by lightkurve, or no PDCSAP_FLUX column),
    ``"tess-spoc-ffi"`` (``hlsp_`` file name, a QLP KSPSAP_FLUX column or a cadence over
    2.5 min) or ``"spoc"``; text tables (:data:`TABLE_SUFFIXES`) are ``"csv"``. A
    phase-folded light curve is refused.

    Raises
    ------
    LightCurveReadError
        If the file is missing or empty, or a corrupt FITS file.
    """
    path = Path(path)
    if not _is_fits(path):
        return "csv"
    with _read_errors(path, "FITS"), _open(path) as stream:
        primary, header = _fits_headers(path, stream)
        return _fits_format(path, primary, header, _column_layout(path, header))


def _read_csv(path: Path, tic: int | None, sector: int | None) -> list[LightCurve]:
    with _read_errors(path, "CSV"):
        metadata, header_line = _csv_metadata(path)
        tic = tic if tic is not None else _metadata_int(path, metadata, TIC_KEYS)
        tic = tic if tic is not None else _tic_from_name(path)
        sector = sector if sector is not None else _metadata_int(path, metadata, ("sector",))
        table = _csv_table(path, header_line)
        if sector is not None:
            table["sector"] = sector
        elif "sector" not in table:
            table["sector"] = _segments(table["time"].to_numpy())
        return [_csv_lightcurve(path, rows, tic, int(number))
                for number, rows in table.groupby("sector", sort=True)]


@contextmanager
def _read_errors(path: Path, what: str) -> Iterator[None]:
    """Turn every failure inside into a one-line :class:`LightCurveReadError`.

    Silences astropy's warnings about non-standard header cards, which it repairs.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", AstropyWarning)
            yield
    except LightCurveReadError:
        raise
    except VerifyError as error:  # astropy names the card and suggests a repair we do not make
        card = re.search(r"card \((\w+)\)", str(error))
        raise LightCurveReadError(path, f"the FITS card {card.group(1) if card else '?'} cannot "
                                        "be parsed; the header is corrupt") from error
    except Exception as error:  # the contract: every failure is a LightCurveReadError
        raise LightCurveReadError(path, f"cannot read as {what} ({type(error).__name__}: "
                                        f"{error}); is the file complete and valid?") from error


def _is_fits(path: Path) -> bool:
    """Whether ``path`` is a (possibly gzipped) FITS file, by its first bytes; False for a
    text table (named as in :data:`TABLE_SUFFIXES`), an error for anything else."""
    if path.is_symlink() and not path.exists():
        raise LightCurveReadError(path, f"a link to {os.readlink(path)}, which does not exist "
                                        "(a dangling link or a loop of links)")
    if not path.is_file():
        raise LightCurveReadError(path, "no such file; check the path")
    with open(path, "rb") as stream:
        magic = stream.read(len(FITS_MAGIC))
    if not magic:
        raise LightCurveReadError(path, "empty file (0 bytes); download it again")
    is_fits_name = path.name.lower().endswith(FITS_SUFFIXES)
    if magic == FITS_MAGIC or (magic.startswith(GZIP_MAGIC) and is_fits_name):
        return True
    if is_fits_name:
        raise LightCurveReadError(path, "not a FITS file (it does not start with SIMPLE); "
                                        "is the download complete?")
    if not path.name.lower().endswith(TABLE_SUFFIXES):
        raise LightCurveReadError(path, "not a light-curve file: neither FITS nor a table "
                                        f"named {', '.join(TABLE_SUFFIXES)}")
    return False


def _open(path: Path) -> IO[bytes]:
    with open(path, "rb") as stream:
        gzipped = stream.read(2) == GZIP_MAGIC
    return gzip.open(path, "rb") if gzipped else open(path, "rb")


def _fits_headers(path: Path, stream: IO[bytes]) -> tuple[fits.Header, fits.Header]:
    """The primary header and the header of the table after it; ``stream`` left at its data."""
    primary = _read_header(path, stream, "primary")
    bitpix = _structure_int(path, primary, "BITPIX", default=8)
    data_bytes = _padded(abs(bitpix) // 8 * _axes_product(path, primary))
    if data_bytes > MAX_TABLE_BYTES:
        raise LightCurveReadError(path, f"the primary header claims {data_bytes} bytes of data, "
                                        "not a light-curve file's; the header is corrupt")
    stream.seek(data_bytes, 1)
    header = _read_header(path, stream, "HDU 1", missing_ok=True)
    if header.get("XTENSION") != "BINTABLE":
        raise LightCurveReadError(path, "no binary table in HDU 1; is this a light-curve file?")
    return primary, header


def _read_header(path: Path, stream: IO[bytes], which: str,
                 missing_ok: bool = False) -> fits.Header:
    """The header at ``stream``, read block by block up to its END card: a corrupt header
    is refused after :data:`MAX_HEADER_BLOCKS` blocks instead of being read to the end of
    the file. An empty header when the file ends first and ``missing_ok``."""
    text = bytearray()
    for _ in range(MAX_HEADER_BLOCKS):
        block = stream.read(FITS_BLOCK)
        if not block and not text and missing_ok:
            return fits.Header()
        if len(block) < FITS_BLOCK:
            raise LightCurveReadError(path, f"truncated: the file ends inside the {which} "
                                            "header; download it again")
        text += block
        cards = (block[i:i + FITS_CARD] for i in range(0, FITS_BLOCK, FITS_CARD))
        if any(card.rstrip() == b"END" for card in cards):
            if not text.isascii():
                raise LightCurveReadError(path, f"the {which} header holds non-text bytes; "
                                                "the file is corrupt")
            return fits.Header.fromstring(text.decode("ascii"))
    raise LightCurveReadError(path, f"the {which} header has no END card in its first "
                                    f"{MAX_HEADER_BLOCKS} blocks; the file is corrupt")


def _axes_product(path: Path, header: fits.Header) -> int:
    naxis = _structure_int(path, header, "NAXIS", default=0)
    sizes = [_structure_int(path, header, f"NAXIS{i}") for i in range(1, naxis + 1)]
    return math.prod(sizes) if sizes else 0


def _structure_int(path: Path, header: fits.Header, key: str, default: int | None = None) -> int:
    """A header card that lays out the file: a non-negative integer, or the file is corrupt."""
    value = header.get(key, default)
    if key == "BITPIX" and value in (8, 16, 32, 64, -32, -64):
        return value
    if type(value) is not int or value < 0 or key == "BITPIX":
        raise LightCurveReadError(path, f"the FITS card {key} = {value!r} is not a valid "
                                        "layout value; the header is corrupt")
    return value


def _padded(nbytes: int) -> int:
    return -(-nbytes // FITS_BLOCK) * FITS_BLOCK


def _fits_format(path: Path, primary: fits.Header, header: fits.Header,
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
            or _number((header,), "TIMEDEL") * 1440.0 > 2.5):
        return "tess-spoc-ffi"
    return "spoc" if "PDCSAP_FLUX" in names else "lightkurve"


def _fits_lightcurve(path: Path, stream: IO[bytes], fmt: str,
                     headers: tuple[fits.Header, fits.Header],
                     layout: dict[str, tuple[int, int, str]], tic: int | None,
                     sector: int | None) -> LightCurve:
    flux_candidates = FLUX_COLUMNS.get(fmt, DEFAULT_FLUX_COLUMNS)
    flux = _first_present(layout, flux_candidates)
    if "TIME" not in layout or flux is None:
        wanted = f"flux column ({' or '.join(flux_candidates)})" if flux is None else "TIME column"
        raise LightCurveReadError(path, f"no {wanted} in HDU 1; is this a light-curve file?")
    wanted = {"time": "TIME", "flux": flux, "flux_err": f"{flux}_ERR"} | {
        field: _first_present(layout, candidates) for field, candidates in FITS_COLUMNS.items()}
    names = {field: name for field, name in wanted.items() if name in layout}
    columns = _relative_flux(_read_columns(path, stream, headers[1], layout, names),
                             _unit(headers[1], layout[flux][0]))
    with np.errstate(invalid="ignore", over="ignore"):  # corrupt times become NaN, dropped
        columns["time"] = columns["time"] + _time_offset(path, headers, fmt)
    keep = np.isfinite(columns["time"])
    columns = {field: values[keep] for field, values in columns.items()}
    meta = replace(_fits_meta(path, fmt, headers, columns["time"], tic, sector),
                   flux_column=_flux_origin(headers, flux))
    return _checked(path, LightCurve.from_arrays(meta, **columns))


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


def _holds_pixels(layout: dict[str, tuple[int, int, str]]) -> bool:
    """Whether the table is a target pixel file's (or a TESScut cutout's): an image per
    cadence in its FLUX column."""
    match = re.match(r"(\d*)", layout.get("FLUX", (0, 0, ""))[2])
    return int(match.group(1) or 1) > 1


def _pixel_lightcurve(path: Path, fmt: str, headers: tuple[fits.Header, fits.Header],
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
    return _checked(path, LightCurve.from_arrays(meta, **columns))


def _column_layout(path: Path, header: fits.Header) -> dict[str, tuple[int, int, str]]:
    """TTYPE (upper case) -> (column number, byte offset in a row, TFORM) of a binary table."""
    layout, offset = {}, 0
    for number in range(1, _structure_int(path, header, "TFIELDS", default=0) + 1):
        tform = str(header.get(f"TFORM{number}", "")).strip().upper()
        match = re.match(r"(\d*)([A-Z])", tform)
        if match is None or match.group(2) not in TFORM_BYTES:
            raise LightCurveReadError(path, f"column {number} has the invalid TFORM {tform!r}")
        layout[str(header.get(f"TTYPE{number}", "")).strip().upper()] = (number, offset, tform)
        count, code = int(match.group(1) or 1), match.group(2)
        offset += (count + 7) // 8 if code == "X" else count * TFORM_BYTES[code]
    return layout


def _read_columns(path: Path, stream: IO[bytes], header: fits.Header,
                  layout: dict[str, tuple[int, int, str]],
                  names: dict[str, str]) -> dict[str, np.ndarray]:
    """Read the table rows at ``stream``; field -> values of column ``names[field]``."""
    row_bytes, rows = _structure_int(path, header, "NAXIS1"), _structure_int(path, header, "NAXIS2")
    if rows == 0:
        raise LightCurveReadError(path, "the light-curve table in HDU 1 has no rows")
    if not 0 < row_bytes * rows <= MAX_TABLE_BYTES:
        raise LightCurveReadError(path, f"HDU 1 claims a table of {row_bytes} x {rows} bytes, "
                                        "not a light curve's; the header is corrupt")
    buffer = stream.read(row_bytes * rows)
    if len(buffer) < row_bytes * rows:
        raise LightCurveReadError(path, f"truncated: the table needs {row_bytes * rows} bytes, "
                                        f"only {len(buffer)} are there; download it again")
    for name in names.values():
        if layout[name][2] not in TFORM_DTYPES:
            raise LightCurveReadError(path, f"column {name} has TFORM {layout[name][2]!r}, "
                                            "expected one number per row")
    dtype = np.dtype({"names": list(names.values()),
                      "formats": [TFORM_DTYPES[layout[name][2]] for name in names.values()],
                      "offsets": [layout[name][1] for name in names.values()],
                      "itemsize": row_bytes})
    table = np.frombuffer(buffer, dtype)
    return {field: _scaled(table[name], header, layout[name][0]) for field, name in names.items()}


def _scaled(values: np.ndarray, header: fits.Header, number: int) -> np.ndarray:
    """Column values with TSCALn and TZEROn applied, in native byte order."""
    scale, zero = (np.nan_to_num(_number((header,), f"{key}{number}"), nan=default)
                   for key, default in (("TSCAL", 1.0), ("TZERO", 0.0)))
    if (scale, zero) == (1, 0):
        return values.astype(values.dtype.newbyteorder("="))
    return values.astype(np.float64) * scale + zero


def _first_present(names: Collection[str], candidates: tuple[str, ...]) -> str | None:
    return next((name for name in candidates if name in names), None)


def _time_offset(path: Path, headers: tuple[fits.Header, ...], fmt: str) -> float:
    """Days to add to the file's TIME to get BTJD (-2167 for Kepler/K2 BKJD).

    Files without BJDREFI (lightkurve-written ones) count from BKJD_ZERO if from Kepler/K2,
    else from BTJD_ZERO.
    """
    reference = _number(headers, "BJDREFI")
    if np.isnan(reference):
        reference = BKJD_ZERO if fmt == "k2" else BTJD_ZERO
    reference += np.nan_to_num(_number(headers, "BJDREFF"))
    if reference != 0 and not BJD_REFERENCE_RANGE[0] < reference < BJD_REFERENCE_RANGE[1]:
        raise LightCurveReadError(path, f"BJDREFI + BJDREFF = {reference:.6g} is no mission's "
                                        "time reference (BJD 2454833 Kepler, 2457000 TESS)")
    return reference - BTJD_ZERO


def _fits_meta(path: Path, fmt: str, headers: tuple[fits.Header, ...], time: np.ndarray,
               tic: int | None, sector: int | None) -> LightCurveMeta:
    tic = tic if tic is not None else _target_id(path, headers)
    sector = sector if sector is not None else _header_int(headers, "SECTOR", "CAMPAIGN",
                                                             "QUARTER")
    if sector is None:
        raise LightCurveReadError(path, "no SECTOR, CAMPAIGN or QUARTER header; pass sector=")
    timedel = _number(headers, "TIMEDEL") * 1440.0
    return LightCurveMeta(
        tic=tic, sector=sector,
        mission=_text(headers, "MISSION") or ("K2" if fmt == "k2" else "TESS"),
        camera=_header_int(headers, "CAMERA", default=-1),
        ccd=_header_int(headers, "CCD", default=-1),
        cadence_min=timedel if np.isfinite(timedel) else _median_step_min(time),
        tmag=_stellar(headers, "TESSMAG"), radius=_stellar(headers, "RADIUS"),
        teff=_stellar(headers, "TEFF"), logg=_stellar(headers, "LOGG"),
        mass=_stellar(headers, "MASS"), contamination=1.0 - _number(headers, "CROWDSAP"),
        ra=_number(headers, "RA_OBJ"), dec=_number(headers, "DEC_OBJ"), source_file=str(path))


def _stellar(headers: tuple[fits.Header, ...], key: str) -> float:
    """A stellar parameter; NaN for the 0 that files without one hold (TESScut cutouts)."""
    value = _number(headers, key)
    return value if value != 0 else float("nan")


def _target_id(path: Path, headers: tuple[fits.Header, ...]) -> int:
    """TICID, TIC_ID (eleanor) or KEPLERID, else an OBJECT like ``TIC 123``, ``EPIC 456`` or
    ``789``, else the file name's TIC (a TESScut cutout has no ID in its headers)."""
    number = _header_int(headers, "TICID", "TIC_ID", "KEPLERID")
    match = re.fullmatch(r"(?:TIC|EPIC|KIC)?\s*(\d+)", _text(headers, "OBJECT"), re.I)
    if number is not None or match is not None:
        return number if number is not None else int(match.group(1))
    if re.search(r"tic[_-]?\d+", path.name, re.I) is None:
        raise LightCurveReadError(path, "no TICID, KEPLERID or numeric OBJECT header and no "
                                        "TIC ID in the file name (a TESScut cutout has none); "
                                        "rename it to hold one, like TIC123456_cutout.fits")
    return _tic_from_name(path)


def _number(headers: tuple[fits.Header, ...], key: str) -> float:
    """The first numeric value of ``key`` in ``headers``; NaN if absent or blank."""
    for header in headers:
        value = header.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    return float("nan")


def _header_int(headers: tuple[fits.Header, ...], *keys: str,
                default: int | None = None) -> int | None:
    values = (_number(headers, key) for key in keys)
    return next((int(value) for value in values if np.isfinite(value)), default)


def _text(headers: tuple[fits.Header, ...], key: str) -> str:
    return next((h[key].strip() for h in headers if isinstance(h.get(key), str)), "")


def _median_step_min(time: np.ndarray) -> float:
    return float(np.median(np.diff(time))) * 1440.0 if len(time) > 1 else float("nan")


def _checked(path: Path, lc: LightCurve) -> LightCurve:
    """Sanity at the door: cadences sorted by time, a repeated time dropped (the first kept),
    infinite flux treated as missing; times that are no mission's BTJD and flux levels
    that are not a positive photometric flux refused."""
    if len(lc) == 0:
        raise LightCurveReadError(path, "no cadence has a finite time")
    order = np.argsort(lc.time, kind="stable")
    first = np.append(True, np.diff(lc.time[order]) > 0)
    if not first.all():
        log.warning("%s: dropped %d cadences repeating an earlier time", path, (~first).sum())
    lc = lc.select(order[first])
    lc = replace(lc, flux=np.where(np.isinf(lc.flux), np.nan, lc.flux).astype(lc.flux.dtype))
    if lc.time[0] < BTJD_RANGE[0] or lc.time[-1] > BTJD_RANGE[1]:
        raise LightCurveReadError(path, f"times {lc.time[0]:.6g} to {lc.time[-1]:.6g} are not "
                                  "BTJD of any TESS, K2 or Kepler data; check the time "
                                  "column's units or the BJDREFI/BJDREFF keywords")
    flux = lc.flux[np.isfinite(lc.flux)]
    where = f"sector {lc.meta.sector}"
    if not len(flux):
        raise LightCurveReadError(path, f"{where}: flux is NaN everywhere")
    level = float(np.median(flux))
    if not 0 < level < MAX_FLUX_LEVEL:
        raise LightCurveReadError(path, f"{where}: median flux {level:.6g} is not a photometric "
                                  f"flux (must be positive and below {MAX_FLUX_LEVEL:g})")
    if len(flux) > 1 and flux.min() == flux.max():
        raise LightCurveReadError(path, f"{where}: flux is constant ({level:.6g}), nothing to "
                                  "measure")
    return lc


def _tic_from_name(path: Path) -> int:
    match = re.search(r"tic[_-]?(\d+)", path.name, re.I)
    if match is None:
        raise LightCurveReadError(path, "no TIC ID in the file name; rename it to hold one, "
                                        "like TIC123456_lc.csv (from Python: pass tic=)")
    return int(match.group(1))


def _csv_metadata(path: Path) -> tuple[dict[str, str], int]:
    """The ``# key: value`` (or ``# key = value``) lines at the top of a CSV, keys in lower
    case, and the number of the first line that is not one (the header or the data)."""
    metadata = {}
    with open(path, encoding="utf-8", errors="replace") as stream:
        for number, line in enumerate(stream):
            match = METADATA_LINE.match(line)
            if match is None:
                return metadata, number
            metadata[match.group(1).strip().lower()] = match.group(2).strip()
    return metadata, 0


def _metadata_int(path: Path, metadata: dict[str, str], keys: tuple[str, ...]) -> int | None:
    """The first of ``keys`` in the metadata as an integer ("TIC 123" reads 123)."""
    for key in keys:
        if key in metadata:
            digits = re.search(r"\d+", metadata[key])
            if digits is None:
                raise LightCurveReadError(path, f"metadata line {key}: {metadata[key]!r} "
                                                "holds no number")
            return int(digits.group())
    return None


def _csv_table(path: Path, header_line: int = 0) -> pd.DataFrame:
    """The CSV's known columns, named as in :data:`CSV_COLUMNS`, numeric, sorted by time;
    the table starts at line ``header_line``."""
    raw = _raw_csv(path, header_line)
    names = list(raw.columns)
    table = pd.DataFrame({field: raw[name] for field, aliases in CSV_COLUMNS.items()
                          if (name := _first_present(names, aliases)) is not None})
    magnitude = _first_present(names, MAGNITUDE_COLUMNS)
    if "flux" not in table and magnitude is not None:
        error = _first_present(names, MAGNITUDE_ERR_COLUMNS)
        table = table.assign(**_flux_from_magnitudes(
            pd.to_numeric(raw[magnitude]), None if error is None else pd.to_numeric(raw[error])))
    if "time" not in table and "phase" in names:
        raise LightCurveReadError(path, "a phase-folded table (a phase column, no time), not a "
                                        "time series; give the light curve before folding")
    for field, known in (("time", CSV_COLUMNS["time"]),
                         ("flux", CSV_COLUMNS["flux"] + MAGNITUDE_COLUMNS)):
        if field not in table:
            aliases = " or ".join(known)
            raise LightCurveReadError(path, f"no {field} column ({aliases}) among "
                                            f"{', '.join(map(str, names))}; rename one")
    table = table.apply(pd.to_numeric).dropna(subset=["time"]).sort_values("time", kind="stable")
    if table.empty:
        raise LightCurveReadError(path, "no row has a finite time")
    if table["time"].median() > 2_400_000:
        table["time"] -= BTJD_ZERO
    return table


def _flux_from_magnitudes(magnitude: pd.Series, error: pd.Series | None) -> dict[str, pd.Series]:
    """Relative flux (1 at the median magnitude) and its error from magnitudes."""
    flux = 10.0 ** (-0.4 * (magnitude - magnitude.median()))
    if error is None:
        return {"flux": flux}
    return {"flux": flux, "flux_err": 0.4 * np.log(10.0) * flux * error}


def _raw_csv(path: Path, header_line: int = 0) -> pd.DataFrame:
    """All columns, with lower-case names; a headerless file gets :data:`HEADERLESS_COLUMNS`.

    Raises when the first data row has another number of fields than the header names.
    """
    with open(path, encoding="utf-8", errors="replace") as stream:
        lines = [line.strip() for line in itertools.islice(stream, header_line, header_line + 2)]
    first = lines[0].lstrip("#").strip() if lines else ""
    sep = "," if "," in first else r"\s+"
    header = [name.strip().lower() for name in re.split(sep, first)]
    if not all(_is_number(name) for name in header):
        row = re.split(sep, lines[1]) if len(lines) > 1 else header
        if len(row) != len(header) and row[len(header):] != [""]:  # a trailing comma is fine
            raise LightCurveReadError(path, f"the header names {len(header)} columns but the "
                                            f"first data row has {len(row)}; fix the header")
        return pd.read_csv(path, sep=sep, header=None, names=header, index_col=False,
                           skiprows=header_line + 1)
    if len(header) not in (2, 3):
        raise LightCurveReadError(path, f"{len(header)} columns and no header row; "
                                        "add one (time,flux,flux_err,...)")
    return pd.read_csv(path, sep=sep, header=None, names=HEADERLESS_COLUMNS[:len(header)],
                       skiprows=header_line)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _segments(time: np.ndarray) -> np.ndarray:
    """Segment numbers 1..k, a new one after every gap over :data:`SEGMENT_GAP_DAYS`."""
    return 1 + np.concatenate([[0], np.cumsum(np.diff(time) > SEGMENT_GAP_DAYS)])


def _csv_lightcurve(path: Path, rows: pd.DataFrame, tic: int, sector: int) -> LightCurve:
    columns = {field: rows[field].to_numpy() for field in CSV_COLUMNS
               if field in rows and field != "sector"}
    if "quality" in columns:
        columns["quality"] = np.nan_to_num(columns["quality"]).astype(np.int32)
    meta = LightCurveMeta(tic=tic, sector=sector, cadence_min=_median_step_min(columns["time"]),
                          source_file=str(path))
    return _checked(path, LightCurve.from_arrays(meta, **columns))
