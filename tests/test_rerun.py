"""Reruns of the tiny workflow: a finished run has nothing to do, a config change reruns its
stage and the stages after it only, two runs of one config and seed give identical results,
and ``snakemake --report`` builds the Snakemake report."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml

from tests.conftest import REPO
from tests.test_workflow import TINY, snakemake

pytestmark = [pytest.mark.workflow, pytest.mark.slow]
#: The injected copies follow the run's thresholds, search and vetting (not its data).
COMPLETENESS = {"recover", "completeness"}
VETTING = {"crowded_epochs", "vet"}
DOWNSTREAM_OF_FLAG = {"flag", "search", "report"} | VETTING | COMPLETENESS


def tiny_config() -> dict:
    """The default config under tests/test_workflow.py's TINY."""
    return {**yaml.safe_load((REPO / "config" / "config.yaml").read_text()), **TINY}


def changed(section: str, **values) -> dict:
    """The tiny config with some values of one section changed."""
    config = tiny_config()
    return {**config, section: {**config[section], **values}}


def run_tiny(workdir: Path, *args: str) -> Path:
    """Run the tiny workflow in ``workdir``; its results folder."""
    (workdir / "config.yaml").write_text(yaml.safe_dump(tiny_config()))
    done = snakemake(workdir, *args)
    assert done.returncode == 0, done.stderr[-3000:]
    return workdir / "results" / "tiny"


def planned_rules(workdir: Path, config: dict) -> set[str]:
    """The rules a dry run with ``config`` would run in ``workdir``."""
    changed = workdir / "changed.yaml"
    changed.write_text(yaml.safe_dump(config))
    dry = snakemake(workdir, "--dry-run", "--configfile", str(changed))
    assert dry.returncode == 0, dry.stderr[-3000:]
    rules = set(re.findall(r"^rule (\w+):", dry.stdout + dry.stderr, re.MULTILINE))
    return rules - {"all"}


def snapshot(folder: Path) -> dict[Path, int]:
    """Every file under ``folder`` with its modification time."""
    return {path: path.stat().st_mtime_ns for path in folder.rglob("*") if path.is_file()}


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> tuple[Path, Path]:
    """Two independent runs of the tiny config, in two folders."""
    return tuple(run_tiny(tmp_path_factory.mktemp(name)) for name in ("first", "second"))


def test_a_second_run_does_nothing(runs):
    before = snapshot(runs[0])
    again = snakemake(runs[0].parents[1])
    assert again.returncode == 0, again.stderr[-3000:]
    assert "Nothing to be done" in again.stdout + again.stderr
    assert snapshot(runs[0]) == before


@pytest.mark.parametrize(("config", "rerun"), [
    (changed("train", epochs=3), {"train", "infer"} | DOWNSTREAM_OF_FLAG),
    (changed("flag", threshold=0.1), DOWNSTREAM_OF_FLAG),
    (changed("search", max_signals=2), {"search", "report"} | VETTING | COMPLETENESS),
    (changed("completeness", n_per_star=1), {"inject", "report"} | COMPLETENESS),
    (changed("search", min_period=0.4), {"detect"} | DOWNSTREAM_OF_FLAG),
    (changed("detect", false_alarms_per_10k=50), DOWNSTREAM_OF_FLAG),
    (changed("train", num_workers=2), set()),  # data loading only: the same batches
    (changed("train", member_processes=1), set()),  # the same members, one after another
], ids=["train", "flag", "search", "completeness", "search-grid", "detect-threshold",
        "train-workers", "train-member-processes"])
def test_a_config_change_reruns_its_stage_and_those_after(runs, config, rerun):
    assert planned_rules(runs[0].parents[1], config) == rerun


def test_same_config_and_seed_give_identical_results(runs):
    first, second = runs
    assert (first / "candidates.csv").read_bytes() == (second / "candidates.csv").read_bytes()
    tables = sorted(path.relative_to(first) for path in first.rglob("*.parquet"))
    assert tables == sorted(path.relative_to(second) for path in second.rglob("*.parquet"))
    different = [str(table) for table in tables
                 if not pq.read_table(first / table).equals(pq.read_table(second / table),
                                                            check_metadata=True)]
    assert not different, f"differ between the two runs: {different}"


def test_snakemake_report_holds_the_candidates_figures_and_sheets(runs, tmp_path):
    archive = tmp_path / "report.zip"
    made = snakemake(runs[0].parents[1], "--report", str(archive))
    assert made.returncode == 0, made.stderr[-3000:]
    zipfile.ZipFile(archive).extractall(tmp_path / "archive")
    names = {path.name for path in (tmp_path / "archive").rglob("*")}
    assert {"report.html", "index.html", "candidates.csv", "training_curves.png",
            "confusion_matrix.png", "calibration.png", "completeness.png"} <= names
    ours = next((tmp_path / "archive").rglob("index.html"))
    links = re.findall(r'href="(sheets/[^"]+\.png)"', ours.read_text())
    assert links and all((ours.parent / link).is_file() for link in links)
