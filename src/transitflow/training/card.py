"""The model card: metrics per split, recall of injected transits per SNR and depth,
the priors trained on, the calibration, and its figures.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from matplotlib.figure import Figure
from torch import nn

from transitflow.dataset import (EMULATED_DURATION_ERROR, EMULATED_DURATION_RATIO,
                                 EMULATED_EPOCH_ERROR, EMULATED_FOUND_SNR, SPLITS, LabelledSet,
                                 emulated_ephemerides)
from transitflow.features import featurize_table
from transitflow.inject import MIN_BINARY_A_RS, MIN_DILUTED_DEPTH, inject_transits, rows_table
from transitflow.infer import (calibrated_scores, fit_calibration,
                               predict_logits, save_model)
from transitflow.signals import TRAINING_LABELS
from transitflow.simulate.binaries import MAX_EB_IMPACT
from transitflow.tables import atomic_output, write_json
from transitflow.training.config import TrainConfig
from transitflow.training.metrics import (calibration_curve, evaluate, recall_by_bin,
                                          threshold_at_false_alarm, threshold_at_precision)


log = logging.getLogger(__name__)


#: Expected-SNR and depth bins of the model card's recall tables.
SNR_BINS = (0.0, 7.0, 10.0, 20.0, 50.0, 200.0, np.inf)
DEPTH_BINS = (0.0, 1e-3, 3e-3, 1e-2, 3e-2, 0.1, 1.0)
_INJECTIONS = 600


def injection_recall(model: nn.Module, data: LabelledSet, config: TrainConfig,
                     calibration: dict, threshold: float) -> dict:
    """Recall of model transits (``config.transit_prior``) injected into the split's
    non-transit light curves, per expected SNR bin and per depth bin, at ``threshold``.

    The hosts are never trained on when ``data`` is the test split; the injections are
    seeded by ``config.seed``.
    """
    hosts = np.flatnonzero(data.label == "non_transit")
    if not len(hosts):
        return {}
    rng = np.random.default_rng([config.seed, 1])
    chosen = rng.choice(hosts, _INJECTIONS)
    rows = data.store.rows(data.shard[chosen], data.row[chosen])
    injected, drawn = inject_transits(rows, rng, config.features.quality_bitmask,
                                      config.transit_prior)
    ephemerides = emulated_ephemerides(drawn, data.ephemerides(chosen), rng) \
        if config.features.local_length else None
    features = featurize_table(rows_table(injected), config.features, ephemerides)
    found = calibrated_scores(predict_logits(model, features.x, 4 * config.batch_size),
                              calibration) >= threshold
    drawn = {name: values[features.ok] for name, values in drawn.items()}
    return {"n": len(found), "hosts": len(np.unique(chosen)), "recall": float(found.mean()),
            "by_snr": recall_by_bin(drawn["snr"], found, SNR_BINS, "snr"),
            "by_depth": recall_by_bin(drawn["depth"], found, DEPTH_BINS, "depth")}


def training_priors(config: TrainConfig) -> dict:
    """What the training examples beyond the labelled light curves were drawn from."""
    prior = config.to_dict()["transit_prior"]
    return {
        "transit_injections": {
            "share_of_planet_samples": config.physical_injection_fraction,
            "period_days": {"range": prior["period_range"], "distribution": "log-uniform"},
            "rp_rs": {"range": prior["rp_rs_range"],
                      "distribution": "log-uniform above the radius reaching min_snr"},
            "impact": f"uniform in [0, {prior['max_impact']}]; a share of "
                      f"{prior['grazing_fraction']} grazing, uniform in [0.9, 1 + 0.8 rp_rs]",
            "min_snr": prior["min_snr"],
            "limb_darkening": "quadratic, uniform in Kipping (2013) q1, q2",
            "epoch": "a random good cadence (periods beyond the span give single transits)",
            "hosts": "non-transit light curves of the train split"},
        "eclipse_injections": {
            "share_of_eb_samples": config.eclipse_injection_fraction,
            "period_days": {"range": list(config.eclipse_period_range),
                            "distribution": "log-uniform"},
            "binary": "detached: R2/R1 uniform in [0.25, 0.9], a quarter near-twins in [0.9, "
                      "1]; surface brightness ratio 0.05-0.7 (twins 0.85-1); half eccentric "
                      "(e <= 0.4 where detached) with secondaries at any phase; impact uniform "
                      f"in [0, {MAX_EB_IMPACT}]; ellipsoidal variation "
                      "(simulate.binaries.draw_binary); periods raised to a semi-major axis "
                      f"of {MIN_BINARY_A_RS} stellar radii or more around large hosts",
            "epoch": "a primary eclipse at a random good cadence",
            "diluted": {"share": config.eclipse_diluted_fraction,
                        "primary_depth": f"log-uniform from {MIN_DILUTED_DEPTH} to the "
                                         "undiluted depth (third light)"},
            "hosts": "non-transit light curves of the train split"},
        "signal_injections": {
            "share_of_planet_and_eb_samples": config.injection_fraction,
            "donors": "planet and EB light curves of the train split (flux and centroid)",
            "hosts": "non-transit light curves of the train split"},
        **({"local_view_ephemerides": {
            "labelled_light_curves": "the detect stage's batched search",
            "injections": f"the injected signal's where its expected SNR is "
                          f"{EMULATED_FOUND_SNR} or more (a single event with one transit in "
                          f"the data), its epoch off by a Laplace error of scale "
                          f"{EMULATED_EPOCH_ERROR} durations and its duration times "
                          f"{EMULATED_DURATION_RATIO} exp(N(0, {EMULATED_DURATION_ERROR})), "
                          "as the search places them; else the host's search "
                          "ephemeris; a donor's signal at the donor's search ephemeris"}}
           if config.features.local_length else {}),
        "augmentation": config.augmentation}


def finish(model: nn.Module, model_options: dict, log: list[dict], data: dict[str, LabelledSet],
            config: TrainConfig, device: torch.device, out_dir: Path, provenance: dict,
            hashes: dict) -> dict:
    """Calibrate, choose the threshold, evaluate, and write the model, card, log and
    figures."""
    logits = {name: predict_logits(model, data[name].x, 4 * config.batch_size)
              for name in ("val", "test") if len(data[name].keys)}
    calibration = fit_calibration(logits["val"], data["val"].y)
    scores = {name: calibrated_scores(value, calibration) for name, value in logits.items()}
    threshold = threshold_at_precision(data["val"].y, scores["val"], config.target_precision)
    gate = min(threshold, threshold_at_false_alarm(data["val"].y, scores["val"],
                                                   config.gate_false_alarm))
    model_id = save_model(out_dir / "model.pt", model, config.model, model_options,
                          config.features, threshold, calibration)
    evaluated = "test" if "test" in scores else "val"
    history = pd.DataFrame(log)
    members = history.groupby("member")
    card = {
        "model_id": model_id,
        "preset": config.model,
        "model_options": model_options,
        "train_config": config.to_dict(),
        **hashes,
        "n_light_curves": {name: {label: int(np.sum(data[name].label == label))
                                  for label in TRAINING_LABELS} for name in SPLITS},
        "threshold": threshold,
        "target_precision": config.target_precision,
        "gate_threshold": gate,
        "gate_false_alarm": config.gate_false_alarm,
        "gate_metrics": {"split": evaluated, **evaluate(data[evaluated], scores[evaluated], gate)},
        "calibration": {**calibration, "split": "val",
                        "curve": calibration_curve(data[evaluated].y, scores[evaluated]),
                        "curve_split": evaluated},
        "priors": training_priors(config),
        "injection_recall": {"split": evaluated, **injection_recall(
            model, data[evaluated], config, calibration, threshold)},
        "ensemble": config.ensemble,
        "epochs_run": members["epoch"].max().tolist(),
        "best_epoch": [_best_epoch(rows) for _, rows in members],
        "device": device.type,
        "metrics": {name: evaluate(data[name], score, threshold)
                    for name, score in scores.items()},
        "history": log,
    }
    write_json(card, out_dir / "model_card.json", provenance)
    with atomic_output(out_dir / "training_log.csv") as partial:
        history.to_csv(partial, index=False)
    _plot_curves(history, out_dir / "training_curves.png")
    _plot_confusion(data[evaluated], scores[evaluated], threshold, evaluated,
                    out_dir / "confusion_matrix.png")
    _plot_calibration(card, out_dir / "calibration.png")
    return card


def _best_epoch(log: pd.DataFrame) -> int:
    """The first epoch with the lowest validation loss (a NaN loss counts as the highest)."""
    return int(log["epoch"].iloc[log["val_loss"].fillna(np.inf).to_numpy().argmin()])


def _plot_curves(log: pd.DataFrame, path: Path) -> None:
    """Loss, validation AUCs and learning rate by epoch, one line per ensemble member."""
    figure = Figure(figsize=(11, 3.4), layout="constrained")
    loss, auc, lr = figure.subplots(1, 3)
    for member, rows in log.groupby("member"):
        first = member == 0
        for axes, column, label, color in ((loss, "train_loss", "train", "C0"),
                                           (loss, "val_loss", "validation", "C1"),
                                           (auc, "val_roc_auc", "ROC-AUC", "C0"),
                                           (auc, "val_pr_auc", "PR-AUC", "C1"),
                                           (lr, "lr", None, "C0")):
            axes.plot(rows["epoch"], rows[column], "o-", color=color, alpha=1.0 if first else 0.4,
                      label=label if first else None)
    loss.set(xlabel="epoch", ylabel="BCE loss")
    if log["member"].nunique() > 1:
        loss.set_title(f"{log['member'].nunique()} ensemble members (the first in full colour)")
    loss.legend()
    auc.set(xlabel="epoch", ylabel="validation", ylim=(0, 1.02))
    auc.legend()
    lr.set(xlabel="epoch", ylabel="learning rate", yscale="log")
    with atomic_output(path) as partial:
        figure.savefig(partial, dpi=100)


def _plot_confusion(data: LabelledSet, score: np.ndarray, threshold: float, split_name: str,
                    path: Path) -> None:
    predicted = score >= threshold
    counts = np.array([[np.sum(predicted[data.label == label]),
                        np.sum(~predicted[data.label == label])] for label in TRAINING_LABELS])
    figure = Figure(figsize=(4.5, 4), layout="constrained")
    axes = figure.subplots()
    axes.imshow(counts, cmap="Blues", aspect="auto")
    for (row, column), count in np.ndenumerate(counts):
        axes.text(column, row, str(count), ha="center", va="center",
                  color="white" if count > counts.max() / 2 else "black")
    axes.set(xticks=[0, 1], xticklabels=["planet", "not planet"], yticks=range(len(TRAINING_LABELS)),
             yticklabels=TRAINING_LABELS, xlabel=f"predicted (score >= {threshold:.3f})", ylabel="true",
             title=f"{split_name} set")
    with atomic_output(path) as partial:
        figure.savefig(partial, dpi=100)


def _plot_calibration(card: dict, path: Path) -> None:
    """Reliability diagram, and the recall of injected transits per SNR and depth bin."""
    figure = Figure(figsize=(11, 3.4), layout="constrained")
    reliability, by_snr, by_depth = figure.subplots(1, 3)
    curve = pd.DataFrame(card["calibration"]["curve"])
    reliability.plot([0, 1], [0, 1], ":", color="grey")
    if not curve.empty:
        reliability.plot(curve["mean_score"], curve["planet_fraction"], "o-")
    reliability.set(xlabel="calibrated score", ylabel="planet fraction",
                    title=f"{card['calibration']['curve_split']} set", xlim=(0, 1), ylim=(0, 1))
    injected = card["injection_recall"]
    for axes, name, label in ((by_snr, "snr", "expected SNR"), (by_depth, "depth", "depth")):
        bins = pd.DataFrame(injected.get(f"by_{name}", []))
        if not bins.empty:
            ticks = [f">={low:g}" for low in bins[f"{name}_low"]]
            axes.bar(ticks, bins["recall"].fillna(0.0))
        axes.set(xlabel=label, ylabel="recall at threshold", ylim=(0, 1),
                 title=f"injected transits, {injected['split']} set")
        axes.tick_params(axis="x", labelrotation=45)
    with atomic_output(path) as partial:
        figure.savefig(partial, dpi=100)
