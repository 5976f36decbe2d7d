"""Model files and batched scoring of light-curve shards."""

from __future__ import annotations

import hashlib
import logging
import pickle
from collections.abc import Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import nn

from transitflow.features import FeatureConfig, featurize_table, table_ephemerides
from transitflow.models import build_model
from transitflow.options import options_from_dict, reject_invalid
from transitflow.provenance import make_provenance
from transitflow.shards import open_shard
from transitflow.tables import atomic_output, read_table, write_table

log = logging.getLogger(__name__)
_MODEL_KEYS = ("state_dict", "preset", "model_options", "features", "threshold", "calibration",
               "model_id")


@dataclass(frozen=True)
class InferConfig:
    """Options of the ``infer`` stage (also used to score the injected copies)."""

    batch_size: int = 512  # light curves scored together

    def __post_init__(self) -> None:
        reject_invalid("infer", [(self.batch_size < 1, "batch_size must be >= 1")])

    @classmethod
    def from_dict(cls, options) -> InferConfig:
        """The options from a config section; an unknown key is an error naming it."""
        return options_from_dict(cls, options, "infer")


@dataclass(frozen=True)
class FlagConfig:
    """Options of the network's flagging rule (the ``flag`` section; see
    :func:`flag_scores`): a score threshold (None: the model card's) and a cap per sector."""

    threshold: float | None = None
    top_k: int | None = None

    def __post_init__(self) -> None:
        reject_invalid("flag", [(self.top_k is not None and self.top_k < 1,
                                 "top_k must be >= 1 or null")])

    @classmethod
    def from_dict(cls, options) -> FlagConfig:
        """The options from a config section; an unknown key is an error naming it."""
        return options_from_dict(cls, options, "flag")


def resolve_device(name: str = "auto") -> torch.device:
    """``"auto"``: the GPU when there is one, else the CPU; otherwise the named device."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def autocast(device: torch.device) -> AbstractContextManager:
    """bf16 autocast on a GPU; a no-op on the CPU (where bf16 gains nothing)."""
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda")


def sigmoid(logits: np.ndarray) -> np.ndarray:
    """Scores in [0, 1] from logits, without overflow."""
    return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(logits, dtype=np.float64)))


def fit_calibration(logits: np.ndarray, y: np.ndarray, iterations: int = 100) -> dict:
    """Platt scaling: the ``slope`` and ``intercept`` whose ``sigmoid(slope * logit +
    intercept)`` best predicts ``y``.

    Maximum likelihood with Platt's (1999) smoothed targets, which keep the slope finite
    when the classes separate; Newton steps, halved until the likelihood rises. Fitted on
    the validation split, it turns scores from balanced training batches into probabilities
    at the sector's class mix.

    Returns ``slope``, ``intercept`` and ``fitted``; when the fit does not rank planets
    higher (slope <= 0) the identity, with ``fitted`` False and a warning.

    Raises
    ------
    ValueError
        On non-finite logits.
    """
    z, y = np.asarray(logits, dtype=np.float64), np.asarray(y, dtype=bool)
    if not np.isfinite(z).all():
        raise ValueError("cannot calibrate: the network gave non-finite logits")
    positives, negatives = y.sum(), (~y).sum()
    target = np.where(y, (positives + 1.0) / (positives + 2.0), 1.0 / (negatives + 2.0))
    design = np.column_stack([z, np.ones_like(z)])
    params = np.zeros(2)
    loss = bce_with_logits(design @ params, target)
    for _ in range(iterations):
        p = sigmoid(design @ params)
        hessian = design.T @ (design * (p * (1.0 - p))[:, None]) + 1e-9 * np.eye(2)
        step = np.linalg.solve(hessian, design.T @ (p - target))
        while (new_loss := bce_with_logits(design @ (params - step), target)) > loss and \
                np.abs(step).max() > 1e-12:
            step /= 2.0
        params, converged, loss = params - step, loss - new_loss < 1e-12, new_loss
        if converged:
            break
    if not params[0] > 0:
        log.warning("scores left uncalibrated: the validation split gives slope %.3g (the "
                    "network does not rank its planets higher); train longer or on more "
                    "labelled light curves", params[0])
        return {"slope": 1.0, "intercept": 0.0, "fitted": False}
    return {"slope": float(params[0]), "intercept": float(params[1]), "fitted": True}


def bce_with_logits(logits: np.ndarray, y: np.ndarray) -> float:
    """Mean binary cross-entropy of logits, computed stably."""
    logits = np.asarray(logits, dtype=np.float64)
    return float(np.mean(np.logaddexp(0.0, logits) - y * logits))


def calibrated_scores(logits: np.ndarray, calibration: dict) -> np.ndarray:
    """Scores in [0, 1] of logits through a :func:`fit_calibration` result."""
    return sigmoid(calibration["slope"] * np.asarray(logits, dtype=np.float64)
                   + calibration["intercept"])


def weights_id(state_dict: dict[str, torch.Tensor]) -> str:
    """Short SHA-256 of the weights: the model's identity."""
    digest = hashlib.sha256()
    for name, tensor in state_dict.items():
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()[:12]


def save_model(path: str | Path, model: nn.Module, preset: str, model_options: dict,
               features: FeatureConfig, threshold: float, calibration: dict) -> str:
    """Write a self-contained model file (weights, preset, options, features, the threshold
    on calibrated scores and the calibration).

    Returns
    -------
    str
        The model id (:func:`weights_id`).
    """
    state = {name: tensor.detach().cpu() for name, tensor in model.state_dict().items()}
    model_id = weights_id(state)
    with atomic_output(path) as partial:
        torch.save({"state_dict": state, "preset": preset, "model_options": dict(model_options),
                    "features": features.to_dict(), "threshold": float(threshold),
                    "calibration": dict(calibration), "model_id": model_id}, partial)
    return model_id


def load_model(path: str | Path) -> tuple[nn.Module, dict]:
    """The model of a file written by :func:`save_model`, on the CPU in eval mode.

    Returns
    -------
    model : torch.nn.Module
    meta : dict
        ``preset``, ``model_options``, ``features`` (a :class:`FeatureConfig`),
        ``threshold``, ``calibration`` and ``model_id``.
    """
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except (OSError, MemoryError):  # a missing or unreadable file says so itself
        raise
    except Exception as error:  # torch.load refuses a file that is no model in many ways
        raise ValueError(f"{path}: not a transitflow model file, or a damaged one "
                         f"({_load_failure(error)}); give the model.pt a training run wrote "
                         "(results/<run>/model/)") from error
    missing = [key for key in _MODEL_KEYS if key not in payload]
    if missing:
        raise ValueError(f"{path}: not a transitflow model file of this version (missing "
                         f"{missing}); train it again with this version")
    model = build_model(payload["preset"], **payload["model_options"])
    model.load_state_dict(payload["state_dict"])
    meta = {key: payload[key] for key in _MODEL_KEYS[1:]}
    meta["features"] = FeatureConfig.from_dict(meta["features"])
    return model.eval(), meta


def reads_local_views(path: str | Path) -> bool:
    """Whether the model file ``path`` reads local views at the search's ephemerides (so
    scoring needs detection tables)."""
    return load_model(path)[1]["features"].local_length > 0


def _load_failure(error: Exception) -> str:
    """Why torch.load refused a file, in a few words: the error's name and its first line,
    but for an unpickling error, whose first line advises loading untrusted code."""
    if isinstance(error, pickle.UnpicklingError):
        return type(error).__name__
    return f"{type(error).__name__}: {(str(error).splitlines() or [''])[0]}"


def predict_logits(model: nn.Module, x: np.ndarray, batch_size: int = 512) -> np.ndarray:
    """Logits of ``(N, channels, length)`` inputs, in batches on the model's device.

    Puts the model in eval mode.
    """
    device = next(model.parameters()).device
    logits = np.empty(len(x), dtype=np.float32)
    model.eval()
    with torch.inference_mode(), autocast(device):
        for start in range(0, len(x), batch_size):
            batch = torch.from_numpy(x[start:start + batch_size])
            if device.type == "cuda":
                batch = batch.pin_memory().to(device, non_blocking=True)
            logits[start:start + len(batch)] = model(batch).float().cpu().numpy()
    return logits


def score_shard(model_path: str | Path, shard_path: str | Path, batch_size: int = 512,
                device: str = "auto", detections: pd.DataFrame | None = None) -> pd.DataFrame:
    """Score every light curve of a shard (with its detection table ``detections`` when the
    model reads local views at the search's ephemerides).

    Returns
    -------
    pandas.DataFrame
        One row per light curve, in file order: ``key``, ``tic``, ``sector``, ``score``
        (calibrated probability of a planet; NaN when failed), ``status`` (``"scored"`` or
        ``"failed"``), ``reason`` (why it failed, else "") and ``model_id``.
    """
    model, meta = load_model(model_path)
    model.to(resolve_device(device))
    table = open_shard(shard_path)
    if meta["features"].local_length and detections is None:
        raise ValueError(f"{model_path}: the model reads local views at the detection "
                         "search's ephemerides, and no detection table was given; set "
                         "train.features.local_length in the config as the model has it "
                         f"({meta['features'].local_length}), so that infer reads them")
    features = featurize_table(table, meta["features"], table_ephemerides(table, detections))
    score = np.full(len(features.keys), np.nan)
    score[features.ok] = calibrated_scores(predict_logits(model, features.x, batch_size),
                                           meta["calibration"])
    return pd.DataFrame({
        "key": features.keys,
        "tic": table.column("tic").to_numpy(),
        "sector": table.column("sector").to_numpy(),
        "score": score,
        "status": np.where(features.ok, "scored", "failed"),
        "reason": features.reasons,
        "model_id": meta["model_id"],
    })


def run_infer(model: str | Path, shard: str | Path, options: Mapping, out: str | Path,
              detections: str | Path | None = None) -> pd.DataFrame:
    """The infer stage: score every light curve of ``shard`` with the model file ``model``
    (:func:`score_shard`; its local views at the ephemerides of the shard's detection table
    ``detections``); write the scores to ``out`` and return them. ``options`` is the
    config's ``infer`` section."""
    config = InferConfig.from_dict(options)
    found = read_table(detections) if detections else None
    scores = score_shard(model, shard, batch_size=config.batch_size, detections=found)
    write_table(scores, out, make_provenance("infer", options,
                                             [model, shard, *filter(None, [detections])]))
    return scores


def flag_scores(scores: pd.DataFrame, card_threshold: float | None,
                threshold: float | None = None,
                top_k: int | None = None) -> tuple[pd.DataFrame, dict]:
    """Flag scored light curves for the transit search.

    Parameters
    ----------
    scores : pandas.DataFrame
        Rows of :func:`score_shard` (any number of shards).
    card_threshold : float or None
        The model card's threshold, used when ``threshold`` is None.
    threshold : float, optional
        Flag scores at or above it.
    top_k : int, optional
        Flag at most this many light curves per sector, the highest scores first.

    Returns
    -------
    flagged : pandas.DataFrame
        ``scores`` with a boolean ``flagged`` column.
    summary : dict
        The rule applied and the counts of scored, failed and flagged light curves.
    """
    source = "config" if threshold is not None else "model card"
    threshold = card_threshold if threshold is None else threshold
    if threshold is None and top_k is None:
        raise ValueError("no flagging rule: the model card gives no threshold; set "
                         "flag.threshold or flag.top_k")
    flagged = (scores["status"] == "scored").to_numpy()
    rules = []
    if threshold is not None:
        flagged &= (scores["score"] >= threshold).to_numpy()
        rules.append(f"score >= {threshold:.4g} ({source})")
    if top_k is not None:
        rank = scores["score"].where(flagged).groupby(scores["sector"]).rank(
            method="first", ascending=False)
        flagged &= (rank <= top_k).to_numpy()
        rules.append(f"top {top_k} per sector")
    summary = {"rule": ", ".join(rules), "threshold": threshold, "top_k": top_k,
               "scored": int((scores["status"] == "scored").sum()),
               "failed": int((scores["status"] == "failed").sum()), "flagged": int(flagged.sum())}
    return scores.assign(flagged=flagged), summary
