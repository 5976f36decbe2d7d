"""Per-light-curve isolation: a bad light curve is a ledger row, the shard goes on."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from tests.builders import flat_lightcurve, inject_box
from transitflow.cli import main
from transitflow.isolation import each_light_curve
from transitflow.shards import write_shard
from transitflow.tables import read_table


def with_source(lc, name: str):
    return replace(lc, meta=replace(lc.meta, source_file=name))


def test_a_failing_light_curve_becomes_a_row_and_the_rest_go_on():
    lcs = [with_source(flat_lightcurve(tic=tic), f"lc{tic}.fits") for tic in (1, 2, 3)]

    def work(lc):
        if lc.meta.tic == 2:
            raise ZeroDivisionError("float division\nby zero")
        return lc.meta.tic

    results, failures = each_light_curve(lcs, work, "search")
    assert results == [1, 3]
    assert failures.to_dict("records") == [{
        "key": "2-s0001", "source_file": "lc2.fits", "stage": "search",
        "reason": "ZeroDivisionError: float division by zero"}]


def test_more_than_half_failing_fails_loudly():
    lcs = [flat_lightcurve(tic=tic) for tic in (1, 2, 3)]
    with pytest.raises(RuntimeError, match="vet: 2 of 3 light curves failed, more than 50%"):
        each_light_curve(lcs, lambda lc: 1 / (lc.meta.tic // 3), "vet")  # tic 1 and 2 fail
    assert each_light_curve([], len, "vet")[1].empty


@pytest.mark.slow
def test_an_all_zero_light_curve_does_not_stop_its_shards_search_and_vetting(tmp_path,
                                                                             monkeypatch):
    planet = with_source(inject_box(flat_lightcurve(tic=1, seed=1), 3.3, 1327.0, 0.12, snr=30),
                         "planet.fits")
    quiet = with_source(flat_lightcurve(tic=2, seed=2), "quiet.fits")
    zero = with_source(replace(flat_lightcurve(tic=3), flux=np.zeros(len(quiet), np.float32)),
                       "zero.fits")
    shard = write_shard(tmp_path / "0000.arrow", [planet, zero, quiet], provenance={})
    scores = pd.DataFrame({"key": ["1-s0001", "3-s0001", "2-s0001"], "flagged": True,
                           "score": [0.9, np.nan, 0.1], "network_flag": [True, False, False],
                           "detected_by": ["network+periodic", "periodic", "single"]})
    scores.to_parquet(tmp_path / "scores.parquet")
    assert main(["search", "--shard", str(shard), "--scores", str(tmp_path / "scores.parquet"),
                 "--out", str(tmp_path / "signals.parquet"),
                 "--failed", str(tmp_path / "search_failed.parquet"),
                 "--spectra", str(tmp_path / "spectra.parquet")]) == 0
    failed = read_table(tmp_path / "search_failed.parquet")
    assert failed[["key", "source_file", "stage"]].values.tolist() == [
        ["3-s0001", "zero.fits", "search"]]
    assert "median flux is 0" in failed["reason"].item()
    signals = read_table(tmp_path / "signals.parquet")
    assert 1 in set(signals["tic"])
    assert sorted(read_table(tmp_path / "spectra.parquet")["key"]) == ["1-s0001", "2-s0001"]
    crowded = str(tmp_path / "crowded_epochs.json")
    assert main(["crowded-epochs", "--signals", str(tmp_path / "signals.parquet"),
                 "--out", crowded]) == 0
    assert main(["vet", "--shard", str(shard), "--signals", str(tmp_path / "signals.parquet"),
                 "--spectra", str(tmp_path / "spectra.parquet"), "--crowded-epochs", crowded,
                 "--scores", str(tmp_path / "scores.parquet"),
                 "--out", str(tmp_path / "vetting.parquet"),
                 "--failed", str(tmp_path / "vet_failed.parquet"),
                 "--sheets-dir", str(tmp_path / "sheets")]) == 0
    assert read_table(tmp_path / "vet_failed.parquet").empty
    vetting = read_table(tmp_path / "vetting.parquet")
    assert len(vetting) == len(signals)
    # a sheet that cannot be drawn is a failure row of its own; the vetting is kept
    monkeypatch.setattr("transitflow.sheets.vetting_sheet", broken_sheet)
    everything = json.dumps({"report": {"sheets_for": sorted(set(vetting["disposition"]))}})
    assert main(["vet", "--shard", str(shard), "--signals", str(tmp_path / "signals.parquet"),
                 "--spectra", str(tmp_path / "spectra.parquet"), "--crowded-epochs", crowded,
                 "--scores", str(tmp_path / "scores.parquet"),
                 "--out", str(tmp_path / "vetting.parquet"),
                 "--options", everything,
                 "--failed", str(tmp_path / "vet_failed.parquet"),
                 "--sheets-dir", str(tmp_path / "sheets")]) == 0
    failed = read_table(tmp_path / "vet_failed.parquet")
    assert failed[["key", "stage"]].values.tolist() == [["1-s0001", "sheets"]]
    assert failed["reason"].item() == "OSError: [Errno 28] No space left on device"
    assert read_table(tmp_path / "vetting.parquet").equals(vetting)


def broken_sheet(*args, **kwargs):
    raise OSError(28, "No space left on device")
