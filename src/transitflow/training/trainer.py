"""Training of the planet classifier: streamed batches, checkpoints, metrics, model card.

The model learns planet (1) against eclipsing binary and non-transit (0) from the features
of :mod:`transitflow.features`, drawn from the stream of :mod:`transitflow.dataset`.
Each network (each member of an ensemble) resumes from its checkpoint (``checkpoint.pt``,
``checkpoint-member<i>.pt``) when one is present and was written for the same data,
training config and code; on the CPU a resumed run ends with the same weights as an
uninterrupted one, and a larger ensemble reuses the members already trained. A checkpoint
of anything else is kept under another name and training starts over. With
``member_processes`` > 1 the members train that many at a time, each in a spawned process,
to their checkpoints, from which the run then takes them: the same members (under
``torchrun``, where each member is trained by every process, one after another).

Started by ``torchrun`` (``WORLD_SIZE`` > 1), training is data parallel
(``DistributedDataParallel``, gloo on the CPU, NCCL on GPUs): each rank draws its own batches,
rank 0 validates and writes every file.
"""

from __future__ import annotations

import itertools
import logging
import multiprocessing
import os
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import replace
from functools import partial
from pathlib import Path
from time import perf_counter

import numpy as np
import pandas as pd
import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from tqdm import tqdm

from transitflow.dataset import (LabelledSet, TrainingStream,
                                 feature_caches, load_splits)
from transitflow.infer import autocast, bce_with_logits, predict_logits, sigmoid
from transitflow.models import Ensemble, build_model
from transitflow.provenance import config_hash
from transitflow.shards import shard_data_digest
from transitflow.tables import atomic_output
from transitflow.training.config import TrainConfig
from transitflow.training.metrics import average_precision, roc_auc
from transitflow.training.distributed import (barrier, broadcast, gather, process_device,
                                              process_group)
from transitflow.training.card import finish


log = logging.getLogger(__name__)


def run_training(shard_paths: list[Path], labels: pd.DataFrame, split: pd.DataFrame,
                 config: TrainConfig, out_dir: Path, provenance: dict,
                 detections: pd.DataFrame | None = None) -> dict:
    """Train a model and write it with its card, log and figures to ``out_dir``.

    Under ``torchrun`` every process calls this; they train each network data-parallel and
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
        Receives ``features/`` (the feature cache), ``checkpoint.pt`` and
        ``checkpoint-member<i>.pt`` (every epoch; resumed from when present), ``model.pt``,
        ``model_card.json``, ``training_log.csv``, ``training_curves.png``,
        ``confusion_matrix.png`` and ``calibration.png``.
    provenance : dict
        Recorded in the model card.
    detections : pandas.DataFrame, optional
        The detection tables of the shards: the ephemerides of the local views (needed when
        the features have them).

    Returns
    -------
    dict
        The model card without its provenance.
    """
    out_dir = Path(out_dir)
    device = process_device(config.device)
    with threads_held(config.threads), process_group(device) as (rank, world_size):
        if rank == 0:
            out_dir.mkdir(parents=True, exist_ok=True)
        digests = [shard_data_digest(path) for path in shard_paths]
        if config.features.local_length and detections is None:
            raise ValueError("the features have a local view (features.local_length) but no "
                             "detection tables were given")
        caches = feature_caches(shard_paths, digests, config.features, out_dir / "features",
                                build=rank == 0, detections=detections)
        barrier()
        data = load_splits(shard_paths, caches, labels, split, detections)
        for name in ("train", "val"):
            if len(np.unique(data[name].y)) < 2:
                raise ValueError(
                    f"the {name} split holds no planet or no non-planet ({len(data[name].y)} "
                    "light curves): label more stars (more light curves, or include_pc in the "
                    "labels section) or score with a trained model (model=...)")
        model_options = {"in_channels": len(config.features.channels),
                         "length": config.features.length, **config.model_options}
        if config.features.local_length:
            model_options["local_length"] = config.features.local_length
        hashes = data_hashes(digests, labels, split)
        train_member = partial(
            _train_member, config=config, model_options=model_options, data=data, device=device,
            out_dir=out_dir, rank=rank, world_size=world_size,
            origin={**hashes, "source_digest": provenance.get("source_digest"),
                    "processes": world_size})  # each trains on its share of a batch
        if config.member_processes > 1 and config.ensemble > 1 and world_size == 1:
            _checkpoint_side_by_side(train_member, config)  # (torchrun: members in turn)
        members, log = [], []
        for member in range(config.ensemble):  # from the members' checkpoints, if trained
            model, member_log = train_member(member)
            members.append(model)
            log += member_log
        card = None
        if rank == 0:
            ensemble = Ensemble(members) if len(members) > 1 else members[0]
            if len(members) > 1:
                model_options["members"] = len(members)
            card = finish(ensemble, model_options, log, data, config, device, out_dir,
                          provenance, hashes)
        return broadcast(card)


def _train_member(member: int, config: TrainConfig, model_options: dict,
                  data: dict[str, LabelledSet], device: torch.device, out_dir: Path, origin: dict,
                  rank: int, world_size: int) -> tuple[nn.Module, list[dict]]:
    """Ensemble member ``member`` (seed ``config.seed + member``) trained, or resumed from its
    checkpoint, with its best weights on rank 0, and its training log."""
    member_config = replace(config, seed=config.seed + member)
    torch.manual_seed(member_config.seed)
    model = build_model(config.model, **model_options).to(device)
    trainer = Trainer(model, member_config, device, _checkpoint_path(out_dir, member),
                      {"config": _resumable(member_config.to_dict()), **origin}, rank,
                      world_size)
    if rank == 0 and config.ensemble > 1 and not trainer.finished:
        tqdm.write(f"ensemble member {member + 1} of {config.ensemble} "
                   f"(seed {member_config.seed})")
    trainer.fit(data["train"], data["val"])
    if rank == 0:  # where the best weights are kept
        model.load_state_dict(trainer.state["best_weights"])
    return model, [{"member": member, **row} for row in trainer.state["log"]]


def _checkpoint_side_by_side(train_member: Callable[[int], object],
                             config: TrainConfig) -> None:
    """Train the ensemble's members ``config.member_processes`` at a time, each in a process
    of its own, to their checkpoints; the members are those trained one after another (a
    finished checkpoint resumes to its weights). A member's error is raised once the members
    already started have finished (their checkpoints serve the next run)."""
    workers = min(config.member_processes, config.ensemble)
    to_checkpoint = partial(_to_checkpoint, train_member, config.threads)
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        for _ in pool.map(to_checkpoint, range(config.ensemble)):
            pass  # re-raises a member's error


def _to_checkpoint(train_member: Callable[[int], object], threads: int, member: int) -> None:
    with threads_held(threads):
        train_member(member)


class Trainer:
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
        barrier()  # every rank has read it before rank 0 may move it aside
        if saved is not None and saved.get("origin") == origin:
            self._resume(saved)
        elif saved is not None and rank == 0:
            _move_aside(checkpoint, saved)
        parallel = (DistributedDataParallel(model, device_ids=[device] if device.index is not None
                                            else None) if world_size > 1 else model)
        self.forward = torch.compile(parallel) if config.compile else parallel

    @property
    def finished(self) -> bool:
        """Whether the epochs are run or early stopping has ended training."""
        log = self.state["log"]
        return (len(log) >= self.config.epochs
                or _epochs_since_best(log) >= self.config.early_stopping_patience)

    def fit(self, train: LabelledSet, val: LabelledSet) -> None:
        if self.finished:  # a finished checkpoint: no batches to make
            return
        config = self.config
        stream = TrainingStream(
            train, config.features, config.batch_size, config.seed,
            injection_fraction=config.injection_fraction,
            physical_injection_fraction=config.physical_injection_fraction,
            eclipse_injection_fraction=config.eclipse_injection_fraction,
            eclipse_period_range=config.eclipse_period_range,
            eclipse_diluted_fraction=config.eclipse_diluted_fraction,
            augmentation=config.augmentation, noise_level=config.noise_level,
            missing_channels=config.missing_channels,
            prior=config.transit_prior, rank=self.rank,
            start=self.state["position"])
        # its own generator: starting the loader leaves the dropout RNG alone
        loader = torch.utils.data.DataLoader(stream, batch_size=None,
                                             num_workers=config.num_workers,
                                             pin_memory=self.device.type == "cuda",
                                             generator=torch.Generator().manual_seed(config.seed))
        batches = iter(loader)
        log = self.state["log"]
        while not self.finished:
            epoch = len(log)
            train_loss = self._train_epoch(batches, epoch)
            self.state["position"] += config.steps_per_epoch
            self._record(epoch, train_loss, val)
            rng_states = gather(self._rng_state())
            if self.rank == 0:
                _save_checkpoint(self.checkpoint, self._checkpoint(rng_states))
                member = f"seed {config.seed}: " if config.ensemble > 1 else ""  # side by side
                tqdm.write(member + ", ".join(f"{name} {value:.4g}"
                                              for name, value in log[-1].items()))

    def _train_epoch(self, batches: Iterator, epoch: int) -> float:
        self.forward.train()
        steps = self.config.steps_per_epoch
        total, seen, start = torch.zeros((), device=self.device), 0, perf_counter()
        progress = tqdm(itertools.islice(batches, steps), total=steps, unit="step",
                        desc=f"epoch {epoch + 1}/{self.config.epochs}", mininterval=1.0,
                        leave=False, disable=self.rank != 0)
        for step, (x, y) in enumerate(progress, start=1):
            hold_threads(self.config.threads)
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
        scores = broadcast(scores)
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


@contextmanager
def threads_held(threads: int) -> Iterator[None]:
    """Torch on ``threads`` CPU threads inside (:func:`hold_threads`), as before after."""
    before = torch.get_num_threads()
    hold_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def hold_threads(threads: int) -> None:
    """Run torch on ``threads`` CPU threads, again after batman (which the batches' model
    transits call in this process when ``num_workers`` is 0) set OpenMP's count to one:
    the thread count changes a network's arithmetic, so it is a setting, not the machine's."""
    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)


def _checkpoint_path(out_dir: Path, member: int) -> Path:
    """Where ensemble member ``member`` checkpoints (``checkpoint.pt`` for the first)."""
    return out_dir / ("checkpoint.pt" if member == 0 else f"checkpoint-member{member}.pt")


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
    """The settings a resumed run must share (where and how fast it runs, and how many
    ensemble members train beside it, may change)."""
    return {name: value for name, value in config.items()
            if name not in ("device", "num_workers", "ensemble", "member_processes")}


def _cpu_weights(model: nn.Module) -> dict[str, torch.Tensor]:
    return {name: tensor.detach().cpu().clone() for name, tensor in model.state_dict().items()}


def _save_checkpoint(path: Path, payload: dict) -> None:
    """Write atomically, so a killed run leaves the previous checkpoint intact."""
    with atomic_output(path) as partial:
        torch.save(payload, partial)


def data_hashes(digests: list[str], labels: pd.DataFrame, split: pd.DataFrame) -> dict:
    return {"data_hash": config_hash({"shards": digests,
                                      "labels": labels.to_dict(orient="list")}),
            "split_hash": config_hash(split.to_dict(orient="list"))}
