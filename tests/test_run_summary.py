"""The lines a finished run prints on the console."""

from __future__ import annotations

import json

import pandas as pd

from transitflow.provenance import make_provenance
from transitflow.run_summary import run_summary
from transitflow.tables import write_json, write_table


def test_a_run_names_its_candidates_its_warning_and_unreadable_light_curves_first(tmp_path):
    (tmp_path / "infer").mkdir()
    (tmp_path / "data").mkdir()
    pd.DataFrame({"disposition": ["EB", "PC", "PC", "LOW_SNR"]}).to_parquet(
        tmp_path / "candidates.parquet")
    (tmp_path / "infer" / "flag_summary.json").write_text(json.dumps({"warning": "raise it"}))
    reasons = [f"notes{i}.txt: not a light-curve file: a text document" for i in range(3)]
    pd.DataFrame({"source": ["a", "b", "c", "d"], "key": "", "status": "quarantined",
                  "reason": [*reasons, "x.csv: no TIC, EPIC or KIC ID"]}).to_csv(
        tmp_path / "data" / "quarantine.csv", index=False)
    lines = run_summary(tmp_path)
    assert lines[0].startswith(f"{tmp_path / 'candidates.csv'}: 4 candidates (2 PC, 1 EB, "
                               "1 LOW_SNR); report: ")
    assert lines[1] == "warning: raise it"
    assert lines[2] == f"4 inputs quarantined, listed in {tmp_path / 'data' / 'quarantine.csv'}:"
    assert lines[3:] == ["  x.csv: no TIC, EPIC or KIC ID", f"  {reasons[0]}", f"  {reasons[1]}",
                         "  ... and 1 more"]


def test_a_run_without_outputs_or_trouble_says_only_what_it_has(tmp_path):
    assert run_summary(tmp_path) == []
    (tmp_path / "infer").mkdir()
    (tmp_path / "infer" / "flag_summary.json").write_text(json.dumps({"warning": ""}))
    assert run_summary(tmp_path) == []


def test_a_run_warns_of_outputs_that_other_library_code_made(tmp_path):
    """The flag summary above has no provenance (not a stage output); a table made by this
    code passes; one whose provenance names other sources is reported."""
    current = make_provenance("search", {})
    write_table(pd.DataFrame({"x": [1]}), tmp_path / "search" / "0000.parquet", current)
    assert run_summary(tmp_path) == []
    older = {**current, "source_digest": "0123456789abcdef", "code_version": "0.0.9+gabc"}
    write_json({}, tmp_path / "vet" / "crowded_epochs.json", older)
    write_table(pd.DataFrame({"x": [1]}), tmp_path / "detect" / "0000.parquet", older)
    write_table(pd.DataFrame({"x": [1]}), tmp_path / "detect" / ".0001.partial.parquet", older)
    (tmp_path / "vet" / "odd.json").write_text(json.dumps({"provenance": ["not", "a", "dict"]}))
    assert run_summary(tmp_path) == [
        "warning: 2 outputs were made by other code than this (detect: 1, vet: 1; e.g. "
        "detect/0000.parquet by transitflow 0.0.9+gabc): `snakemake --forceall` remakes the "
        "run with this code; delete those the config no longer makes"]
