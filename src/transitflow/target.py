"""A handful of light-curve files vetted without the workflow (``transitflow target``).

A target run reads the files as the data stage does (quarantining what cannot be read,
joining a star's sectors), scores them with a trained network when one is given, searches
every light curve in depth, vets every signal and draws a sheet for each.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from tqdm import tqdm

from transitflow.ingest import ingest_local, with_stitched
from transitflow.isolation import each_light_curve
from transitflow.lightcurve import LightCurve
from transitflow.provenance import make_provenance
from transitflow.searching import SearchConfig, search_with_spectrum
from transitflow.vetting.stage import vet_and_draw
from transitflow.signals import DISPOSITIONS, Signal
from transitflow.tables import write_table
from transitflow.vetting import VetConfig

log = logging.getLogger("transitflow")
#: The first columns of a target run's signal table; the vetting columns follow.
FRONT_COLUMNS = ("key", "id", "tic", "mission", "sector", "source_file", "score", "disposition",
                 "kind", "period", "epoch", "duration", "depth", "snr", "n_transits",
                 "radius_earth", "reasons")


@dataclass(frozen=True)
class TargetResult:
    """What a target run wrote: one row per signal, the file ledger, the failures."""

    signals: pd.DataFrame
    ledger: pd.DataFrame
    failures: pd.DataFrame


def run_target(paths: Sequence[str | Path], out_dir: str | Path, model: str | Path | None,
               options: Mapping) -> TargetResult:
    """``transitflow target``: :func:`vet_targets` of the files ``paths`` into ``out_dir``,
    scored with ``model`` when given, its counts and each file not read logged; an error
    when no file was read. ``options`` holds the config's ``search`` and ``vet`` sections;
    any other key is an error."""
    sections = dict(options)
    search = SearchConfig.from_dict(sections.pop("search", {}))
    config = VetConfig.from_dict(sections.pop("vet", {}))
    if sections:
        raise ValueError(f"target: unknown option {sorted(sections)[0]!r}; the options are "
                         "search and vet")
    folder = next((Path(path) for path in paths if Path(path).is_dir()), None)
    if folder is not None:
        raise ValueError(f"target: {folder} is a folder; pass its files, e.g. {folder}/*.fits")
    result = vet_targets(paths, out_dir, model, search, config)
    for reason in result.ledger.loc[result.ledger["status"] == "quarantined", "reason"]:
        log.warning("not read: %s", reason)
    read = int((result.ledger["status"] == "ok").sum())
    if not read:
        raise ValueError(f"target: no light curve could be read from the {len(paths)} "
                         f"file{'s' if len(paths) > 1 else ''} given (the reasons above, and "
                         f"in {Path(out_dir) / 'ledger.csv'})")
    log.info("%d light curves read from %d files, %d signals (%s) -> %s", read, len(paths),
             len(result.signals),
             ", ".join(f"{n} {name}" for name, n in
                       result.signals["disposition"].value_counts().items()) or "none",
             Path(out_dir) / "signals.csv")
    return result


def vet_targets(paths: Sequence[str | Path], out_dir: str | Path, model: str | Path | None = None,
                search: SearchConfig = SearchConfig(),
                config: VetConfig = VetConfig()) -> TargetResult:
    """Read, score (with ``model``), search and vet light-curve files; write into
    ``out_dir`` ``signals.csv`` and ``signals.parquet`` (:data:`FRONT_COLUMNS`, then every
    vetting column), ``ledger.csv`` (every file: read, joined or quarantined with the
    reason), ``failures.csv`` (a light curve or sheet that failed, with the reason),
    ``sheets/<signal key>.png`` and, with a model, the shard it scored
    (``lightcurves.arrow``)."""
    out_dir = Path(out_dir)
    sheets_dir = out_dir / "sheets"
    sheets_dir.mkdir(parents=True, exist_ok=True)
    data = with_stitched(ingest_local(paths))
    networks = _networks(data.light_curves, model, out_dir, search) \
        if model and data.light_curves else {}
    sheet_failures = []

    def work(lc: LightCurve) -> list[dict]:
        signals, spectrum = search_with_spectrum(lc, search)
        network = networks.get(lc.meta.key, {})
        rows, failure = vet_and_draw(lc, signals, search, config, sheets_dir, DISPOSITIONS,
                                     spectrum, network)
        sheet_failures.extend(filter(None, [failure]))
        return [row | {"id": lc.meta.star_id, "mission": lc.meta.mission,
                       "source_file": lc.meta.source_file,
                       "score": network.get("score", float("nan"))} for row in rows]

    vetted, failures = each_light_curve(
        tqdm(data.light_curves, desc="search and vet", unit="lc"), work, "target")
    failures = pd.concat([failures, pd.DataFrame(sheet_failures, columns=failures.columns)],
                         ignore_index=True)
    signals = _signal_table([row for rows in vetted for row in rows])
    provenance = make_provenance("target", {"search": search.__dict__, "vet": config.__dict__},
                                 [*map(str, paths), *([str(model)] if model else [])])
    write_table(signals, out_dir / "signals.parquet", provenance)
    signals.to_csv(out_dir / "signals.csv", index=False)
    data.ledger.to_csv(out_dir / "ledger.csv", index=False)
    failures.to_csv(out_dir / "failures.csv", index=False)
    return TargetResult(signals, data.ledger, failures)


def _networks(light_curves: list[LightCurve], model: str | Path, out_dir: Path,
              search: SearchConfig) -> dict[str, dict]:
    """Light-curve key -> the network's calibrated ``score``, scored through a shard as the
    workflow scores (the infer stage's code; a model's local views at the ephemerides of the
    batched search with the detect stage's default settings), and ``network_flagged``: whether it
    reaches the model card's threshold."""
    from transitflow.detect import DetectConfig, search_batch
    from transitflow.infer import load_model, reads_local_views, score_shard
    from transitflow.shards import write_shard

    shard = write_shard(out_dir / "lightcurves.arrow", light_curves,
                        make_provenance("target", {}, [str(model)]))
    detections = search_batch(light_curves, search, DetectConfig()).assign(copy="data") \
        if reads_local_views(model) else None
    scored = score_shard(model, shard, detections=detections)
    threshold = load_model(model)[1]["threshold"]
    return {key: {"score": score, "network_flagged": bool(score >= threshold)}
            for key, score in zip(scored["key"], scored["score"])}


def _signal_table(rows: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame(rows)
    if frame.empty:
        return pd.DataFrame(columns=list(FRONT_COLUMNS))
    frame["key"] = [Signal.from_row(row).key for row in rows]
    rest = [column for column in frame.columns if column not in FRONT_COLUMNS]
    return frame[[*FRONT_COLUMNS, *rest]]
