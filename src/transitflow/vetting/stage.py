"""The vetting stage: every signal of a shard vetted, with a sheet for the dispositions
asked for."""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from types import MappingProxyType

import pandas as pd
from tqdm import tqdm

from transitflow.isolation import attempt, each_light_curve, failure_table
from transitflow.lightcurve import LightCurve
from transitflow.provenance import make_provenance
from transitflow.searching import SearchConfig, Spectrum, detrend_for_search
from transitflow.searching.stage import read_spectra
from transitflow.shards import iter_shard
from transitflow.sheets import draw_sheets
from transitflow.signals import Signal
from transitflow.tables import read_table, read_tables, write_json, write_table
from transitflow.vetting.config import VetConfig
from transitflow.vetting import skye
from transitflow.vetting.vetter import others_masked, others_of, vet_light_curve
from transitflow.vetting.skye import CrowdedEpochs, mark_crowded

log = logging.getLogger("transitflow")


def run_crowded_epochs(signals: Sequence[str | Path], options: Mapping,
                       out: str | Path) -> CrowdedEpochs:
    """The sector's epochs crowded with many stars' events (:func:`skye.crowded_epochs`), from
    every shard's search table in ``signals``; written to ``out`` as JSON. ``options`` is
    the config's ``vet`` section."""
    config = VetConfig.from_dict(options)
    epochs = skye.crowded_epochs(read_tables(signals), config.crowded_false_alarm)
    write_json(epochs.to_dict(), out, make_provenance("crowded_epochs", options, signals))
    log.info("%d crowded windows", len(epochs.windows))
    return epochs


def vet_and_draw(lc: LightCurve, signals: Sequence[Signal], search: SearchConfig,
                 config: VetConfig, sheets_dir: Path, sheets_for: Collection[str],
                 spectrum: Spectrum | None,
                 network: Mapping = MappingProxyType({})) -> tuple[list[dict], tuple | None]:
    """The vetting rows of a light curve's signals, and a sheet in ``sheets_dir`` for each
    whose disposition is in ``sheets_for``, drawn as it was vetted (the other signals'
    events masked), with the search's ``spectrum`` (None: none) and the ``network``'s word
    on the light curve (:func:`network_of`; the sheets' only); a sheet that fails keeps the
    vetting and becomes the returned failure row (:func:`~transitflow.isolation.attempt`)."""
    detrended = detrend_for_search(lc, search)
    rows = vet_light_curve(lc, signals, config, detrended)
    drawn = [(signal, row | dict(network)) for signal, row in zip(signals, rows)
             if row["disposition"] in sheets_for]
    if not drawn:
        return rows, None

    def draw(lc: LightCurve) -> None:
        views = [others_masked(lc, signal, others_of(signal, signals), config, detrended)
                 for signal, _ in drawn]
        draw_sheets(drawn, views, spectrum, sheets_dir)

    return rows, attempt(lc, draw, "sheets")[1]


def vet_shard(shard: str | Path, signals: str | Path, spectra: str | Path,
              crowded_epochs: str | Path, scores: str | Path, options: Mapping,
              out: str | Path, failed: str | Path, sheets_dir: str | Path,
              sheets_for: Collection[str]) -> pd.DataFrame:
    """Vet the signals (a search's table) of the light curves of ``shard``, their cadences
    in the sector's crowded epochs marked; write the vetting rows to ``out``, the light
    curves and sheets that failed to ``failed``, the sheets of the dispositions in
    ``sheets_for`` to ``sheets_dir``, with the search's ``spectra`` and the flag stage's
    ``scores``; return the rows.
    ``options`` is the config's ``vet`` section with its ``search`` section inside (and the
    ``report`` section, which holds ``sheets_for`` and is recorded in the provenance)."""
    sections = dict(options)
    search = SearchConfig.from_dict(sections.pop("search", {}))
    sections.pop("report", None)
    config = VetConfig.from_dict(sections)
    by_light_curve = signals_by_light_curve(read_table(signals))
    spectrum_of = read_spectra(spectra)
    crowded = CrowdedEpochs.read(crowded_epochs)
    network = network_of(read_table(scores))
    Path(sheets_dir).mkdir(parents=True, exist_ok=True)
    sheet_failures = []

    def vet_one(lc: LightCurve) -> list[dict]:
        rows, failure = vet_and_draw(mark_crowded(lc, crowded), by_light_curve[lc.meta.key],
                                     search, config, Path(sheets_dir), set(sheets_for),
                                     spectrum_of.get(lc.meta.key),
                                     network.get(lc.meta.key, {}))
        sheet_failures.extend(filter(None, [failure]))
        return rows

    vetted, failures = each_light_curve(
        tqdm(iter_shard(shard, by_light_curve), total=len(by_light_curve), desc="vet",
             unit="lc"), vet_one, "vet")
    rows = pd.DataFrame([row for rows in vetted for row in rows])
    provenance = make_provenance("vet", options,
                                 [shard, signals, spectra, crowded_epochs, scores])
    write_table(rows, out, provenance)
    if sheet_failures:
        failures = pd.concat([failures, failure_table(sheet_failures)], ignore_index=True)
    write_table(failures, failed, provenance)
    log.info("%s: vetted %d signals, %d light curves failed", shard, len(rows), len(failures))
    return rows


def network_of(scores: pd.DataFrame) -> dict[str, dict]:
    """Light-curve key -> its network ``score``, ``network_flagged`` (the score passed the
    threshold) and ``detected_by``, from the flag stage's table
    (:func:`transitflow.detect.policy.select_for_search`)."""
    return {key: {"score": score, "network_flagged": bool(flag), "detected_by": paths}
            for key, score, flag, paths in zip(scores["key"], scores["score"],
                                               scores["network_flag"], scores["detected_by"])}


def signals_by_light_curve(table: pd.DataFrame) -> dict[str, list[Signal]]:
    """Light-curve key -> its signals, in table order."""
    signals: dict[str, list[Signal]] = {}
    for row in table.to_dict("records"):
        signal = Signal.from_row(row)
        signals.setdefault(signal.lightcurve_key, []).append(signal)
    return signals
