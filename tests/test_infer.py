"""Model files and shard scoring."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from tests.builders import flat_lightcurve
from transitflow.cli import main
from transitflow.features import FeatureConfig, lightcurve_features
from transitflow.infer import (calibrated_scores, fit_calibration, flag_scores, load_model,
                               reads_local_views, save_model, score_shard, sigmoid)
from transitflow.models import build_model
from transitflow.shards import write_shard
from transitflow.tables import read_provenance, read_table


@pytest.fixture(scope="module")
def model_path(tmp_path_factory):
    torch.manual_seed(0)
    features = FeatureConfig(length=500)
    model = build_model("transformer-cpu", length=500)
    path = tmp_path_factory.mktemp("model") / "model.pt"
    save_model(path, model, "transformer-cpu", {"length": 500}, features, threshold=0.7,
               calibration={"slope": 0.5, "intercept": -1.0})
    return path


@pytest.fixture(scope="module")
def shard_path(tmp_path_factory):
    lcs = [flat_lightcurve(tic=tic, seed=tic) for tic in range(1, 6)]
    lcs.insert(2, flat_lightcurve(tic=99, span=1.0))  # 48 cadences: too few
    return write_shard(tmp_path_factory.mktemp("shard") / "s.arrow", lcs, provenance={})


def test_model_file_round_trip(model_path):
    model, meta = load_model(model_path)
    assert not model.training
    assert meta["preset"] == "transformer-cpu" and meta["threshold"] == 0.7
    assert meta["calibration"] == {"slope": 0.5, "intercept": -1.0}
    assert meta["features"] == FeatureConfig(length=500)
    assert len(meta["model_id"]) == 12
    resaved = model_path.with_name("again.pt")
    assert save_model(resaved, model, "transformer-cpu", {"length": 500}, meta["features"],
                      0.7, meta["calibration"]) == meta["model_id"]


def test_load_model_rejects_other_files(tmp_path):
    torch.save({"weights": torch.zeros(2)}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="not a transitflow model file"):
        load_model(tmp_path / "other.pt")
    (tmp_path / "notes.txt").write_text("a text file given as the model\n")
    with pytest.raises(ValueError, match=r"notes.txt: not a transitflow model file, or a "
                                         r"damaged one \(\w+(: [^;]*)?\); give the model.pt "
                                         "a training run wrote"):
        load_model(tmp_path / "notes.txt")
    with pytest.raises(FileNotFoundError):
        load_model(tmp_path / "missing.pt")


def test_score_shard_has_a_row_per_light_curve(model_path, shard_path):
    scores = score_shard(model_path, shard_path, batch_size=2)
    assert list(scores.columns) == ["key", "tic", "sector", "score", "status", "reason",
                                    "model_id"]
    assert scores["tic"].tolist() == [1, 2, 99, 3, 4, 5]
    failed = scores[scores["status"] == "failed"]
    assert failed["key"].tolist() == ["99-s0001"]
    assert failed["reason"].iloc[0] == "48 good cadences, fewer than 100"
    assert np.isnan(failed["score"].iloc[0])
    scored = scores[scores["status"] == "scored"]
    assert scored["score"].between(0, 1).all() and (scored["reason"] == "").all()
    assert (scores["model_id"] == load_model(model_path)[1]["model_id"]).all()


def test_score_shard_gives_calibrated_single_light_curve_scores(model_path, shard_path):
    model, meta = load_model(model_path)
    lc = flat_lightcurve(tic=4, seed=4)
    with torch.inference_mode():
        logit = model(torch.from_numpy(lightcurve_features(lc, meta["features"])[None]))
    scores = score_shard(model_path, shard_path).set_index("key")
    expected = sigmoid(0.5 * logit.numpy()[0] - 1.0)
    assert scores.loc["4-s0001", "score"] == pytest.approx(expected, rel=1e-5)


def test_infer_command_writes_the_scores_with_provenance(model_path, shard_path, tmp_path):
    out = tmp_path / "scores.parquet"
    assert main(["infer", "--model", str(model_path), "--shard", str(shard_path),
                 "--options", '{"batch_size": 2}', "--out", str(out)]) == 0
    pd.testing.assert_frame_equal(read_table(out), score_shard(model_path, shard_path))
    provenance = read_provenance(out)
    assert provenance["stage"] == "infer" and provenance["config"] == {"batch_size": 2}
    assert set(provenance["inputs"]) == {str(model_path), str(shard_path)}


def test_sigmoid_is_stable():
    np.testing.assert_allclose(sigmoid(np.array([-1000.0, 0.0, 1000.0])), [0.0, 0.5, 1.0])


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_gpu_scores_match_cpu(model_path, shard_path):
    cpu = score_shard(model_path, shard_path, device="cpu")
    gpu = score_shard(model_path, shard_path, device="cuda")
    np.testing.assert_allclose(gpu["score"], cpu["score"], atol=0.02)


def test_flag_scores_by_threshold_and_top_k():
    scores = pd.DataFrame({"sector": [1, 1, 1, 2, 2], "score": [0.9, 0.95, 0.2, 0.8, np.nan],
                           "status": ["scored"] * 4 + ["failed"]})
    flagged, summary = flag_scores(scores, card_threshold=0.5)
    assert flagged["flagged"].tolist() == [True, True, False, True, False]
    assert summary == {"rule": "score >= 0.5 (model card)", "threshold": 0.5, "top_k": None,
                       "scored": 4, "failed": 1, "flagged": 3}
    flagged, summary = flag_scores(scores, None, top_k=1)
    assert flagged["flagged"].tolist() == [False, True, False, True, False]
    flagged, summary = flag_scores(scores, 0.5, threshold=0.85, top_k=5)
    assert flagged["flagged"].tolist() == [True, True, False, False, False]
    assert summary["rule"] == "score >= 0.85 (config), top 5 per sector"
    with pytest.raises(ValueError, match="flag.threshold"):
        flag_scores(scores, None)


def test_calibration_recovers_the_true_probabilities():
    rng = np.random.default_rng(3)
    logits = rng.normal(0.0, 3.0, 20000)
    y = rng.random(20000) < sigmoid(0.4 * logits - 1.5)  # an over-confident, biased network
    calibration = fit_calibration(logits, y)
    assert calibration["slope"] == pytest.approx(0.4, abs=0.03)
    assert calibration["intercept"] == pytest.approx(-1.5, abs=0.08)
    assert calibration["fitted"]
    scores = calibrated_scores(logits, calibration)
    for low in (0.1, 0.3, 0.5, 0.7):
        chosen = (scores >= low) & (scores < low + 0.1)
        assert y[chosen].mean() == pytest.approx(scores[chosen].mean(), abs=0.03)


def test_calibration_stays_finite_on_separable_classes_and_refuses_a_reversed_network():
    logits = np.linspace(-5.0, 5.0, 200)
    separable = fit_calibration(logits, logits > 0)
    assert 0 < separable["slope"] < 20 and np.isfinite(separable["intercept"])
    assert fit_calibration(logits, logits < 0) == {"slope": 1.0, "intercept": 0.0,
                                                   "fitted": False}
    with pytest.raises(ValueError, match="non-finite logits"):
        fit_calibration(np.append(logits, np.nan), np.append(logits > 0, True))


def test_a_model_with_local_views_scores_at_the_shards_detections(shard_path, tmp_path):
    torch.manual_seed(0)
    features = FeatureConfig(length=500, local_length=32)
    model = build_model("cnn", length=500, local_length=32)
    path = tmp_path / "local.pt"
    save_model(path, model, "cnn", {"length": 500, "local_length": 32}, features,
               threshold=0.5, calibration={"slope": 1.0, "intercept": 0.0})
    assert reads_local_views(path)
    with pytest.raises(ValueError, match="local_length in the config as the model has it"):
        score_shard(path, shard_path)
    keys = [f"{tic}-s0001" for tic in (1, 2, 99, 3, 4, 5)]
    detections = detect_table(keys, period=[2.0, 3.0, 1.0, 4.0, 5.0, 6.0])
    detections.to_parquet(tmp_path / "detect.parquet")
    out = tmp_path / "scores.parquet"
    assert main(["infer", "--model", str(path), "--shard", str(shard_path), "--detections",
                 str(tmp_path / "detect.parquet"), "--out", str(out)]) == 0
    scores = read_table(out)
    pd.testing.assert_frame_equal(scores, score_shard(path, shard_path, detections=detections))
    moved = score_shard(path, shard_path, detections=detections.assign(epoch=1326.3))
    assert not np.allclose(moved["score"].dropna(), scores["score"].dropna())  # they count
    assert str(tmp_path / "detect.parquet") in read_provenance(out)["inputs"]


def detect_table(keys: list[str], period: list[float]) -> pd.DataFrame:
    """Detection-table rows of periodic signals of 0.1 d at epoch 1325.5."""
    return pd.DataFrame({"key": keys, "copy": "data", "status": "ok", "period": period,
                         "epoch": 1325.5, "duration": 0.1, "snr": 9.0, "single_epoch": np.nan,
                         "single_duration": np.nan, "single_snr": np.nan})
