"""The candidate table: one row per signal, a planet's sectors merged, with ephemeris
errors, network notes and the catalogs' matches; written as CSV and Parquet."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from transitflow.flag_summary import DETECTION_PATHS
from transitflow.lightcurve import BTJD_ZERO, STITCHED_SECTOR, star_id
from transitflow.report.catalogs import crossmatch, on_known_eclipses
from transitflow.signals import (DISPOSITIONS, PERIOD_TOLERANCE, Signal, ephemeris_errors,
                                 transit_offset)
from transitflow.tables import atomic_output, write_table


R_JUP_IN_R_EARTH = 11.209
PC_RADIUS_NOTE = "report.pc_max_radius_rjup"
FRONT_COLUMNS = ("key", "keys", "id", "tic", "mission", "split", "sectors", "ra", "dec", "kind",
                 "method", "score", "flagged", "detected_by", "model_id", "period", "period_err",
                 "period_ambiguous", "epoch", "epoch_bjd", "epoch_err", "duration_h",
                 "duration_err_h", "depth_ppm", "depth_err_ppm", "snr", "sde", "n_transits",
                 "radius_earth", "star_radius", "tmag")
BACK_COLUMNS = ("disposition", "vetting_disposition", "reasons", "toi", "toi_disposition",
                "toi_match", "toi_matched_by", "known_eb")
FLOAT_FORMAT = "%.12g"  # BJD epochs to 1e-5 d


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
        (:func:`on_known_eclipses`).

    Returns
    -------
    pandas.DataFrame
        Signals of one TIC in different sectors that repeat one another share a row
        (:func:`_sector_groups`: periods within 1%; a single event, or a signal at twice
        the period, on the other's transits with the same disposition): ``sectors`` "1,2",
        ``keys`` all signal keys, the leading signal's values, summed transits, the best
        score. Sorted by disposition (PC first), then SNR descending.
    """
    if vetting.columns.empty:  # no shard had a signal: empty vetting tables have no columns
        vetting = pd.DataFrame(columns=[*Signal.__dataclass_fields__, "disposition", "reasons"])
    frame = _signal_frame(scores, vetting, stars)
    splits = {} if split is None else dict(zip(split["tic"], split["split"]))
    frame = frame.assign(split=frame["tic"].map(splits).fillna(""))
    frame = _period_notes(_network_notes(_merge_sectors(_with_errors(frame))))
    frame = pd.concat([frame, crossmatch(frame, known_tois)], axis=1)
    frame = on_known_eclipses(frame.assign(vetting_disposition=frame["disposition"]), known_ebs)
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
    frame = frame.drop(columns="lc_key").assign(mission=frame["mission"].fillna("TESS"))
    return frame.assign(id=[star_id(mission, number)
                            for mission, number in zip(frame["mission"], frame["tic"])],
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
    the orbit numbers of its transits; a merged row keeps its leader's) and the
    epoch as BJD."""
    errors = np.array([ephemeris_errors(row["duration"], row["depth"], row["snr"],
                                        transit_cycles(row))
                       for row in frame.to_dict("records")], dtype=float).reshape(-1, 3)
    return frame.assign(period_err=errors[:, 0], epoch_err=errors[:, 1],
                        duration_err_h=errors[:, 2] * 24.0,
                        epoch_bjd=frame["epoch"] + BTJD_ZERO)


def transit_cycles(signal: dict) -> np.ndarray:
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

    Strongest first, periodic signals before single events, each row joins the first group
    of its TIC that lacks its sector and whose leader it repeats (:func:`_repeats`), else
    leads its own.
    """
    groups = pd.Series(0, index=frame.index)
    leaders: dict[int, list[tuple[int, pd.Series, set]]] = {}
    order = frame.assign(single=frame["kind"] != "periodic").sort_values(
        ["single", "snr", "key"], ascending=[True, False, True])
    for label, row in order.iterrows():
        for leader, lead, sectors in leaders.get(row["tic"], []):
            if row["sector"] not in sectors and _repeats(row, lead):
                sectors.add(row["sector"])
                groups[label] = leader
                break
        else:
            leaders.setdefault(row["tic"], []).append((label, row, {row["sector"]}))
            groups[label] = label
    return groups


def _repeats(row: pd.Series, lead: pd.Series) -> bool:
    """Whether a signal of another sector is ``lead`` again: a periodic signal at its period
    (within :data:`PERIOD_TOLERANCE`); or, judged alike (the same disposition: a merge never
    hides a PC under another class), a signal at twice the period on one of its transits (a
    sector that saw every other transit, the rest in a gap) or a single event on one (a
    star's sectors searched alone find one eclipse each of what their joined light curve
    finds periodic)."""
    ratio = row["period"] / lead["period"] if row["kind"] == "periodic" else math.nan
    if abs(ratio - 1) <= PERIOD_TOLERANCE:
        return True
    alike = row["disposition"] == lead["disposition"] and _on_a_transit_of(row, lead)
    return bool(alike and (row["kind"] != "periodic" or abs(ratio / 2 - 1) <= PERIOD_TOLERANCE))


def _on_a_transit_of(event: pd.Series, lead: pd.Series) -> bool:
    """Whether ``event``'s box overlaps one of ``lead``'s observed transits (its ephemeris
    when they are not listed; ``lead`` itself, a single event)."""
    times = np.asarray(lead.get("transit_times", ()), dtype=float).reshape(-1)
    if not len(times) or len(times) != lead["n_transits"]:
        times = event["epoch"] - transit_offset(event["epoch"], lead["period"], lead["epoch"])
    offset = np.min(np.abs(np.atleast_1d(times) - event["epoch"]))
    return bool(offset < 0.5 * (event["duration"] + lead["duration"]))


def _merge_sectors(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per sector group: its leader (its strongest periodic signal, else its
    strongest signal), with the group's sectors and keys, transits (summed over sectors, or
    the joined sectors' count if more) and best score."""
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
    leaders = frame[frame["group"] == frame.index].set_index("group")  # each leads its own
    leaders[merged.columns] = merged
    return leaders.reset_index(drop=True)


def _joined_paths(paths: pd.Series) -> str:
    """The detection paths of merged signals, each once, in the order of DETECTION_PATHS."""
    names = {name for value in paths.dropna() for name in str(value).split("+")}
    return "+".join(name for name in DETECTION_PATHS if name in names)


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


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    rank = frame["disposition"].map({d: i for i, d in enumerate(DISPOSITIONS)})
    order = frame.assign(_rank=rank.fillna(len(DISPOSITIONS)), _snr=-frame["snr"])
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


def light_curve_keys(candidates: pd.DataFrame) -> pd.Series:
    """The light-curve key of each signal of the candidates (their ``keys`` split)."""
    signals = candidates["keys"].astype(str).str.split(";").explode().dropna()
    return signals[signals != ""].str.rsplit("-", n=1).str[0]
