"""FITS read lean: the two headers parsed by astropy, the table rows read in one go and
numpy views of the needed columns only."""

from __future__ import annotations

import gzip
import math
import os
import re
from pathlib import Path
from typing import IO

import numpy as np
from astropy.io import fits

from transitflow.readers.errors import LightCurveReadError


FITS_MAGIC = b"SIMPLE  ="
GZIP_MAGIC = b"\x1f\x8b"
FITS_BLOCK = 2880
FITS_CARD = 80
MAX_HEADER_BLOCKS = 100  # 3,600 cards; mission light-curve headers fill fewer than 10 blocks
MAX_TABLE_BYTES = 2 ** 32  # a TESS 20-s sector table is ~50 MB
TABLE_SUFFIXES = (".csv", ".txt", ".tsv", ".dat")  # text tables read as CSV
FITS_SUFFIXES = (".fits", ".fit", ".fts", ".fits.gz", ".fit.gz", ".fts.gz")
#: How a reason begins for a file that is no light curve (a licence, a report beside them).
NOT_A_LIGHT_CURVE = "not a light-curve file"
#: Files that travel with light curves but are not one: file-name pattern -> what it is.
NOT_LIGHT_CURVES = {r"_dv[rs]\.xml$": "a SPOC data validation report (XML)",
                    r"_dv[rsm]\.pdf$": "a SPOC data validation report (PDF)",
                    r"_dvt\.fits(\.gz)?$": "a SPOC data validation time series (one table per "
                                           "TCE, fluxes already detrended)",
                    r"\.pdf$": "a PDF document", r"\.xml$": "an XML document",
                    r"\.(png|jpe?g|gif|svg)$": "an image",
                    r"^(readme|licen[cs]e|copying|changelog)\b": "a text document"}
#: Bytes per element of each binary-table TFORM code, and the numpy type of the scalar ones.
TFORM_BYTES = {"L": 1, "B": 1, "I": 2, "J": 4, "K": 8, "A": 1, "E": 4, "D": 8, "C": 8, "M": 16,
               "P": 8, "Q": 16}
TFORM_DTYPES = {"B": "u1", "I": ">i2", "J": ">i4", "K": ">i8", "E": ">f4", "D": ">f8"}


def is_fits(path: Path) -> bool:
    """Whether ``path`` is a (possibly gzipped) FITS file, by its first bytes; False for a
    text table (named as in :data:`TABLE_SUFFIXES`), an error for anything else."""
    if path.is_symlink() and not path.exists():
        raise LightCurveReadError(path, f"a link to {os.readlink(path)}, which does not exist "
                                        "(a dangling link or a loop of links)")
    if not path.is_file():
        raise LightCurveReadError(path, "no such file; check the path")
    _refuse_known_other_products(path)
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
        raise LightCurveReadError(path, f"{NOT_A_LIGHT_CURVE}: neither FITS nor a table "
                                        f"named {', '.join(TABLE_SUFFIXES)}")
    return False


def _refuse_known_other_products(path: Path) -> None:
    """Refuse, saying what it is, a file named as a product that is not a light curve."""
    what = next((what for pattern, what in NOT_LIGHT_CURVES.items()
                 if re.search(pattern, path.name, re.IGNORECASE)), None)
    if what is not None:
        raise LightCurveReadError(path, f"{NOT_A_LIGHT_CURVE}: {what}; give the star's light "
                                        "curve (*_lc.fits, a pixel file or a time,flux table)")


def open_file(path: Path) -> IO[bytes]:
    with open(path, "rb") as stream:
        gzipped = stream.read(2) == GZIP_MAGIC
    return gzip.open(path, "rb") if gzipped else open(path, "rb")


def fits_headers(path: Path, stream: IO[bytes]) -> tuple[fits.Header, fits.Header]:
    """The primary header and the header of the table after it; ``stream`` left at its data."""
    primary = _read_header(path, stream, "primary")
    bitpix = structure_int(path, primary, "BITPIX", default=8)
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
    naxis = structure_int(path, header, "NAXIS", default=0)
    sizes = [structure_int(path, header, f"NAXIS{i}") for i in range(1, naxis + 1)]
    return math.prod(sizes) if sizes else 0


def structure_int(path: Path, header: fits.Header, key: str, default: int | None = None) -> int:
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


def column_layout(path: Path, header: fits.Header) -> dict[str, tuple[int, int, str]]:
    """TTYPE (upper case) -> (column number, byte offset in a row, TFORM) of a binary table."""
    layout, offset = {}, 0
    for number in range(1, structure_int(path, header, "TFIELDS", default=0) + 1):
        tform = str(header.get(f"TFORM{number}", "")).strip().upper()
        match = re.match(r"(\d*)([A-Z])", tform)
        if match is None or match.group(2) not in TFORM_BYTES:
            raise LightCurveReadError(path, f"column {number} has the invalid TFORM {tform!r}")
        layout[str(header.get(f"TTYPE{number}", "")).strip().upper()] = (number, offset, tform)
        count, code = int(match.group(1) or 1), match.group(2)
        offset += (count + 7) // 8 if code == "X" else count * TFORM_BYTES[code]
    return layout


def read_columns(path: Path, stream: IO[bytes], header: fits.Header,
                  layout: dict[str, tuple[int, int, str]],
                  names: dict[str, str]) -> dict[str, np.ndarray]:
    """Read the table rows at ``stream``; field -> values of column ``names[field]``."""
    row_bytes, rows = structure_int(path, header, "NAXIS1"), structure_int(path, header, "NAXIS2")
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


def header_number(headers: tuple[fits.Header, ...], key: str) -> float:
    """The first numeric value of ``key`` in ``headers``; NaN if absent or blank."""
    for header in headers:
        value = header.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    return float("nan")


def _scaled(values: np.ndarray, header: fits.Header, number: int) -> np.ndarray:
    """Column values with TSCALn and TZEROn applied, in native byte order."""
    scale, zero = (np.nan_to_num(header_number((header,), f"{key}{number}"), nan=default)
                   for key, default in (("TSCAL", 1.0), ("TZERO", 0.0)))
    if (scale, zero) == (1, 0):
        return values.astype(values.dtype.newbyteorder("="))
    return values.astype(np.float64) * scale + zero
