"""The tiny workflow through profiles/slurm on a real Slurm: the loopback cluster of
scripts/slurm-loopback.sh (one node, one fake GPU, no accounting).

Runs when TRANSITFLOW_SLURM is set, as .ci/run does after starting the cluster; a cluster that
is missing then fails the test rather than skipping it.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO
from tests.test_rerun import run_tiny

PROFILE = REPO / "profiles" / "slurm"
NODE_LIMITS = {"mem_mb": 2000, "cpus_per_gpu": 1}  # what one job may ask of the 2-core node
GPU_RULES = {"train", "infer"}
STAGES = {"ingest", "split", "train", "infer", "flag", "search", "vet", "report"}

pytestmark = [
    pytest.mark.slurm, pytest.mark.workflow, pytest.mark.slow,
    pytest.mark.skipif(not os.environ.get("TRANSITFLOW_SLURM"),
                       reason="set TRANSITFLOW_SLURM=1 after scripts/slurm-loopback.sh start"),
]


def fit_to_node(resources: dict) -> list[str]:
    """``key=value`` items of a resource mapping, memory and CPUs cut to the loopback node."""
    return [f"{key}={min(value, NODE_LIMITS[key]) if key in NODE_LIMITS else value}"
            for key, value in resources.items()]


def slurm_arguments() -> list[str]:
    """The slurm profile, with its resources fitted to the node: given on the command line,
    they replace the profile's mappings whole, so every rule's entry is repeated."""
    profile = yaml.safe_load((PROFILE / "config.yaml").read_text())
    per_rule = [f"{rule}:{item}" for rule, resources in profile["set-resources"].items()
                for item in fit_to_node(resources)]
    return ["--workflow-profile", str(PROFILE), "--slurm-status-command", "squeue",
            "--slurm-init-seconds-before-status-checks", "1",
            "--default-resources", *fit_to_node(profile["default-resources"]),
            "--set-resources", *per_rule]


def slurm_jobs(workdir: Path) -> dict[str, list[str]]:
    """Slurm's record (``scontrol show job``) of the jobs run from ``workdir``, by rule."""
    shown = subprocess.run(["scontrol", "--oneliner", "show", "job"], capture_output=True,
                           text=True, check=True)
    jobs: dict[str, list[str]] = {}
    for line in shown.stdout.splitlines():
        rule = re.search(r"\bComment=rule_(\w+?)(?:_wildcards_\S*)?(?:\s|$)", line)
        if f" WorkDir={workdir} " in f"{line} " and rule:
            jobs.setdefault(rule.group(1), []).append(line)
    return jobs


@pytest.fixture(scope="module")
def slurm_run(tmp_path_factory) -> tuple[Path, dict[str, list[str]]]:
    """The tiny workflow run through Slurm: its results folder and Slurm's record of its jobs."""
    workdir = tmp_path_factory.mktemp("slurm")
    results = run_tiny(workdir, *slurm_arguments())
    return results, slurm_jobs(workdir)


def test_every_stage_ran_as_a_completed_slurm_job(slurm_run):
    results, jobs = slurm_run
    assert (results / "candidates.csv").is_file() and (results / "report" / "index.html").is_file()
    assert STAGES <= set(jobs)
    assert all("JobState=COMPLETED" in line for lines in jobs.values() for line in lines)


def test_the_gpu_rules_asked_sbatch_for_a_gpu(slurm_run):
    _, jobs = slurm_run
    gpu = {rule for rule, lines in jobs.items()
           if all("TresPerJob=gres:gpu:1" in line and "CpusPerTres=gres:gpu:" in line
                  for line in lines)}
    assert gpu == GPU_RULES
    assert not any("gpu" in line for rule in set(jobs) - GPU_RULES for line in jobs[rule])
