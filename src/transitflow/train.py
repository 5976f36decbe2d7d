"""Training of the planet classifier: streamed batches, checkpoints, metrics, model card.

The model learns planet (1) against eclipsing binary and non-transit (0) from the features
of :mod:`transitflow.features`, drawn from the stream of :mod:`transitflow.dataset`.
Training resumes from ``checkpoint.pt`` when one is present and was written for the same
data, training config and code; on the CPU a resumed run ends with the same weights as an
uninterrupted one. A checkpoint of anything else is kept under another name and training
starts over.

Started by ``torchrun`` (``WORLD_SIZE`` > 1), training is data parallel
(``DistributedDataParallel``, gloo on the CPU, NCCL on GPUs): each rank draws its own batches,
rank 0 validates and writes every file.
"""

from __future__ import annotations

import itertools
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from time import perf_counter

import numpy as np
import pandas as pd
import torch
import torch.distributed as dist
from matplotlib.figure import Figure
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from tqdm import tqdm

from transitflow.dataset import (AUGMENTATIONS, LABELS, SPLITS, LabelledSet, TrainingStream,
                                 feature_caches, load_splits)
from transitflow.features import FeatureConfig, featurize_table
from transitflow.inject import TransitPrior, inject_transits, rows_table
from transitflow.infer import (autocast, bce_with_logits, calibrated_scores, fit_calibration,
                               predict_logits, resolve_device, save_model, sigmoid)
from transitflow.models import PAPER_PRESETS, build_model
from transitflow.options import options_from_dict
from transitflow.provenance import config_hash, file_digest
from transitflow.tables import atomic_output, write_json

log = logging.getLogger(__name__)
_PAPER = "transformer-paper"
_PAPER_CHANNELS = ["flux", "centroid", "background"]  # the paper's raw flux, not ``flat``
#: Training presets reproducing the rows of Table 2 of Salinas et al. (2025): the model
#: size rows, and the base model without a feature channel or without injections.
TRAIN_PRESETS: dict[str, dict] = {
    **{name: {"model": name, "features": {"channels": _PAPER_CHANNELS}}
       for name in PAPER_PRESETS},
    "paper-no-centroid": {"model": _PAPER, "features": {"channels": ["flux", "background"]}},
    "paper-no-background": {"model": _PAPER, "features": {"channels": ["flux", "centroid"]}},
    "paper-no-injection": {"model": _PAPER, "features": {"channels": _PAPER_CHANNELS},
                           "injection_fraction": 0.0, "physical_injection_fraction": 0.0},
}


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
        Epochs of ``steps_per_epoch`` balanced batches (per process).
    lr, weight_decay : float
        AdamW settings.
    plateau_patience : int
        Epochs without a lower validation loss before the learning rate is multiplied by
        ``plateau_factor``.
    early_stopping_patience : int
        Epochs without a lower validation loss before training stops.
    seed : int
        Seed of initialisation, batches, injections, augmentation and dropout.
    num_workers : int
        DataLoader worker processes building batches.
    device : str
        ``"auto"`` (GPU when present), ``"cpu"``, ``"cuda"``, ...
    target_precision : float
        Validation precision at which the decision threshold is chosen.
    compile : bool
        Run the model through ``torch.compile``.
    injection_fraction : float
        Share of the planet and of the EB samples that are a non-transit light curve
        carrying a planet's or an EB's signal (:func:`transitflow.inject.inject_signals`).
    physical_injection_fraction : float
        Further share of the planet samples that are a non-transit light curve with a random
        model transit (:func:`transitflow.inject.inject_transits`).
    transit_prior : TransitPrior
        Distribution of those model transits (a mapping in :meth:`from_dict`).
    augment_noise, augment_roll, augment_swap, augment_mirror : float
        Probability that a training sample gets each augmentation
        (:func:`transitflow.dataset.augment`); the rest get none.
    noise_level : float
        Largest standard deviation of the noise augmentation (normalised flux units).

    :meth:`from_dict` also takes ``preset``, a name of :data:`TRAIN_PRESETS`, whose settings
    the other keys override.
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
    injection_fraction: float = 0.2
    physical_injection_fraction: float = 0.2
    transit_prior: TransitPrior = TransitPrior()
    augment_noise: float = 0.25
    augment_roll: float = 0.25
    augment_swap: float = 0.25
    augment_mirror: float = 0.25
    noise_level: float = 0.05

    def __post_init__(self) -> None:
        if min(self.epochs, self.steps_per_epoch, self.batch_size) < 1:
            raise ValueError("epochs, steps_per_epoch and batch_size must be positive")
        if not 0 < self.plateau_factor < 1 or not 0 < self.target_precision <= 1:
            raise ValueError("plateau_factor must be in (0, 1) and target_precision in (0, 1]")
        shares = {"injection_fraction + physical_injection_fraction":
                  (self.injection_fraction, self.physical_injection_fraction),
                  "augment_*": tuple(self.augmentation.values())}
        for name, values in shares.items():
            if min(values) < 0 or sum(values) > 1 + 1e-9:
                raise ValueError(f"{name}: probabilities must be >= 0 and sum to at most 1")
        if self.noise_level < 0:
            raise ValueError("noise_level must be >= 0")

    @property
    def augmentation(self) -> dict[str, float]:
        """Probability of each augmentation, by name."""
        return {name: getattr(self, f"augment_{name}") for name in AUGMENTATIONS}

    @classmethod
    def from_dict(cls, options: dict) -> TrainConfig:
        """The config from a mapping (``features`` as a mapping too, ``preset`` a name of
        :data:`TRAIN_PRESETS`); unknown keys are an error."""
        options = _with_preset(dict(options))
        if "features" in options:
            options["features"] = FeatureConfig.from_dict(options["features"])
        if "transit_prior" in options:
            options["transit_prior"] = TransitPrior.from_dict(options["transit_prior"])
        return options_from_dict(cls, options, "train")

    def to_dict(self) -> dict:
        prior = {name: list(value) if isinstance(value, tuple) else value
                 for name, value in asdict(self.transit_prior).items()}
        return {**asdict(self), "features": self.features.to_dict(), "transit_prior": prior}


def _with_preset(options: dict) -> dict:
    """``options`` over the settings of their ``preset`` (``features`` merged key by key)."""
    name = options.pop("preset", None)
    if name is None:
        return options
    if name not in TRAIN_PRESETS:
        raise ValueError(f"unknown training preset {name!r}; valid: {sorted(TRAIN_PRESETS)}")
    preset = TRAIN_PRESETS[name]
    features = {**preset.get("features", {}), **options.get("features", {})}
    return {**preset, **options, **({"features": features} if features else {})}

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


def evaluate(data: LabelledSet, score: np.ndarray, threshold: float) -> dict:
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
        **{f"recall_at_{round(100 * p)}_precision": recall_at_precision(y, score, p)
           for p in CARD_PRECISIONS},
    }
    return {**{k: v if np.isfinite(v) else None for k, v in metrics.items()},
            "class_scores": classes}


#: Precisions at which the card gives the recall, and the bins of its recall tables.
CARD_PRECISIONS = (0.8, 0.9, 0.95, 0.99)
SNR_BINS = (0.0, 7.0, 10.0, 20.0, 50.0, 200.0, np.inf)
DEPTH_BINS = (0.0, 1e-3, 3e-3, 1e-2, 3e-2, 0.1, 1.0)
_INJECTIONS = 600


def calibration_curve(y: np.ndarray, score: np.ndarray, bins: int = 10) -> list[dict]:
    """Observed planet fraction against mean score, in equal-width score bins (reliability
    diagram); empty bins are left out."""
    y = np.asarray(y, dtype=bool)
    index = np.minimum((np.asarray(score) * bins).astype(int), bins - 1)
    return [{"score_low": b / bins, "score_high": (b + 1) / bins, "n": int(np.sum(index == b)),
             "mean_score": float(np.mean(score[index == b])),
             "planet_fraction": float(np.mean(y[index == b]))}
            for b in range(bins) if np.any(index == b)]


def recall_by_bin(value: np.ndarray, found: np.ndarray, edges: tuple[float, ...],
                  name: str) -> list[dict]:
    """The share of ``found`` in each bin ``[edges[i], edges[i + 1])`` of ``value``."""
    rows = []
    for low, high in zip(edges[:-1], edges[1:]):
        chosen = (value >= low) & (value < high)
        rows.append({f"{name}_low": low, f"{name}_high": high if np.isfinite(high) else None,
                     "n": int(chosen.sum()),
                     "recall": float(np.mean(found[chosen])) if chosen.any() else None})
    return rows


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
    features = featurize_table(rows_table(injected), config.features)
    found = calibrated_scores(predict_logits(model, features.x, 4 * config.batch_size),
                              calibration) >= threshold
    drawn = {name: values[features.ok] for name, values in drawn.items()}
    return {"n": len(found), "hosts": len(np.unique(chosen)), "recall": float(found.mean()),
            "by_snr": recall_by_bin(drawn["snr"], found, SNR_BINS, "snr"),
            "by_depth": recall_by_bin(drawn["depth"], found, DEPTH_BINS, "depth")}


# --- training ------------------------------------------------------------------------------


def run_training(shard_paths: list[Path], labels: pd.DataFrame, split: pd.DataFrame,
                 config: TrainConfig, out_dir: Path, provenance: dict) -> dict:
    """Train a model and write it with its card, log and figures to ``out_dir``.

    Under ``torchrun`` every process calls this; they train one model data-parallel and
    rank 0 writes the files.

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
        Receives ``features/`` (the feature cache), ``checkpoint.pt`` (every epoch; resumed
        from when present), ``model.pt``, ``model_card.json``, ``training_log.csv``,
        ``training_curves.png``, ``confusion_matrix.png`` and ``calibration.png``.
    provenance : dict
        Recorded in the model card.

    Returns
    -------
    dict
        The model card without its provenance.
    """
    out_dir = Path(out_dir)
    device = _process_device(config.device)
    with process_group(device) as (rank, world_size):
        if rank == 0:
            out_dir.mkdir(parents=True, exist_ok=True)
        digests = [file_digest(path) for path in shard_paths]
        caches = feature_caches(shard_paths, digests, config.features, out_dir / "features",
                                build=rank == 0)
        _barrier()
        data = load_splits(shard_paths, caches, labels, split)
        for name in ("train", "val"):
            if len(np.unique(data[name].y)) < 2:
                raise ValueError(
                    f"the {name} split holds no planet or no non-planet ({len(data[name].y)} "
                    "light curves): label more stars (more light curves, or include_pc in the "
                    "labels section) or score with a trained model (model=...)")
        torch.manual_seed(config.seed)
        model_options = {"in_channels": len(config.features.channels),
                         "length": config.features.length, **config.model_options}
        model = build_model(config.model, **model_options).to(device)
        hashes = _data_hashes(digests, labels, split)
        origin = {"config": _resumable(config.to_dict()), **hashes,
                  "source_digest": provenance.get("source_digest")}
        trainer = _Trainer(model, config, device, out_dir / "checkpoint.pt", origin, rank,
                           world_size)
        trainer.fit(data["train"], data["val"])
        card = None
        if rank == 0:
            model.load_state_dict(trainer.state["best_weights"])
            card = _finish(model, model_options, trainer.state["log"], data, config, device,
                           out_dir, provenance, hashes)
        return _broadcast(card)


def _process_device(name: str) -> torch.device:
    """The device of this process: under torchrun on GPUs, that of its ``LOCAL_RANK``."""
    device = resolve_device(name)
    if device.type == "cuda" and "LOCAL_RANK" in os.environ:
        device = torch.device("cuda", int(os.environ["LOCAL_RANK"]))
        torch.cuda.set_device(device)
    return device


@contextmanager
def process_group(device: torch.device) -> Iterator[tuple[int, int]]:
    """``(rank, world_size)``, joining torchrun's process group when ``WORLD_SIZE`` > 1.

    The group (gloo for the CPU, NCCL for GPUs, addresses from torchrun's environment) is
    left on exit; one that is already initialised is used as it is.
    """
    joining = not dist.is_initialized() and int(os.environ.get("WORLD_SIZE", "1")) > 1
    if joining:
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    try:
        yield (dist.get_rank(), dist.get_world_size()) if dist.is_initialized() else (0, 1)
    finally:
        if joining:
            dist.destroy_process_group()


def _barrier() -> None:
    if dist.is_initialized():
        dist.barrier()


def _broadcast(value):
    """Rank 0's ``value`` on every rank."""
    if not dist.is_initialized():
        return value
    values = [value]
    dist.broadcast_object_list(values, src=0)
    return values[0]


def _gather(value) -> list:
    """Every rank's ``value``, by rank."""
    if not dist.is_initialized():
        return [value]
    values = [None] * dist.get_world_size()
    dist.all_gather_object(values, value)
    return values


class _Trainer:
    """The epoch loop with its resumable state (optimizer, scheduler, RNG, stream position,
    early stopping)."""

    def __init__(self, model: nn.Module, config: TrainConfig, device: torch.device,
                 checkpoint: Path, origin: dict, rank: int = 0, world_size: int = 1) -> None:
        self.model, self.config, self.device, self.checkpoint = model, config, device, checkpoint
        self.origin, self.rank, self.world_size = origin, rank, world_size
        self.loss = nn.BCEWithLogitsLoss()
        self.optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr,
                                           weight_decay=config.weight_decay)
        self.scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
            self.optimizer, factor=config.plateau_factor, patience=config.plateau_patience)
        self.state = {"log": [], "best_weights": _cpu_weights(model), "position": 0}
        if rank:  # dropout differs between ranks
            torch.manual_seed(int(np.random.SeedSequence([config.seed, rank]).generate_state(1)[0]))
        saved = (torch.load(checkpoint, map_location=device, weights_only=True)
                 if checkpoint.exists() else None)
        _barrier()  # every rank has read it before rank 0 may move it aside
        if saved is not None and saved.get("origin") == origin:
            self._resume(saved)
        elif saved is not None and rank == 0:
            _move_aside(checkpoint, saved)
        parallel = (DistributedDataParallel(model, device_ids=[device] if device.index is not None
                                            else None) if world_size > 1 else model)
        self.forward = torch.compile(parallel) if config.compile else parallel

    def fit(self, train: LabelledSet, val: LabelledSet) -> None:
        config = self.config
        stream = TrainingStream(
            train, config.features, config.batch_size, config.seed,
            injection_fraction=config.injection_fraction,
            physical_injection_fraction=config.physical_injection_fraction,
            augmentation=config.augmentation, noise_level=config.noise_level,
            prior=config.transit_prior, rank=self.rank,
            start=self.state["position"])
        # its own generator: starting the loader leaves the dropout RNG alone
        loader = torch.utils.data.DataLoader(stream, batch_size=None,
                                             num_workers=config.num_workers,
                                             pin_memory=self.device.type == "cuda",
                                             generator=torch.Generator().manual_seed(config.seed))
        batches = iter(loader)
        log = self.state["log"]
        while len(log) < config.epochs and _epochs_since_best(log) < config.early_stopping_patience:
            epoch = len(log)
            train_loss = self._train_epoch(batches, epoch)
            self.state["position"] += config.steps_per_epoch
            self._record(epoch, train_loss, val)
            rng_states = _gather(self._rng_state())
            if self.rank == 0:
                _save_checkpoint(self.checkpoint, self._checkpoint(rng_states))
                tqdm.write(", ".join(f"{name} {value:.4g}" for name, value in log[-1].items()))

    def _train_epoch(self, batches: Iterator, epoch: int) -> float:
        self.forward.train()
        steps = self.config.steps_per_epoch
        total, seen, start = torch.zeros((), device=self.device), 0, perf_counter()
        progress = tqdm(itertools.islice(batches, steps), total=steps, unit="step",
                        desc=f"epoch {epoch + 1}/{self.config.epochs}", mininterval=1.0,
                        leave=False, disable=self.rank != 0)
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
            if step % 10 == 0 or step == steps:
                progress.set_postfix(loss=f"{total.item() / step:.4f}",
                                     lc_per_s=f"{seen / (perf_counter() - start):.0f}")
        if dist.is_initialized():
            dist.all_reduce(total)
        return total.item() / (steps * self.world_size)

    def _record(self, epoch: int, train_loss: float, val: LabelledSet) -> None:
        """Validate on rank 0, step the scheduler and log the epoch on every rank."""
        scores = None
        if self.rank == 0:
            logits = predict_logits(self.model, val.x, 4 * self.config.batch_size)
            score = sigmoid(logits)
            scores = {"val_loss": bce_with_logits(logits, val.y),
                      "val_roc_auc": roc_auc(val.y, score),
                      "val_pr_auc": average_precision(val.y, score)}
        scores = _broadcast(scores)
        self.scheduler.step(scores["val_loss"])
        self.state["log"].append({"epoch": epoch + 1, "lr": self.optimizer.param_groups[0]["lr"],
                                  "train_loss": train_loss, **scores})
        if self.rank == 0 and _epochs_since_best(self.state["log"]) == 0:
            self.state["best_weights"] = _cpu_weights(self.model)

    def _rng_state(self) -> dict:
        return {"torch": torch.get_rng_state(),
                "cuda": torch.cuda.get_rng_state(self.device) if self.device.type == "cuda"
                else None}

    def _checkpoint(self, rng_states: list[dict]) -> dict:
        return {"config": self.config.to_dict(), "origin": self.origin, "state": self.state,
                "model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
                "scheduler": self.scheduler.state_dict(), "rng": rng_states}

    def _resume(self, saved: dict) -> None:
        self.model.load_state_dict(saved["model"])
        self.optimizer.load_state_dict(saved["optimizer"])
        self.scheduler.load_state_dict(saved["scheduler"])
        if self.rank < len(saved["rng"]):
            rng = saved["rng"][self.rank]
            torch.set_rng_state(rng["torch"].cpu())
            if rng["cuda"] is not None and self.device.type == "cuda":
                torch.cuda.set_rng_state(rng["cuda"].cpu(), self.device)
        self.state = saved["state"]


def _move_aside(checkpoint: Path, saved: dict) -> None:
    """Keep a checkpoint of other data, config or code under another name; start over."""
    stale = checkpoint.with_name(
        f"{checkpoint.stem}-stale-{config_hash(saved.get('origin') or saved['config'])[:8]}.pt")
    os.replace(checkpoint, stale)
    log.warning("%s was written for other data, training config or code: kept as %s; "
                "training starts over", checkpoint, stale.name)


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
    with atomic_output(path) as partial:
        torch.save(payload, partial)


# --- outputs -------------------------------------------------------------------------------


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
        "signal_injections": {
            "share_of_planet_and_eb_samples": config.injection_fraction,
            "donors": "planet and EB light curves of the train split (flux and centroid)",
            "hosts": "non-transit light curves of the train split"},
        "augmentation": config.augmentation}


def _data_hashes(digests: list[str], labels: pd.DataFrame, split: pd.DataFrame) -> dict:
    return {"data_hash": config_hash({"shards": digests,
                                      "labels": labels.to_dict(orient="list")}),
            "split_hash": config_hash(split.to_dict(orient="list"))}


def _finish(model: nn.Module, model_options: dict, log: list[dict], data: dict[str, LabelledSet],
            config: TrainConfig, device: torch.device, out_dir: Path, provenance: dict,
            hashes: dict) -> dict:
    """Calibrate, choose the threshold, evaluate, and write the model, card, log and
    figures."""
    logits = {name: predict_logits(model, data[name].x, 4 * config.batch_size)
              for name in ("val", "test") if len(data[name].keys)}
    calibration = fit_calibration(logits["val"], data["val"].y)
    scores = {name: calibrated_scores(value, calibration) for name, value in logits.items()}
    threshold = threshold_at_precision(data["val"].y, scores["val"], config.target_precision)
    model_id = save_model(out_dir / "model.pt", model, config.model, model_options,
                          config.features, threshold, calibration)
    evaluated = "test" if "test" in scores else "val"
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
        "calibration": {**calibration, "split": "val",
                        "curve": calibration_curve(data[evaluated].y, scores[evaluated]),
                        "curve_split": evaluated},
        "priors": training_priors(config),
        "injection_recall": {"split": evaluated, **injection_recall(
            model, data[evaluated], config, calibration, threshold)},
        "epochs_run": len(log),
        "best_epoch": best["epoch"],
        "device": device.type,
        "metrics": {name: evaluate(data[name], score, threshold)
                    for name, score in scores.items()},
        "history": log,
    }
    write_json(card, out_dir / "model_card.json", provenance)
    with atomic_output(out_dir / "training_log.csv") as partial:
        pd.DataFrame(log).to_csv(partial, index=False)
    _plot_curves(pd.DataFrame(log), out_dir / "training_curves.png")
    _plot_confusion(data[evaluated], scores[evaluated], threshold, evaluated,
                    out_dir / "confusion_matrix.png")
    _plot_calibration(card, out_dir / "calibration.png")
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
    with atomic_output(path) as partial:
        figure.savefig(partial, dpi=100)


def _plot_confusion(data: LabelledSet, score: np.ndarray, threshold: float, split_name: str,
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
