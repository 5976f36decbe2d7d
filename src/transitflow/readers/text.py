"""Text tables (CSV, TSV, whitespace) with or without a header and ``# key: value``
metadata lines."""

from __future__ import annotations

import functools
import itertools
import re
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from transitflow.files import NAME_PREFIXES
from transitflow.lightcurve import BKJD_ZERO, BTJD_ZERO, LightCurve, LightCurveMeta, star_id
from transitflow.readers.errors import (LightCurveReadError, PartlyRead, checked,
                                        first_present, log, median_step_min, read_errors)


SEGMENT_GAP_DAYS = 5.0  # other CSV series without a sector are split at longer gaps
#: A run of times belongs to a TESS sector when its middle lies within this many of the
#: sector's half-lengths of its mid-time (tess-point's mid-times stray up to ~5 d from the
#: middle of a sector's data).
SECTOR_REACH = 1.3
#: TESS pauses for hours to downlink data between sectors and between a sector's orbits: a
#: run of times without a longer gap lies within one sector.
ORBIT_GAP_DAYS = 0.1
#: CSV column names per field (matched case-insensitively), the first one present wins.
CSV_COLUMNS = {
    "time": ("time", "btjd", "t", "bjd", "bjd_tdb"),
    "flux": ("flux", "pdcsap_flux", "corr_flux", "sap_flux"),  # corr_flux: eleanor's
    "flux_err": ("flux_err", "pdcsap_flux_err", "sap_flux_err", "flux_error", "err", "e_flux"),
    "centroid_col": ("centroid_col", "centroids_x", "centroid_x", "mom_centr1"),
    "centroid_row": ("centroid_row", "centroids_y", "centroid_y", "mom_centr2"),
    "background": ("background", "background_flux", "bkg", "sap_bkg"),
    "quality": ("quality", "sap_quality", "time_flag"),  # time_flag: eleanor-style FFI CSVs
    "sector": ("sector", "campaign", "quarter"),
}
#: CSV magnitude columns and their errors, read as relative flux when there is no flux column.
MAGNITUDE_COLUMNS = ("mag", "magnitude", "tmag", "tess_mag")
MAGNITUDE_ERR_COLUMNS = ("mag_err", "magnitude_err", "e_mag", "tmag_err", "tess_mag_err")
HEADERLESS_COLUMNS = ("time", "flux", "flux_err")
CSV_ENCODING = "utf-8-sig"  # UTF-8, without the byte-order mark that spreadsheets write
#: A ``# key: value`` (or ``=``) metadata line at the top of a CSV, and the keys of the
#: star's ID among them, per mission.
METADATA_LINE = re.compile(r"^\s*#\s*([A-Za-z_][\w ]*?)\s*[:=]\s*(\S.*)$")
STAR_KEYS = {"TESS": ("tic_id", "tic", "ticid", "tic id"),
             "K2": ("epic_id", "epic", "epicid", "epic id"),
             "Kepler": ("kic_id", "kic", "kicid", "kic id", "kepid")}
#: Every column name the reader knows: a line naming one is a header.
KNOWN_COLUMNS = frozenset(itertools.chain(*CSV_COLUMNS.values(), *STAR_KEYS.values(),
                                          MAGNITUDE_COLUMNS, MAGNITUDE_ERR_COLUMNS, ["phase"]))
#: A star's ID in a file name after a mission's prefix (``TIC307210830``,
#: ``epic211945201_k2c10``, ``kplr011446443``).
PREFIXED_STAR = re.compile(rf"(?<![a-z])({'|'.join(NAME_PREFIXES)})[ _-]?(\d+)",
                           re.IGNORECASE)
#: Kepler and K2 times in BKJD (BJD - 2454833) fall in these spans, where the missions' BTJD
#: cannot (Kepler's BTJD is below -570, K2's below 1,400); such times of a table that holds
#: Kepler-telescope data (a campaign or quarter line, or an archive name, and no sector
#: line: :data:`KEPLER_DATA_NAME`) are shifted to BTJD. TESS data of a K2 or Kepler star
#: keep their times.
BKJD_SPANS = {"Kepler": (100.0, 1700.0), "K2": (1850.0, 3600.0)}
KEPLER_DATA_NAME = re.compile(r"kplr|ktwo|k2[_-]?c\d+", re.IGNORECASE)


def read_csv(path: Path, tic: int | None, sector: int | None) -> list[LightCurve]:
    with read_errors(path, "CSV"):
        metadata, header_line = _csv_metadata(path)
        table, mission, names = _csv_table(path, header_line)
        if mission is not None and tic is not None and table["star"].nunique() > 1:
            raise LightCurveReadError(path, f"its star-ID column holds {table['star'].nunique()} "
                                            "stars; tic= names one: leave it out")
        if mission is None or tic is not None:
            found, table["star"] = _csv_star(path, metadata, tic)
            mission = mission or found
        if _kepler_data(path, metadata, names):
            table["time"] += _bkjd_shift(mission, table["time"].median())
        if sector is None:
            sector = _metadata_int(path, metadata, ("sector", "campaign", "quarter"))
        if sector is not None:
            table["sector"] = sector
        elif "sector" in table and table["sector"].isna().any():
            raise LightCurveReadError(path, f"{table['sector'].isna().sum()} rows have no "
                                            "sector; fill the column or drop it")
        elif "sector" not in table:
            table["sector"] = table.groupby("star")["time"].transform(
                functools.partial(_sector_numbers, mission=mission))
        return _each_lightcurve(path, table, mission)


def _each_lightcurve(path: Path, table: pd.DataFrame, mission: str) -> list[LightCurve]:
    """A light curve per star and sector of the table; one that fails its checks leaves the
    others (:class:`~transitflow.readers.errors.PartlyRead`, also when all of several fail,
    so that each gets its ledger row)."""
    light_curves, problems = [], []
    for (star, number), rows in table.groupby(["star", "sector"], sort=True):
        meta = LightCurveMeta(tic=int(star), sector=int(number), mission=mission)
        try:
            light_curves.append(_csv_lightcurve(path, rows, meta))
        except LightCurveReadError as error:
            problems.append((meta.key, error))
    if len(problems) == 1 and not light_curves:
        raise problems[0][1]
    if problems:
        raise PartlyRead(path, light_curves, problems)
    return light_curves


def star_from_name(path: Path) -> tuple[str, int] | None:
    """The mission and ID of the star a file name holds (:data:`PREFIXED_STAR`), or None."""
    match = PREFIXED_STAR.search(path.name)
    return None if match is None else (NAME_PREFIXES[match.group(1).lower()],
                                       int(match.group(2)))


def _csv_star(path: Path, metadata: dict[str, str], tic: int | None) -> tuple[str, int]:
    """The mission and ID of a CSV's star: from its metadata lines (a file name naming
    another star is logged: shards group a star's files by name), else its file name;
    ``tic`` (when given) is the ID, of the mission found or else of TESS."""
    named = star_from_name(path)
    for mission, keys in STAR_KEYS.items():
        number = _metadata_int(path, metadata, keys)
        if number is not None:
            if tic is None and named is not None and named != (mission, number):
                log.warning("%s: the metadata names %s, the file name %s; read as %s", path,
                            star_id(mission, number), star_id(*named),
                            star_id(mission, number))
            return mission, tic if tic is not None else number
    if tic is not None:
        return (named[0] if named else "TESS"), tic
    if named is None:
        raise LightCurveReadError(path, "no TIC, EPIC or KIC ID in the metadata lines or the "
                                        "file name; rename it to hold one, like "
                                        "TIC123456_lc.csv (from Python: pass tic=)")
    return named


def _kepler_data(path: Path, metadata: dict[str, str], names: list[str]) -> bool:
    """Whether the table holds Kepler-telescope data (see :data:`BKJD_SPANS`): a campaign or
    quarter metadata line or column, or an archive name, and no sector line or column."""
    given = metadata.keys() | set(names)
    return "sector" not in given and bool(
        {"campaign", "quarter"} & given or KEPLER_DATA_NAME.search(path.name))


def _bkjd_shift(mission: str, median_time: float) -> float:
    """Days to add to a Kepler or K2 star's times to get BTJD: BKJD to BTJD when they fall in
    the mission's :data:`BKJD_SPANS`, else 0."""
    low, high = BKJD_SPANS.get(mission, (np.inf, np.inf))
    return BKJD_ZERO - BTJD_ZERO if low <= median_time <= high else 0.0


def _csv_metadata(path: Path) -> tuple[dict[str, str], int]:
    """The ``# key: value`` (or ``# key = value``) lines at the top of a CSV, keys in lower
    case, and the number of the header line (or of the first data row when there is none):
    the first line not starting with ``#``, unless it names no known column
    (:data:`KNOWN_COLUMNS`) and a ``#`` line before it with as many fields does (a header
    written as a comment). Other ``#`` lines are comments; blank lines are skipped."""
    metadata, comments = {}, []
    with open(path, encoding=CSV_ENCODING, errors="replace") as stream:
        for number, line in enumerate(stream):
            match = METADATA_LINE.match(line)
            if match is not None:
                metadata[match.group(1).strip().lower()] = match.group(2).strip()
            elif line.lstrip().startswith("#"):
                comments.append((number, line))
            elif line.strip():
                headers = [at for at, text in comments if _names_columns(text)
                           and len(_fields(text)) == len(_fields(line))]
                return metadata, headers[-1] if headers and not _names_columns(line) else number
    return metadata, 0


def _fields(line: str) -> list[str]:
    """A line's fields (a leading ``#`` dropped), in lower case: comma separated when it
    holds a comma, else white-space separated."""
    text = line.strip().lstrip("#").strip().lower()
    return [field.strip() for field in re.split("," if "," in text else r"\s+", text)]


def _names_columns(line: str) -> bool:
    """Whether a line (a leading ``#`` allowed) names a column the reader knows."""
    return not KNOWN_COLUMNS.isdisjoint(_fields(line))


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


def _csv_table(path: Path,
               header_line: int = 0) -> tuple[pd.DataFrame, str | None, list[str]]:
    """The CSV's known columns, named as in :data:`CSV_COLUMNS`, numeric, sorted by time;
    the table starts at line ``header_line``. A column of star IDs (named as the metadata
    keys, :data:`STAR_KEYS`) becomes ``star``, returned with its mission, else None; and the
    file's column names (lower case)."""
    raw = _raw_csv(path, header_line)
    names = list(raw.columns)
    table = pd.DataFrame({field: _numeric(path, raw[name])
                          for field, aliases in CSV_COLUMNS.items()
                          if (name := first_present(names, aliases)) is not None})
    mission = _star_column(path, raw, table)
    magnitude = first_present(names, MAGNITUDE_COLUMNS)
    if "flux" not in table and magnitude is not None:
        error = first_present(names, MAGNITUDE_ERR_COLUMNS)
        table = table.assign(**_flux_from_magnitudes(
            _numeric(path, raw[magnitude]), None if error is None else _numeric(path, raw[error])))
    if "time" not in table and "phase" in names:
        raise LightCurveReadError(path, "a phase-folded table (a phase column, no time), not a "
                                        "time series; give the light curve before folding")
    for field, known in (("time", CSV_COLUMNS["time"]),
                         ("flux", CSV_COLUMNS["flux"] + MAGNITUDE_COLUMNS)):
        if field not in table:
            aliases = " or ".join(known)
            raise LightCurveReadError(path, f"no {field} column ({aliases}) among "
                                            f"{', '.join(map(str, names))}; rename one")
    timed = table[np.isfinite(table["time"])].sort_values("time", kind="stable")
    if timed.empty:
        raise LightCurveReadError(path, "no row has a finite time")
    if len(timed) < len(table):
        log.warning("%s: dropped %d rows without a finite time", path, len(table) - len(timed))
    table = timed
    if table["time"].median() > 2_400_000:
        table["time"] -= BTJD_ZERO
    return table, mission, names


def _numeric(path: Path, column: pd.Series) -> pd.Series:
    """A column of the file as numbers; refused naming the first cell that is not one."""
    numbers = pd.to_numeric(column, errors="coerce")
    bad = numbers.isna() & column.notna()
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise LightCurveReadError(path, f"column {column.name}: {column.iloc[row]!r} in data row "
                                        f"{row + 1} is not a number")
    return numbers


def _star_column(path: Path, raw: pd.DataFrame, table: pd.DataFrame) -> str | None:
    """Copy the first column of star IDs in ``raw`` to ``table["star"]`` (its digits: "TIC
    123" reads 123) and return its mission; None when there is none."""
    for mission, aliases in STAR_KEYS.items():
        name = first_present(list(raw.columns), aliases)
        if name is not None:
            ids = raw[name].astype(str).str.extract(r"(\d+)", expand=False)
            if ids.isna().any():
                raise LightCurveReadError(path, f"column {name}: a row without a star ID; "
                                                "fill it or drop the column")
            table["star"] = pd.to_numeric(ids)
            return mission
    return None


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
    with open(path, encoding=CSV_ENCODING, errors="replace") as stream:
        lines = list(itertools.islice(filter(None, map(str.strip, itertools.islice(
            stream, header_line, None))), 2))  # the header and the first row, blanks skipped
    first = lines[0].lstrip("#").strip() if lines else ""
    sep = "," if "," in first else r"\s+"
    header = [name.strip().lower() for name in re.split(sep, first)]
    if not all(_is_number(name) for name in header):
        row = re.split(sep, lines[1]) if len(lines) > 1 else header
        if len(row) != len(header) and row[len(header):] != [""]:  # a trailing comma is fine
            raise LightCurveReadError(path, f"the header names {len(header)} columns but the "
                                            f"first data row has {len(row)}; fix the header")
        return pd.read_csv(path, sep=sep, header=None, names=header, index_col=False,
                           skiprows=header_line + 1, encoding=CSV_ENCODING)
    if len(header) not in (2, 3):
        raise LightCurveReadError(path, f"{len(header)} columns and no header row; "
                                        "add one (time,flux,flux_err,...)")
    return pd.read_csv(path, sep=sep, header=None, names=HEADERLESS_COLUMNS[:len(header)],
                       skiprows=header_line, encoding=CSV_ENCODING)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _sector_numbers(time: pd.Series, mission: str) -> np.ndarray:
    """The sector of each of a star's sorted times: a TESS star's TESS sector
    (:func:`tess_sectors`), else (another mission, or times outside TESS's sectors) segment
    numbers 1..k, a new one after every gap over :data:`SEGMENT_GAP_DAYS`."""
    sectors = tess_sectors(time.to_numpy()) if mission == "TESS" else None
    return sectors if sectors is not None else _segments(time)


def tess_sectors(time: np.ndarray) -> np.ndarray | None:
    """The TESS sector of each sorted BTJD time, or None when some lie in no sector.

    Each run of times parted by gaps over :data:`ORBIT_GAP_DAYS` (an orbit or less) belongs
    to the sector whose mid-time (tess-point's table) is nearest its middle, counted in the
    sector's half-lengths (sectors last 26 to 56 days); a run more than :data:`SECTOR_REACH`
    half-lengths from every sector means no sector.
    """
    numbers, mids, halves = _tess_sector_table()
    if not len(time):
        return None
    breaks = np.flatnonzero(np.diff(time) > ORBIT_GAP_DAYS) + 1
    starts, stops = np.r_[0, breaks], np.r_[breaks, len(time)]
    middles = 0.5 * (time[starts] + time[stops - 1])
    reach = np.abs(middles[:, None] - mids[None, :]) / halves[None, :]
    nearest = reach.argmin(axis=1)
    if not reach[np.arange(len(middles)), nearest].max() <= SECTOR_REACH:
        return None
    return np.repeat(numbers[nearest], stops - starts)


@functools.cache
def _tess_sector_table() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """TESS's numbered sectors 1, 2, ..., their mid-times (BTJD) from tess-point (which also
    lists special pointings, left out) and their half-lengths, a quarter of the time between
    the neighbours' mid-times (half that to the one neighbour at the ends)."""
    from tess_stars2px import TESS_Spacecraft_Pointing_Data

    table = TESS_Spacecraft_Pointing_Data()
    numbers = np.asarray(table.sectors)
    numbered = np.cumprod(numbers == np.arange(1, len(numbers) + 1)).astype(bool)
    mids = np.asarray(table.midtimes)[numbered] - BTJD_ZERO
    steps = np.diff(mids)
    halves = 0.25 * (np.r_[steps[0], steps] + np.r_[steps, steps[-1]])
    return numbers[numbered], mids, halves


def _segments(time: pd.Series) -> np.ndarray:
    """Segment numbers 1..k of sorted times, a new one after every gap over
    :data:`SEGMENT_GAP_DAYS`."""
    return 1 + np.concatenate([[0], np.cumsum(np.diff(time.to_numpy()) > SEGMENT_GAP_DAYS)])


def _csv_lightcurve(path: Path, rows: pd.DataFrame, meta: LightCurveMeta) -> LightCurve:
    columns = {field: rows[field].to_numpy() for field in CSV_COLUMNS
               if field in rows and field != "sector"}
    if "quality" in columns:
        columns["quality"] = np.nan_to_num(columns["quality"]).astype(np.int32)
    meta = replace(meta, cadence_min=median_step_min(columns["time"]), source_file=str(path))
    return checked(path, LightCurve.from_arrays(meta, **columns))
