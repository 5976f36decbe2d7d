"""Candidates against catalogs: the TOI crossmatch by ephemeris and position, and the
known eclipsing binaries whose eclipses a candidate falls on."""

from __future__ import annotations

import math

import astropy.units as u
import numpy as np
import pandas as pd
from astropy.coordinates import SkyCoord

from transitflow.lightcurve import BTJD_ZERO
from transitflow.signals import (PERIOD_TOLERANCE, has_period, period_mismatch, periods_match,
                                 transit_offset)


KNOWN_PLANET = "known planet"
TOI_CLASSES = {"CP": KNOWN_PLANET, "KP": KNOWN_PLANET, "FP": "known FP", "FA": "known FP",
               "EB": "known FP", "V": "known FP", "IS": "known FP", "O": "known FP"}
TOI_OTHER = "known candidate"  # a TOI that is neither confirmed nor a false positive (PC, APC)
TOI_NONE = "new"
#: A TOI matches by position within one TESS pixel (vetting.pixels.PIXEL_ARCSEC, which the
#: report's environment cannot import).
POSITION_MATCH_ARCSEC = 21.0
#: Dispositions that a candidate on a known binary's eclipses loses to EB.
KNOWN_EB_OVERRIDES = ("PC", "SYSTEMATIC", "LOW_SNR")


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
    offset = transit_offset(candidate["epoch"], period, toi["Epoch (BJD)"] - BTJD_ZERO)
    return abs(offset) <= max(candidate["duration"], toi["Duration (hours)"] / 24.0)


def _matching_toi(candidate: pd.Series, tois: pd.DataFrame) -> pd.Series | None:
    """The TOI whose period, half or double, fits a periodic candidate's best (the first by
    number of equals): a star's planets may lie near 2:1; or the first TOI whose ephemeris a
    single event falls on."""
    if candidate["kind"] != "periodic":
        return next((toi for _, toi in tois.iterrows() if _event_matches(candidate, toi)), None)
    mismatch = [period_mismatch(candidate["period"], period) for period in tois["Period (days)"]]
    best = int(np.argmin(mismatch)) if mismatch else None
    return tois.iloc[best] if best is not None and mismatch[best] <= PERIOD_TOLERANCE else None


def crossmatch(frame: pd.DataFrame, known_tois: pd.DataFrame | None) -> pd.DataFrame:
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


def on_known_eclipses(frame: pd.DataFrame, known_ebs: pd.DataFrame | None) -> pd.DataFrame:
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
