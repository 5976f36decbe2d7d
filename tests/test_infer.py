"""Model files and shard scoring."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from tests.builders import flat_lightcurve
from transitflow.features import FeatureConfig, lightcurve_features
from transitflow.infer import flag_scores, load_model, save_model, score_shard, sigmoid
from transitflow.models import build_model
from transitflow.shards import write_shard


@pytest.fixture(scope="module")
def model_path(tmp_path_factory):
    torch.manual_seed(0)
    features = FeatureConfig(length=500)
    model = build_model("transformer-cpu", length=500)
    path = tmp_path_factory.mktemp("model") / "model.pt"
    save_model(path, model, "transformer-cpu", {"length": 500}, features, threshold=0.7)
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
    assert meta["features"] == FeatureConfig(length=500)
    assert len(meta["model_id"]) == 12
    resaved = model_path.with_name("again.pt")
    assert save_model(resaved, model, "transformer-cpu", {"length": 500}, meta["features"],
                      0.7) == meta["model_id"]


def test_load_model_rejects_other_files(tmp_path):
    torch.save({"weights": torch.zeros(2)}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="not a transitflow model file"):
        load_model(tmp_path / "other.pt")


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


def test_score_shard_matches_single_light_curve_scoring(model_path, shard_path):
    model, meta = load_model(model_path)
    lc = flat_lightcurve(tic=4, seed=4)
    with torch.inference_mode():
        logit = model(torch.from_numpy(lightcurve_features(lc, meta["features"])[None]))
    scores = score_shard(model_path, shard_path).set_index("key")
    assert scores.loc["4-s0001", "score"] == pytest.approx(sigmoid(logit.numpy())[0], rel=1e-5)


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
