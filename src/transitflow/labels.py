"""Training labels (planet, eb, non_transit) from the TOI table, TESS-EBs and Yu et al. 2019.

As in Salinas et al. (2025): each catalog is read into one normalised *entry* table (one row
per catalogued signal, see :data:`ENTRY_COLUMNS`); each entry falls under one rule of
:data:`RULES`, whose order is the precedence; a light curve (or, without light curves, a TIC)
takes the label of its highest-ranked entry whose predicted events fall in the data.
Disagreements between the entries of one light curve are counted as conflicts by kind.
``docs/labels.md`` states the rules.
"""

from __future__ import annotations

import logging
import re
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from astropy.table import Table
from astropy.units import UnitsWarning
from numpy.typing import ArrayLike

from transitflow.lightcurve import BTJD_ZERO, LightCurve
from transitflow.options import options_from_dict, reject_invalid
from transitflow.provenance import make_provenance
from transitflow.shards import iter_shard
from transitflow.signals import TRAINING_LABELS
from transitflow.tables import read_table, write_json, write_table

log = logging.getLogger("transitflow")
SOURCES = ("toi", "tess_ebs", "yu2019")
#: Entry rules, highest precedence first, and the label each gives.
RULES = {
    "confirmed_planet": "planet",  # TOI, TFOPWG CP or KP
    "eb_catalog": "eb",  # TESS EB catalog (Prsa et al. 2022)
    "toi_fp_eb": "eb",  # TOI, TFOPWG FP or FA, comment names an EB
    "yu_eb": "eb",  # Yu et al. 2019 EB
    "planet_candidate": "planet",  # TOI, TFOPWG PC (only with include_pc)
    "toi_fp_other": "non_transit",  # TOI, TFOPWG FP or FA, comment names no EB
    "yu_non_transit": "non_transit",  # Yu et al. 2019 IS, V, J
}
RANKS = {rule: rank for rank, rule in enumerate(RULES)}
CONFLICT_KINDS = ("eb_catalog_lists_planet", "planet_over_eb", "planet_over_non_transit",
                  "eb_over_non_transit", "eb_period_alias")
#: Period ratios (EB catalog / planet) at which an EB catalog entry is the planet itself.
PLANET_ALIAS_RATIOS = (0.5, 1.0, 2.0)
ENTRY_DROP_REASONS = ("unused_disposition", "no_epoch")
LIGHT_CURVE_DROP_REASONS = ("no_catalog_entry", "no_events_in_data")
#: A comment naming an eclipsing binary: EB, NEB, BEB, SEB1/2, EBLM, "eclipsing binary".
EB_COMMENT = re.compile(r"\b(?:[NBS]?EB\d?|EBLM)\b|eclipsing binary", re.IGNORECASE)

#: The normalised entry table every reader returns: column -> dtype.
ENTRY_DTYPES = {"tic": "int64", "entry": object, "period": "float64", "epoch": "float64",
                "duration": "float64", "depth": "float64", "source": object,
                "source_label": object, "sector": "Int64", "comments": object}
ENTRY_COLUMNS = tuple(ENTRY_DTYPES)
COVERAGE_COLUMNS = ("key", "tic", "sector", "time_start", "time_stop")
LABEL_COLUMNS = ("key", "tic", "sector", "label", "period", "epoch", "duration", "depth",
                 "n_events", "source", "source_label", "entry", "sources", "conflicts")
TOI_COLUMNS = ("TIC ID", "TOI", "TFOPWG Disposition", "Period (days)", "Epoch (BJD)",
               "Duration (hours)", "Depth (ppm)", "Comments")
TESS_EBS_COLUMNS = ("TIC", "m_TIC", "BJD0", "Per", "Wp-pf", "Wp-2g", "Dp-pf", "Dp-2g",
                    "Phip-pf", "Phip-2g", "Phis-pf", "Phis-2g")
YU2019_COLUMNS = ("row_id", "tic_id", "Disposition", "Epoc", "Period", "Duration",
                  "Transit_Depth", "Sectors")


class CatalogFormatError(ValueError):
    """A catalog file that is not the expected format; ``str()`` is one line naming it."""

    def __init__(self, path: str | Path, problem: str) -> None:
        super().__init__(" ".join(f"{path}: {problem}".split()))


@dataclass(frozen=True)
class LabelConfig:
    """Label options and catalog paths (the ``labels`` config section).

    include_pc : TOI PCs are planets (ranked below every EB rule).
    min_events : predicted events a light curve must cover to keep an entry.
    period_tolerance : relative tolerance of period ratios (conflict kinds).
    coverage_gap_days : gaps longer than this split a light curve's time coverage.
    toi_table, tess_ebs, yu2019 : catalog paths; "" leaves the catalog out.
    tess_ebs_readme : the CDS ReadMe of ``tess_ebs``; "" is ``ReadMe`` beside it.
    """

    include_pc: bool = False
    min_events: int = 1
    period_tolerance: float = 0.01
    coverage_gap_days: float = 0.5
    toi_table: str = ""
    tess_ebs: str = ""
    tess_ebs_readme: str = ""
    yu2019: str = ""

    def __post_init__(self) -> None:
        problems = [
            (self.min_events < 1, "min_events must be at least 1"),
            (not 0 < self.period_tolerance < 0.25, "period_tolerance must be in (0, 0.25)"),
            (self.coverage_gap_days <= 0, "coverage_gap_days must be positive"),
        ]
        reject_invalid("labels", problems)

    @classmethod
    def from_dict(cls, options: Mapping) -> LabelConfig:
        """The options from a config section; an unknown key is an error naming it."""
        return options_from_dict(cls, options, "labels")


@dataclass(frozen=True)
class LabelResult:
    """The label table (:data:`LABEL_COLUMNS`) and the label report (see docs/labels.md)."""

    labels: pd.DataFrame
    report: dict


def read_toi_table(path: str | Path) -> pd.DataFrame:
    """Entries of an ExoFOP TOI table (CSV); epochs BJD -> BTJD, hours -> days, ppm -> fraction.

    ``source_label`` is the TFOPWG disposition; entries are in TOI order.
    """
    table = _read_csv(path, TOI_COLUMNS)
    table = table.assign(TOI=_numbers(table["TOI"])).sort_values("TOI", kind="stable")
    period = _numbers(table["Period (days)"])
    return _entries(
        path, table["TIC ID"], entry=table["TOI"].map("TOI-{:.2f}".format),
        period=period.where(period > 0), epoch=_numbers(table["Epoch (BJD)"]) - BTJD_ZERO,
        duration=_numbers(table["Duration (hours)"]) / 24.0,
        depth=_numbers(table["Depth (ppm)"]) * 1e-6, source="toi",
        source_label=table["TFOPWG Disposition"], comments=table["Comments"])


def read_tess_ebs(dat_path: str | Path, readme_path: str | Path | None = None) -> pd.DataFrame:
    """Entries of the TESS EB catalog (Prsa et al. 2022, VizieR J/ApJS/258/16).

    BJD0 is already BTJD. Duration is the primary eclipse width (polychain fit, else
    2-Gaussian; phase units) times the period; depth the primary depth of the same fits.
    """
    return _tess_eb_entries(dat_path, _tess_ebs_table(dat_path, readme_path))


def read_eb_ephemerides(dat_path: str | Path,
                        readme_path: str | Path | None = None) -> pd.DataFrame:
    """The TESS EB catalog's entries (:func:`read_tess_ebs`) with ``primary_phase`` and
    ``secondary_phase``, where the eclipses lie in phase from BJD0 (0-1; polychain fit,
    else 2-Gaussian; the primary at 0 and the secondary NaN where neither fitted it)."""
    table = _tess_ebs_table(dat_path, readme_path)

    def phase(eclipse: str) -> pd.Series:
        fits = _numbers(table[f"Phi{eclipse}-pf"]).fillna(_numbers(table[f"Phi{eclipse}-2g"]))
        return fits % 1.0

    return _tess_eb_entries(dat_path, table).assign(
        primary_phase=phase("p").fillna(0.0), secondary_phase=phase("s"))


def tess_ebs_readme(dat_path: str | Path, readme_path: str | Path | None) -> Path:
    """The CDS ReadMe of the TESS EB catalog: ``readme_path``, else the one beside it."""
    return Path(dat_path).with_name("ReadMe") if not readme_path else Path(readme_path)


def _tess_ebs_table(dat_path: str | Path, readme_path: str | Path | None) -> pd.DataFrame:
    """The TESS EB catalog as read through its CDS ReadMe (by default the one beside it)."""
    readme = tess_ebs_readme(dat_path, readme_path)
    if not readme.is_file():
        raise CatalogFormatError(dat_path, f"no CDS ReadMe at {readme}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UnitsWarning)  # the "datime" unit of the dates
            table = Table.read(dat_path, readme=str(readme), format="ascii.cds").to_pandas()
    except (OSError, ValueError, KeyError, IndexError) as error:
        raise CatalogFormatError(dat_path, f"not a CDS table described by {readme} "
                                           f"({error})") from error
    return _checked(dat_path, table, TESS_EBS_COLUMNS)


def _tess_eb_entries(dat_path: str | Path, table: pd.DataFrame) -> pd.DataFrame:
    """The normalised entries of the TESS EB catalog's table."""
    period = _numbers(table["Per"])
    return _entries(
        dat_path, table["TIC"],
        entry="TIC " + table["TIC"].astype(str) + " EB " + table["m_TIC"].astype(str),
        period=period, epoch=_numbers(table["BJD0"]),
        duration=_numbers(table["Wp-pf"]).fillna(_numbers(table["Wp-2g"])) * period,
        depth=_numbers(table["Dp-pf"]).fillna(_numbers(table["Dp-2g"])), source="tess_ebs",
        source_label="EB")


def read_yu2019(path: str | Path) -> pd.DataFrame:
    """Entries of the Astronet-Triage TCE labels (Yu et al. 2019; CSV), one TCE per sector.

    Epochs are BTJD already; duration hours -> days, depth ppm -> fraction; ``source_label``
    is the hand label (PC, EB, V, IS, J, O).
    """
    table = _read_csv(path, YU2019_COLUMNS)
    return _entries(
        path, table["tic_id"], entry="Yu2019 row " + table["row_id"].astype(str),
        period=_numbers(table["Period"]), epoch=_numbers(table["Epoc"]),
        duration=_numbers(table["Duration"]) / 24.0,
        depth=_numbers(table["Transit_Depth"]) * 1e-6, source="yu2019",
        source_label=table["Disposition"], sector=_numbers(table["Sectors"]))


def read_catalogs(config: LabelConfig) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The TOI, TESS-EBs and Yu et al. 2019 entries from the config's paths ("" -> empty)."""
    empty = pd.DataFrame({name: pd.Series(dtype=dtype) for name, dtype in ENTRY_DTYPES.items()})
    return (read_toi_table(config.toi_table) if config.toi_table else empty,
            read_tess_ebs(config.tess_ebs, config.tess_ebs_readme or None)
            if config.tess_ebs else empty,
            read_yu2019(config.yu2019) if config.yu2019 else empty)


def coverage_segments(time: np.ndarray, gap_days: float) -> list[tuple[float, float]]:
    """``(start, stop)`` of each run of finite times without a gap longer than ``gap_days``."""
    time = np.sort(time[np.isfinite(time)])
    if len(time) == 0:
        return []
    breaks = np.flatnonzero(np.diff(time) > gap_days)
    starts, stops = time[np.r_[0, breaks + 1]], time[np.r_[breaks, len(time) - 1]]
    return list(zip(starts.tolist(), stops.tolist(), strict=True))


def coverage_table(light_curves: Iterable[LightCurve], gap_days: float = 0.5) -> pd.DataFrame:
    """The time coverage :func:`build_labels` takes: one row per segment of good cadences.

    Columns :data:`COVERAGE_COLUMNS`; a mid-sector gap gives a light curve two rows. Light
    curves joining a star's sectors get no row: a label is a sector's, and the network
    trains on sectors.
    """
    rows = [(lc.meta.key, lc.meta.tic, lc.meta.sector, start, stop)
            for lc in light_curves if not lc.meta.stitched
            for start, stop in coverage_segments(lc.good().time, gap_days)]
    return pd.DataFrame(rows, columns=list(COVERAGE_COLUMNS))


def count_events(period: ArrayLike, epoch: ArrayLike, start: ArrayLike,
                 stop: ArrayLike) -> np.ndarray:
    """Predicted mid-event times ``epoch + n * period`` within ``[start, stop]`` (arrays).

    Without a period (NaN or <= 0) the only event is at ``epoch``.
    """
    period, epoch, start, stop = (np.asarray(a, dtype=float) for a in (period, epoch, start, stop))
    periodic = np.isfinite(period) & (period > 0)
    step = np.where(periodic, period, 1.0)
    count = np.floor((stop - epoch) / step) - np.ceil((start - epoch) / step) + 1
    single = (start <= epoch) & (epoch <= stop)
    return np.where(periodic, np.clip(count, 0, None), single).astype(int)


def entry_rules(entries: pd.DataFrame, include_pc: bool = False) -> pd.Series:
    """The rule (a key of :data:`RULES`) each entry falls under; "" for none."""
    source, label = entries["source"], entries["source_label"].str.upper()
    toi, yu = source == "toi", source == "yu2019"
    toi_fp = toi & label.isin(("FP", "FA"))
    names_eb = entries["comments"].str.contains(EB_COMMENT)
    conditions = {
        "confirmed_planet": toi & label.isin(("CP", "KP")),
        "eb_catalog": source == "tess_ebs",
        "toi_fp_eb": toi_fp & names_eb,
        "yu_eb": yu & (label == "EB"),
        "planet_candidate": toi & (label == "PC") & include_pc,
        "toi_fp_other": toi_fp & ~names_eb,
        "yu_non_transit": yu & label.isin(("IS", "V", "J")),
    }
    chosen = np.select([conditions[rule].to_numpy(bool) for rule in RULES], list(RULES), "")
    return pd.Series(chosen, index=entries.index, dtype=str)


def run_labels(stars: str | Path, shards: Sequence[str | Path], options: Mapping,
               out: str | Path, report: str | Path) -> LabelResult:
    """The labels stage: label the light curves of the star table ``stars`` (their data in
    ``shards``) by :func:`training_labels`; write the label table to ``out`` and the label
    report to ``report`` (JSON); return both. ``options`` is the config's ``labels``
    section, which names the catalogs."""
    config = LabelConfig.from_dict(options)
    light_curves = (lc for shard in shards for lc in iter_shard(shard))
    result = training_labels(read_table(stars), light_curves, config)
    readme = config.tess_ebs and str(tess_ebs_readme(config.tess_ebs, config.tess_ebs_readme))
    catalogs = [path for path in (config.toi_table, config.tess_ebs, readme, config.yu2019)
                if path]
    provenance = make_provenance("labels", options, [stars, *shards, *catalogs])
    write_table(result.labels, out, provenance)
    write_json(result.report, report, provenance)
    log.info("%d labelled light curves: %s", len(result.labels),
             result.labels["label"].value_counts().to_dict() if len(result.labels) else {})
    return result


def training_labels(stars: pd.DataFrame, light_curves: Iterable[LightCurve],
                    config: LabelConfig) -> LabelResult:
    """The labels stage: a simulation's truth when ``stars`` carry labels (their ``label``
    column), else the catalogs' (:func:`build_labels`) over the light curves' coverage."""
    if stars["label"].notna().any():
        labels = stars.loc[stars["label"].notna(), ["key", "tic", "sector", "label"]]
        return LabelResult(labels.reset_index(drop=True), {
            "source": "simulation truth",
            "per_class": labels["label"].value_counts().sort_index().to_dict()})
    return build_labels(*read_catalogs(config),
                        coverage_table(light_curves, config.coverage_gap_days), config)


def build_labels(tois: pd.DataFrame, ebs: pd.DataFrame, yu: pd.DataFrame,
                 light_curves: pd.DataFrame | None = None,
                 config: LabelConfig = LabelConfig()) -> LabelResult:
    """Label light curves (or, with ``light_curves=None``, TICs) from the catalog entries.

    Parameters
    ----------
    tois, ebs, yu
        Entry tables from :func:`read_toi_table`, :func:`read_tess_ebs`, :func:`read_yu2019`.
    light_curves
        Time coverage, one row per contiguous segment (:func:`coverage_table`): ``key``,
        ``tic``, ``sector``, ``time_start``, ``time_stop`` (BTJD). None labels each TIC
        from the catalogs alone (``key`` "", ``sector`` and ``n_events`` missing).
    config
        Label options.

    Returns
    -------
    LabelResult
        One row per labelled light curve (or TIC) and the report.
    """
    entries = pd.concat([tois, ebs, yu], ignore_index=True)[list(ENTRY_COLUMNS)]
    rules = entry_rules(entries, config.include_pc)
    reasons = pd.Series(np.select([rules == "", entries["epoch"].isna()], ENTRY_DROP_REASONS,
                                  ""), index=entries.index)
    used = entries[reasons == ""].assign(entry_id=lambda f: f.index, rule=rules,
                                         rank=rules.map(RANKS), label=rules.map(RULES))
    if light_curves is None:
        candidates = used.assign(group=used["tic"], key="", sector=pd.NA, n_events=np.nan)
        light_curve_report = None
    else:
        candidates, light_curve_report = _events_in_data(used, light_curves, config.min_events)
    labels = _resolve(candidates, config.period_tolerance)
    entry_report = {"read": _counts(entries["source"], SOURCES), "used": len(used),
                    "dropped": _counts(reasons, ENTRY_DROP_REASONS)}
    return LabelResult(labels, _report(labels, entry_report, light_curve_report))


def _read_csv(path: str | Path, columns: tuple[str, ...]) -> pd.DataFrame:
    try:
        table = pd.read_csv(path, low_memory=False)
    except (OSError, ValueError) as error:
        raise CatalogFormatError(path, f"not a readable CSV table ({error})") from error
    return _checked(path, table, columns)


def _checked(path: str | Path, table: pd.DataFrame, columns: tuple[str, ...]) -> pd.DataFrame:
    missing = [name for name in columns if name not in table.columns]
    if missing:
        raise CatalogFormatError(path, f"missing column {missing[0]!r}; not the expected "
                                       f"catalog (needs {', '.join(columns)})")
    return table


def _numbers(values: pd.Series) -> pd.Series:
    return pd.to_numeric(values, errors="coerce").astype(float)


def _entries(path: str | Path, tic: pd.Series, *, entry, period, epoch, duration, depth,
             source: str, source_label, sector=np.nan, comments="") -> pd.DataFrame:
    """The normalised entry table (:data:`ENTRY_COLUMNS`); a non-integer TIC is an error."""
    tic_numbers = _numbers(tic)
    if not (np.isfinite(tic_numbers) & (tic_numbers % 1 == 0)).all():
        raise CatalogFormatError(path, f"TIC column {tic.name!r} has non-integer values")
    frame = pd.DataFrame({"tic": tic_numbers, "entry": entry, "period": period,
                          "epoch": epoch, "duration": duration, "depth": depth,
                          "source": source, "source_label": source_label, "sector": sector,
                          "comments": comments})
    frame["source_label"] = frame["source_label"].fillna("").astype(str).str.strip()
    frame["comments"] = frame["comments"].fillna("").astype(str)
    return frame.astype(ENTRY_DTYPES)


def _events_in_data(used: pd.DataFrame, coverage: pd.DataFrame,
                    min_events: int) -> tuple[pd.DataFrame, dict]:
    """(entry, light curve) pairs with at least ``min_events`` events in the coverage.

    An entry with a catalog sector applies only to that sector's light curve.
    """
    missing = [name for name in COVERAGE_COLUMNS if name not in coverage.columns]
    if missing:
        raise ValueError(f"light-curve coverage: missing column {missing[0]!r}; "
                         f"needs {', '.join(COVERAGE_COLUMNS)}")
    pairs = used.merge(coverage[list(COVERAGE_COLUMNS)], on="tic", suffixes=("_catalog", ""))
    catalog_sector = pairs["sector_catalog"].astype(float)
    pairs = pairs[catalog_sector.isna() | (catalog_sector == pairs["sector"])]
    pairs = pairs.assign(n_events=count_events(pairs["period"], pairs["epoch"],
                                               pairs["time_start"], pairs["time_stop"]))
    pairs = pairs.assign(n_events=pairs.groupby(["entry_id", "key"])["n_events"].transform("sum"))
    pairs = pairs.drop_duplicates(["entry_id", "key"]).drop(columns="sector_catalog")
    kept = pairs[pairs["n_events"] >= min_events].assign(group=lambda f: f["key"])
    keys = set(coverage["key"])
    with_entry, labelled = set(pairs["key"]), set(kept["key"])
    report = {"given": len(keys), "labelled": len(labelled),
              "dropped": dict(zip(LIGHT_CURVE_DROP_REASONS,
                                  (len(keys - with_entry), len(with_entry - labelled)),
                                  strict=True))}
    return kept, report


def _resolve(candidates: pd.DataFrame, tolerance: float) -> pd.DataFrame:
    """One row per group: the highest-ranked candidate, its agreeing sources, the conflicts."""
    ordered = candidates.sort_values(["group", "rank", "entry_id"])
    winners = ordered.drop_duplicates("group").set_index("group")
    ordered = ordered.assign(winner_label=ordered["group"].map(winners["label"]))
    agreeing = ordered[ordered["label"] == ordered["winner_label"]]
    agreeing = agreeing.assign(order=agreeing["source"].map(SOURCES.index))
    sources = (agreeing.sort_values(["group", "order"]).drop_duplicates(["group", "source"])
               .groupby("group")["source"].agg(",".join))
    labels = winners.assign(sources=sources, conflicts=_conflicts(ordered, tolerance))
    labels["conflicts"] = labels["conflicts"].fillna("")
    return (labels.reset_index(drop=True)[list(LABEL_COLUMNS)]
            .astype({"tic": "int64", "sector": "Int64", "n_events": "Int64"}))


def _conflicts(ordered: pd.DataFrame, tolerance: float) -> pd.Series:
    """";"-joined conflict kinds (:data:`CONFLICT_KINDS`) per group that has any."""
    losers = ordered.loc[ordered["label"] != ordered["winner_label"],
                         ["group", "winner_label", "label"]].drop_duplicates()
    kinds = losers["winner_label"].astype(str) + "_over_" + losers["label"].astype(str)
    listed = _groups_with_period_ratio(ordered[ordered["rule"] == "eb_catalog"],
                                       ordered[ordered["rule"] == "confirmed_planet"],
                                       PLANET_ALIAS_RATIOS, tolerance)
    kinds = kinds.mask((kinds == "planet_over_eb") & losers["group"].isin(listed),
                       "eb_catalog_lists_planet")
    ebs = ordered[(ordered["label"] == "eb") & (ordered["winner_label"] == "eb")]
    aliased = _groups_with_period_ratio(ebs, ebs, (2.0,), tolerance)
    found = pd.concat([pd.DataFrame({"group": losers["group"], "kind": kinds}),
                       pd.DataFrame({"group": aliased, "kind": "eb_period_alias"})])
    return found.groupby("group")["kind"].agg(";".join)


def _groups_with_period_ratio(left: pd.DataFrame, right: pd.DataFrame,
                              ratios: tuple[float, ...], tolerance: float) -> np.ndarray:
    """Groups where a left entry's period is ``ratio`` times a right entry's, for any ratio."""
    pairs = left[["group", "entry_id", "period"]].merge(
        right[["group", "entry_id", "period"]], on="group", suffixes=("", "_right"))
    ratio = (pairs["period"] / pairs["period_right"]).to_numpy()
    near = np.abs(ratio[:, None] / np.asarray(ratios) - 1.0) <= tolerance
    return pairs.loc[near.any(axis=1) & (pairs["entry_id"] != pairs["entry_id_right"]).to_numpy(),
                     "group"].unique()


def _report(labels: pd.DataFrame, entries: dict, light_curves: dict | None) -> dict:
    """The label report: counts per class, winning source and conflict kind; the drops."""
    return {
        "n_labels": len(labels),
        "n_tics": int(labels["tic"].nunique()),
        "per_class": _counts(labels["label"], TRAINING_LABELS),
        "per_source": _counts(labels["source"], SOURCES),
        "conflicts": _counts(labels["conflicts"].str.split(";").explode(), CONFLICT_KINDS),
        "entries": entries,
        "light_curves": light_curves,
    }


def _counts(values: pd.Series, names: tuple[str, ...]) -> dict[str, int]:
    return {name: int((values == name).sum()) for name in names}
