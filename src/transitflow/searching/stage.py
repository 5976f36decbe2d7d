"""The search stage: every flagged light curve of a shard searched in depth."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from transitflow.isolation import each_light_curve
from transitflow.lightcurve import LightCurve
from transitflow.provenance import make_provenance
from transitflow.searching.config import SearchConfig
from transitflow.searching.iterative import search_with_spectrum
from transitflow.searching.periodograms import Spectrum
from transitflow.shards import iter_shard
from transitflow.tables import read_table, write_table

log = logging.getLogger("transitflow")
#: Columns of a shard's table of spectra: a light curve's key, its trial periods (days) and
#: their power (SDE units), thinned for display (:func:`display_spectrum`).
SPECTRUM_COLUMNS = ("key", "period", "power")


def search_shard(shard: str | Path, scores: str | Path, options: Mapping, out: str | Path,
                 failed: str | Path, spectra: str | Path) -> pd.DataFrame:
    """Search the light curves of ``shard`` flagged in the ``scores`` table; write their
    signals (a row each) to ``out``, the periodogram of each light curve's first round,
    thinned for the vetting sheets, to ``spectra``, and the light curves that failed, with
    the reason, to ``failed``; return the signals. ``options`` is the config's ``search``
    section."""
    config = SearchConfig.from_dict(options)
    flagged = read_table(scores)
    wanted = set(flagged.loc[flagged.flagged, "key"])
    found, failures = each_light_curve(
        tqdm(iter_shard(shard, wanted), total=None, desc="search", unit="lc"),
        lambda lc: _search_one(lc, config), "search")
    signals = pd.DataFrame([row for rows, _ in found for row in rows])
    provenance = make_provenance("search", options, [shard, scores])
    write_table(signals, out, provenance)
    write_table(pd.DataFrame([row for _, row in found if row], columns=SPECTRUM_COLUMNS),
                spectra, provenance)
    write_table(failures, failed, provenance)
    log.info("%s: %d signals, %d light curves failed", shard, len(signals), len(failures))
    return signals


def _search_one(lc: LightCurve, config: SearchConfig) -> tuple[list[dict], dict | None]:
    """A light curve's signal rows, and its spectrum row (None without a periodogram)."""
    signals, spectrum = search_with_spectrum(lc, config)
    rows = [signal.to_row() for signal in signals]
    if spectrum is None:
        return rows, None
    return rows, {
        "key": lc.meta.key, "period": spectrum.periods.astype(np.float32),
        "power": spectrum.power.astype(np.float32)}


def read_spectra(path: str | Path) -> dict[str, Spectrum]:
    """A search table of spectra (:func:`search_shard`) by light-curve key."""
    table = read_table(path)
    return {key: Spectrum(np.asarray(periods, float), np.asarray(power, float))
            for key, periods, power in zip(table["key"], table["period"], table["power"])}
