"""qusi 1.5.6 and transitflow scoring the same light curves, timed in one run.

    python benchmarks/qusi_side_by_side.py --n 2000 --cadence 30 --repeat 3 --rounds 2

1. Installs qusi 1.5.6 into a fresh virtual environment in a temporary directory (or reuses
   ``--venv``): first the torch build of this environment (pinned, so that nothing swaps it
   for another build), then qusi with ``--no-deps`` (its requirements pin ``numpy<2`` and
   pull in torchvision, sphinx, bokeh, wandb and more that inference does not use), then the
   packages its ``qusi.session``/``qusi.model``/``qusi.data`` imports need, under a
   constraints file that keeps that torch and ``numpy<2``.
2. Simulates ``--n`` stars at ``--cadence`` minutes and writes them twice: one shard for
   transitflow, and one ``.npy`` file per light curve for qusi (``[time, flux]`` float32,
   flagged cadences' flux NaN, as in SPOC PDCSAP light curves).
3. In each of ``--rounds`` rounds, times qusi's tutorial inference path (a
   ``LightCurveCollection`` of the ``.npy`` paths, ``FiniteStandardLightCurveDataset``, an
   untrained ``Hadryss`` and ``infer_session`` at batch 100, its default data pipeline)
   in a subprocess of the qusi environment, then transitflow's ``score_shard`` (random
   ``cnn`` preset) here, both on the CPU; each the best of ``--repeat`` after a warm-up run.

Prints both rates and their ratios (wall time; CPU time, steadier on a shared machine). Both
use the same torch threads (``--threads``, else torch's default).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import tempfile
import venv
from pathlib import Path

import numpy as np
import torch

from infer_benchmark import best_of, random_model, simulated_light_curves
from transitflow.infer import score_shard
from transitflow.lightcurve import DEFAULT_QUALITY_BITMASK, LightCurve
from transitflow.shards import write_shard

QUSI = "qusi==1.5.6"
#: What qusi's public inference modules import, beyond torch and numpy.
QUSI_IMPORTS = ("typing_extensions", "torchmetrics", "wandb", "scipy", "filelock", "stringcase",
                "atpublic")

QUSI_RUN = """
import json, sys, time
from pathlib import Path
import numpy as np, torch
from qusi.data import FiniteStandardLightCurveDataset, LightCurveCollection
from qusi.model import Hadryss
from qusi.session import infer_session

directory, repeat, batch_size = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])

def load_times_and_fluxes(path):
    times, fluxes = np.load(path)
    return times, fluxes

def infer():
    collection = LightCurveCollection.new(
        get_paths_function=lambda: sorted(directory.glob("*.npy")),
        load_times_and_fluxes_from_path_function=load_times_and_fluxes)
    dataset = FiniteStandardLightCurveDataset.new(light_curve_collections=[collection])
    return infer_session(infer_datasets=[dataset], model=model, batch_size=batch_size,
                         device=torch.device("cpu"))[0]

def timed():
    wall, cpu = time.perf_counter(), time.process_time()
    infer()
    return time.perf_counter() - wall, time.process_time() - cpu

torch.manual_seed(0)
model = Hadryss.new()
n = len(infer())
seconds, cpu = min(timed() for _ in range(repeat))
print(json.dumps({"n": n, "seconds": seconds, "cpu_seconds": cpu,
                  "threads": torch.get_num_threads(), "torch": torch.__version__,
                  "numpy": np.__version__,
                  "parameters": sum(p.numel() for p in model.parameters())}))
"""


def install_qusi(directory: Path) -> Path:
    """A virtual environment in ``directory`` with qusi and this environment's torch; its
    Python."""
    python = directory / "bin" / "python"
    if python.exists():
        return python
    venv.create(directory, with_pip=True)
    constraints = directory / "constraints.txt"
    constraints.write_text(f"torch=={torch.__version__}\nnumpy<2\n")
    pip = [str(python), "-m", "pip", "install", "--quiet", "--no-warn-conflicts",
           "--constraint", str(constraints)]
    for packages in (["torch", "numpy"], ["--no-deps", QUSI], list(QUSI_IMPORTS)):
        subprocess.run(pip + packages, check=True)
    return python


def write_npy(directory: Path, light_curves: list[LightCurve]) -> Path:
    """One ``[time, flux]`` float32 ``.npy`` file per light curve, flagged flux NaN."""
    directory.mkdir(parents=True, exist_ok=True)
    for lc in light_curves:
        flux = np.where(lc.quality & DEFAULT_QUALITY_BITMASK, np.nan, lc.flux)
        np.save(directory / f"{lc.meta.key}.npy", np.stack([lc.time, flux]).astype(np.float32))
    return directory


def time_qusi(python: Path, npy_dir: Path, repeat: int, batch_size: int,
              threads: int) -> dict:
    """qusi's inference timings, from a subprocess of its environment."""
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    result = subprocess.run([str(python), "-c", QUSI_RUN, str(npy_dir), str(repeat),
                             str(batch_size)], capture_output=True, text=True, env=env)
    if result.returncode:
        raise RuntimeError(f"qusi run failed:\n{result.stderr}")
    return json.loads(result.stdout.splitlines()[-1])


def time_transitflow(model: Path, shard: Path, n: int, repeat: int) -> dict:
    """transitflow's ``score_shard`` timings, after a warm-up run."""
    score_shard(model, shard, device="cpu")
    seconds, cpu = best_of(repeat, lambda: score_shard(model, shard, device="cpu"))
    return {"n": n, "seconds": seconds, "cpu_seconds": cpu, "threads": torch.get_num_threads()}


def report(name: str, timing: dict) -> str:
    """One line: rate, wall and CPU seconds, threads."""
    return (f"{name}: {timing['n']:,} light curves in {timing['seconds']:.3f} s (CPU "
            f"{timing['cpu_seconds']:.3f} s, torch threads {timing['threads']}) = "
            f"{timing['n'] / timing['seconds']:,.0f} LC/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--cadence", type=float, default=30.0, help="minutes")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per round")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=100, help="qusi's batch size")
    parser.add_argument("--threads", type=int, help="torch CPU threads of both (default: "
                        "torch's)")
    parser.add_argument("--venv", type=Path, help="a qusi environment to create or reuse")
    args = parser.parse_args()
    threads = args.threads or torch.get_num_threads()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        python = install_qusi(args.venv or tmp / "qusi-venv")
        light_curves = simulated_light_curves(args.n, args.cadence)
        torch.set_num_threads(threads)  # after batman's OpenMP calls, which set 1
        shard = write_shard(tmp / "shard.arrow", light_curves, provenance={})
        npy_dir = write_npy(tmp / "npy", light_curves)
        model = random_model(tmp / "model.pt", "cnn")
        loads, rounds = [os.getloadavg()[0]], []
        for _ in range(args.rounds):
            rounds.append((time_qusi(python, npy_dir, args.repeat, args.batch_size, threads),
                           time_transitflow(model, shard, args.n, args.repeat)))
            loads.append(os.getloadavg()[0])
    qusi = min((q for q, _ in rounds), key=lambda t: t["seconds"])
    ours = min((t for _, t in rounds), key=lambda t: t["seconds"])
    print(f"{args.n:,} light curves at {args.cadence:g} min; best of {args.repeat} x "
          f"{args.rounds} rounds; load average {min(loads):.2f}-{max(loads):.2f}")
    print(report(f"qusi 1.5.6 (Hadryss, {qusi['parameters']:,} parameters, batch "
                 f"{args.batch_size}, torch {qusi['torch']}, numpy {qusi['numpy']})", qusi))
    print(report(f"transitflow (cnn preset, torch {torch.__version__})", ours))
    print(f"ratio transitflow / qusi: {qusi['seconds'] / ours['seconds']:.2f} (wall), "
          f"{qusi['cpu_seconds'] / ours['cpu_seconds']:.2f} (CPU)")


if __name__ == "__main__":
    main()
