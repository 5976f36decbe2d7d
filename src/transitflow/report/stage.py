"""The report stage: from a run's files, the candidate tables, the CTOI export and the HTML
report with its sheets, figures, recovery against truth and reliability."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from transitflow.flag_summary import read_flag_summary
from transitflow.labels import read_eb_ephemerides
from transitflow.provenance import make_provenance
from transitflow.report.candidates import build_candidates, light_curve_keys, write_candidates
from transitflow.report.config import ReportConfig
from transitflow.report.ctoi import write_ctoi
from transitflow.report.html import bundle_sheets, write_report
from transitflow.report.truth import (held_out_stars, injections_against_truth, planet_recall,
                                      reliability, truth_recovery)
from transitflow.tables import read_table, read_tables

log = logging.getLogger("transitflow")


@dataclass(frozen=True)
class ReportFiles:
    """What the report reads: the vetting tables and sheet folders of every shard, the
    scores, stars, data ledger and flag summary, and the optional inputs ("" or empty when
    the run has none)."""

    vetting: Sequence[str]
    sheets: Sequence[str]
    scores: str
    stars: str
    ledger: str
    flag_summary: str
    failed: Sequence[str] = ()
    model_card: str = ""
    truth: str = ""
    split: str = ""
    known_tois: str = ""
    known_ebs: str = ""
    figures: Sequence[str] = ()
    completeness: str = ""
    injections: str = ""

    def inputs(self) -> list[str]:
        """The files the outputs' provenance records."""
        return [*self.vetting, *self.failed, self.scores, self.stars, self.ledger,
                self.flag_summary,
                *filter(None, [self.model_card, self.known_tois, self.known_ebs, self.truth,
                               self.split, self.completeness, self.injections])]


def run_report(files: ReportFiles, out_dir: str | Path, out_csv: str | Path,
               out_parquet: str | Path, out_ctoi: str | Path,
               options: Mapping) -> pd.DataFrame:
    """Write the candidate table (``out_csv``, ``out_parquet``), the CTOI export
    (``out_ctoi``) and the report folder ``out_dir`` (``index.html`` and ``sheets/``);
    return the candidate table. ``options`` is the config's ``report`` section."""
    provenance = make_provenance("report", options, files.inputs())
    config = ReportConfig.from_dict(options)
    known = pd.read_csv(files.known_tois, comment="#") if files.known_tois else None
    known_ebs = read_eb_ephemerides(files.known_ebs) if files.known_ebs else None
    split = read_table(files.split) if files.split else None
    stars = read_table(files.stars)
    candidates = build_candidates(read_table(files.scores), read_tables(files.vetting), stars,
                                  known, split, config.pc_max_radius_rjup, known_ebs)
    run = Path(out_dir).parent.name
    write_candidates(candidates, out_csv, out_parquet, provenance)
    write_ctoi(candidates, out_ctoi, f"transitflow {provenance['code_version']}, run {run}")
    sheets = bundle_sheets({path.stem: path for folder in files.sheets
                            for path in sorted(Path(folder).glob("*.png"))},
                           Path(out_dir) / "sheets")
    figures = {Path(path).stem.replace("_", " "): Path(path) for path in files.figures}
    truth = read_table(files.truth) if files.truth else pd.DataFrame()
    recovery, recall = _against_truth(truth, stars, candidates, split)
    completeness = (json.loads(Path(files.completeness).read_text()) if files.completeness
                    else None)
    if completeness:
        _with_reliability(completeness, stars, candidates)
    if completeness and files.injections and not truth.empty:
        completeness["against truth"] = injections_against_truth(
            read_table(files.injections), truth, stars, candidates, split).to_dict("records")
    flagged = read_flag_summary(files.flag_summary)
    write_report(candidates, Path(out_dir) / "index.html",
                 _run_info(files, run, provenance, flagged), sheets, figures,
                 _ledger_summary(files, flagged), recovery, recall, completeness)
    log.info("%d candidates -> %s", len(candidates), out_csv)
    return candidates


def _against_truth(truth: pd.DataFrame, stars: pd.DataFrame, candidates: pd.DataFrame,
                   split: pd.DataFrame | None) -> tuple[dict | None, dict | None]:
    """For simulated data, the planted signals recovered and the planet recall, also on the
    test-split stars alone when the run trained; None and None without a truth table."""
    if truth.empty:
        return None, None
    recovery = truth_recovery(truth, candidates)
    recall = planet_recall(truth, stars, candidates)
    if split is not None:  # the same on the stars the network never trained on
        test = held_out_stars(truth, split)
        recovery |= {f"{name} (test stars)": row
                     for name, row in truth_recovery(test, candidates).items()}
        recall |= {f"{name} (test stars)": row for name, row in planet_recall(
            test, held_out_stars(stars, split), candidates).items()}
    return recovery, recall


def _with_reliability(completeness: dict, stars: pd.DataFrame, candidates: pd.DataFrame) -> None:
    """Add the expected false PCs of the run and the reliability of its PC list, both
    counted in light curves (a candidate's ``keys`` are its signals')."""
    with_pc = light_curve_keys(candidates[candidates["disposition"] == "PC"]).nunique()
    completeness["reliability"] = reliability(completeness["nulls"], len(stars), with_pc)


def _run_info(files: ReportFiles, run: str, provenance: dict, flagged: dict) -> dict:
    """The run's name, code version and source digest (which tells uncommitted changes
    apart), model and detection policy; ``flagged`` is the flag summary."""
    card = json.loads(Path(files.model_card).read_text()) if files.model_card else {}
    info = {"run": run, "code version": provenance["code_version"],
            "source digest": provenance["source_digest"],
            "model": card.get("model_id", "given by the user" if flagged["scored"] else "none"),
            "model test ROC-AUC": _rounded(card.get("metrics", {}).get("test", {}).get("roc_auc")),
            "detection policy": flagged["policy"]}
    if "thresholds" in flagged:
        info["detection thresholds"] = _thresholds_text(flagged)
    return info


def _rounded(value: float | None) -> float | str:
    """A figure to three decimals, "n/a" when missing."""
    return "n/a" if value is None else round(value, 3)


def _thresholds_text(summary: dict) -> str:
    """The batched search's thresholds and false alarms, in one line."""
    limits, nulls = summary["thresholds"], summary["thresholds"]["nulls"]
    measured = summary["measured_null_rate_per_10k"]
    return (f"periodic SNR > {limits['periodic_snr']:.2f} with SDE >= {limits['min_sde']:g}, "
            f"single-event SNR > {limits['single_snr']:.2f}, edge-event SNR > "
            f"{limits['edge_snr']:.2f}: set on {nulls} inverted light curves at "
            f"{summary['false_alarms_per_10k']:g} false alarms per 10,000 stars per statistic "
            f"and {summary['edge_false_alarms_per_10k']:g} for edge events (measured "
            f"{measured['periodic']:g}, {measured['single']:g} and {measured['edge']:g}); "
            f"expected false alarms in this run: {summary['expected_false_alarms']:g}"
            + (f". Warning: {summary['warning']}" if summary.get("warning") else ""))


def _ledger_summary(files: ReportFiles, flagged: dict) -> dict:
    """Light curves in and out of each stage, from the ledger, the flag summary
    (``flagged``) and the failure tables."""
    ledger = read_table(files.ledger)
    stages = {"light curves": ledger.status.value_counts().to_dict(),
              "scoring": {key: flagged[key] for key in ("scored", "failed")}}
    stages["scoring"]["flagged"] = flagged["flagged_network"]
    if "searched" in flagged:
        stages["batched search"] = {"searched": flagged["searched"],
                                    "failed": flagged["search_failed"],
                                    "periodic detections": flagged["detected_periodic"],
                                    "single-event detections": flagged["detected_single"],
                                    "edge-event detections": flagged["detected_edge"]}
    failed = read_tables(files.failed)
    failed_in = failed["stage"].value_counts() if not failed.empty else pd.Series(dtype=int)
    stages["in-depth search"] = {"flagged": flagged["flagged"],
                                 "failed": int(failed_in.get("search", 0))}
    stages["vetting"] = {"light curves failed": int(failed_in.get("vet", 0)),
                         "sheets failed": int(failed_in.get("sheets", 0))}
    return stages
