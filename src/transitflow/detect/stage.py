"""The detect and flag stages: the batched search of a shard, and the light curves picked
for the in-depth search from the network's scores and the batched search's detections."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from transitflow.detect.batch import detect_shard
from transitflow.detect.config import DetectConfig
from transitflow.detect.policy import select_for_search
from transitflow.infer import FlagConfig, flag_scores
from transitflow.provenance import make_provenance
from transitflow.searching import SearchConfig
from transitflow.shards import read_shard
from transitflow.tables import read_tables, write_json, write_table

log = logging.getLogger("transitflow")


def run_detect(shard: str | Path, options: Mapping, out: str | Path) -> pd.DataFrame:
    """Search every light curve of ``shard`` and its inverted copy (:func:`detect_shard`);
    write the detections to ``out`` and return them. ``options`` is the config's ``detect``
    section with its ``search`` section inside."""
    sections = dict(options)
    search = SearchConfig.from_dict(sections.pop("search", {}))
    detections = detect_shard(read_shard(shard), search, DetectConfig.from_dict(sections))
    write_table(detections, out, make_provenance("detect", options, [shard]))
    data = detections[detections["copy"] == "data"]
    for row in data[data.status == "failed"].itertuples():
        log.warning("not searched: %s", row.reason)
    log.info("%s: %d of %d light curves searched (and their inverted copies)", shard,
             int((data.status == "ok").sum()), len(data))
    return detections


def run_flag(scores: Sequence[str | Path], detections: Sequence[str | Path],
             model_card: str | Path, options: Mapping, out: str | Path,
             summary: str | Path) -> pd.DataFrame:
    """Pick the light curves for the in-depth search (:func:`select_for_search`) from the
    score tables ``scores`` (none without a network), flagged by the threshold of the model
    card ``model_card`` ("" for none; :func:`card_threshold`) or of the options, and the
    detection tables ``detections`` (none without the batched search); write the table of
    every light curve to ``out`` and the summary to ``summary`` (JSON); return the table.
    ``options`` is the config's ``flag`` section with the ``detect`` section inside."""
    sections = dict(options)
    config = DetectConfig.from_dict(sections.pop("detect", {}))
    flag = FlagConfig.from_dict(sections)
    card = json.loads(Path(model_card).read_text()) if model_card else {}
    threshold = card_threshold(card, config.policy)

    def network_rule(scored):
        return flag_scores(scored, threshold, flag.threshold, flag.top_k)

    table, selection = select_for_search(read_tables(scores) if scores else None,
                                         read_tables(detections) if detections else None,
                                         network_rule, config)
    provenance = make_provenance("flag", options, [*scores, *detections,
                                                   *filter(None, [model_card])])
    write_table(table, out, provenance)
    write_json(selection, summary, provenance)
    if selection.get("warning"):
        log.warning("%s", selection["warning"])
    log.info("%d of %d light curves go on to the search (%s)", selection["flagged"],
             len(table),
             json.dumps({k: v for k, v in selection.items() if k != "thresholds"}, default=str))
    return table


def card_threshold(card: Mapping, policy: str) -> float | None:
    """The model card's threshold for flagging: under the ``network`` policy, where the
    network alone picks the light curves to search, its gate threshold (a card written
    before gates: its threshold, with a warning); else its decision threshold."""
    if policy != "network" or "threshold" not in card:
        return card.get("threshold")
    if "gate_threshold" not in card:
        log.warning("the model card has no gate threshold (an older transitflow trained it): "
                    "flagging at its decision threshold; train again for the gate")
        return card["threshold"]
    return card["gate_threshold"]
