"""Training throughput: the batch stream, and each model preset's steps and scoring.

    python benchmarks/train_benchmark.py --n 2000 --workers 2 --threads 1

Simulates ``--n`` stars of one sector into shards (split and labelled as the workflow does),
then times, each for about ``--seconds`` after a warm-up:

- the training stream (:class:`transitflow.dataset.TrainingStream` with the default
  :class:`transitflow.training.TrainConfig`: injections and augmentation on) through a
  DataLoader with ``--workers`` worker processes, in samples per second;
- for each model preset, AdamW training steps on ``--batch-size`` random inputs (steps/s and
  light curves/s) and inference on them (light curves/s).

Prints markdown tables and how many times the default model's training rate the stream
delivers. ``--device cuda`` times the presets on a GPU, in bf16 autocast as training and
scoring run there (the stream stays on the CPU).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import torch

from transitflow.dataset import TrainingStream, feature_caches, load_splits
from transitflow.infer import autocast
from transitflow.ingest import ingest_sim
from transitflow.models import PRESETS, build_model, count_parameters
from transitflow.provenance import file_digest
from transitflow.shards import write_shard
from transitflow.split import SplitConfig, split_by_target, star_labels
from transitflow.training import TrainConfig

SHARD_SIZE = 500


def simulated_sector(root: Path, n: int, seed: int = 42) -> tuple[list[Path], pd.DataFrame,
                                                                   pd.DataFrame]:
    """Shards of ``n`` simulated stars, their labels and their train/val/test split."""
    shards, stars = [], []
    for index, start in enumerate(range(0, n, SHARD_SIZE)):
        result = ingest_sim({"n_stars": n, "seed": seed}, start, min(n, start + SHARD_SIZE))
        shards.append(write_shard(root / f"{index:03d}.arrow", result.light_curves, {}))
        stars.append(result.stars)
    labels = pd.concat(stars)[["key", "tic", "label"]]
    return shards, labels, split_by_target(star_labels(labels), SplitConfig(seed=seed))


def rate(func: Callable[[], object], seconds: float, warmup: int = 1) -> float:
    """Calls of ``func`` per second, over at least ``seconds`` and two calls."""
    for _ in range(warmup):
        func()
    calls, start = 0, time.perf_counter()
    while calls < 2 or time.perf_counter() - start < seconds:
        func()
        calls += 1
    return calls / (time.perf_counter() - start)


def stream_rate(root: Path, n: int, workers: int, seconds: float) -> float:
    """Training samples per second from the default stream through ``workers`` workers."""
    config = TrainConfig()
    shards, labels, split = simulated_sector(root, n)
    caches = feature_caches(shards, [file_digest(path) for path in shards], config.features,
                            root / "features")
    train = load_splits(shards, caches, labels, split)["train"]
    stream = TrainingStream(train, config.features, config.batch_size, config.seed,
                            injection_fraction=config.injection_fraction,
                            physical_injection_fraction=config.physical_injection_fraction,
                            augmentation=config.augmentation, noise_level=config.noise_level)
    loader = torch.utils.data.DataLoader(stream, batch_size=None, num_workers=workers)
    batches = iter(loader)
    return config.batch_size * rate(lambda: next(batches), seconds, warmup=2 * max(workers, 1))


def model_rates(preset: str, batch_size: int, seconds: float, device: torch.device) -> dict:
    """Training steps per second and inference light curves per second of ``preset``."""
    torch.manual_seed(0)
    model = build_model(preset).to(device)
    x = torch.randn(batch_size, 3, 1000, device=device)
    y = torch.randint(0, 2, (batch_size,), device=device).float()
    optimizer = torch.optim.AdamW(model.parameters())
    loss = torch.nn.BCEWithLogitsLoss()

    def step() -> None:
        optimizer.zero_grad(set_to_none=True)
        with autocast(device):
            value = loss(model(x).float(), y)
        value.backward()
        optimizer.step()
        synchronize(device)

    def forward() -> None:
        with autocast(device):
            model(x)
        synchronize(device)

    model.train()
    steps = rate(step, seconds)
    model.eval()
    with torch.inference_mode():
        forwards = rate(forward, seconds)
    return {"preset": preset, "parameters": count_parameters(model), "steps": steps,
            "train": steps * batch_size, "infer": forwards * batch_size}


def synchronize(device: torch.device) -> None:
    """Wait for the GPU's queued work, so that a timing counts it."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=2000, help="simulated stars")
    parser.add_argument("--workers", type=int, default=2, help="DataLoader workers")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--presets", nargs="+", default=list(PRESETS), choices=list(PRESETS))
    parser.add_argument("--seconds", type=float, default=5.0, help="timing per measurement")
    parser.add_argument("--threads", type=int, help="torch CPU threads (default: torch's)")
    parser.add_argument("--device", default="cpu", help="the presets' device (cuda on a GPU)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        samples = stream_rate(Path(tmp), args.n, args.workers, args.seconds)
    rows = [model_rates(preset, args.batch_size, args.seconds, torch.device(args.device))
            for preset in args.presets]
    print(f"torch {torch.__version__}, {args.device}, {torch.get_num_threads()} threads, batch "
          f"{args.batch_size}, load average {os.getloadavg()[0]:.2f}\n")
    print("| loader workers | samples/s |\n|---|---|")
    print(f"| {args.workers} | {samples:,.0f} |\n")
    print("| preset | parameters | train steps/s | train LC/s | inference LC/s |\n"
          "|---|---|---|---|---|")
    for row in rows:
        print(f"| {row['preset']} | {row['parameters']:,} | {row['steps']:.3g} "
              f"| {row['train']:,.0f} | {row['infer']:,.0f} |")
    default = next((row for row in rows if row["preset"] == TrainConfig().model), None)
    if default:
        print(f"\nloader / {default['preset']} training rate: "
              f"{samples / default['train']:.1f}x")


if __name__ == "__main__":
    main()
