"""The train stage: a model trained on the labelled light curves of the training split."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from transitflow.provenance import make_provenance
from transitflow.tables import read_table, read_tables
from transitflow.training.config import TrainConfig
from transitflow.training.trainer import run_training

log = logging.getLogger("transitflow")


def run_train(shards: Sequence[str | Path], labels: str | Path, split: str | Path,
              options: Mapping, out_dir: str | Path,
              detections: Sequence[str | Path] = ()) -> dict:
    """Train a model (:func:`~transitflow.training.trainer.run_training`) on the light curves
    of ``shards`` with the label table ``labels``, the split table ``split`` and the
    detection tables ``detections`` (the ephemerides of local views; none without); write
    the model, its card, log and figures to ``out_dir``; return the card. Rank 0 logs the
    test metrics. ``options`` is the config's ``train`` section."""
    labelled, split_table = read_table(labels), read_table(split)
    config = TrainConfig.from_dict(options)
    provenance = make_provenance("train", options, [*shards, labels, split, *detections])
    card = run_training([Path(shard) for shard in shards], labelled[["key", "tic", "label"]],
                        split_table, config, Path(out_dir), provenance,
                        read_tables(detections) if detections else None)
    if int(os.environ.get("RANK", "0")) == 0:
        log.info("test metrics: %s", json.dumps(card["metrics"]["test"], default=str))
    return card
