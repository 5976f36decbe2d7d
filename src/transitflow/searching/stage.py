"""The search stage: every flagged light curve of a shard searched in depth."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

import pandas as pd
from tqdm import tqdm

from transitflow.isolation import each_light_curve
from transitflow.provenance import make_provenance
from transitflow.searching.config import SearchConfig
from transitflow.searching.iterative import search_lightcurve
from transitflow.shards import iter_shard
from transitflow.tables import read_table, write_table

log = logging.getLogger("transitflow")


def search_shard(shard: str | Path, scores: str | Path, options: Mapping, out: str | Path,
                 failed: str | Path) -> pd.DataFrame:
    """Search the light curves of ``shard`` flagged in the ``scores`` table; write their
    signals (a row each) to ``out`` and the light curves that failed, with the reason, to
    ``failed``; return the signals. ``options`` is the config's ``search`` section."""
    config = SearchConfig.from_dict(options)
    flagged = read_table(scores)
    wanted = set(flagged.loc[flagged.flagged, "key"])
    found, failures = each_light_curve(
        tqdm(iter_shard(shard, wanted), total=None, desc="search", unit="lc"),
        lambda lc: [signal.to_row() for signal in search_lightcurve(lc, config)], "search")
    signals = pd.DataFrame([row for rows in found for row in rows])
    provenance = make_provenance("search", options, [shard, scores])
    write_table(signals, out, provenance)
    write_table(failures, failed, provenance)
    log.info("%s: %d signals, %d light curves failed", shard, len(signals), len(failures))
    return signals
