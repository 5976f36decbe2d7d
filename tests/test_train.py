"""Training: metrics, batches, augmentation, a tiny end-to-end run, kill and resume."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
import torch

from tests.builders import flat_lightcurve
from transitflow import train
from transitflow.features import FeatureConfig
from transitflow.infer import load_model
from transitflow.shards import write_shard
from transitflow.train import (BalancedBatches, Dataset, TrainConfig, augment,
                               average_precision, bce_with_logits, f1_score, load_splits,
                               precision_recall_curve, recall_at_precision, roc_auc,
                               run_training, threshold_at_precision)

Y = np.array([0, 0, 1, 1])
SCORE = np.array([0.1, 0.4, 0.35, 0.8])


def transiting(lc, period: float, depth: float = 5e-3, duration: float = 0.125):
    """``lc`` with box-shaped dips of ``depth`` every ``period`` days."""
    dip = (lc.time - lc.time[0]) % period < duration
    return replace(lc, flux=np.where(dip, lc.flux - depth, lc.flux).astype(np.float32))


@pytest.fixture(scope="module")
def easy_task(tmp_path_factory):
    """A shard of box-dip planets and flat stars, with labels and a split."""
    lcs, rows = [], []
    for index in range(48):
        lc = flat_lightcurve(tic=index + 1, seed=index)
        label = "planet" if index % 2 else "non_transit"
        lcs.append(transiting(lc, 2.0 + index % 5) if label == "planet" else lc)
        rows.append((lc.meta.key, lc.meta.tic, label))
    path = write_shard(tmp_path_factory.mktemp("easy") / "easy.arrow", lcs, provenance={})
    labels = pd.DataFrame(rows, columns=["key", "tic", "label"])
    split = pd.DataFrame({"tic": labels["tic"],
                          "split": np.array(["train"] * 4 + ["val", "test"])[
                              np.arange(48) // 2 % 6]})
    return [path], labels, split


def tiny_config(**options) -> TrainConfig:
    return replace(TrainConfig(epochs=3, steps_per_epoch=6, batch_size=16, device="cpu"),
                   **options)


def test_roc_auc_known_values():
    assert roc_auc(Y, SCORE) == 0.75
    assert roc_auc([0, 1], [0.5, 0.5]) == 0.5
    assert roc_auc([0, 0, 1], [0.1, 0.2, 0.3]) == 1.0
    assert np.isnan(roc_auc([1, 1], [0.1, 0.2]))


def test_precision_recall_known_values():
    precision, recall, thresholds = precision_recall_curve(Y, SCORE)
    np.testing.assert_allclose(precision, [1.0, 0.5, 2 / 3, 0.5])
    np.testing.assert_allclose(recall, [0.5, 0.5, 1.0, 1.0])
    np.testing.assert_array_equal(thresholds, [0.8, 0.4, 0.35, 0.1])
    assert average_precision(Y, SCORE) == pytest.approx(0.8333333)
    tied = precision_recall_curve([1, 0, 1], [0.5, 0.5, 0.2])
    np.testing.assert_allclose(tied[0], [0.5, 2 / 3])


def test_thresholds_and_f1():
    assert threshold_at_precision(Y, SCORE, 1.0) == 0.8
    assert threshold_at_precision(Y, SCORE, 0.6) == 0.35
    assert threshold_at_precision([0, 1], [0.9, 0.1], 0.9) == 0.1  # best precision, 0.5
    assert recall_at_precision(Y, SCORE, 0.99) == 0.5
    assert recall_at_precision([0, 1], [0.9, 0.1], 0.99) == 0.0
    assert f1_score(Y, SCORE >= 0.35) == pytest.approx(0.8)
    assert f1_score([0, 0], [False, False]) == 0.0


def test_bce_matches_torch():
    logits, y = np.array([-30.0, -1.0, 0.0, 2.0, 40.0]), np.array([0.0, 1.0, 1.0, 0.0, 1.0])
    expected = torch.nn.functional.binary_cross_entropy_with_logits(
        torch.tensor(logits), torch.tensor(y))
    assert bce_with_logits(logits, y) == pytest.approx(expected.item())


def test_config_from_dict_is_strict():
    cfg = TrainConfig.from_dict({"epochs": 2, "features": {"length": 200}})
    assert cfg.epochs == 2 and cfg.features == FeatureConfig(length=200)
    assert TrainConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ValueError, match="epoch"):
        TrainConfig.from_dict({"epoch": 2})
    with pytest.raises(ValueError, match="plateau_factor"):
        TrainConfig(plateau_factor=1.2)


def test_augment_rolls_mirrors_and_adds_noise():
    x = np.tile(np.linspace(-1, 1, 50, dtype=np.float32), (64, 3, 1))
    original = x.copy()
    out = augment(x, np.random.default_rng(0))
    assert out.shape == x.shape and out.dtype == np.float32
    assert not np.array_equal(out, x)
    np.testing.assert_allclose(np.sort(out[:, 0], axis=1), np.sort(x[:, 0], axis=1), atol=0.3)
    np.testing.assert_array_equal(x, original)


def test_batches_are_balanced_reproducible_and_augmented_only_in_training():
    label = np.array(["planet"] * 5 + ["eb"] * 20 + ["non_transit"] * 75)
    x = np.random.default_rng(1).standard_normal((100, 3, 20)).astype(np.float32)
    x[:, 0, 0] = np.arange(100)  # row id
    data = Dataset(keys=[str(i) for i in range(100)], x=x, label=label)
    plain = BalancedBatches(data, batch_size=30, steps=4, seed=3, augmented=False)
    xb, yb = plain[2]
    rows = xb[:, 0, 0].numpy().astype(int)
    np.testing.assert_array_equal(xb.numpy(), x[rows])
    assert [np.sum(np.isin(rows, np.flatnonzero(label == name))) for name in
            ("planet", "eb", "non_transit")] == [10, 10, 10]
    np.testing.assert_array_equal(yb.numpy(), (label[rows] == "planet").astype(np.float32))
    assert torch.equal(plain[2][0], xb)
    plain.epoch = 1
    assert not torch.equal(plain[2][0], xb)
    augmented = BalancedBatches(data, batch_size=30, steps=4, seed=3)
    assert not torch.equal(augmented[2][0], xb)
    assert torch.equal(augmented[2][1], yb)  # same light curves


def test_load_splits(easy_task):
    shards, labels, split = easy_task
    labels = labels.assign(label=labels["label"].where(labels.index < 46))  # 2 unlabelled
    data = load_splits(shards, labels, split.assign(label="ignored"), FeatureConfig())
    assert {name: len(part.keys) for name, part in data.items()} == \
        {"train": 32, "val": 8, "test": 6}
    assert data["val"].x.shape == (8, 3, 1000)
    with pytest.raises(ValueError, match="planet_candidate"):
        load_splits(shards, labels.fillna("planet_candidate"), split, FeatureConfig())


@pytest.mark.slow
def test_tiny_training_learns_and_writes_outputs(easy_task, tmp_path):
    # 15 steps an epoch: the CNN's batch-norm running statistics need a few dozen steps.
    card = run_training(*easy_task, tiny_config(steps_per_epoch=15), tmp_path,
                        provenance={"stage": "test"})
    assert card["metrics"]["test"]["roc_auc"] > 0.9
    assert card["n_light_curves"]["train"] == {"planet": 16, "eb": 0, "non_transit": 16}
    for name in ("model.pt", "model_card.json", "training_log.csv", "training_curves.png",
                 "confusion_matrix.png", "checkpoint.pt"):
        assert (tmp_path / name).stat().st_size > 0
    written = json.loads((tmp_path / "model_card.json").read_text())
    assert written["provenance"] == {"stage": "test"}
    assert written["model_id"] == card["model_id"] == load_model(tmp_path / "model.pt")[1][
        "model_id"]
    assert set(written["metrics"]["val"]["class_scores"]) == {"planet", "non_transit"}
    log = pd.read_csv(tmp_path / "training_log.csv")
    assert log["epoch"].tolist() == [1, 2, 3]


class Killed(Exception):
    """Stands in for the job being killed."""


@pytest.mark.slow
def test_killed_run_resumes_to_identical_weights(easy_task, tmp_path, monkeypatch):
    config = tiny_config(model="transformer-cpu", plateau_patience=0)
    run_training(*easy_task, config, tmp_path / "straight", provenance={})

    save = train._save_checkpoint

    def save_then_die(path, payload):
        save(path, payload)
        if len(payload["state"]["log"]) == 2:
            raise Killed

    monkeypatch.setattr(train, "_save_checkpoint", save_then_die)
    with pytest.raises(Killed):
        run_training(*easy_task, config, tmp_path / "resumed", provenance={})
    monkeypatch.undo()
    run_training(*easy_task, config, tmp_path / "resumed", provenance={})

    for name in ("model_card.json", "training_log.csv"):
        assert (tmp_path / "straight" / name).read_text() == \
            (tmp_path / "resumed" / name).read_text()
    straight = torch.load(tmp_path / "straight" / "model.pt", weights_only=True)["state_dict"]
    resumed = torch.load(tmp_path / "resumed" / "model.pt", weights_only=True)["state_dict"]
    assert all(torch.equal(straight[name], resumed[name]) for name in straight)
    with pytest.raises(ValueError, match="another training config"):
        run_training(*easy_task, replace(config, lr=1e-2), tmp_path / "resumed", provenance={})


def test_epochs_since_best_drives_early_stopping():
    log = [{"val_loss": loss} for loss in (0.9, 0.5, 0.7, 0.5, 0.6)]
    assert train._epochs_since_best(log) == 3  # a tie is no improvement
    assert train._epochs_since_best(log[:2]) == 0
    assert train._epochs_since_best([]) == 0
