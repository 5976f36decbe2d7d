"""Training: metrics, config and presets, a tiny end-to-end run, kill and resume, DDP."""

from __future__ import annotations

import json
import os
import socket
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from tests.builders import flat_lightcurve
from transitflow.detect import DetectConfig, detect_shard
from transitflow.training import distributed, trainer
from transitflow.features import FeatureConfig
from transitflow.infer import load_model, reads_local_views, score_shard
from transitflow.searching import SearchConfig
from transitflow.shards import read_shard, write_shard
from transitflow.models import PRESETS
from transitflow.infer import bce_with_logits
from transitflow.training import (TRAIN_PRESETS, TrainConfig, average_precision, f1_score,
                                  precision_recall_curve, recall_at_precision, roc_auc,
                                  run_training, threshold_at_false_alarm,
                                  threshold_at_precision)

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
    gate = threshold_at_false_alarm(Y, SCORE, 0.5)  # one of the two negatives passes
    assert 0.1 < gate <= np.nextafter(0.1, 1) and threshold_at_false_alarm(Y, SCORE, 0.0) > 0.4
    assert threshold_at_false_alarm([0, 0, 1], [0.3, 0.3, 0.9], 0.5) > 0.3  # tied: both out
    assert threshold_at_false_alarm(Y, SCORE, 1.0) == 0.1  # every light curve passes
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
    with pytest.raises(ValueError, match="threads must be positive"):
        TrainConfig(threads=0)
    with pytest.raises(ValueError, match="member_processes"):
        TrainConfig(member_processes=0)
    with pytest.raises(ValueError, match="eclipse_period_range"):
        TrainConfig.from_dict({"eclipse_period_range": [20, 5]})
    assert TrainConfig.from_dict({"eclipse_period_range": [1, 5]}).eclipse_period_range == (1, 5)


@pytest.mark.parametrize("options", [
    {"injection_fraction": 0.7, "physical_injection_fraction": 0.4}, {"augment_noise": -0.1},
    {"augment_roll": 0.6, "augment_swap": 0.6}, {"noise_level": -1.0},
    {"injection_fraction": 0.5, "eclipse_injection_fraction": 0.6}])
def test_config_rejects_bad_probabilities(options):
    with pytest.raises(ValueError):
        TrainConfig(**options)


def test_training_presets_reproduce_the_paper_rows():
    assert set(TRAIN_PRESETS) == {"paper-L2", "paper-L4", "paper-L8", "paper-d128", "paper-d256",
                                  "paper-d512", "paper-no-centroid", "paper-no-background",
                                  "paper-no-injection"}
    base = TrainConfig.from_dict({"preset": "paper-L4"})
    assert PRESETS[base.model] == PRESETS["transformer-paper"]
    assert base.injection_fraction > 0 and base.features.channels == ("flux", "centroid",
                                                                      "background")
    assert PRESETS[TrainConfig.from_dict({"preset": "paper-L8"}).model]["layers"] == 8
    assert PRESETS[TrainConfig.from_dict({"preset": "paper-d128"}).model]["d_model"] == 128
    no_centroid = TrainConfig.from_dict({"preset": "paper-no-centroid",
                                         "features": {"length": 500}, "epochs": 3})
    assert no_centroid.model == "transformer-paper" and no_centroid.epochs == 3
    assert no_centroid.features == FeatureConfig(length=500, channels=("flux", "background"))
    assert TrainConfig.from_dict({"preset": "paper-no-background"}).features.channels == \
        ("flux", "centroid")
    no_injection = TrainConfig.from_dict({"preset": "paper-no-injection"})
    assert no_injection.injection_fraction == no_injection.physical_injection_fraction == 0
    assert TrainConfig.from_dict(no_centroid.to_dict()) == no_centroid
    with pytest.raises(ValueError, match="paper-L2"):
        TrainConfig.from_dict({"preset": "paper-L3"})


@pytest.mark.slow
def test_tiny_training_learns_and_writes_outputs(easy_task, tmp_path):
    # 15 steps an epoch: the CNN's batch-norm running statistics need a few dozen steps.
    card = run_training(*easy_task, tiny_config(steps_per_epoch=15), tmp_path,
                        provenance={"stage": "test"})
    assert card["metrics"]["test"]["roc_auc"] > 0.9
    assert card["n_light_curves"]["train"] == {"planet": 16, "eb": 0, "non_transit": 16}
    assert card["gate_threshold"] <= card["threshold"]
    assert card["gate_metrics"]["recall"] >= card["metrics"]["test"]["recall"]
    for name in ("model.pt", "model_card.json", "training_log.csv", "training_curves.png",
                 "confusion_matrix.png", "calibration.png", "checkpoint.pt"):
        assert (tmp_path / name).stat().st_size > 0
    written = json.loads((tmp_path / "model_card.json").read_text())
    assert written["provenance"] == {"stage": "test"}
    assert written["model_id"] == card["model_id"] == load_model(tmp_path / "model.pt")[1][
        "model_id"]
    assert set(written["metrics"]["val"]["class_scores"]) == {"planet", "non_transit"}
    assert written["calibration"]["slope"] > 0 and written["calibration"]["curve"]
    assert written["metrics"]["test"]["recall_at_90_precision"] >= 0
    injected = written["injection_recall"]
    assert injected["split"] == "test" and injected["n"] == 600 and injected["hosts"] == 4
    assert sum(row["n"] for row in injected["by_snr"]) == 600
    high, low = injected["by_snr"][-1], injected["by_snr"][0]
    assert high["recall"] is None or low["recall"] is None or high["recall"] >= low["recall"]
    assert written["priors"]["transit_injections"]["period_days"]["range"] == [0.2, 40.0]
    assert written["priors"]["eclipse_injections"]["period_days"]["range"] == [0.5, 100.0]
    log = pd.read_csv(tmp_path / "training_log.csv")
    assert log["epoch"].tolist() == [1, 2, 3]


@pytest.mark.slow
def test_a_network_with_local_views_trains_on_the_batched_search_of_its_shards(easy_task,
                                                                              tmp_path):
    shards, labels, split = easy_task
    config = tiny_config(steps_per_epoch=15, features=FeatureConfig(local_length=32))
    with pytest.raises(ValueError, match="no detection tables"):
        run_training(shards, labels, split, config, tmp_path, provenance={})
    detections = detect_shard(read_shard(shards[0]), SearchConfig(), DetectConfig())
    card = run_training(shards, labels, split, config, tmp_path, provenance={},
                        detections=detections)
    assert card["metrics"]["test"]["roc_auc"] > 0.9
    assert reads_local_views(tmp_path / "model.pt")
    written = json.loads((tmp_path / "model_card.json").read_text())
    assert "the detect stage" in written["priors"]["local_view_ephemerides"][
        "labelled_light_curves"]
    scores = score_shard(tmp_path / "model.pt", shards[0], detections=detections)
    assert scores["score"].notna().all()


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.gpu
def test_training_on_a_gpu_in_bf16_learns_and_scores_alike_on_the_cpu(easy_task, tmp_path):
    card = run_training(*easy_task, tiny_config(steps_per_epoch=15, device="cuda"), tmp_path,
                        provenance={})
    assert card["device"] == "cuda" and card["metrics"]["test"]["roc_auc"] > 0.9
    on_gpu, on_cpu = (score_shard(tmp_path / "model.pt", easy_task[0][0], device=device)
                      for device in ("cuda", "cpu"))
    np.testing.assert_allclose(on_gpu["score"], on_cpu["score"], atol=0.02)


@pytest.mark.slow
def test_ensemble_members_are_the_single_models_of_their_seeds(easy_task, tmp_path,
                                                                monkeypatch):
    config = tiny_config(epochs=2, steps_per_epoch=4)
    card = run_training(*easy_task, replace(config, ensemble=2), tmp_path / "pair", provenance={})
    ensemble, meta = load_model(tmp_path / "pair" / "model.pt")
    assert len(ensemble.members) == 2 and meta["model_options"]["members"] == 2
    assert card["ensemble"] == 2 and card["epochs_run"] == [2, 2] and len(card["best_epoch"]) == 2
    assert pd.read_csv(tmp_path / "pair" / "training_log.csv")["member"].tolist() == [0, 0, 1, 1]
    assert (tmp_path / "pair" / "checkpoint-member1.pt").exists()
    for member, seed in enumerate((config.seed, config.seed + 1)):
        run_training(*easy_task, replace(config, seed=seed), tmp_path / str(seed), provenance={})
        single, _ = load_model(tmp_path / str(seed) / "model.pt")
        trained = ensemble.members[member].state_dict()
        assert all(torch.equal(trained[name], value)
                   for name, value in single.state_dict().items())
    with pytest.raises(ValueError, match="ensemble"):
        TrainConfig(ensemble=0)
    with pytest.raises(ValueError, match="train.ensemble"):
        TrainConfig(model_options={"members": 2})

    trained_seeds, train_epoch = [], trainer.Trainer._train_epoch
    monkeypatch.setattr(trainer.Trainer, "_train_epoch", lambda self, *args: (
        trained_seeds.append(self.config.seed), train_epoch(self, *args))[1])
    grown = run_training(*easy_task, replace(config, ensemble=3), tmp_path / "pair",
                         provenance={})
    assert trained_seeds == [config.seed + 2] * 2  # the two finished members are reused
    assert grown["epochs_run"] == [2, 2, 2]


@pytest.mark.slow
def test_members_trained_side_by_side_are_those_trained_in_turn(easy_task, tmp_path,
                                                                monkeypatch):
    config = tiny_config(ensemble=3)
    run_training(*easy_task, config, tmp_path / "in-turn", provenance={})
    # the spawned processes train (they import the module afresh); this one only loads
    monkeypatch.setattr(trainer.Trainer, "_train_epoch", lambda *args: pytest.fail("trained"))
    run_training(*easy_task, replace(config, member_processes=2), tmp_path / "side-by-side",
                 provenance={})
    in_turn, side_by_side = (torch.load(tmp_path / run / "model.pt", weights_only=True)
                             for run in ("in-turn", "side-by-side"))
    assert in_turn["state_dict"].keys() == side_by_side["state_dict"].keys()
    assert all(torch.equal(value, side_by_side["state_dict"][name])
               for name, value in in_turn["state_dict"].items())
    assert (tmp_path / "in-turn" / "training_log.csv").read_text() == \
        (tmp_path / "side-by-side" / "training_log.csv").read_text()
    cards = [json.loads((tmp_path / run / "model_card.json").read_text())
             for run in ("in-turn", "side-by-side")]
    assert [card["train_config"].pop("member_processes") for card in cards] == [1, 2]
    assert cards[0] == cards[1]


def test_the_model_follows_the_threads_setting_not_the_jobs_cores(easy_task, tmp_path):
    def trained(cores: int, threads: int) -> dict:
        torch.set_num_threads(cores)  # as the job's OMP_NUM_THREADS leaves it
        out = tmp_path / f"{cores}-{threads}"
        run_training(*easy_task, tiny_config(epochs=1, threads=threads), out, provenance={})
        return load_model(out / "model.pt")[0].state_dict()

    before = torch.get_num_threads()
    try:
        two = trained(cores=2, threads=2)
        assert all(torch.equal(two[name], value)
                   for name, value in trained(cores=3, threads=2).items())
        assert torch.get_num_threads() == 3  # the job's count again after training
        assert not all(torch.equal(two[name], value)  # batman's OpenMP call did not win
                       for name, value in trained(cores=2, threads=1).items())
    finally:
        torch.set_num_threads(before)


class Killed(Exception):
    """Stands in for the job being killed."""


@pytest.mark.slow
def test_killed_run_resumes_to_identical_weights(easy_task, tmp_path, monkeypatch):
    config = tiny_config(model="transformer-cpu", plateau_patience=0)
    run_training(*easy_task, config, tmp_path / "straight", provenance={})

    save = trainer._save_checkpoint

    def save_then_die(path, payload):
        save(path, payload)
        if len(payload["state"]["log"]) == 2:
            raise Killed

    monkeypatch.setattr(trainer, "_save_checkpoint", save_then_die)
    with pytest.raises(Killed):
        run_training(*easy_task, config, tmp_path / "resumed", provenance={})
    monkeypatch.undo()
    # batches depend on the stream position only, not on who makes them
    run_training(*easy_task, replace(config, num_workers=2), tmp_path / "resumed",
                 provenance={})

    assert (tmp_path / "straight" / "training_log.csv").read_text() == \
        (tmp_path / "resumed" / "training_log.csv").read_text()
    cards = [json.loads((tmp_path / run / "model_card.json").read_text())
             for run in ("straight", "resumed")]
    assert cards[1]["train_config"].pop("num_workers") == 2
    assert cards[0]["train_config"].pop("num_workers") == 0 and cards[0] == cards[1]
    checkpoint = torch.load(tmp_path / "resumed" / "checkpoint.pt", weights_only=True)
    assert checkpoint["state"]["position"] == 3 * config.steps_per_epoch
    straight = torch.load(tmp_path / "straight" / "model.pt", weights_only=True)["state_dict"]
    resumed = torch.load(tmp_path / "resumed" / "model.pt", weights_only=True)["state_dict"]
    assert all(torch.equal(straight[name], resumed[name]) for name in straight)

    # another config, other data or other code: the checkpoint is kept aside, not resumed
    relabelled = (easy_task[0], easy_task[1].assign(label=easy_task[1]["label"][::-1].to_numpy()),
                  easy_task[2])
    for task, changed, run in ((easy_task, replace(config, lr=1e-2), "config"),
                               (relabelled, config, "data")):
        run_training(*task, changed, tmp_path / "fresh" / run, provenance={})
        run_training(*task, changed, tmp_path / "resumed", provenance={})
        fresh = torch.load(tmp_path / "fresh" / run / "model.pt", weights_only=True)
        again = torch.load(tmp_path / "resumed" / "model.pt", weights_only=True)
        assert all(torch.equal(fresh["state_dict"][name], again["state_dict"][name])
                   for name in fresh["state_dict"])
    assert len(list((tmp_path / "resumed").glob("checkpoint-stale-*.pt"))) == 2


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def train_one_rank(rank: int, port: int, task, config: TrainConfig, out_dir: Path,
                   dumps: Path) -> None:
    """One process as torchrun starts it; dumps its parameters and card after training."""
    os.environ.update({"MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port), "RANK": str(rank),
                       "LOCAL_RANK": str(rank), "WORLD_SIZE": "2", "GLOO_SOCKET_IFNAME": "lo"})
    torch.set_num_threads(1)  # as torchrun does
    fit = trainer.Trainer.fit

    def fit_and_dump(self, *args):
        fit(self, *args)
        torch.save({name: value.detach() for name, value in self.model.named_parameters()},
                   dumps / f"rank{rank}.pt")

    trainer.Trainer.fit = fit_and_dump
    card = run_training(*task, config, out_dir, provenance={})
    (dumps / f"card{rank}.json").write_text(json.dumps(card, default=str))


def test_a_process_without_a_gpu_of_its_own_says_how_to_fix_it(monkeypatch):
    monkeypatch.setattr(distributed, "resolve_device", lambda name: torch.device("cuda"))
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    monkeypatch.setenv("LOCAL_RANK", "2")
    with pytest.raises(RuntimeError, match="the job sees 1.*gpu.*train_processes"):
        distributed.process_device("cuda")


@pytest.mark.slow
def test_ddp_trains_one_model_on_two_cpu_processes(easy_task, tmp_path):
    config = tiny_config(epochs=2, steps_per_epoch=4, batch_size=8)
    out_dir = tmp_path / "out"
    torch.multiprocessing.spawn(train_one_rank, nprocs=2,
                                args=(free_port(), easy_task, config, out_dir, tmp_path))
    first, second = (torch.load(tmp_path / f"rank{rank}.pt") for rank in range(2))
    assert all(torch.equal(first[name], second[name]) for name in first)  # gradients averaged
    cards = [json.loads((tmp_path / f"card{rank}.json").read_text()) for rank in range(2)]
    assert cards[0] == cards[1] and cards[0]["epochs_run"] == [2]
    assert sorted(path.name for path in out_dir.iterdir()) == sorted(
        ["features", "checkpoint.pt", "model.pt", "model_card.json", "training_log.csv",
         "training_curves.png", "confusion_matrix.png", "calibration.png"])
    assert load_model(out_dir / "model.pt")[1]["model_id"] == cards[0]["model_id"]


def test_epochs_since_best_drives_early_stopping():
    log = [{"val_loss": loss} for loss in (0.9, 0.5, 0.7, 0.5, 0.6)]
    assert trainer._epochs_since_best(log) == 3  # a tie is no improvement
    assert trainer._epochs_since_best(log[:2]) == 0
    assert trainer._epochs_since_best([]) == 0


def test_local_views_need_the_cnn():
    with pytest.raises(ValueError, match="local views .* need the cnn model"):
        TrainConfig(model="transformer-cpu", features=FeatureConfig(local_length=64))
    assert TrainConfig(model="transformer-cpu").features.local_length == 0
