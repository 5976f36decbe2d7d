"""The flag job's summary (``infer/flag_summary.json``) and the batched search's paths it
holds thresholds for; apart from :mod:`transitflow.detect`, so that the report reads it
without the search's dependencies."""

from __future__ import annotations

import json
from pathlib import Path

#: The batched search's detection statistics, each a path to the in-depth search: a
#: periodic one and those of one event.
SEARCH_PATHS = ("periodic", "single", "edge")
EVENT_PATHS = SEARCH_PATHS[1:]
#: Every path to the in-depth search, in the order ``detected_by`` names them.
DETECTION_PATHS = ("network", *SEARCH_PATHS, "sectors")


def read_flag_summary(path: str | Path) -> dict:
    """The flag job's summary (JSON); ValueError naming the file when an older transitflow
    wrote it without the threshold of every search path."""
    summary = json.loads(Path(path).read_text())
    thresholds = summary.get("thresholds")
    if thresholds and (missing := [f"{name}_snr" for name in SEARCH_PATHS
                                   if f"{name}_snr" not in thresholds]):
        raise ValueError(f"{path}: no {', '.join(missing)} threshold, an older transitflow "
                         "wrote it; run detection and flagging again (snakemake --forcerun detect)")
    return summary
