"""Data-parallel plumbing: the process group under ``torchrun`` and what ranks share.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import torch
import torch.distributed as dist

from transitflow.infer import resolve_device


def process_device(name: str) -> torch.device:
    """The device of this process: under torchrun on GPUs, that of its ``LOCAL_RANK``; an
    error saying how to fix it when the job got fewer GPUs than processes."""
    device = resolve_device(name)
    if device.type == "cuda" and "LOCAL_RANK" in os.environ:
        rank, gpus = int(os.environ["LOCAL_RANK"]), torch.cuda.device_count()
        if rank >= gpus:
            raise RuntimeError(
                f"training process {rank} has no GPU of its own (the job sees {gpus}): "
                "train_processes starts one process per GPU; give the train job as many "
                "GPUs (profiles/slurm: set-resources: train: gpu) or lower train_processes")
        device = torch.device("cuda", rank)
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


def barrier() -> None:
    if dist.is_initialized():
        dist.barrier()


def broadcast(value):
    """Rank 0's ``value`` on every rank."""
    if not dist.is_initialized():
        return value
    values = [value]
    dist.broadcast_object_list(values, src=0)
    return values[0]


def gather(value) -> list:
    """Every rank's ``value``, by rank."""
    if not dist.is_initialized():
        return [value]
    values = [None] * dist.get_world_size()
    dist.all_gather_object(values, value)
    return values
