"""Train/validation/test split by target: every sector of a star lands in the same split."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from transitflow.options import options_from_dict
from transitflow.provenance import make_provenance
from transitflow.tables import read_table, write_json, write_table

SPLITS = ("train", "val", "test")
#: When sectors of one star carry different labels, the star takes the first in this order.
LABEL_PRIORITY = ("planet", "eb", "non_transit")


@dataclass(frozen=True)
class SplitConfig:
    """Split fractions (they must sum to 1) and the seed."""

    train: float = 0.8
    val: float = 0.1
    test: float = 0.1
    seed: int = 42

    def __post_init__(self) -> None:
        total = self.train + self.val + self.test
        if not np.isclose(total, 1.0) or min(self.train, self.val, self.test) < 0:
            raise ValueError(f"split fractions must be >= 0 and sum to 1, got "
                             f"train={self.train}, val={self.val}, test={self.test}")

    @classmethod
    def from_dict(cls, options: dict) -> SplitConfig:
        """The options from a config section; an unknown key is an error naming it."""
        return options_from_dict(cls, options, "split")


def star_labels(light_curves: pd.DataFrame) -> pd.DataFrame:
    """One label per TIC from per-light-curve labels, by :data:`LABEL_PRIORITY`."""
    labelled = light_curves.dropna(subset=["label"])
    rank = labelled["label"].map({label: i for i, label in enumerate(LABEL_PRIORITY)})
    if rank.isna().any():
        bad = labelled.loc[rank.isna(), "label"].iloc[0]
        raise ValueError(f"unknown label {bad!r}; expected one of {LABEL_PRIORITY}")
    best = labelled.assign(rank=rank).sort_values(["tic", "rank"]).drop_duplicates("tic")
    return best[["tic", "label"]].reset_index(drop=True)


def split_by_target(stars: pd.DataFrame, config: SplitConfig) -> pd.DataFrame:
    """Assign each TIC to train/val/test, stratified by label, deterministic from the seed.

    ``stars`` has one row per TIC with columns ``tic`` and ``label``. Within each class the
    TICs are sorted, shuffled with the seed and cut at the cumulative fractions.
    """
    parts = []
    for label, group in stars.sort_values("tic").groupby("label", sort=True):
        rng = np.random.default_rng([config.seed, LABEL_PRIORITY.index(label)])
        tics = rng.permutation(group["tic"].to_numpy())
        cuts = np.round(np.cumsum([config.train, config.val]) * len(tics)).astype(int)
        names = np.array(SPLITS)[np.searchsorted(cuts, np.arange(len(tics)), side="right")]
        parts.append(pd.DataFrame({"tic": tics, "label": label, "split": names}))
    if not parts:
        return pd.DataFrame({"tic": pd.Series(dtype="int64"), "label": pd.Series(dtype=str),
                             "split": pd.Series(dtype=str)})
    return pd.concat(parts).sort_values("tic").reset_index(drop=True)


def split_report(split: pd.DataFrame) -> dict:
    """Counts of stars per split and class."""
    counts = split.groupby(["split", "label"]).size()
    return {name: {label: int(n) for label, n in counts[name].items()} if name in counts else {}
            for name in SPLITS}


def run_split(labels: str | Path, options: Mapping, out: str | Path,
              report: str | Path) -> pd.DataFrame:
    """The split stage: split the stars of the label table ``labels`` by target
    (:func:`split_by_target`); write the split to ``out`` and its counts per split and class
    to ``report`` (JSON); return the split. ``options`` is the config's ``split`` section."""
    table = read_table(labels)
    if table.empty:
        raise ValueError(f"{labels}: no light curve has a training label; give label "
                         "catalogs (labels: toi_table, tess_ebs, yu2019), train on the "
                         "simulated sector (source=sim), give a trained model (model=...) or "
                         "search without a network (detect: {policy: search})")
    split = split_by_target(star_labels(table), SplitConfig.from_dict(options))
    provenance = make_provenance("split", options, [labels])
    write_table(split, out, provenance)
    write_json({"counts": split_report(split)}, report, provenance)
    return split
