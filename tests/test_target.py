"""``transitflow target``: a few files read, scored, searched and vetted without the workflow."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import torch

from transitflow import sheets
from transitflow.cli import main
from transitflow.features import FeatureConfig
from transitflow.infer import save_model
from transitflow.models import build_model

EB = "lightcurves/modebs/tic-118313102"  # P = 9.26 d, sectors 8 and 9


def test_target_files_give_a_row_and_a_sheet_per_signal_and_a_ledger(realdata, tmp_path,
                                                                     monkeypatch):
    files = sorted(str(path) for path in (realdata / EB).glob("*.fits"))
    broken = tmp_path / "broken.fits"
    broken.write_bytes(Path(files[0]).read_bytes()[:3000])
    torch.manual_seed(0)
    model = tmp_path / "model.pt"
    save_model(model, build_model("cnn", length=500, local_length=32), "cnn",
               {"length": 500, "local_length": 32}, FeatureConfig(length=500, local_length=32),
               threshold=0.5, calibration={"slope": 1.0, "intercept": 0.0})  # local views:
    # the batched search's ephemerides
    out = tmp_path / "out"
    options = json.dumps({"search": {"max_signals": 2}})
    sheet_rows, draw = [], sheets.vetting_sheet
    monkeypatch.setattr(sheets, "vetting_sheet", lambda lc, detrended, signal, row, *args: (
        sheet_rows.append(row), draw(lc, detrended, signal, row, *args))[1])
    assert main(["target", *files, str(broken), "--out", str(out), "--model", str(model),
                 "--options", options]) == 0
    signals = pd.read_csv(out / "signals.csv")
    assert {key.rsplit("-", 1)[0] for key in signals["key"]} == {
        "118313102-s0008", "118313102-s0009", "118313102-s9999"}  # the sectors, and joined
    joined = signals[signals["sector"] == 9999]
    assert ((joined["period"] - 9.2557).abs() < 0.01).any()
    assert signals["score"].between(0, 1).all() and signals["disposition"].notna().all()
    assert set(signals["id"]) == {"TIC 118313102"}
    assert sorted(path.stem for path in (out / "sheets").glob("*.png")) == sorted(signals["key"])
    assert sheet_rows and all(row["network_flagged"] == (row["score"] >= 0.5) for row in sheet_rows)
    ledger = pd.read_csv(out / "ledger.csv").set_index("source")
    assert ledger.loc[str(broken), "status"] == "quarantined"
    assert (ledger.loc[files, "status"] == "ok").all()


def test_target_refuses_an_unknown_option(tmp_path, capsys):
    assert main(["target", "x.fits", "--out", str(tmp_path), "--options", '{"serch": {}}']) == 2
    assert "unknown option 'serch'" in capsys.readouterr().err


def test_target_says_which_files_it_could_not_read_and_fails_when_it_read_none(
        tmp_path, capsys, caplog):
    missing = tmp_path / "TIC123_lc.fits"
    assert main(["target", str(missing), "--out", str(tmp_path / "out")]) == 2
    assert f"not read: {missing}: no such file; check the path" in caplog.text
    assert "no light curve could be read from the 1 file given" in capsys.readouterr().err
    assert pd.read_csv(tmp_path / "out" / "ledger.csv")["status"].tolist() == ["quarantined"]
    assert main(["target", str(tmp_path), "--output", str(tmp_path / "out")]) == 2  # --out's alias
    assert f"{tmp_path} is a folder; pass its files, e.g. {tmp_path}/*.fits" in \
        capsys.readouterr().err
