"""Training of the planet classifier: balanced batches, checkpoints, metrics, model card.

The model learns planet (1) against eclipsing binary and non-transit (0) from the features
of :mod:`transitflow.features`. Training resumes from ``checkpoint.pt`` when one is present;
on the CPU a resumed run ends with the same weights as an uninterrupted one.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from time import perf_counter

import numpy as np
import pandas as pd
import torch
from matplotlib.figure import Figure
from torch import nn
from tqdm import tqdm

from transitflow.features import FeatureConfig, shard_features
from transitflow.infer import autocast, predict_logits, resolve_device, save_model, sigmoid
from transitflow.models import build_model
from transitflow.options import options_from_dict
from transitflow.provenance import config_hash, file_digest
from transitflow.tables import write_json

LABELS = ("planet", "eb", "non_transit")
SPLITS = ("train", "val", "test")
POSITIVE = "planet"


@dataclass(frozen=True)
class TrainConfig:
    """Training settings.

    Parameters
    ----------
    model : str
        Model preset (:data:`transitflow.models.PRESETS`); ``model_options`` override it.
    features : FeatureConfig
        Model input definition, stored with the model.
    epochs, steps_per_epoch, batch_size : int
        Epochs of ``steps_per_epoch`` balanced batches.
    lr, weight_decay : float
        AdamW settings.
    plateau_patience : int
        Epochs without a lower validation loss before the learning rate is multiplied by
        ``plateau_factor``.
    early_stopping_patience : int
        Epochs without a lower validation loss before training stops.
    seed : int
        Seed of initialisation, batches, augmentation and dropout.
    num_workers : int
        DataLoader worker processes building batches.
    device : str
        ``"auto"`` (GPU when present), ``"cpu"``, ``"cuda"``, ...
    target_precision : float
        Validation precision at which the decision threshold is chosen.
    compile : bool
        Run the model through ``torch.compile``.
    """

    model: str = "cnn"
    model_options: dict = field(default_factory=dict)
    features: FeatureConfig = FeatureConfig()
    epochs: int = 30
    steps_per_epoch: int = 100
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 1e-2
    plateau_patience: int = 2
    plateau_factor: float = 0.8
    early_stopping_patience: int = 6
    seed: int = 0
    num_workers: int = 0
    device: str = "auto"
    target_precision: float = 0.9
    compile: bool = False

    def __post_init__(self) -> None:
        if min(self.epochs, self.steps_per_epoch, self.batch_size) < 1:
            raise ValueError("epochs, steps_per_epoch and batch_size must be positive")
        if not 0 < self.plateau_factor < 1 or not 0 < self.target_precision <= 1:
            raise ValueError("plateau_factor must be in (0, 1) and target_precision in (0, 1]")

    @classmethod
    def from_dict(cls, options: dict) -> TrainConfig:
        """The config from a mapping (``features`` as a mapping too); unknown keys are an error."""
        options = dict(options)
        if "features" in options:
            options["features"] = FeatureConfig.from_dict(options["features"])
        return options_from_dict(cls, options, "train")

    def to_dict(self) -> dict:
        return {**asdict(self), "features": self.features.to_dict()}


@dataclass(frozen=True)
class Dataset:
    """Features, targets (1 = planet) and class names of the light curves of one split."""

    keys: list[str]
    x: np.ndarray
    label: np.ndarray

    @property
    def y(self) -> np.ndarray:
        return (self.label == POSITIVE).astype(np.float32)


# --- metrics -------------------------------------------------------------------------------


def roc_auc(y: np.ndarray, score: np.ndarray) -> float:
    """Area under the ROC curve (ties count half); NaN without both classes."""
    y = np.asarray(y, dtype=bool)
    n_pos, n_neg = y.sum(), (~y).sum()
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    _, inverse, counts = np.unique(score, return_inverse=True, return_counts=True)
    ranks = (np.cumsum(counts) - (counts - 1) / 2.0)[inverse]
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def precision_recall_curve(y: np.ndarray,
                           score: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Precision and recall of ``score >= threshold`` at each distinct score, highest first.

    Returns
    -------
    precision, recall, thresholds : numpy.ndarray
    """
    y, score = np.asarray(y, dtype=bool), np.asarray(score)
    order = np.argsort(-score, kind="stable")
    ranked = score[order]
    last = np.flatnonzero(np.append(np.diff(ranked) != 0, True))
    tp = np.cumsum(y[order])[last]
    precision = tp / (last + 1.0)
    recall = tp / y.sum() if y.any() else np.zeros(len(tp))
    return precision, recall, ranked[last]


def average_precision(y: np.ndarray, score: np.ndarray) -> float:
    """Area under the precision-recall curve (step-wise, as sklearn); NaN without positives."""
    if not np.any(y):
        return float("nan")
    precision, recall, _ = precision_recall_curve(y, score)
    return float(np.sum(np.diff(recall, prepend=0.0) * precision))


def threshold_at_precision(y: np.ndarray, score: np.ndarray, target: float) -> float:
    """The highest-recall score threshold whose precision reaches ``target``.

    When no threshold reaches it, the threshold of highest precision.
    """
    precision, recall, thresholds = precision_recall_curve(y, score)
    reached = np.flatnonzero(precision >= target)
    if len(reached) == 0:
        return float(thresholds[np.argmax(precision)])
    return float(thresholds[reached[np.argmax(recall[reached])]])


def recall_at_precision(y: np.ndarray, score: np.ndarray, target: float) -> float:
    """Highest recall at a threshold with precision >= ``target`` (0 when none)."""
    precision, recall, _ = precision_recall_curve(y, score)
    reached = precision >= target
    return float(recall[reached].max()) if reached.any() else 0.0


def f1_score(y: np.ndarray, predicted: np.ndarray) -> float:
    """F1 of boolean predictions (0 when there are no positives at all)."""
    y, predicted = np.asarray(y, dtype=bool), np.asarray(predicted, dtype=bool)
    tp = np.sum(y & predicted)
    denominator = y.sum() + predicted.sum()
    return float(2 * tp / denominator) if denominator else 0.0


def evaluate(data: Dataset, score: np.ndarray, threshold: float) -> dict:
    """Metrics of scores at ``threshold``, with each class's score distribution."""
    y = data.y
    predicted = score >= threshold
    true_positives = np.sum(predicted & (y == 1))
    quantiles = (5, 25, 50, 75, 95)
    classes = {}
    for label in LABELS:
        selected = score[data.label == label]
        if len(selected):
            classes[label] = {"n": int(len(selected)),
                              "fraction_above_threshold": float(np.mean(selected >= threshold)),
                              "quantiles": dict(zip(map(str, quantiles),
                                                    np.percentile(selected, quantiles).tolist()))}
    metrics = {
        "n": int(len(y)),
        "roc_auc": roc_auc(y, score),
        "pr_auc": average_precision(y, score),
        "f1": f1_score(y, predicted),
        "precision": float(true_positives / max(predicted.sum(), 1)),
        "recall": float(true_positives / max(y.sum(), 1)),
        "recall_at_99_precision": recall_at_precision(y, score, 0.99),
    }
    return {**{k: v if np.isfinite(v) else None for k, v in metrics.items()},
            "class_scores": classes}


def bce_with_logits(logits: np.ndarray, y: np.ndarray) -> float:
    """Mean binary cross-entropy of logits, computed stably."""
    logits = logits.astype(np.float64)
    return float(np.mean(np.maximum(logits, 0) - logits * y + np.log1p(np.exp(-np.abs(logits)))))


# --- data ----------------------------------------------------------------------------------


def load_splits(shard_paths: list[Path], labels: pd.DataFrame, split: pd.DataFrame,
                features: FeatureConfig) -> dict[str, Dataset]:
    """Features of the labelled light curves, per split.

    Light curves without a label (missing or NaN), a split or enough good cadences are
    left out.
    """
    _require_columns(labels, ("key", "tic", "label"), "labels")
    _require_columns(split, ("tic", "split"), "split")
    labels = labels.dropna(subset=["label"])
    for frame, column, allowed in ((labels, "label", LABELS), (split, "split", SPLITS)):
        unknown = sorted(set(frame[column]) - set(allowed))
        if unknown:
            raise ValueError(f"unknown {column} values {unknown}; valid: {list(allowed)}")
    if not shard_paths:
        raise ValueError("no light-curve shards given")
    keys, xs = zip(*(shard_features(path, features) for path in shard_paths))
    x = np.concatenate(xs)
    rows = pd.DataFrame({"key": np.concatenate(keys), "row": np.arange(len(x))})
    rows = rows.merge(labels[["key", "tic", "label"]], on="key").merge(split[["tic", "split"]],
                                                                      on="tic")
    return {name: Dataset(keys=part["key"].tolist(), x=x[part["row"].to_numpy()],
                          label=part["label"].to_numpy(dtype=str))
            for name, part in ((name, rows[rows["split"] == name]) for name in SPLITS)}


def _require_columns(frame: pd.DataFrame, columns: tuple[str, ...], name: str) -> None:
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise ValueError(f"{name} table lacks column(s) {missing}")


def augment(x: np.ndarray, rng: np.random.Generator, noise: float = 0.05) -> np.ndarray:
    """Randomly rolled, half of them mirrored, copies of ``x`` with Gaussian noise added.

    The noise level of each light curve is uniform in [0, ``noise``].
    """
    count, _, length = x.shape
    index = (np.arange(length) + rng.integers(0, length, count)[:, None]) % length
    index = np.where(rng.random(count)[:, None] < 0.5, length - 1 - index, index)
    sigma = rng.uniform(0.0, noise, (count, 1, 1)).astype(np.float32)
    return np.take_along_axis(x, index[:, None, :], axis=2) \
        + sigma * rng.standard_normal(x.shape, dtype=np.float32)


class BalancedBatches(torch.utils.data.Dataset):
    """The batches of one epoch, each with equal shares of every class present.

    Batch ``step`` of epoch ``epoch`` depends only on ``(seed, epoch, step)``, so batches
    are reproducible across workers and resumed runs. Set ``epoch`` before each epoch.
    """

    def __init__(self, data: Dataset, batch_size: int, steps: int, seed: int,
                 augmented: bool = True) -> None:
        self.data, self.batch_size, self.steps, self.seed = data, batch_size, steps, seed
        self.augmented = augmented
        self.y = data.y
        self.groups = [np.flatnonzero(data.label == label) for label in LABELS
                       if np.any(data.label == label)]
        self.epoch = 0

    def __len__(self) -> int:
        return self.steps

    def __getitem__(self, step: int) -> tuple[torch.Tensor, torch.Tensor]:
        rng = np.random.default_rng([self.seed, self.epoch, step])
        shares = np.full(len(self.groups), self.batch_size // len(self.groups))
        shares[:self.batch_size % len(self.groups)] += 1
        index = np.concatenate([rng.choice(group, share) for group, share in
                                zip(self.groups, shares)])
        x = self.data.x[index]
        if self.augmented:
            x = augment(x, rng)
        return torch.from_numpy(x), torch.from_numpy(self.y[index])


# --- training ------------------------------------------------------------------------------


def run_training(shard_paths: list[Path], labels: pd.DataFrame, split: pd.DataFrame,
                 config: TrainConfig, out_dir: Path, provenance: dict) -> dict:
    """Train a model and write it with its card, log and figures to ``out_dir``.

    Parameters
    ----------
    shard_paths : list of Path
        Light-curve shards.
    labels : pandas.DataFrame
        ``key``, ``tic``, ``label`` (``planet``, ``eb`` or ``non_transit``).
    split : pandas.DataFrame
        ``tic``, ``split`` (``train``, ``val`` or ``test``).
    config : TrainConfig
    out_dir : Path
        Receives ``checkpoint.pt`` (every epoch; resumed from when present), ``model.pt``,
        ``model_card.json``, ``training_log.csv``, ``training_curves.png`` and
        ``confusion_matrix.png``.
    provenance : dict
        Recorded in the model card.

    Returns
    -------
    dict
        The model card without its provenance.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    data = load_splits(shard_paths, labels, split, config.features)
    for name in ("train", "val"):
        if len(np.unique(data[name].y)) < 2:
            raise ValueError(f"the {name} split needs planets and non-planets")
    device = resolve_device(config.device)
    torch.manual_seed(config.seed)
    model_options = {"in_channels": len(config.features.channels),
                     "length": config.features.length, **config.model_options}
    model = build_model(config.model, **model_options).to(device)
    trainer = _Trainer(model, config, device, out_dir / "checkpoint.pt")
    trainer.fit(data["train"], data["val"])
    model.load_state_dict(trainer.state["best_weights"])
    return _finish(model, model_options, trainer.state["log"], data, config, device, out_dir,
                   provenance, _data_hashes(shard_paths, labels, split))


class _Trainer:
    """The epoch loop with its resumable state (optimizer, scheduler, RNG, early stopping)."""

    def __init__(self, model: nn.Module, config: TrainConfig, device: torch.device,
                 checkpoint: Path) -> None:
        self.model, self.config, self.device, self.checkpoint = model, config, device, checkpoint
        self.forward = torch.compile(model) if config.compile else model
        self.loss = nn.BCEWithLogitsLoss()
        self.optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr,
                                           weight_decay=config.weight_decay)
        self.scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
            self.optimizer, factor=config.plateau_factor, patience=config.plateau_patience)
        self.state = {"log": [], "best_weights": _cpu_weights(model)}
        if checkpoint.exists():
            self._resume()

    def fit(self, train: Dataset, val: Dataset) -> None:
        config = self.config
        batches = BalancedBatches(train, config.batch_size, config.steps_per_epoch, config.seed)
        loader = torch.utils.data.DataLoader(batches, batch_size=None,
                                             num_workers=config.num_workers,
                                             pin_memory=self.device.type == "cuda")
        log = self.state["log"]
        while len(log) < config.epochs and _epochs_since_best(log) < config.early_stopping_patience:
            batches.epoch = epoch = len(log)
            train_loss = self._train_epoch(loader, epoch)
            val_logits = predict_logits(self.forward, val.x, 4 * config.batch_size)
            val_loss = bce_with_logits(val_logits, val.y)
            self.scheduler.step(val_loss)
            self._record(epoch, train_loss, val_loss, sigmoid(val_logits), val)
            _save_checkpoint(self.checkpoint, self._checkpoint())
            tqdm.write(", ".join(f"{name} {value:.4g}" for name, value in log[-1].items()))

    def _train_epoch(self, loader: torch.utils.data.DataLoader, epoch: int) -> float:
        self.model.train()
        total, seen, start = torch.zeros((), device=self.device), 0, perf_counter()
        progress = tqdm(loader, desc=f"epoch {epoch + 1}/{self.config.epochs}", unit="step",
                        mininterval=1.0, leave=False)
        for step, (x, y) in enumerate(progress, start=1):
            x = x.to(self.device, non_blocking=True)
            y = y.to(self.device, non_blocking=True)
            with autocast(self.device):
                loss = self.loss(self.forward(x).float(), y)
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self.optimizer.step()
            total += loss.detach()
            seen += len(x)
            if step % 10 == 0 or step == len(loader):
                progress.set_postfix(loss=f"{total.item() / step:.4f}",
                                     lc_per_s=f"{seen / (perf_counter() - start):.0f}")
        return total.item() / len(loader)

    def _record(self, epoch: int, train_loss: float, val_loss: float, val_score: np.ndarray,
                val: Dataset) -> None:
        self.state["log"].append({"epoch": epoch + 1, "lr": self.optimizer.param_groups[0]["lr"],
                                  "train_loss": train_loss, "val_loss": val_loss,
                                  "val_roc_auc": roc_auc(val.y, val_score),
                                  "val_pr_auc": average_precision(val.y, val_score)})
        if _epochs_since_best(self.state["log"]) == 0:
            self.state["best_weights"] = _cpu_weights(self.model)

    def _checkpoint(self) -> dict:
        return {"config": self.config.to_dict(), "state": self.state,
                "model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
                "scheduler": self.scheduler.state_dict(), "torch_rng": torch.get_rng_state(),
                "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else []}

    def _resume(self) -> None:
        saved = torch.load(self.checkpoint, map_location=self.device, weights_only=True)
        if _resumable(saved["config"]) != _resumable(self.config.to_dict()):
            raise ValueError(f"{self.checkpoint} was written with another training config; "
                             "delete it to start over")
        self.model.load_state_dict(saved["model"])
        self.optimizer.load_state_dict(saved["optimizer"])
        self.scheduler.load_state_dict(saved["scheduler"])
        torch.set_rng_state(saved["torch_rng"].cpu())
        if saved["cuda_rng"] and torch.cuda.is_available():
            torch.cuda.set_rng_state_all([state.cpu() for state in saved["cuda_rng"]])
        self.state = saved["state"]


def _epochs_since_best(log: list[dict]) -> int:
    """Epochs logged after the first one with the lowest validation loss (0 when empty)."""
    losses = [row["val_loss"] for row in log]
    return len(losses) - 1 - losses.index(min(losses)) if losses else 0


def _resumable(config: dict) -> dict:
    """The settings a resumed run must share (where and how fast it runs may change)."""
    return {name: value for name, value in config.items()
            if name not in ("device", "num_workers")}


def _cpu_weights(model: nn.Module) -> dict[str, torch.Tensor]:
    return {name: tensor.detach().cpu().clone() for name, tensor in model.state_dict().items()}


def _save_checkpoint(path: Path, payload: dict) -> None:
    """Write atomically, so a killed run leaves the previous checkpoint intact."""
    partial = path.with_suffix(".partial")
    torch.save(payload, partial)
    os.replace(partial, path)


# --- outputs -------------------------------------------------------------------------------


def _data_hashes(shard_paths: list[Path], labels: pd.DataFrame, split: pd.DataFrame) -> dict:
    return {"data_hash": config_hash({"shards": [file_digest(path) for path in shard_paths],
                                      "labels": labels.to_dict(orient="list")}),
            "split_hash": config_hash(split.to_dict(orient="list"))}


def _finish(model: nn.Module, model_options: dict, log: list[dict], data: dict[str, Dataset],
            config: TrainConfig, device: torch.device, out_dir: Path, provenance: dict,
            hashes: dict) -> dict:
    """Choose the threshold, evaluate, and write the model, card, log and figures."""
    scores = {name: sigmoid(predict_logits(model, data[name].x, 4 * config.batch_size))
              for name in ("val", "test") if len(data[name].keys)}
    threshold = threshold_at_precision(data["val"].y, scores["val"], config.target_precision)
    model_id = save_model(out_dir / "model.pt", model, config.model, model_options,
                          config.features, threshold)
    best = min(log, key=lambda row: row["val_loss"])
    card = {
        "model_id": model_id,
        "preset": config.model,
        "model_options": model_options,
        "train_config": config.to_dict(),
        **hashes,
        "n_light_curves": {name: {label: int(np.sum(data[name].label == label))
                                  for label in LABELS} for name in SPLITS},
        "threshold": threshold,
        "target_precision": config.target_precision,
        "epochs_run": len(log),
        "best_epoch": best["epoch"],
        "device": device.type,
        "metrics": {name: evaluate(data[name], score, threshold)
                    for name, score in scores.items()},
        "history": log,
    }
    write_json(card, out_dir / "model_card.json", provenance)
    pd.DataFrame(log).to_csv(out_dir / "training_log.csv", index=False)
    _plot_curves(pd.DataFrame(log), out_dir / "training_curves.png")
    evaluated = "test" if "test" in scores else "val"
    _plot_confusion(data[evaluated], scores[evaluated], threshold, evaluated,
                    out_dir / "confusion_matrix.png")
    return card


def _plot_curves(log: pd.DataFrame, path: Path) -> None:
    figure = Figure(figsize=(11, 3.4), layout="constrained")
    loss, auc, lr = figure.subplots(1, 3)
    loss.plot(log["epoch"], log["train_loss"], "o-", label="train")
    loss.plot(log["epoch"], log["val_loss"], "o-", label="validation")
    loss.set(xlabel="epoch", ylabel="BCE loss")
    loss.legend()
    auc.plot(log["epoch"], log["val_roc_auc"], "o-", label="ROC-AUC")
    auc.plot(log["epoch"], log["val_pr_auc"], "o-", label="PR-AUC")
    auc.set(xlabel="epoch", ylabel="validation", ylim=(0, 1.02))
    auc.legend()
    lr.plot(log["epoch"], log["lr"], "o-")
    lr.set(xlabel="epoch", ylabel="learning rate", yscale="log")
    figure.savefig(path, dpi=100)


def _plot_confusion(data: Dataset, score: np.ndarray, threshold: float, split_name: str,
                    path: Path) -> None:
    predicted = score >= threshold
    counts = np.array([[np.sum(predicted[data.label == label]),
                        np.sum(~predicted[data.label == label])] for label in LABELS])
    figure = Figure(figsize=(4.5, 4), layout="constrained")
    axes = figure.subplots()
    axes.imshow(counts, cmap="Blues", aspect="auto")
    for (row, column), count in np.ndenumerate(counts):
        axes.text(column, row, str(count), ha="center", va="center",
                  color="white" if count > counts.max() / 2 else "black")
    axes.set(xticks=[0, 1], xticklabels=["planet", "not planet"], yticks=range(len(LABELS)),
             yticklabels=LABELS, xlabel=f"predicted (score >= {threshold:.3f})", ylabel="true",
             title=f"{split_name} set")
    figure.savefig(path, dpi=100)
