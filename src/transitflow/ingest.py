"""The data stage: light curves from the simulator, local files or MAST, into one shard.

Every input gets a ledger row: ``ok`` (for a pixel file, with the aperture used),
``quarantined`` (unreadable, with the reason; in a file of several light curves, a row per
unreadable one, with its key; or a star of another mission whose light-curve key an earlier
file's star has), ``duplicate`` (a light curve of the same TIC and sector was
read from an earlier file) or, for MAST, ``failed`` (the download failed,
with the reason). Stars read in several sectors (campaigns, quarters) get one more light
curve that joins them (:func:`with_stitched`, ledger status ``stitched``).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd
from tqdm import tqdm

from transitflow.lightcurve import LightCurve, lightcurve_key, stitch
from transitflow.mast import (PARAMETERS, AstroqueryClient, MastClient, MastConfig,
                             stellar_parameters, tic_cache)
from transitflow.pixels import APERTURE_PHOTOMETRY
from transitflow.readers import LightCurveReadError, PartlyRead, read_lightcurves
from transitflow.provenance import make_provenance
from transitflow.shards import META_FIELDS, write_shard
from transitflow.simulate import SimConfig, simulate_stars
from transitflow.tables import atomic_output, read_table, read_tables, write_table

log = logging.getLogger("transitflow")
LEDGER_COLUMNS = ("source", "key", "status", "reason")
#: Ledger states of inputs (or of a file's light curves) that gave no light curve.
LOST = ("quarantined", "failed")


@dataclass
class IngestResult:
    """What one data job produced: light curves, their per-light-curve table, the ledger
    and, for simulated data, the planted signals."""

    light_curves: list[LightCurve]
    stars: pd.DataFrame
    ledger: pd.DataFrame
    truth: pd.DataFrame


def star_table(light_curves: Sequence[LightCurve]) -> pd.DataFrame:
    """One row per light curve: its key, the star's catalogue name (``id``) and metadata."""
    rows = [{"key": lc.meta.key, "id": lc.meta.star_id, **lc.meta.to_dict(),
             "n_cadences": len(lc), "time_start": lc.time[0], "time_stop": lc.time[-1]}
            for lc in light_curves]
    return pd.DataFrame(rows, columns=["key", "id", *META_FIELDS, "n_cadences", "time_start",
                                       "time_stop"])


def ingest_sim(options: dict, start: int, stop: int) -> IngestResult:
    """Simulate stars ``[start, stop)`` of the configured sector."""
    batch = simulate_stars(SimConfig.from_dict(options), start, stop)
    stars = star_table(batch.light_curves)
    truth_columns = [c for c in batch.stars.columns if c not in stars.columns or c == "key"]
    stars = stars.merge(batch.stars[truth_columns], on="key", how="left", validate="one_to_one")
    ledger = pd.DataFrame({"source": stars["source_file"], "key": stars["key"], "status": "ok",
                           "reason": ""})
    return IngestResult(batch.light_curves, stars, ledger, batch.signals)


def ingest_local(paths: Sequence[str | Path]) -> IngestResult:
    """Read light-curve files; unreadable ones are quarantined with the reason, and so is
    the unreadable part of a file whose other light curves are kept."""
    light_curves: dict[str, LightCurve] = {}
    ledger = []
    for path in tqdm(sorted(map(str, paths)), desc="read light curves", unit="file"):
        try:
            found = read_lightcurves(path)
        except PartlyRead as error:
            ledger += [(path, key, "quarantined", str(problem)) for key, problem in error.problems]
            found = error.light_curves
        except LightCurveReadError as error:
            ledger.append((path, "", "quarantined", str(error)))
            continue
        for lc in found:
            first = light_curves.get(lc.meta.key)
            if first is not None:
                ledger.append(_repeat_row(path, lc, first))
                continue
            light_curves[lc.meta.key] = lc
            from_pixels = lc.meta.flux_column.startswith(APERTURE_PHOTOMETRY)
            ledger.append((path, lc.meta.key, "ok", lc.meta.flux_column if from_pixels else ""))
    stars = star_table(list(light_curves.values())).assign(label=None)
    return IngestResult(list(light_curves.values()), stars,
                        pd.DataFrame(ledger, columns=LEDGER_COLUMNS), pd.DataFrame())



def ingest_mast(downloads: pd.DataFrame, config: MastConfig, client: MastClient) -> IngestResult:
    """Read the light curves a MAST download job fetched (its ledger, ``downloads``) and
    give them the stellar parameters of the TIC (:func:`~transitflow.mast.tic_cache`, where
    the download job put them), falling back to their FITS headers, then to Gaia DR3 for
    the radius."""
    result = ingest_downloads(downloads)
    if not result.light_curves:
        return result
    parameters = stellar_parameters(result.stars["tic"], client, tic_cache(config),
                                    fits_headers=result.stars, retry=config.retry)
    return with_stellar_parameters(result, parameters)


def ingest_downloads(downloads: pd.DataFrame) -> IngestResult:
    """Read the files of a download ledger; one that failed to download gets a ``failed``
    ledger row with the reason."""
    fetched = downloads["status"] != "failed"
    result = ingest_local(downloads.loc[fetched, "path"])
    failed = downloads.loc[~fetched]
    rows = pd.DataFrame({"source": failed["path"],
                         "key": [lightcurve_key(tic, sector)
                                 for tic, sector in zip(failed["tic"], failed["sector"])],
                         "status": "failed", "reason": "download failed: " + failed["reason"]},
                        columns=LEDGER_COLUMNS)
    ledger = pd.concat([result.ledger, rows], ignore_index=True) if len(rows) else result.ledger
    return replace(result, ledger=ledger)


def with_stitched(result: IngestResult) -> IngestResult:
    """``result`` with one more light curve for each star read in two or more sectors
    (campaigns, quarters): all of them joined (:func:`~transitflow.lightcurve.stitch`), so
    that the search links transits across sectors, beside the per-sector light curves."""
    by_star: dict[tuple[str, int], list[LightCurve]] = {}
    for lc in result.light_curves:
        by_star.setdefault((lc.meta.mission, lc.meta.tic), []).append(lc)
    joined = [stitch(observations) for observations in by_star.values() if len(observations) > 1]
    if not joined:
        return result
    rows = pd.DataFrame([(lc.meta.source_file, lc.meta.key, "stitched",
                          f"sectors {_sectors(by_star[lc.meta.mission, lc.meta.tic])} "
                          f"of {lc.meta.mission} {lc.meta.tic} joined for one search")
                         for lc in joined], columns=LEDGER_COLUMNS)
    light_curves = [*result.light_curves, *joined]
    stars = pd.concat([result.stars, _star_rows(joined, result.stars)], ignore_index=True)
    return replace(result, light_curves=light_curves, stars=stars,
                   ledger=pd.concat([result.ledger, rows], ignore_index=True))


def _star_rows(joined: Sequence[LightCurve], stars: pd.DataFrame) -> pd.DataFrame:
    """Star-table rows of stitched light curves; columns beyond their metadata (label,
    radius source) copied from the star's first observation."""
    rows = star_table(joined)
    first = stars.drop_duplicates("tic").set_index("tic")
    for column in stars.columns.difference(rows.columns):
        rows[column] = first.loc[rows["tic"], column].to_numpy()
    return rows


def _sectors(observations: Sequence[LightCurve]) -> str:
    return ",".join(str(sector) for sector in sorted(lc.meta.sector for lc in observations))


def with_stellar_parameters(result: IngestResult, parameters: pd.DataFrame) -> IngestResult:
    """``result`` with the known values of :data:`~transitflow.mast.PARAMETERS` (one row
    per TIC in ``parameters``) in each light curve's metadata, and the star table's
    ``radius_source`` saying where the radius came from."""
    by_tic = parameters.set_index("tic")
    light_curves = []
    for lc in result.light_curves:
        known = by_tic.loc[lc.meta.tic, list(PARAMETERS)].dropna().to_dict()
        light_curves.append(replace(lc, meta=replace(lc.meta, **known)))
    stars = star_table(light_curves).assign(label=None)
    stars["radius_source"] = by_tic.loc[stars["tic"], "radius_source"].to_numpy()
    return replace(result, light_curves=light_curves, stars=stars)


def run_ingest(source: str, options: dict, inputs: Sequence[str], start: int, stop: int,
               stitch_sectors: bool, shard: str | Path, stars: str | Path, ledger: str | Path,
               truth: str | Path) -> IngestResult:
    """The data stage of one job: simulate stars ``[start, stop)`` (``source`` "sim"), read
    the files ``inputs`` ("local") or the files of the download ledger ``inputs[0]``
    ("mast"), with a light curve joining each star's sectors when ``stitch_sectors``; write
    the light curves to the shard ``shard`` and the star table, the ledger and the truth
    table to ``stars``, ``ledger`` and ``truth``; return what was written. ``options`` is
    the config's section of the source (``sim`` or ``mast``)."""
    result = _ingest_source(source, options, inputs, start, stop, stitch_sectors)
    provenance = make_provenance("ingest", {"source": source, **options, **(
        {"stars": [start, stop]} if source == "sim" else {"stitch_sectors": stitch_sectors})},
                                 inputs)
    write_shard(shard, result.light_curves, provenance)
    write_table(result.stars, stars, provenance)
    write_table(result.ledger, ledger, provenance)
    write_table(result.truth, truth, provenance)
    bad = result.ledger[~result.ledger.status.isin(["ok", "stitched"])]
    for row in bad.itertuples():
        log.warning("%s: %s", row.status, row.reason)
    log.info("%s: %d light curves, %d inputs not used", shard, len(result.light_curves),
             len(bad))
    return result


def _ingest_source(source: str, options: dict, inputs: Sequence[str], start: int, stop: int,
                   stitch_sectors: bool) -> IngestResult:
    """The light curves of one data job, from the simulator, files or MAST downloads."""
    if source == "sim":
        return ingest_sim(options, start, stop)
    if source == "local":
        result = ingest_local(inputs)
    else:
        config = MastConfig.from_dict(options)
        with AstroqueryClient.from_config(config) as client:
            result = ingest_mast(read_table(inputs[0]), config, client)
    return with_stitched(result) if stitch_sectors else result


def collect(stars: Sequence[str], ledgers: Sequence[str], truths: Sequence[str],
            out_stars: str, out_ledger: str, out_truth: str, out_quarantine: str) -> pd.DataFrame:
    """The collect stage: the data jobs' star tables, ledgers and truth tables merged, and
    the inputs that gave no light curve listed in the CSV ``out_quarantine``; returns the
    ledger. A light curve read in two shards is an error that says how to fix it."""
    provenance = make_provenance("collect", {}, [*stars, *ledgers, *truths])
    merged_stars, ledger = read_tables(stars), read_tables(ledgers)
    _refuse_repeated_keys(merged_stars)
    write_table(merged_stars, out_stars, provenance)
    write_table(ledger, out_ledger, provenance)
    write_table(read_tables(truths), out_truth, provenance)
    lost = ledger[ledger.status.isin(LOST)] if not ledger.empty else ledger
    with atomic_output(out_quarantine) as partial:
        lost.to_csv(partial, index=False)
    log.info("%d light curves; %d inputs quarantined or failed (listed in %s)",
             len(merged_stars), len(lost), out_quarantine)
    return ledger


def _repeat_row(path: str, lc: LightCurve, first: LightCurve) -> tuple[str, str, str, str]:
    """The ledger row of a light curve whose key an earlier one has: a duplicate of it, or
    a star of another mission with the same number (keys do not name the mission)."""
    key = lc.meta.key
    if lc.meta.mission == first.meta.mission:
        return path, key, "duplicate", f"{key} already read from {first.meta.source_file}"
    return path, key, "quarantined", (
        f"{path}: {lc.meta.star_id} has the light-curve key {key} of {first.meta.star_id}, "
        f"read from {first.meta.source_file} (keys do not name the mission); read the "
        f"{lc.meta.mission} files in a run of their own")


def _refuse_repeated_keys(stars: pd.DataFrame) -> None:
    """A light curve (TIC and sector) read from two files of different shards would be
    searched twice; a shard keeps only the first of its own repeats (ledger: duplicate)."""
    repeated = stars[stars["key"].duplicated(keep=False)] if not stars.empty else stars
    missions = repeated.groupby("key", sort=True)["mission"].unique()
    mixed = missions[missions.map(len) > 1]
    if len(mixed):
        raise ValueError(f"stars of different missions ({', '.join(mixed.iloc[0])}) share the "
                         f"light-curve key {mixed.index[0]} (keys do not name the mission); "
                         "read each mission's files in a run of its own")
    if not repeated.empty:
        files = repeated.groupby("key", sort=True)["source_file"].apply(list)
        raise ValueError(f"{len(repeated)} light curves share a TIC and sector with another in "
                         f"a different shard, e.g. {files.index[0]} in "
                         f"{' and '.join(files.iloc[0])}; keep one of each (narrow local_glob) "
                         "and rerun (a key ending -s9999 joins a star's sectors: name its files "
                         "by its ID, so that one shard reads them all)")
