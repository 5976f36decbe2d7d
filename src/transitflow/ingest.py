"""The data stage: light curves from the simulator or from local files, into one shard.

Every input gets a ledger row: ``ok``, ``quarantined`` (unreadable, with the reason) or
``duplicate`` (a light curve of the same TIC and sector was read from an earlier file).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from tqdm import tqdm

from transitflow.lightcurve import LightCurve
from transitflow.readers import LightCurveReadError, read_lightcurves
from transitflow.shards import META_FIELDS
from transitflow.simulate import SimConfig, simulate_stars

LEDGER_COLUMNS = ("source", "key", "status", "reason")


@dataclass
class IngestResult:
    """What one data job produced: light curves, their per-light-curve table, the ledger
    and, for simulated data, the planted signals."""

    light_curves: list[LightCurve]
    stars: pd.DataFrame
    ledger: pd.DataFrame
    truth: pd.DataFrame


def star_table(light_curves: Sequence[LightCurve]) -> pd.DataFrame:
    """One row per light curve: its key and metadata."""
    rows = [{"key": lc.meta.key, **lc.meta.to_dict(), "n_cadences": len(lc)} for lc in light_curves]
    return pd.DataFrame(rows, columns=["key", *META_FIELDS, "n_cadences"])


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
    """Read light-curve files; unreadable ones are quarantined with the reason."""
    light_curves: dict[str, LightCurve] = {}
    ledger = []
    for path in tqdm(sorted(map(str, paths)), desc="read light curves", unit="file"):
        try:
            found = read_lightcurves(path)
        except LightCurveReadError as error:
            ledger.append((path, "", "quarantined", str(error)))
            continue
        for lc in found:
            first = light_curves.get(lc.meta.key)
            if first is not None:
                ledger.append((path, lc.meta.key, "duplicate",
                               f"{lc.meta.key} already read from {first.meta.source_file}"))
                continue
            light_curves[lc.meta.key] = lc
            ledger.append((path, lc.meta.key, "ok", ""))
    stars = star_table(list(light_curves.values())).assign(label=None)
    return IngestResult(list(light_curves.values()), stars,
                        pd.DataFrame(ledger, columns=LEDGER_COLUMNS), pd.DataFrame())

