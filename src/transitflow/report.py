"""Candidate tables and the self-contained HTML report."""

from __future__ import annotations

import base64
import math
import mimetypes
import os
import shutil
from dataclasses import dataclass
from html import escape
from pathlib import Path

import astropy.units as u
import numpy as np
import pandas as pd
from astropy.coordinates import SkyCoord

from transitflow.lightcurve import STITCHED_SECTOR
from transitflow.signals import (PERIOD_TOLERANCE, SNR_BINS, Signal, binned_means,
                                 ephemeris_errors, has_period, periods_match, recovering,
                                 transit_offset)
from transitflow.options import options_from_dict, reject_invalid
from transitflow.tables import atomic_output, write_table

DISPOSITION_ORDER = ("PC", "EB", "BEB", "SYSTEMATIC", "LOW_SNR")
BTJD_OFFSET = 2457000.0
R_JUP_IN_R_EARTH = 11.209
PC_RADIUS_NOTE = "report.pc_max_radius_rjup"
KNOWN_PLANET = "known planet"
TOI_CLASSES = {"CP": KNOWN_PLANET, "KP": KNOWN_PLANET, "FP": "known FP", "FA": "known FP",
               "EB": "known FP", "V": "known FP", "IS": "known FP", "O": "known FP"}
TOI_OTHER = "known candidate"  # a TOI that is neither confirmed nor a false positive (PC, APC)
TOI_NONE = "new"
POSITION_MATCH_ARCSEC = 21.0  # one TESS pixel (vetting.pixels.PIXEL_ARCSEC; the report env lacks scipy)
FRONT_COLUMNS = ("key", "keys", "tic", "mission", "split", "sectors", "ra", "dec", "kind",
                 "method", "score", "flagged", "detected_by", "model_id", "period", "period_err",
                 "period_ambiguous", "epoch", "epoch_bjd", "epoch_err", "duration_h",
                 "duration_err_h", "depth_ppm", "depth_err_ppm", "snr", "sde", "n_transits",
                 "radius_earth", "star_radius", "tmag")
BACK_COLUMNS = ("disposition", "reasons", "toi", "toi_disposition", "toi_match",
                "toi_matched_by", "known_eb")
#: Dispositions that a candidate on a known binary's eclipses loses to EB.
KNOWN_EB_OVERRIDES = ("PC", "SYSTEMATIC", "LOW_SNR")
FLOAT_FORMAT = "%.12g"  # BJD epochs to 1e-5 d

#: The candidate table in the HTML report: column, header, format.
TABLE_COLUMNS = (("key", "signal", "{}"), ("split", "split", "{}"), ("sectors", "sectors", "{}"),
                 ("disposition", "disposition", "{}"), ("score", "score", "{:.3f}"),
                 ("detected_by", "raised by", "{}"),
                 ("period", "P [d]", "{:.5f}"), ("depth_ppm", "depth [ppm]", "{:.0f}"),
                 ("duration_h", "dur [h]", "{:.2f}"), ("snr", "SNR", "{:.1f}"),
                 ("sde", "SDE", "{:.1f}"), ("n_transits", "transits", "{}"),
                 ("radius_earth", "Rp [R⊕]", "{:.2f}"), ("tmag", "Tmag", "{:.2f}"),
                 ("toi_match", "TOI", "{}"), ("flags", "flags", "{}"), ("reasons", "reasons", "{}"))


@dataclass(frozen=True)
class ReportConfig:
    """Options of the report (``sheets_for`` acts in the vetting jobs)."""

    sheets_for: tuple[str, ...] = DISPOSITION_ORDER
    pc_max_radius_rjup: float | None = None  # PCs larger than this become EB; None: off

    def __post_init__(self) -> None:
        reject_invalid("report", [
            (not set(self.sheets_for) <= set(DISPOSITION_ORDER),
             f"sheets_for: dispositions are {', '.join(DISPOSITION_ORDER)}"),
            (self.pc_max_radius_rjup is not None and self.pc_max_radius_rjup <= 0,
             "pc_max_radius_rjup must be positive or null")])

    @classmethod
    def from_dict(cls, options) -> ReportConfig:
        """The options from a config section; an unknown key is an error naming it."""
        return options_from_dict(cls, options, "report")


def filter_pc_radius(candidates: pd.DataFrame, max_radius_rjup: float | None) -> pd.DataFrame:
    """The candidate table with PCs larger than ``max_radius_rjup`` made EB, the reason
    added (a PC of unknown radius stays); unchanged for None."""
    if max_radius_rjup is None:
        return candidates
    large = (candidates["disposition"] == "PC") & (
        candidates["radius_earth"] > max_radius_rjup * R_JUP_IN_R_EARTH)
    note = candidates.loc[large, "radius_earth"].map(
        lambda r: f"radius: {r / R_JUP_IN_R_EARTH:.2f} R_Jup, above the PC limit of "
                  f"{max_radius_rjup:g} R_Jup ({PC_RADIUS_NOTE})")
    reasons = candidates.loc[large, "reasons"].fillna("")
    return candidates.assign(
        disposition=candidates["disposition"].mask(large, "EB"),
        reasons=candidates["reasons"].mask(large, reasons.where(reasons == "", reasons + "; ")
                                           + note))


def build_candidates(scores: pd.DataFrame, vetting: pd.DataFrame, stars: pd.DataFrame | None = None,
                     known_tois: pd.DataFrame | None = None, split: pd.DataFrame | None = None,
                     pc_max_radius_rjup: float | None = None,
                     known_ebs: pd.DataFrame | None = None) -> pd.DataFrame:
    """The candidate table: one row per signal, sectors of one planet merged.

    Parameters
    ----------
    scores
        Per light curve: ``key`` (``<tic>-s<sector>``), the network ``score`` and ``model_id``,
        ``flagged`` (went on to the search) and ``detected_by`` (the paths that sent it there;
        "network" for flagged rows when the column is absent).
    vetting
        Flat vetting rows (``Signal.to_row()`` columns, per-test columns, ``disposition``,
        ``reasons``).
    stars
        Stellar parameters per light curve (``key``, ``tmag``, ``radius``, ``ra``, ``dec``),
        or None.
    known_tois
        The ExoFOP TOI table (``TIC ID``, ``TOI``, ``TFOPWG Disposition``, ``Period (days)``,
        ``Epoch (BJD)``, ``Duration (hours)``), or None.
    split
        The training split of each star (``tic``, ``split``) when the run trained the
        network, or None; the ``split`` column says "" for stars outside it.
    pc_max_radius_rjup
        The optional size limit of PCs (:func:`filter_pc_radius`), or None.
    known_ebs
        The TESS EB catalog (:func:`transitflow.labels.read_eb_ephemerides`), or None:
        candidates on a catalogued binary's secondary eclipses become EB
        (:func:`_on_known_eclipses`).

    Returns
    -------
    pandas.DataFrame
        Signals of one TIC whose periods agree within 1% in different sectors share a row
        (``sectors`` "1,2", ``keys`` all signal keys, the strongest signal's values, summed
        transits, the best score). Sorted by disposition (PC first), then SNR descending.
    """
    if vetting.columns.empty:  # no shard had a signal: empty vetting tables have no columns
        vetting = pd.DataFrame(columns=[*Signal.__dataclass_fields__, "disposition", "reasons"])
    frame = _signal_frame(scores, vetting, stars)
    splits = {} if split is None else dict(zip(split["tic"], split["split"]))
    frame = frame.assign(split=frame["tic"].map(splits).fillna(""))
    frame = _period_notes(_network_notes(_merge_sectors(_with_errors(frame))))
    frame = pd.concat([frame, _crossmatch(frame, known_tois)], axis=1)
    frame = _on_known_eclipses(frame, known_ebs)
    vet_columns = [c for c in vetting.columns if c not in Signal.__dataclass_fields__
                   and c not in FRONT_COLUMNS and c not in BACK_COLUMNS]
    frame = filter_pc_radius(frame, pc_max_radius_rjup)
    return _sorted(frame)[[*FRONT_COLUMNS, *vet_columns, *BACK_COLUMNS]]


def _signal_frame(scores: pd.DataFrame, vetting: pd.DataFrame,
                  stars: pd.DataFrame | None) -> pd.DataFrame:
    """Vetting rows with their light curve's score and star, and depth/duration in ppm/hours."""
    frame = vetting.copy()
    lc_key = frame["tic"].astype(str) + "-s" + frame["sector"].map("{:04d}".format)
    frame["key"] = lc_key + "-" + frame["index"].astype(str)
    scores = scores if "detected_by" in scores else scores.assign(
        detected_by=np.where(scores["flagged"], "network", ""))
    scored = scores[["key", "score", "flagged", "detected_by", "model_id"]].rename(
        columns={"key": "lc_key"})
    star_columns = ["key", "mission", "tmag", "radius", "ra", "dec"]
    stars = pd.DataFrame(columns=star_columns) if stars is None else stars
    star = stars.reindex(columns=star_columns).rename(columns={"key": "lc_key",
                                                               "radius": "star_radius"})
    frame = frame.assign(lc_key=lc_key.astype(str))  # str also when there is no row
    frame = frame.merge(scored.astype({"lc_key": str}), on="lc_key", how="left")
    frame = frame.merge(star.astype({"lc_key": str}), on="lc_key", how="left")
    frame = frame.drop(columns="lc_key")
    return frame.assign(mission=frame["mission"].fillna("TESS"),
                        observed_sectors=_observed_sectors(frame, stars),
                        flagged=frame["flagged"].eq(True),
                        duration_h=frame["duration"] * 24.0,
                        depth_ppm=frame["depth"] * 1e6,
                        depth_err_ppm=frame["depth_err"] * 1e6)


def _observed_sectors(frame: pd.DataFrame, stars: pd.DataFrame) -> pd.Series:
    """The sectors of each signal: its light curve's, or for sectors joined (sector
    :data:`~transitflow.lightcurve.STITCHED_SECTOR`) those whose span holds one of its
    transits (all of the star's, when the star table has no spans)."""
    spans = stars[stars["sector"] != STITCHED_SECTOR] if "time_start" in stars else None

    def sectors(row: dict) -> tuple[int, ...]:
        if row["sector"] != STITCHED_SECTOR:
            return (int(row["sector"]),)
        if spans is None:
            return ()
        own = spans[spans["tic"] == row["tic"]]
        times = np.asarray(row.get("transit_times", ()), dtype=float).reshape(-1, 1)
        holds = ((times >= own["time_start"].to_numpy()) & (times <= own["time_stop"].to_numpy()))
        return tuple(sorted(int(sector) for sector in own["sector"][holds.any(axis=0)]))

    return pd.Series([sectors(row) for row in frame.to_dict("records")], index=frame.index,
                     dtype=object)


def _with_errors(frame: pd.DataFrame) -> pd.DataFrame:
    """Errors of period, epoch and duration of each signal (:func:`ephemeris_errors`, at
    the orbit numbers of its transits; a merged row keeps its strongest sector's) and the
    epoch as BJD."""
    errors = np.array([ephemeris_errors(row["duration"], row["depth"], row["snr"], _cycles(row))
                       for row in frame.to_dict("records")], dtype=float).reshape(-1, 3)
    return frame.assign(period_err=errors[:, 0], epoch_err=errors[:, 1],
                        duration_err_h=errors[:, 2] * 24.0,
                        epoch_bjd=frame["epoch"] + BTJD_OFFSET)


def _cycles(signal: dict) -> np.ndarray:
    """Orbit numbers of a periodic signal's transits with data, from their times (without
    them, ``n_transits`` consecutive orbits); a single event's is 0."""
    if signal["kind"] != "periodic" or not np.isfinite(signal["period"]):
        return np.zeros(1)
    times = np.asarray(signal.get("transit_times", ()), dtype=float).reshape(-1)
    if len(times) != signal["n_transits"]:
        return np.arange(max(int(signal["n_transits"]), 1), dtype=float)
    return np.round((times - signal["epoch"]) / signal["period"])


def _sector_groups(frame: pd.DataFrame) -> pd.Series:
    """A sector-group label per row.

    Strongest first, each periodic signal joins the first group of its TIC whose leading
    period agrees within :data:`PERIOD_TOLERANCE` and lacks its sector, else leads its own.
    """
    groups = pd.Series(0, index=frame.index)
    leaders: dict[int, list[tuple[int, float, set]]] = {}
    for label, row in frame.sort_values(["snr", "key"], ascending=[False, True]).iterrows():
        for leader, period, sectors in leaders.get(row["tic"], []):
            if (row["kind"] == "periodic" and row["sector"] not in sectors
                    and abs(row["period"] / period - 1) <= PERIOD_TOLERANCE):
                sectors.add(row["sector"])
                groups[label] = leader
                break
        else:
            leaders.setdefault(row["tic"], []).append((label, row["period"], {row["sector"]}))
            groups[label] = label
    return groups


def _merge_sectors(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per sector group: its strongest signal, with the group's sectors and keys,
    transits (summed over sectors, or the joined sectors' count if more) and best score."""
    stitched = frame["sector"] == STITCHED_SECTOR
    frame = frame.assign(group=_sector_groups(frame),
                         per_sector=frame["n_transits"].where(~stitched, 0),
                         joined=frame["n_transits"].where(stitched, 0))
    frame = frame.sort_values(["sector", "index"])
    merged = frame.groupby("group").agg(
        sectors=("observed_sectors", lambda s: ",".join(map(str, sorted(set().union(*s))))),
        keys=("key", ";".join), per_sector=("per_sector", "sum"), joined=("joined", "max"),
        score=("score", "max"), flagged=("flagged", "any"),
        detected_by=("detected_by", _joined_paths))
    merged = merged.assign(n_transits=merged[["per_sector", "joined"]].max(axis=1)).drop(
        columns=["per_sector", "joined"])
    strongest = frame.sort_values(["snr", "key"], ascending=[False, True])
    strongest = strongest.drop_duplicates("group").set_index("group")
    strongest[merged.columns] = merged
    return strongest.reset_index(drop=True)


def _joined_paths(paths: pd.Series) -> str:
    """The detection paths of merged signals, each once, in their order."""
    names = [name for value in paths.dropna() for name in str(value).split("+") if name]
    return "+".join(dict.fromkeys(names))


def _network_notes(frame: pd.DataFrame) -> pd.DataFrame:
    """Reasons say when the search raised a signal that the network scores below its
    threshold (or did not score): the network is a vetting input, not a gate."""
    reasons = []
    for paths, score, reason in zip(frame["detected_by"].fillna(""), frame["score"],
                                    frame["reasons"].fillna("")):
        if paths and "network" not in paths.split("+"):
            note = (f"network: not flagged (score {score:.3f}); raised by the search"
                    if np.isfinite(score) else "network: not scored; raised by the search")
            reason = f"{reason}; {note}" if reason else note
        reasons.append(reason)
    return frame.assign(reasons=pd.Series(reasons, index=frame.index, dtype=object))


def _period_notes(frame: pd.DataFrame) -> pd.DataFrame:
    """``period_ambiguous`` for periodic signals with two transits in all (the search gives
    their separation, but the period may be any whole fraction of it whose other transits
    fall in gaps), said in the reasons."""
    ambiguous = (frame["kind"] == "periodic") & (frame["n_transits"] == 2)
    reasons = frame["reasons"].fillna("").astype(object)
    for label in frame.index[ambiguous]:
        times = np.asarray(frame.at[label, "transit_times"], dtype=float)
        apart = f" ({times[-1] - times[0]:.2f} d apart)" if len(times) == 2 else ""
        note = (f"period ambiguous: two transits{apart}, so the period may also be their "
                "separation over any whole number whose other transits fall in gaps")
        reasons[label] = f"{reasons[label]}; {note}" if reasons[label] else note
    return frame.assign(period_ambiguous=ambiguous, reasons=reasons)


def _toi_disposition(toi: pd.Series) -> str:
    """The TFOPWG disposition, else the TESS one, else ""."""
    for column in ("TFOPWG Disposition", "TESS Disposition"):
        if isinstance(toi.get(column), str):
            return toi[column]
    return ""


def _event_matches(candidate: pd.Series, toi: pd.Series) -> bool:
    """Whether a single event falls on the TOI's ephemeris (any event if it has no period)."""
    period = toi["Period (days)"]
    if not has_period(period):
        return True
    offset = transit_offset(candidate["epoch"], period, toi["Epoch (BJD)"] - BTJD_OFFSET)
    return abs(offset) <= max(candidate["duration"], toi["Duration (hours)"] / 24.0)


def _matching_toi(candidate: pd.Series, tois: pd.DataFrame) -> pd.Series | None:
    """The first TOI (by number) whose period, half or double, or ephemeris fits."""
    for _, toi in tois.iterrows():
        if candidate["kind"] == "periodic":
            if periods_match(candidate["period"], toi["Period (days)"]):
                return toi
        elif _event_matches(candidate, toi):
            return toi
    return None


def _crossmatch(frame: pd.DataFrame, known_tois: pd.DataFrame | None) -> pd.DataFrame:
    """The matching TOI of each candidate, by TIC (TESS stars) and period (or ephemeris, for
    singles), else among the TOIs within :data:`POSITION_MATCH_ARCSEC` of the star (another
    catalogue's ID for the same star, or a neighbour that the signal may come from).

    Columns ``toi`` (number, NaN), ``toi_disposition``, ``toi_match``: "known planet"
    (CP, KP), "known FP" (FP, FA, EB, V, IS, O), "known candidate" (PC, APC) or "new", and
    ``toi_matched_by`` ("TIC", "position" or ""); empty when no TOI table was given.
    """
    columns = ["toi", "toi_disposition", "toi_match", "toi_matched_by"]
    if known_tois is None:
        return pd.DataFrame({"toi": math.nan, "toi_disposition": "", "toi_match": "",
                             "toi_matched_by": ""}, index=frame.index, columns=columns)
    tois = known_tois.sort_values("TOI")
    by_tic = {tic: group for tic, group in tois.groupby("TIC ID")}
    nearby = _tois_nearby(frame, tois)
    rows = []
    for label, candidate in frame.iterrows():
        tess = candidate["mission"] == "TESS"  # another mission's ID is no TIC ID
        same_star = by_tic.get(candidate["tic"], tois.iloc[:0]) if tess else tois.iloc[:0]
        toi, matched_by = _matching_toi(candidate, same_star), "TIC"
        if toi is None:
            toi, matched_by = _matching_toi(candidate, tois.loc[nearby.get(label, [])]), "position"
        disposition = "" if toi is None else _toi_disposition(toi)
        rows.append({"toi": math.nan if toi is None else float(toi["TOI"]),
                     "toi_disposition": disposition,
                     "toi_match": TOI_NONE if toi is None
                     else TOI_CLASSES.get(disposition, TOI_OTHER),
                     "toi_matched_by": "" if toi is None else matched_by})
    return pd.DataFrame(rows, index=frame.index, columns=columns)


def _on_known_eclipses(frame: pd.DataFrame, known_ebs: pd.DataFrame | None) -> pd.DataFrame:
    """``known_eb``: the catalogued binary whose eclipses a TESS candidate's events fall on
    (:func:`_known_eclipse`), e.g. "TIC 255567460 EB 1, P 13.79633 d, secondary eclipse";
    "" when none. A PC, SYSTEMATIC or LOW_SNR candidate on the binary's secondary eclipse,
    at its period or twice it (or a single event), becomes EB, said in the reasons: its own
    light curve may hold too little to tell (only secondaries, say). A match on the primary
    alone moves nothing: the catalog lists some planets (at their period, or at twice it
    with the next transit as a "secondary"), and known planets never move."""
    matches = pd.Series("", index=frame.index, dtype=object)
    moved = pd.Series(False, index=frame.index)
    if known_ebs is not None:
        by_tic = {tic: group for tic, group in known_ebs.groupby("tic")}
        for label, candidate in frame[frame["mission"] == "TESS"].iterrows():
            for _, eb in by_tic.get(candidate["tic"], known_ebs.iloc[:0]).iterrows():
                eclipse = _known_eclipse(candidate, eb)
                if eclipse:
                    matches[label] = f"{eb['entry']}, P {eb['period']:.5f} d, {eclipse} eclipse"
                    moved[label] = eclipse == "secondary" and not (
                        candidate["kind"] == "periodic"
                        and candidate["period"] < 0.75 * eb["period"])
                    break
    moved &= frame["disposition"].isin(KNOWN_EB_OVERRIDES) & frame["toi_match"].ne(KNOWN_PLANET)
    reasons = frame["reasons"].fillna("").astype(object)
    for label in frame.index[moved]:
        note = f"known eclipsing binary (TESS EB catalog): {matches[label]}"
        reasons[label] = f"{reasons[label]}; {note}" if reasons[label] else note
    return frame.assign(known_eb=matches, reasons=reasons,
                        disposition=frame["disposition"].mask(moved, "EB"))


def _known_eclipse(candidate: pd.Series, eb: pd.Series) -> str:
    """"primary" or "secondary" when the candidate's period is the binary's, half or double
    it (any, for a single event), and its epoch falls within the longer of the two
    durations of that eclipse; else ""."""
    if candidate["kind"] == "periodic" and not periods_match(candidate["period"], eb["period"]):
        return ""
    window = np.fmax(candidate["duration"], eb["duration"])
    for eclipse in ("primary", "secondary"):
        centre = eb["epoch"] + eb[f"{eclipse}_phase"] * eb["period"]
        if np.isfinite(centre) and abs(transit_offset(candidate["epoch"], eb["period"],
                                                      centre)) <= window:
            return eclipse
    return ""


def _tois_nearby(frame: pd.DataFrame, tois: pd.DataFrame) -> dict:
    """Candidate row label -> labels of the TOIs (by number) within
    :data:`POSITION_MATCH_ARCSEC` of its star; rows without a position, and TOIs without
    one, have none. TOI positions are sexagesimal (ExoFOP's RA in hours) or degrees."""
    placed = frame[np.isfinite(frame["ra"].astype(float)) & np.isfinite(frame["dec"].astype(float))]
    if placed.empty or not {"RA", "Dec"} <= set(tois.columns):
        return {}
    tois = tois[tois["RA"].notna() & tois["Dec"].notna()]
    if tois.empty:
        return {}
    stars = SkyCoord(placed["ra"].to_numpy(float), placed["dec"].to_numpy(float), unit="deg")
    numeric = pd.api.types.is_numeric_dtype(tois["RA"])  # degrees; else sexagesimal hours
    catalog = SkyCoord(tois["RA"].to_numpy() if numeric else tois["RA"].astype(str).to_numpy(),
                       tois["Dec"].to_numpy() if numeric else tois["Dec"].astype(str).to_numpy(),
                       unit=(u.deg, u.deg) if numeric else (u.hourangle, u.deg))
    star_index, toi_index, _, _ = catalog.search_around_sky(
        stars, POSITION_MATCH_ARCSEC * u.arcsec)
    nearby: dict = {}
    for star, toi in sorted(zip(star_index, toi_index)):
        nearby.setdefault(placed.index[star], []).append(tois.index[toi])
    return nearby


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    rank = frame["disposition"].map({d: i for i, d in enumerate(DISPOSITION_ORDER)})
    order = frame.assign(_rank=rank.fillna(len(DISPOSITION_ORDER)), _snr=-frame["snr"])
    order = order.sort_values(["_rank", "_snr", "key"], na_position="last")
    return frame.loc[order.index].reset_index(drop=True)


def write_candidates(frame: pd.DataFrame, csv_path: str | Path, parquet_path: str | Path,
                     provenance: dict) -> tuple[Path, Path]:
    """Write the candidate table as CSV and Parquet; return both paths.

    The CSV has fixed float formatting and ``\n`` line ends, so reruns give equal bytes;
    ``provenance`` travels in the Parquet file's metadata.
    """
    with atomic_output(csv_path) as partial:
        frame.to_csv(partial, index=False, float_format=FLOAT_FORMAT, lineterminator="\n")
    return Path(csv_path), write_table(frame, parquet_path, provenance)


#: The CTOI export: candidate column -> its name in ExoFOP's TOI table.
CTOI_COLUMNS = {"tic": "TIC ID", "sectors": "Sectors", "period": "Period (days)",
                "period_err": "Period (days) err", "epoch_bjd": "Epoch (BJD)",
                "epoch_err": "Epoch (BJD) err", "duration_h": "Duration (hours)",
                "duration_err_h": "Duration (hours) err", "depth_ppm": "Depth (ppm)",
                "depth_err_ppm": "Depth (ppm) err", "radius_earth": "Planet Radius (R_Earth)",
                "snr": "Planet SNR"}


def ctoi_table(candidates: pd.DataFrame, origin: str) -> pd.DataFrame:
    """The PCs of TESS stars that match no known TOI, ready to propose as community TOIs
    (CTOIs): the columns of :data:`CTOI_COLUMNS` under ExoFOP's TOI-table names, and
    ``Notes`` naming ``origin`` (code version and run), the signal and how it was raised.
    Empty when the run was given no TOI table (``known_tois``): nothing can then be called
    new."""
    new = candidates[(candidates["disposition"] == "PC") & (candidates["toi_match"] == TOI_NONE)
                     & (candidates["mission"] == "TESS")]
    notes = [f"{origin}; {row['key']}: {row['kind']} signal, raised by "
             f"{row['detected_by'] or 'the search'}, network score {row['score']:.2f}"
             for row in new.to_dict("records")]
    return new[list(CTOI_COLUMNS)].rename(columns=CTOI_COLUMNS).assign(Notes=notes)


def write_ctoi(candidates: pd.DataFrame, path: str | Path, origin: str) -> Path:
    """Write :func:`ctoi_table` as CSV (formatted as the candidate table)."""
    with atomic_output(path) as partial:
        ctoi_table(candidates, origin).to_csv(partial, index=False, float_format=FLOAT_FORMAT,
                                             lineterminator="\n")
    return Path(path)


CSS = """
body { font-family: system-ui, sans-serif; margin: 1.5em; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 1.5em; }
table { border-collapse: collapse; font-size: 0.85em; }
th, td { border: 1px solid #ccc; padding: 2px 6px; text-align: left; vertical-align: top; }
table.sortable th { background: #eee; cursor: pointer; user-select: none; }
table.sortable th:hover { background: #ddd; }
tr.PC td.disposition { color: #1a7f1a; font-weight: bold; }
td.disposition { color: #b22; }
td.number { text-align: right; font-variant-numeric: tabular-nums; }
td.key, td a { white-space: nowrap; }
figure { margin: 1em 0; } img { max-width: 100%; border: 1px solid #ddd; }
figcaption { font-size: 0.9em; color: #555; }
#candidate-filter { width: 40em; margin: 0.5em 0; } #candidate-count { margin-left: 1em; }
tr:target { background: #ffc; }
""".strip()

SORT_JS = """
document.querySelectorAll("table.sortable").forEach(table => {
  table.querySelectorAll("th").forEach((th, column) => th.addEventListener("click", () => {
    const direction = th.dataset.order === "asc" ? -1 : 1;
    th.dataset.order = direction > 0 ? "asc" : "desc";
    const cell = row => row.cells[column];
    const compare = (a, b) => {
      const x = parseFloat(cell(a).dataset.v), y = parseFloat(cell(b).dataset.v);
      if (!isNaN(x) && !isNaN(y)) return direction * (x - y);
      if (!isNaN(x) || !isNaN(y)) return isNaN(x) ? 1 : -1;
      return direction * cell(a).textContent.localeCompare(cell(b).textContent, undefined,
                                                           {numeric: true});
    };
    const body = table.tBodies[0];
    body.append(...[...body.rows].sort(compare));
  }));
});
""".strip()

#: The candidate filter: words a row must all hold, or ``column<value`` (also <=, >, >=, =)
#: on a column's name; ``?filter=...`` in the page address fills the box.
FILTER_JS = """
(() => {
  const table = document.getElementById("candidate-table");
  const box = document.getElementById("candidate-filter");
  const count = document.getElementById("candidate-count");
  if (!table || !box) return;
  const names = [...table.tHead.rows[0].cells].map(th => th.dataset.name);
  const compare = {"<": (x, y) => x < y, "<=": (x, y) => x <= y, ">": (x, y) => x > y,
                   ">=": (x, y) => x >= y, "=": (x, y) => x === y};
  const test = word => {
    const parts = word.match(/^(\\w+)(<=|>=|<|>|=)(.+)$/);
    if (!parts || !names.includes(parts[1])) {  // a word: in any cell but the star's others
      const text = word.toLowerCase();
      return row => [...row.cells].some((cell, column) => names[column] !== "others"
                                         && cell.textContent.toLowerCase().includes(text));
    }
    const [, name, op, value] = parts, column = names.indexOf(name), y = parseFloat(value);
    return row => {
      const cell = row.cells[column], x = parseFloat(cell.dataset.v);
      const text = cell.textContent.toLowerCase();
      if (isNaN(x) || isNaN(y)) return op === "=" && text === value.toLowerCase();
      return compare[op](x, y);
    };
  };
  const apply = () => {
    const tests = box.value.trim().split(/\\s+/).filter(Boolean).map(test);
    const rows = [...table.tBodies[0].rows];
    rows.forEach(row => { row.hidden = !tests.every(t => t(row)); });
    count.textContent = `${rows.filter(row => !row.hidden).length} of ${rows.length} shown`;
  };
  box.value = new URLSearchParams(location.search).get("filter") || "";
  box.addEventListener("input", apply);
  apply();
})();
""".strip()


def held_out_stars(truth: pd.DataFrame, split: pd.DataFrame) -> pd.DataFrame:
    """The rows (of truth or stars) of stars in the test split, never trained on."""
    return truth[truth["tic"].isin(split.loc[split["split"] == "test", "tic"])]


def truth_recovery(truth: pd.DataFrame, candidates: pd.DataFrame) -> dict[str, dict[str, int]]:
    """For simulated data: planted signals per class, how many were found, and found as PC.

    A periodic signal is found by a candidate on its TIC at its period (or half or double);
    a single event by a candidate whose epoch lies within the event's duration.
    """
    by_tic = dict(tuple(candidates.groupby("tic")))
    recovery = {}
    for sim_class, planted in truth.groupby("sim_class", sort=True):
        hits = [recovering(by_tic.get(row["tic"]), row) for row in planted.to_dict("records")]
        recovery[sim_class] = {"planted": len(planted),
                               "found": sum(not h.empty for h in hits),
                               "found as PC": sum(bool((h["disposition"] == "PC").any())
                                                  for h in hits)}
    return recovery


def planet_recall(truth: pd.DataFrame, stars: pd.DataFrame, candidates: pd.DataFrame,
                  min_snr: float = 10.0) -> dict[str, dict[str, float]]:
    """For simulated data: the share of planets recovered as PC, and of quiet and variable
    stars left without a PC.

    Planets count when their expected SNR is at least ``min_snr``: "planets, 2+ transits"
    (two or more events with data) and "single transits" (one event). Returns, per group,
    ``n`` and ``fraction`` (NaN when the group is empty).
    """
    by_tic = dict(tuple(candidates.groupby("tic")))
    planets = truth[(truth["sim_class"] == "planet") & (truth["snr"] >= min_snr)]
    groups = {"planets, 2+ transits": planets[planets["n_events_in_data"] >= 2],
              "single transits": planets[planets["n_events_in_data"] == 1]}
    recall = {name: [bool((recovering(by_tic.get(row["tic"]), row)["disposition"] == "PC")
                          .any()) for row in group.to_dict("records")]
              for name, group in groups.items()}
    pcs = set(candidates.loc[candidates["disposition"] == "PC", "tic"])
    clean = ~stars.loc[stars["sim_class"].isin(["quiet", "variable"]), "tic"].isin(pcs)
    recall["quiet and variable stars without a PC"] = list(clean)
    return {name: {"n": len(hits), "fraction": float(np.mean(hits)) if hits else math.nan}
            for name, hits in recall.items()}


def truth_recall_by_snr(truth: pd.DataFrame, candidates: pd.DataFrame) -> pd.DataFrame:
    """For simulated data, the yardstick of
    :func:`transitflow.completeness.completeness_by_snr`: per expected-SNR
    bin, the planted planets with an event in the data (pass those of stars outside the
    training split) and the share recovered as PC."""
    planets = truth[(truth["sim_class"] == "planet") & (truth["n_events_in_data"] >= 1)]
    by_tic = dict(tuple(candidates.groupby("tic")))
    pc = [bool((recovering(by_tic.get(row["tic"]), row)["disposition"] == "PC").any())
          for row in planets.to_dict("records")]
    table = binned_means(planets.assign(PC=pc), "snr", [*SNR_BINS, np.inf], ["PC"])
    return table.rename(columns={"low": "snr_low"})[["snr_low", "n", "PC"]]


def reliability(nulls: dict[str, dict[str, int]], light_curves: int, with_pc: int) -> dict:
    """Expected false PCs of a run and the reliability of its PC list, from the null copies
    of every kind together (:func:`transitflow.completeness.null_counts`): their rate of
    holding a PC (failed and excluded copies left out) times the run's light curves, with a
    Poisson error (of at least one count), against the ``with_pc`` light curves holding a
    PC (clipped to [0, 1]). Empty without nulls."""
    searched = sum(kind["copies"] - kind["failed"] - kind["excluded"] for kind in nulls.values())
    if searched <= 0:
        return {}
    false_pcs = sum(kind["with_pc"] for kind in nulls.values())
    expected = false_pcs / searched * light_curves
    error = math.sqrt(max(false_pcs, 1)) / searched * light_curves
    share = min(max(1.0 - expected / with_pc, 0.0), 1.0) if with_pc else math.nan
    return {"expected_false_pcs": expected, "expected_false_pcs_error": error,
            "reliability": share, "reliability_error": error / with_pc if with_pc else math.nan}


def bundle_sheets(sheet_paths: dict[str, Path], folder: str | Path) -> dict[str, Path]:
    """Put the vetting sheets in ``folder`` beside the report (hard links where the file
    system allows, else copies), so that the report's folder holds everything it links to.
    Returns signal key -> the sheet's path in ``folder``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    bundled = {}
    for key, path in sheet_paths.items():
        target = folder / Path(path).name
        target.unlink(missing_ok=True)
        try:
            os.link(path, target)
        except OSError:
            shutil.copyfile(path, target)
        bundled[key] = target
    return bundled


def write_report(candidates: pd.DataFrame, out_html: str | Path, run_info: dict,
                 sheet_paths: dict[str, Path], figures: dict[str, Path],
                 ledger_summary: dict[str, dict[str, int]],
                 recovery: dict[str, dict[str, int]] | None = None,
                 recall: dict[str, dict[str, float]] | None = None,
                 completeness: dict | None = None) -> Path:
    """Write the run's report as one HTML file that needs nothing from the web.

    Parameters
    ----------
    candidates
        The table from :func:`build_candidates`.
    out_html
        Where to write the page.
    run_info
        Shown in order as a key/value table (run name, code version, config hash, counts).
    sheet_paths
        Signal key -> vetting-sheet PNG, linked (relative path) from the candidate rows; a
        sector holds hundreds of sheets, too many to embed.
    figures
        Title -> PNG (training curves, ...), embedded in order.
    ledger_summary
        Stage -> {count name -> number}, e.g. ``{"data": {"read": 10, "quarantined": 1}}``.
    recovery
        For simulated data, :func:`truth_recovery`'s table; shown when given.
    recall
        For simulated data, :func:`planet_recall`'s shares; shown when given.
    completeness
        The run's injection-recovery summary (:func:`transitflow.completeness.summary`),
        with ``reliability`` (:func:`reliability`) when known;
        shown when given.

    Returns
    -------
    Path
        ``out_html``: figures inlined as base64 data URIs, inline CSS and a sortable table,
        no timestamps, so equal inputs give equal bytes.
    """
    out_html = Path(out_html)
    out_html.parent.mkdir(parents=True, exist_ok=True)
    title = escape(f"transitflow report: {run_info.get('run', '')}")
    sheet_links = {key: Path(os.path.relpath(path, out_html.parent)).as_posix()
                   for key, path in sheet_paths.items()}
    sections = (
        ("summary", "Summary",
         _key_value_table(_summary(candidates, ledger_summary, completeness))),
        ("funnel", "From light curves to planet candidates",
         _ledger_table(_funnel(candidates, ledger_summary), "step")),
        ("run", "Run", _key_value_table(run_info)),
        ("stages", "Stages in detail", _ledger_table(ledger_summary, "stage")),
        ("dispositions", "Candidates per disposition",
         _key_value_table(_disposition_counts(candidates))),
        ("recovery", "Simulated truth: planted signals recovered",
         _ledger_table(recovery, "simulated class") if recovery else ""),
        ("recall", "Simulated truth: planets recovered as PC (expected SNR >= 10)",
         _ledger_table({name: {"n": v["n"], "fraction": f"{v['fraction']:.3f}"}
                        for name, v in recall.items()}, "group") if recall else ""),
        ("completeness", "Completeness: injected transits flagged, found and found as PC "
         "(stars outside the training split)",
         _completeness_table(completeness) if completeness else ""),
        ("candidates", f"Candidates ({len(candidates)})",
         _candidate_table(candidates, sheet_links)),
        ("figures", "Figures: " + ", ".join(figures) if figures else "Figures",
         "\n".join(_figure(escape(name), path) for name, path in figures.items())),
    )
    shown = [(anchor, heading, content) for anchor, heading, content in sections
             if content or anchor == "figures"]
    nav = " | ".join(f'<a href="#{anchor}">{anchor}</a>' for anchor, _, _ in shown)
    body = "\n".join((f"<h1>{title}</h1>", f"<nav>{nav}</nav>",
                      *(_section(*section) for section in shown)))
    html = (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f"<title>{title}</title>\n<style>\n{CSS}\n</style>\n</head>\n<body>\n"
            f"{body}\n<script>\n{SORT_JS}\n{FILTER_JS}\n</script>\n</body>\n</html>\n")
    with atomic_output(out_html) as partial:
        partial.write_text(html, encoding="utf-8")
    return out_html


def _section(anchor: str, heading: str, content: str) -> str:
    return f'<section id="{anchor}">\n<h2>{escape(heading)}</h2>\n{content}\n</section>'


def _key_value_table(items: dict) -> str:
    rows = "".join(f"<tr><th>{escape(str(k))}</th><td>{escape(str(v))}</td></tr>\n"
                   for k, v in items.items())
    return f"<table>\n{rows}</table>"


def _ledger_table(summary: dict[str, dict[str, int]], row_heading: str) -> str:
    names = list(dict.fromkeys(name for counts in summary.values() for name in counts))
    head = "".join(f"<th>{escape(str(name))}</th>" for name in [row_heading, *names])
    rows = "".join(f"<tr><th>{escape(str(stage))}</th>"
                   + "".join(f'<td class="number">{escape(str(counts.get(n, "")))}</td>'
                             for n in names) + "</tr>\n"
                   for stage, counts in summary.items())
    return f"<table>\n<tr>{head}</tr>\n{rows}</table>"


def _summary(candidates: pd.DataFrame, ledger_summary: dict[str, dict[str, int]],
             completeness: dict | None) -> dict[str, str]:
    """The first questions: what was read and searched, what was found, how many of the PCs
    are expected to be false and what share of planets of a size the run finds."""
    read = ledger_summary.get("light curves", {})
    searched = ledger_summary.get("batched search", {}).get("searched")
    counts = _disposition_counts(candidates)
    items = {"light curves read": read.get("ok", 0),
             "inputs quarantined or failed": read.get("quarantined", 0) + read.get("failed", 0)}
    if read.get("stitched"):
        items["stars searched with their sectors joined"] = read["stitched"]
    items |= {"light curves searched (batched search)": "n/a" if searched is None else searched,
              "light curves searched in depth": ledger_summary.get("in-depth search", {}).get(
                  "flagged", 0),
              "candidates": ", ".join(f"{n} {name}" for name, n in counts.items() if n) or "none"}
    filtered = int(candidates["reasons"].fillna("").str.contains(PC_RADIUS_NOTE).sum())
    if filtered:
        items["PCs made EB by the size limit (report.pc_max_radius_rjup)"] = filtered
    measured = (completeness or {}).get("reliability") or {}
    if measured:
        items["expected false PCs (inverted and scrambled light curves)"] = (
            f"{measured['expected_false_pcs']:.1f} ± {measured['expected_false_pcs_error']:.1f}")
    for row in (completeness or {}).get("by_radius", []):
        if row["n"]:
            items[f"found as PC, {row['radius_low']:g}-{row['radius_high']:g} R_earth"] = (
                f"{row['PC']:.2f} of {row['n']} injected")
    return items


def _funnel(candidates: pd.DataFrame, ledger_summary: dict[str, dict[str, int]]
            ) -> dict[str, dict[str, int]]:
    """Light curves left after each step, and those lost there (failed, quarantined or
    duplicate inputs)."""
    read = ledger_summary.get("light curves", {})
    scoring = ledger_summary.get("scoring", {})
    batched = ledger_summary.get("batched search", {})
    in_depth = ledger_summary.get("in-depth search", {})
    vetting = ledger_summary.get("vetting", {})
    with_signal = light_curve_keys(candidates).nunique()
    with_pc = light_curve_keys(candidates[candidates["disposition"] == "PC"]).nunique()
    inputs, ok, stitched = _inputs(read), read.get("ok", 0), read.get("stitched", 0)
    steps = {"inputs": (inputs, 0), "read": (ok, inputs - ok)}
    if stitched:
        steps["read, and the sectors of a star joined"] = (ok + stitched, 0)
    steps |= {"scored by the network": (scoring.get("scored", 0), scoring.get("failed", 0)),
              "searched (batched, every light curve)": (batched.get("searched", 0),
                                                        batched.get("failed", 0)),
              "raised for the in-depth search": (in_depth.get("flagged", 0), 0),
              "searched in depth, vetted, with a signal": (
                  with_signal, in_depth.get("failed", 0) + vetting.get("light curves failed", 0)),
              "with a PC": (with_pc, 0)}
    return {step: {"light curves": n, "lost here": lost} for step, (n, lost) in steps.items()}


def _inputs(read: dict[str, int]) -> int:
    """The inputs of the data ledger's counts: all but the light curves of joined sectors."""
    return sum(n for status, n in read.items() if status != "stitched")


def light_curve_keys(candidates: pd.DataFrame) -> pd.Series:
    """The light-curve key of each signal of the candidates (their ``keys`` split)."""
    signals = candidates["keys"].astype(str).str.split(";").explode().dropna()
    return signals[signals != ""].str.rsplit("-", n=1).str[0]


def _completeness_table(completeness: dict) -> str:
    """The shares per SNR bin; for simulated data also the planted planets recovered as PC."""
    def shown(value) -> str:
        return "" if value is None or pd.isna(value) else (
            f"{value:.3f}" if isinstance(value, float) else str(value))

    columns = {"n": "injections", "flagged": "flagged", "found": "found", "PC": "PC",
               "planted planets": "planted planets", "planted, as PC": "planted, as PC"}
    rows = {f"SNR >= {row['snr_low']:g}": {shown_name: shown(row[name])
                                           for name, shown_name in columns.items() if name in row}
            for row in completeness["by_snr"]}
    return _ledger_table(rows, "expected SNR") + _reliability_table(completeness)


def _reliability_table(completeness: dict) -> str:
    """The null copies' outcome and the reliability they imply, when measured."""
    nulls, measured = completeness.get("nulls", {}), completeness.get("reliability", {})
    if not any(kind["copies"] for kind in nulls.values()):
        return ""
    items = {}
    for kind, counts in nulls.items():
        items[f"{kind} light curves (nulls): followed / excluded / failed"] = (
            f"{counts['copies'] - counts['excluded'] - counts['failed']} / "
            f"{counts['excluded']} / {counts['failed']}")
        items[f"{kind}: flagged / with a signal / with a PC"] = (
            f"{counts['flagged']} / {counts['with_signal']} / {counts['with_pc']}")
    if measured:
        items["expected false PCs in this run"] = (
            f"{measured['expected_false_pcs']:.1f} ± {measured['expected_false_pcs_error']:.1f}")
        items["reliability of the PC list"] = (
            f"{measured['reliability']:.3f} ± {measured['reliability_error']:.3f}")
    return ("\n<h3>Reliability (inverted and scrambled light curves)</h3>\n"
            + _key_value_table(items))


def _disposition_counts(candidates: pd.DataFrame) -> dict[str, int]:
    counts = candidates["disposition"].value_counts()
    extra = sorted(set(counts.index) - set(DISPOSITION_ORDER))
    return {name: int(counts.get(name, 0)) for name in [*DISPOSITION_ORDER, *extra]}


def _data_uri(path: Path) -> str:
    mime = mimetypes.guess_type(str(path))[0] or "application/octet-stream"
    return f"data:{mime};base64,{base64.b64encode(Path(path).read_bytes()).decode('ascii')}"


def _figure(caption_html: str, path: Path) -> str:
    """An embedded image; ``caption_html`` must already be escaped."""
    return (f'<figure><img alt="" src="{_data_uri(path)}">'
            f"<figcaption>{caption_html}</figcaption></figure>")



def _cell(value, fmt: str, css: str = "") -> str:
    """A table cell: formatted and escaped text, numbers right-aligned with a sort value."""
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        text = fmt.format(value) if np.isfinite(value) else ""
        return f'<td class="number {css}" data-v="{float(value)!r}">{escape(text)}</td>'
    return f'<td class="{css}">{escape("" if value is None else str(value))}</td>'


def _display_frame(candidates: pd.DataFrame) -> pd.DataFrame:
    """The candidate columns shown in the report, with the flagged tests and TOI joined up."""
    flag_columns = [c for c in candidates.columns if c.endswith("_flag")]
    tests = [c[:-len("_flag")] for c in flag_columns]
    flags = [", ".join(t for t, flag in zip(tests, row) if flag)
             for row in candidates[flag_columns].eq(True).to_numpy()]
    toi = [f" (TOI {t:.2f}{', by position' if how == 'position' else ''})"
           if np.isfinite(t) else "" for t, how in zip(candidates["toi"],
                                                       candidates["toi_matched_by"])]
    return candidates.assign(flags=flags, toi_match=candidates["toi_match"] + toi)


def _candidate_table(candidates: pd.DataFrame, sheet_links: dict[str, str]) -> str:
    """The sortable, filterable candidate table: a row per candidate (its ``id`` the key),
    links to its sheets and to the other candidates of its star."""
    names = [*(column for column, _, _ in TABLE_COLUMNS), "sheet", "others"]
    labels = [*(label for _, label, _ in TABLE_COLUMNS), "sheet", "other signals of the star"]
    head = "".join(f'<th data-name="{name}">{escape(label)}</th>'
                   for name, label in zip(names, labels))
    others = _other_signals(candidates)
    rows = []
    for record in _display_frame(candidates).to_dict("records"):
        cells = "".join(_cell(record[column], fmt, column) for column, _, fmt in TABLE_COLUMNS)
        sheets = " ".join(f'<a href="{escape(sheet_links[key])}">{escape(key.split("-", 1)[1])}</a>'
                          for key in record["keys"].split(";") if key in sheet_links)
        css = escape(str(record["disposition"]))
        rows.append(f'<tr id="{escape(record["key"])}" class="{css}">{cells}<td>{sheets}</td>'
                    f'<td>{others[record["key"]]}</td></tr>')
    body = "\n".join(rows)
    return (f'<input id="candidate-filter" type="search" aria-label="filter the candidates" '
            f'placeholder="filter: words, or column&lt;value, '
            f'e.g. disposition=PC snr&gt;10 period&lt;5">'
            f'<span id="candidate-count"></span>\n'
            f'<table class="sortable" id="candidate-table">\n<thead><tr>{head}</tr></thead>\n'
            f"<tbody>\n{body}\n</tbody>\n</table>")


def _other_signals(candidates: pd.DataFrame) -> dict[str, str]:
    """Per candidate key, links to the other candidates of its star, with their period and
    disposition."""
    links: dict[str, str] = {}
    for _, star in candidates.groupby("tic", sort=False):
        entries = [(key, f'<a href="#{escape(key)}">{escape(_short_label(row))}</a>')
                   for key, row in zip(star["key"], star.to_dict("records"))]
        for key in star["key"]:
            links[key] = " ".join(link for other, link in entries if other != key)
    return links


def _short_label(candidate: dict) -> str:
    """``P=3.21 d PC`` (``single PC`` for a single transit)."""
    period = candidate["period"]
    shown = f"P={period:.2f} d" if np.isfinite(period) else "single"
    return f"{shown} {candidate['disposition']}"
