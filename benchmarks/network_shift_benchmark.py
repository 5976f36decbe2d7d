"""Out-of-sample honesty of the network: trained on one sector, scored on a differently made one
and on the real light curves of ``../shared/realdata``.

    snakemake --cores 2 results/sim-default/split/split.parquet \\
        results/sim-default/detect/000{0..3}.parquet
    snakemake --cores 2 results/sim-shifted/data/labels.parquet \\
        results/sim-shifted/detect/000{0..3}.parquet --configfile config/shifted.yaml
    python benchmarks/network_shift_benchmark.py --out /tmp/shift-default
    python benchmarks/network_shift_benchmark.py --out /tmp/shift-paper \\
        --options '{"features": {"channels": ["flux", "centroid", "background"]}}'

Trains the default config's network (``train`` section and seed of ``config/config.yaml``,
``--options`` merged over it) on the default run's shards, labels and split, as the train
rule does (``--real-hosts N`` adds the real quiet light curves, N copies of each, to the
training split); then scores every light curve of the shifted run (``config/shifted.yaml``:
other stellar and planet priors, grazing planets, more noise and systematics, another seed)
and every real light curve of ``truth.csv`` (local views at the ephemerides of the runs'
detection tables and of the batched search of each real light curve). Prints one JSON
line: the test ROC-AUC on the default sector, the planet-vs-rest ROC-AUC on the shifted
sector (:func:`transitflow.training.metrics.sector_ranking`: all planets; the same with every
planet of SNR >= 10 ranked first and the fainter ones as scored, and with those
at chance, the bound of any ranker that cannot see them; planets with SNR >= 10, and those
with 2+ transits, against every non-planet; again with the centroid and background
channels zeroed, as a light curve of time and flux alone reads), the shifted planets with
SNR >= 10 scoring at or above the card's threshold (2+ transits; single transits), the
non-planets above it, the same two at the card's gate threshold (``detect.policy:
network``), the real planets and EBs above the threshold and the ROC-AUC of the real
planets against the real EBs, per sector and for the light curves joining a star's sectors
(``real_joined_``; each light curve's score in ``--out``/real_scores.csv), and
the training wall time. A model already in ``--out`` is scored again without training.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from transitflow.dataset import optional_channel_indices
from transitflow.detect.batch import search_batch
from transitflow.features import (featurize_table, lightcurve_features, search_ephemerides,
                                  table_ephemerides)
from transitflow.infer import calibrated_scores, load_model, predict_logits, score_shard
from transitflow.lightcurve import LightCurve, stitch
from transitflow.readers import read_lightcurves
from transitflow.shards import open_shard, write_shard
from transitflow.training import TrainConfig, roc_auc, run_training
from transitflow.training.metrics import planet_truth, sector_ranking

REPO = Path(__file__).resolve().parents[1]
REALDATA = REPO.parent / "shared" / "realdata"
#: Real light curves whose files name no star or sector.
READ_OPTIONS = {"lightcurves/tls/toi237.csv": {"tic": 305048087, "sector": 2}}
#: Real light curves with no known signal (``--real-hosts``): the faint M dwarf of
#: truth.csv in sectors 1 and 2 (2-min) and the eleanor-style FFI light curves of
#: ``extra/`` (30-min), of which the ``Custom_star`` files name no star or sector.
REAL_HOSTS = (
    ("lightcurves/qusi/tess2018206045859-s0001-0000000150065151-0120-s_lc.fits", {}),
    ("lightcurves/qusi/tess2018234235059-s0002-0000000150065151-0121-s_lc.fits", {}),
    ("extra/tessipack/star_TIC_139456051_s1_ffi.csv", {}),
    *((f"extra/tessipack/Custom_star_custom_star_s{sector}_ffi.csv",
       {"tic": 1000, "sector": sector}) for sector in (1, 6, 7, 8)))
HOST_TIC = 7_000_000_000  # the copies' IDs, above any TIC


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="model folder")
    parser.add_argument("--options", default="{}", help="JSON merged over the train section")
    parser.add_argument("--results", type=Path, default=REPO / "results")
    parser.add_argument("--real-hosts", type=int, default=0, metavar="COPIES",
                        help="also train on the real quiet light curves (REAL_HOSTS), each "
                             "this many times under distinct IDs, as non-transit stars and "
                             "injection hosts")
    args = parser.parse_args()
    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    options = {**config["train"], "seed": config["seed"], **json.loads(args.options)}
    started = time.perf_counter()
    if not (args.out / "model.pt").exists():
        train(args.results / "sim-default", TrainConfig.from_dict(options), args.out,
              args.real_hosts)
    wall = time.perf_counter() - started
    card = json.loads((args.out / "model_card.json").read_text())
    figures = {"options": json.loads(args.options),
               "default_test_roc_auc": card["metrics"]["test"]["roc_auc"],
               **shifted_figures(args.out, args.results / "sim-shifted", card),
               **flux_only_figures(args.out, args.results / "sim-shifted"),
               **real_figures(args.out), "train_wall_s": round(wall)}
    print(json.dumps(figures))


def train(run: Path, config: TrainConfig, out: Path, real_copies: int = 0) -> None:
    shards = sorted((run / "data" / "shards").glob("*.arrow"))
    labels = pd.read_parquet(run / "data" / "labels.parquet")[["key", "tic", "label"]]
    split = pd.read_parquet(run / "split" / "split.parquet")[["tic", "split"]]
    if real_copies:
        out.mkdir(parents=True, exist_ok=True)
        hosts = real_hosts(real_copies)
        shards.append(write_shard(out / "real_hosts.arrow", hosts, provenance={}))
        tics = [lc.meta.tic for lc in hosts]
        labels = pd.concat([labels, pd.DataFrame({"key": [lc.meta.key for lc in hosts],
                                                  "tic": tics, "label": "non_transit"})])
        split = pd.concat([split, pd.DataFrame({"tic": tics, "split": "train"})])
    run_training(shards, labels, split, config, out,
                 provenance={"benchmark": Path(__file__).name, "real_hosts": real_copies},
                 detections=detections(run))


def detections(run: Path) -> pd.DataFrame | None:
    """The detection tables of a run (None when it has none): the ephemerides of local
    views."""
    tables = [pd.read_parquet(path) for path in sorted((run / "detect").glob("*.parquet"))]
    return pd.concat(tables) if tables else None


def real_hosts(copies: int) -> list[LightCurve]:
    """The real light curves of REAL_HOSTS, each ``copies`` times under distinct TIC IDs
    (so that training draws them as often as that many simulated stars)."""
    quiet = [lc for path, options in REAL_HOSTS
             for lc in read_lightcurves(REALDATA / path, **options)]
    return [replace(lc, meta=replace(lc.meta, tic=HOST_TIC + len(quiet) * copy + index))
            for copy in range(copies) for index, lc in enumerate(quiet)]


def shifted_figures(model_dir: Path, run: Path, card: dict) -> dict:
    found = detections(run)
    scores = pd.concat([score_shard(model_dir / "model.pt", shard, detections=found)
                        for shard in sorted((run / "data" / "shards").glob("*.arrow"))])
    ranking = sector_ranking(scores, *sector_truth(run), card["threshold"],
                             card.get("gate_threshold", math.nan))
    return {f"shifted_{name}": value for name, value in ranking.items()}


def sector_truth(run: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A simulated run's labels and truth tables."""
    return tuple(pd.read_parquet(run / "data" / f"{name}.parquet") for name in ("labels", "truth"))


def flux_only_figures(model_dir: Path, run: Path) -> dict:
    """The shifted sector's ROC-AUCs with the centroid and background channels zeroed, as a
    light curve of time and flux alone (a CSV) is featurised."""
    model, meta = load_model(model_dir / "model.pt")
    found = detections(run)
    featurised = [featurize_table(table, meta["features"], table_ephemerides(table, found))
                  for table in map(open_shard, sorted((run / "data" / "shards").glob("*.arrow")))]
    keys = pd.Series([key for part in featurised for key, ok in zip(part.keys, part.ok) if ok])
    x = np.concatenate([part.x for part in featurised])
    x[:, optional_channel_indices(meta["features"].channels)] = 0.0
    logit = predict_logits(model, x)
    planet, bright, _ = planet_truth(keys, *sector_truth(run))
    return {"shifted_roc_auc_flux_only": roc_auc(planet, logit),
            "shifted_roc_auc_snr10_flux_only": roc_auc(planet[bright | ~planet],
                                                       logit[bright | ~planet])}


def real_figures(model_dir: Path) -> dict:
    """The real light curves' scores (``real_scores.csv``) and figures: per sector, and
    for the joined light curves of the stars read in two or more sectors (``real_joined_``)."""
    model, meta = load_model(model_dir / "model.pt")
    rows = []
    for kind, light_curves in real_stars():
        for lc, ephemeris in zip(light_curves, real_ephemerides(light_curves, meta)):
            x = lightcurve_features(lc, meta["features"], ephemeris)[None]
            score = float(calibrated_scores(predict_logits(model, x), meta["calibration"])[0])
            rows.append((kind, lc.meta.key, lc.meta.stitched, score))
    frame = pd.DataFrame(rows, columns=["kind", "key", "joined", "score"])
    frame.to_csv(model_dir / "real_scores.csv", index=False)
    figures = {}
    for joined, part in frame.groupby("joined"):
        prefix = "real_joined_" if joined else "real_"
        above = part.assign(above=part["score"] >= meta["threshold"]).groupby("kind")["above"]
        ranked = part[part["kind"].isin(["planet", "eb"])]
        figures.update({f"{prefix}{kind}_above": f"{count} of {n}" for kind, count, n
                        in zip(above.sum().index, above.sum(), above.count())})
        figures[f"{prefix}planet_vs_eb_roc_auc"] = roc_auc(
            ranked["kind"].eq("planet").to_numpy(), ranked["score"].to_numpy())
    return figures


def real_stars() -> list[tuple[str, list[LightCurve]]]:
    """Each star of truth.csv: its kind and its light curves, one per sector, and the one
    joining them when there are two or more (as the data stage joins a star's sectors)."""
    truth = pd.read_csv(REALDATA / "truth.csv").drop_duplicates("file")
    stars: dict[tuple, list[LightCurve]] = {}
    for path, truth_class in zip(truth["file"], truth["truth_class"]):
        kind = "planet" if truth_class.startswith("planet") else truth_class.lower()
        for lc in read_lightcurves(REALDATA / path, **READ_OPTIONS.get(path, {})):
            stars.setdefault((kind, lc.meta.mission, lc.meta.tic), []).append(lc)
    return [(kind, [*lcs, stitch(lcs)] if len(lcs) > 1 else lcs)
            for (kind, _, _), lcs in stars.items()]


def real_ephemerides(light_curves: list[LightCurve], meta: dict) -> list:
    """The detection search's ephemeris of each of a star's light curves (None for a model
    without local views)."""
    if not meta["features"].local_length:
        return [None] * len(light_curves)
    found = search_batch(light_curves).assign(copy="data")
    keys = [lc.meta.key for lc in light_curves]
    return [tuple(ephemeris) for ephemeris in search_ephemerides(found, keys)]


if __name__ == "__main__":
    main()
