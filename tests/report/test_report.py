"""Candidate tables (merging, TOI crossmatch, sorting, stable files) and the HTML report."""

from __future__ import annotations

import math
import re

import astropy.units as u
import numpy as np
import pandas as pd
import pytest
from astropy.coordinates import SkyCoord
from matplotlib.figure import Figure

from tests.browser import rendered_dom
from transitflow.report import (ReportConfig, build_candidates, bundle_sheets, ctoi_table,
                                held_out_stars,
                                planet_recall, truth_recovery, write_candidates, write_ctoi,
                                write_report)
from transitflow.report.stage import _thresholds_text
from transitflow.labels import read_eb_ephemerides
from transitflow.readers import read_lightcurves
from transitflow.searching import SearchConfig, detrend_for_search, search_lightcurve
from transitflow.signals import Signal, ephemeris_errors
from transitflow.tables import read_provenance
from transitflow.vetting import VetConfig, vet_light_curve

TESTS = ("odd_even", "secondary", "centroid", "background", "shape", "harmonics", "systematics",
         "size")
TOI_TABLE = "catalogs/exofop_toi_tess-atlas_2025-10-19.csv"
WASP18 = 100100827  # TOI-185.01, KP, P = 0.9414525 d
TOI813 = 55525572  # TOI-813.01, CP, P = 83.896 d: one transit near BTJD 1454.69 in sector 5


def vet_row(tic: int, sector: int, period: float, snr: float, index: int = 0,
            disposition: str = "PC", epoch: float = 1400.0, reasons: str = "") -> dict:
    """A flat vetting row as vetting.vetting_row gives it (single transit when period is NaN)."""
    single = math.isnan(period)
    signal = Signal(tic, sector, index, "single" if single else "periodic",
                    "single_event" if single else "bls", period, epoch, 0.1, 1e-3, 1e-4, snr,
                    math.nan if single else 12.0, 1 if single else 5, (epoch,), (1e-3,), 2.0)
    row = signal.to_row()
    for test in TESTS:
        row |= {f"{test}_metric": 0.5, f"{test}_sigma": 1.0, f"{test}_flag": test == "size",
                f"{test}_reason": f"{test} ok"}
    return row | {"secondary_phase": 0.5, "disposition": disposition, "reasons": reasons}


def scores_for(vetting: pd.DataFrame) -> pd.DataFrame:
    keys = vetting[["tic", "sector"]].drop_duplicates()
    return pd.DataFrame({"key": [f"{t}-s{s:04d}" for t, s in zip(keys["tic"], keys["sector"])],
                         "tic": keys["tic"].to_numpy(), "sector": keys["sector"].to_numpy(),
                         "score": np.linspace(0.9, 0.5, len(keys)), "flagged": True,
                         "model_id": "cnn-test"})


@pytest.fixture
def vetting() -> pd.DataFrame:
    return pd.DataFrame([
        vet_row(7, 1, 3.000, snr=20.0),
        vet_row(7, 2, 3.010, snr=30.0),  # same planet, next sector: merged
        vet_row(7, 2, 5.000, snr=9.0, index=1),  # another period: its own row
        vet_row(8, 1, 2.000, snr=50.0, disposition="EB", reasons="secondary <script>x</script>"),
        vet_row(9, 1, math.nan, snr=12.0),  # single transit
        vet_row(10, 3, 1.5, snr=8.0, disposition="LOW_SNR"),
    ])


@pytest.fixture(scope="module")
def tois(realdata) -> pd.DataFrame:
    return pd.read_csv(realdata / TOI_TABLE)


def test_multi_sector_signals_merge(vetting):
    table = build_candidates(scores_for(vetting), vetting, None, None)
    assert len(table) == 5
    merged = table[table["sectors"] == "1,2"].iloc[0]
    assert merged["keys"] == "7-s0001-0;7-s0002-0"
    assert merged["key"] == "7-s0002-0" and merged["snr"] == 30.0 and merged["period"] == 3.01
    assert merged["n_transits"] == 10 and merged["score"] == pytest.approx(0.9)
    assert table.loc[table["key"] == "7-s0002-1", "sectors"].item() == "2"
    assert {"odd_even_metric", "size_flag", "secondary_phase"} <= set(table.columns)
    assert table["toi_match"].eq("").all() and table["tmag"].isna().all()


def test_the_report_says_why_radius_and_magnitude_cells_are_empty(vetting, tmp_path):
    """Rp is empty where the star's radius is unknown (the search found no radius to scale
    the depth by), Tmag where its magnitude is."""
    stars = pd.DataFrame({"key": ["7-s0002", "8-s0001"], "tmag": [9.5, np.nan],
                          "radius": [1.1, 0.8]})
    unknown_radius = vetting.assign(radius_earth=vetting["radius_earth"].where(
        vetting["tic"].isin([7, 8]), np.nan))
    table = build_candidates(scores_for(vetting), unknown_radius, stars, None)
    html = write_report(table, tmp_path / "r.html", {"run": "r"}, {}, {}, {}).read_text()
    assert ("<p>Rp empty in 2 rows (the star's radius unknown); Tmag empty in 3 rows "
            "(the star's magnitude unknown).</p>") in html
    known = build_candidates(scores_for(vetting), vetting, stars.assign(tmag=9.0), None)
    known = known[known["key"].str.startswith(("7-s0002", "8-"))]
    assert "empty in" not in write_report(known, tmp_path / "k.html", {"run": "r"}, {}, {},
                                          {}).read_text()


def test_sorted_by_disposition_then_snr(vetting):
    table = build_candidates(scores_for(vetting), vetting, None, None)
    assert list(table["disposition"]) == ["PC", "PC", "PC", "EB", "LOW_SNR"]
    assert list(table["snr"]) == [30.0, 12.0, 9.0, 50.0, 8.0]


def test_star_columns_join_by_light_curve(vetting):
    stars = pd.DataFrame({"key": ["7-s0002", "8-s0001"], "tmag": [9.5, 11.0],
                          "radius": [1.1, 0.8]})
    table = build_candidates(scores_for(vetting), vetting, stars, None).set_index("key")
    assert table.loc["7-s0002-0", "tmag"] == 9.5 and table.loc["8-s0001-0", "star_radius"] == 0.8
    assert table.loc["7-s0002-0", "duration_h"] == pytest.approx(2.4)
    assert table.loc["7-s0002-0", "depth_ppm"] == pytest.approx(1000.0)


def test_no_signal_in_any_shard_gives_an_empty_table_and_a_report(vetting, tmp_path):
    table = build_candidates(scores_for(vetting), pd.DataFrame(), None, None)
    assert table.empty and {"key", "period", "disposition", "reasons"} <= set(table.columns)
    html = write_report(table, tmp_path / "report.html", {"run": "empty"}, {}, {},
                        {"data": {"read": 3}}).read_text()
    assert "Candidates (0)" in html


def test_the_completeness_table_shows_each_snr_bin_beside_the_simulated_truth(vetting, tmp_path):
    completeness = {"by_snr": [
        {"snr_low": 7.0, "n": 12, "flagged": 0.75, "found": 0.5, "PC": 0.5},
        {"snr_low": 10.0, "n": 0, "flagged": None, "found": None, "PC": None}],
        "against truth": [
            {"snr_low": 7.0, "injections": 31, "injected, as PC": 0.5, "planted planets": 30,
             "planted, as PC": 0.4667, "difference": 0.0333, "compared": True},
            {"snr_low": 10.0, "injections": 0, "injected, as PC": None, "planted planets": 0,
             "planted, as PC": None, "difference": None, "compared": False}],
        "nulls": {kind: {"copies": 40, "flagged": 9, "with_signal": 5, "with_pc": pcs,
                         "failed": 1, "excluded": excluded}
                  for kind, pcs, excluded in (("inverted", 0, 0), ("scrambled", 2, 15))}}
    html = write_report(build_candidates(scores_for(vetting), vetting, None, None),
                        tmp_path / "report.html", {"run": "r"}, {}, {}, {"data": {"read": 3}},
                        completeness=completeness).read_text()
    section = html[html.index('id="completeness"'):html.index('id="candidates"')]
    assert "<th>planted, as PC</th>" in section and "<th>7-10</th>" in section
    assert '<td class="number">0.750</td>' in section and '<td class="number">0.467</td>' in section
    assert '<td class="number">0</td><td class="number"></td>' in section
    assert "bins with 30 or more of each: 3.3 points" in section
    assert '<td class="number">+3.3</td><td class="number">yes</td>' in section
    for row in ("inverted light curves (nulls): followed / excluded / failed</th><td>39 / 0 / 1",
                "scrambled light curves (nulls): followed / excluded / failed</th><td>24 / 15 / 1",
                "scrambled: flagged / with a signal / with a PC</th><td>9 / 5 / 2"):
        assert row in section, row


def test_the_summary_comes_first_and_answers_the_first_questions(vetting, tmp_path):
    completeness = {"by_snr": [], "by_radius": [
        {"radius_low": 2.0, "radius_high": 4.0, "n": 30, "PC": 0.8},
        {"radius_low": 4.0, "radius_high": 8.0, "n": 0, "PC": None}],
        "reliability": {"expected_false_pcs": 2.0, "expected_false_pcs_error": 1.4,
                        "reliability": 0.9, "reliability_error": 0.07}}
    stages = {"light curves": {"ok": 120, "quarantined": 3},
              "batched search": {"searched": 118}, "in-depth search": {"flagged": 40}}
    table = build_candidates(scores_for(vetting), vetting, None, None)
    html = write_report(table, tmp_path / "report.html", {"run": "r"}, {}, {}, stages,
                        completeness=completeness).read_text()
    summary = html[html.index('id="summary"'):html.index('id="run"')]
    assert html.index('id="summary"') < html.index('id="stages"')
    nav = html[html.index("<nav>"):html.index("</nav>")]
    assert html.index("<nav>") < html.index('id="summary"')
    assert {"#summary", "#funnel", "#completeness", "#candidates", "#figures"} <= set(
        re.findall(r'href="(#\w+)"', nav)) and "#recovery" not in nav  # no truth: no section
    for text in ("light curves read</th><td>120", "inputs quarantined or failed</th><td>3",
                 "(batched search)</th><td>118", "searched in depth</th><td>40",
                 "expected false PCs (inverted and scrambled light curves)</th><td>2.0 ± 1.4",
                 "found as PC, 2-4 R_earth</th><td>0.80 of 30 injected"):
        assert text in summary, text
    assert "4-8 R_earth" not in summary  # no injection there
    counts = table["disposition"].value_counts()
    listed = ", ".join(f"{counts[name]} {name}" for name in ("PC", "EB", "BEB", "SYSTEMATIC",
                                                             "LOW_SNR") if name in counts)
    assert f"candidates</th><td>{listed}</td>" in summary


def test_every_candidate_says_its_training_split(vetting):
    split = pd.DataFrame({"tic": [7, 8, 9], "split": ["train", "test", "val"]})
    table = build_candidates(scores_for(vetting), vetting, None, None, split).set_index("key")
    assert table["split"].to_dict() == {"7-s0002-0": "train", "9-s0001-0": "val",
                                        "7-s0002-1": "train", "8-s0001-0": "test",
                                        "10-s0003-0": ""}
    assert build_candidates(scores_for(vetting), vetting, None, None)["split"].eq("").all()


def test_held_out_stars_are_the_stars_never_trained_on():
    truth = pd.DataFrame({"tic": [1, 1, 2, 3, 4], "sim_class": "planet"})
    split = pd.DataFrame({"tic": [1, 2, 3], "split": ["test", "train", "val"]})
    assert held_out_stars(truth, split)["tic"].tolist() == [1, 1]


@pytest.mark.realdata
def test_toi_crossmatch(tois):
    vetting = pd.DataFrame([
        vet_row(WASP18, 2, 0.94145, snr=100.0),
        vet_row(WASP18, 2, 2 * 0.94145 * 1.005, snr=40.0, index=1),  # double, within 1%
        vet_row(WASP18, 2, 1.3, snr=20.0, index=2),  # another period on a known star: new
        vet_row(TOI813, 5, math.nan, snr=15.0, epoch=1454.69),  # its single transit
        vet_row(TOI813, 6, math.nan, snr=10.0, epoch=1480.0),  # off its ephemeris
        vet_row(355636844, 1, 6.30556, snr=30.0),  # TOI-146.01, an FP
        vet_row(1, 1, 0.94145, snr=10.0),  # WASP-18's period on another star
        vet_row(2, 1, 0.94145, snr=10.0),  # WASP-18 under another ID: matched by position
        vet_row(3, 1, 0.94145, snr=10.0),  # 1 arcmin from it: too far
        vet_row(307210830, 29, 7.450799, snr=30.0),  # L 98-59 d, 2.019 times c's period
    ])
    wasp18 = SkyCoord("01:37:25.07", "-45:40:40.06", unit=(u.hourangle, u.deg))
    stars = pd.DataFrame({"key": ["2-s0001", "3-s0001"], "tmag": 9.0, "radius": 1.2,
                          "ra": [wasp18.ra.deg, wasp18.ra.deg],
                          "dec": [wasp18.dec.deg + 2 / 3600, wasp18.dec.deg + 60 / 3600]})
    unplaced = pd.DataFrame([{**tois.iloc[0].to_dict(), "TOI": 9999.01, "RA": math.nan}])
    tois = pd.concat([tois, unplaced], ignore_index=True)  # a TOI without a position
    table = build_candidates(scores_for(vetting), vetting, stars, tois).set_index("key")
    assert table.loc[f"{WASP18}-s0002-0", "toi_match"] == "known planet"
    assert table.loc[f"{WASP18}-s0002-0", "toi"] == pytest.approx(185.01)
    assert table.loc[f"{WASP18}-s0002-1", "toi_match"] == "known planet"
    assert table.loc[f"{WASP18}-s0002-2", "toi_match"] == "new"
    assert table.loc[f"{TOI813}-s0005-0", "toi_match"] == "known planet"
    assert table.loc[f"{TOI813}-s0006-0", "toi_match"] == "new"
    assert table.loc["355636844-s0001-0", "toi_match"] == "known FP"
    assert table.loc["355636844-s0001-0", "toi_disposition"] == "FP"
    assert table.loc["1-s0001-0", "toi_match"] == "new"
    assert table.loc["2-s0001-0", ["toi", "toi_matched_by"]].tolist() == [185.01, "position"]
    assert table.loc[f"{WASP18}-s0002-0", "toi_matched_by"] == "TIC"
    assert table.loc["3-s0001-0", ["toi_match", "toi_matched_by"]].tolist() == ["new", ""]
    assert table.loc["307210830-s0029-0", "toi"] == pytest.approx(175.02)  # not 175.01


def test_another_missions_id_is_not_matched_as_a_tic_id(tois):
    vetting = pd.DataFrame([vet_row(WASP18, 3, 0.94145, snr=100.0)])  # EPIC 100100827, K2 C3
    stars = pd.DataFrame({"key": [f"{WASP18}-s0003"], "mission": "K2", "tmag": 9.0,
                          "radius": 1.2, "ra": math.nan, "dec": math.nan})
    table = build_candidates(scores_for(vetting), vetting, stars, tois)
    assert table[["mission", "toi_match"]].values.tolist() == [["K2", "new"]]
    assert table["id"].tolist() == [f"EPIC {WASP18}"]
    assert ctoi_table(table, "transitflow test").empty  # a CTOI needs a TIC ID


def test_candidates_on_a_known_binarys_secondary_eclipses_become_eb():
    """Each star a binary of P = 4 d, epoch 1400, primary at phase 0 (star 9: 0.25),
    secondary at 0.4 (1401.6)."""
    cases = {  # star: its signal, the eclipse it falls on, its disposition
        1: (vet_row(1, 1, 4.0, snr=50.0, epoch=1401.65), "secondary", "EB"),
        2: (vet_row(2, 1, 8.0, snr=40.0, epoch=1409.6, disposition="SYSTEMATIC"),
            "secondary", "EB"),  # at twice the period
        3: (vet_row(3, 1, math.nan, snr=30.0, epoch=1413.6), "secondary", "EB"),  # single
        4: (vet_row(4, 1, 4.0, snr=20.0, epoch=1402.5), "", "PC"),  # between the eclipses
        5: (vet_row(5, 1, 3.0, snr=20.0, epoch=1401.6), "", "PC"),  # another period
        6: (vet_row(6, 1, 4.0, snr=20.0, epoch=1401.6, disposition="BEB"), "secondary",
            "BEB"),
        7: (vet_row(7, 1, 4.0, snr=20.0, epoch=1401.6), "", "PC"),  # no secondary fitted
        8: (vet_row(8, 1, 4.0, snr=20.0, epoch=1400.0), "primary", "PC"),  # maybe a planet
        9: (vet_row(9, 1, 4.0, snr=20.0, epoch=1401.0), "primary", "PC"),
        10: (vet_row(10, 1, 2.0, snr=20.0, epoch=1401.6), "secondary", "PC"),  # half: both
        11: (vet_row(11, 1, 4.0, snr=20.0, epoch=1401.6), "secondary", "PC"),  # a known planet
    }
    ebs = pd.DataFrame({"tic": list(cases), "entry": [f"TIC {tic} EB 1" for tic in cases],
                        "period": 4.0, "epoch": 1400.0, "duration": 0.2,
                        "primary_phase": [0.25 if tic == 9 else 0.0 for tic in cases],
                        "secondary_phase": [math.nan if tic == 7 else 0.4 for tic in cases]})
    tois = pd.DataFrame({"TIC ID": [11], "TOI": [100.01], "TFOPWG Disposition": ["CP"],
                         "Period (days)": [4.0], "Epoch (BJD)": [2458401.6],
                         "Duration (hours)": [2.4], "RA": [math.nan], "Dec": [math.nan]})
    vetting = pd.DataFrame([row for row, _, _ in cases.values()])
    table = build_candidates(scores_for(vetting), vetting, known_tois=tois,
                             known_ebs=ebs).set_index("tic")
    assert table["known_eb"].to_dict() == {
        tic: eclipse and f"TIC {tic} EB 1, P 4.00000 d, {eclipse} eclipse"
        for tic, (_, eclipse, _) in cases.items()}
    assert table["disposition"].to_dict() == {tic: case[2] for tic, case in cases.items()}
    assert table.loc[1, "reasons"] == (
        "known eclipsing binary (TESS EB catalog): TIC 1 EB 1, P 4.00000 d, secondary eclipse")
    assert table.loc[11, "toi_match"] == "known planet"
    assert build_candidates(scores_for(vetting), vetting)["known_eb"].eq("").all()
    assert table.loc[1, "vetting_disposition"] == "PC"  # what its sheet shows
    assert table["vetting_disposition"].to_dict() == {
        tic: case[0]["disposition"] for tic, case in cases.items()}


def test_write_candidates_is_byte_stable(vetting, tmp_path):
    table = build_candidates(scores_for(vetting), vetting, None, None)
    provenance = {"stage": "report", "config_hash": "abc"}
    first = write_candidates(table, tmp_path / "a.csv", tmp_path / "a.parquet", provenance)
    second = write_candidates(table, tmp_path / "b.csv", tmp_path / "b.parquet", provenance)
    assert first[0].read_bytes() == second[0].read_bytes()
    assert first[1].read_bytes() == second[1].read_bytes()
    assert read_provenance(first[1]) == provenance
    text = first[0].read_text()
    assert "7,TESS,,\"1,2\"" in text and "3.01," in text  # no split: the run did not train
    assert len(pd.read_csv(first[0])) == len(table)


def test_empty_candidates(vetting, tmp_path):
    table = build_candidates(scores_for(vetting), vetting.iloc[:0], None, None)
    assert table.empty and "toi_match" in table.columns
    page = write_report(table, tmp_path / "empty.html", {"run": "empty"}, {}, {}, {})
    assert "Candidates (0)" in page.read_text()


def small_png(path, color: str):
    fig = Figure(figsize=(1, 1), dpi=20)
    fig.add_subplot().plot([0, 1], color=color)
    fig.savefig(path, metadata={"Software": None})
    return path


def test_report_embeds_figures_links_sheets_escapes_and_is_stable(vetting, tmp_path):
    table = build_candidates(scores_for(vetting), vetting, None, None)
    (tmp_path / "sheets").mkdir()
    sheets = {key: small_png(tmp_path / "sheets" / f"{key}.png", "C0")
              for key in ("7-s0001-0", "8-s0001-0")}
    figures = {"training <loss>": small_png(tmp_path / "loss.png", "C1")}
    run_info = {"run": "test <run>", "code_version": "0.1.0", "config_hash": "abc"}
    ledger = {"data": {"read": 6, "quarantined": 1}, "infer": {"scored": 5, "flagged": 4}}
    pages = [write_report(table, tmp_path / name, run_info, sheets, figures, ledger).read_bytes()
             for name in ("a.html", "b.html")]
    assert pages[0] == pages[1]
    html = pages[0].decode()
    assert html.count("<tr id=") == len(table)
    assert html.count('src="data:image/png;base64,') == 1
    assert 'href="sheets/7-s0001-0.png"' in html and 'href="sheets/8-s0001-0.png"' in html
    assert "<script>x</script>" not in html and "&lt;script&gt;x&lt;/script&gt;" in html
    assert "test &lt;run&gt;" in html and "training &lt;loss&gt;" in html
    assert "<th>quarantined</th>" in html and "size" in html
    assert "(vetting: " not in html
    moved = table.assign(disposition=table["disposition"].mask(table["key"] == "8-s0001-0",
                                                               "SYSTEMATIC"))
    html = write_report(moved, tmp_path / "c.html", run_info, sheets, figures, ledger).read_text()
    row = re.search(r'<tr id="8-s0001-0".*?</tr>', html).group(0)
    vetted = table.set_index("key").loc["8-s0001-0", "disposition"]
    assert f'<a href="sheets/8-s0001-0.png">s0001-0</a> (vetting: {vetted})' in row


def test_truth_recovery_counts_periodic_aliases_and_single_events():
    truth = pd.DataFrame({"tic": [1, 2, 3, 4], "sim_class": ["planet", "planet", "planet", "eb"],
                          "period": [3.0, 5.0, np.nan, 2.0], "epoch": [0.0, 0.0, 1400.0, 0.0],
                          "duration": [0.1, 0.1, 0.2, 0.1]})
    candidates = pd.DataFrame({"tic": [1, 2, 3, 5], "period": [6.0, 7.0, np.nan, 2.0],
                               "epoch": [0.0, 0.0, 1400.1, 0.0],
                               "disposition": ["PC", "PC", "LOW_SNR", "EB"]})
    recovery = truth_recovery(truth, candidates)
    assert recovery["planet"] == {"planted": 3, "found": 2, "found as PC": 1}
    assert recovery["eb"] == {"planted": 1, "found": 0, "found as PC": 0}
    # a periodic planet found as a single event on one of its transits counts too
    on_event = candidates.assign(period=[6.0, np.nan, np.nan, 2.0], epoch=[0.0, 15.02, 1400.1, 0])
    assert truth_recovery(truth, on_event)["planet"]["found"] == 3


def test_planet_recall_groups_planets_by_transits_and_counts_clean_stars():
    truth = pd.DataFrame({"tic": [1, 2, 3, 4], "sim_class": "planet",
                          "period": [3.0, 5.0, np.nan, 4.0], "epoch": [0.0, 0.0, 1400.0, 0.0],
                          "duration": 0.1, "snr": [12.0, 30.0, 15.0, 5.0],
                          "n_events_in_data": [9, 5, 1, 6]})
    stars = pd.DataFrame({"tic": [1, 2, 3, 4, 5, 6], "sim_class": ["planet"] * 4
                          + ["quiet", "variable"]})
    candidates = pd.DataFrame({"tic": [1, 2, 3, 6], "period": [3.0, 5.0, np.nan, 1.0],
                               "epoch": [0.0, 0.0, 1400.05, 0.0],
                               "disposition": ["PC", "EB", "PC", "PC"]})
    recall = planet_recall(truth, stars, candidates)
    assert recall["planets, 2+ transits"] == {"n": 2, "fraction": 0.5}  # tic 4: SNR < 10
    assert recall["single transits"] == {"n": 1, "fraction": 1.0}
    assert recall["quiet and variable stars without a PC"] == {"n": 2, "fraction": 0.5}


def test_sheets_are_bundled_beside_the_report_and_the_originals_kept(tmp_path):
    made = {key: small_png(tmp_path / f"{key}.png", "C0") for key in ("1-s0001-0", "2-s0001-0")}
    bundled = bundle_sheets(made, tmp_path / "report" / "sheets")
    assert bundled == {key: tmp_path / "report" / "sheets" / f"{key}.png" for key in made}
    assert all(bundled[key].read_bytes() == made[key].read_bytes() for key in made)
    assert bundle_sheets(made, tmp_path / "report" / "sheets") == bundled  # again: replaced


def test_the_funnel_counts_light_curves_from_inputs_to_pcs(vetting, tmp_path):
    stages = {"light curves": {"ok": 120, "quarantined": 3, "failed": 1, "duplicate": 2},
              "scoring": {"scored": 119, "failed": 1, "flagged": 30},
              "batched search": {"searched": 118, "failed": 2},
              "in-depth search": {"flagged": 40, "failed": 1},
              "vetting": {"light curves failed": 2, "sheets failed": 0}}
    table = build_candidates(scores_for(vetting), vetting, None, None)
    html = write_report(table, tmp_path / "r.html", {"run": "r"}, {}, {}, stages).read_text()
    funnel = html[html.index('id="funnel"'):html.index('id="run"')]
    assert "<tr><th>step</th><th>light curves</th><th>failed here</th></tr>" in funnel
    rows = re.findall(r"<tr><th>([^<]+)</th><td[^>]*>(\d+)</td><td[^>]*>(\d+)</td>", funnel)
    assert rows == [("inputs", "126", "0"), ("read", "120", "6"),
                    ("scored by the network", "119", "1"),
                    ("searched (batched, every light curve)", "118", "2"),
                    ("raised for the in-depth search", "40", "0"),
                    ("searched in depth, vetted, with a signal", "5", "3"),
                    ("with a PC", "3", "0")]  # 7-s0001, 7-s0002 and 9-s0001


def test_the_funnel_counts_joined_sectors_apart_from_the_inputs(vetting, tmp_path):
    stages = {"light curves": {"ok": 10, "quarantined": 1, "stitched": 2},
              "batched search": {"searched": 10, "failed": 0}}
    table = build_candidates(scores_for(vetting), vetting, None, None)
    html = write_report(table, tmp_path / "r.html", {"run": "r"}, {}, {}, stages).read_text()
    funnel = html[html.index('id="funnel"'):html.index('id="run"')]
    rows = re.findall(r"<tr><th>([^<]+)</th><td[^>]*>(\d+)</td><td[^>]*>(\d+)</td>", funnel)
    assert rows[:3] == [("inputs", "11", "0"), ("read", "10", "1"),
                        ("read, and the sectors of a star joined", "12", "0")]
    assert ("searched (batched, each sector&#x27;s light curve; joined ones searched in depth "
            "when one of their sectors is raised)", "10", "0") in rows
    assert re.search(r"stars searched with their sectors joined</th>\s*<td[^>]*>2<", html)


def test_a_joined_sectors_signal_merges_and_lists_the_sectors_of_its_transits():
    per_sector = vet_row(7, 1, 3.000, snr=20.0)  # 5 transits in sector 1
    joined = vet_row(7, 9999, 3.001, snr=40.0) | {
        "transit_times": [1400.0, 1403.0, 1406.0, 1409.0, 1442.0, 1445.0], "n_transits": 6}
    vetting = pd.DataFrame([per_sector, joined])
    stars = pd.DataFrame({"key": ["7-s0001", "7-s0003", "7-s0005", "7-s9999"], "tic": 7,
                          "sector": [1, 3, 5, 9999], "time_start": [1390.0, 1440.0, 1500.0, 1390.0],
                          "time_stop": [1410.0, 1470.0, 1530.0, 1530.0]})
    scores = scores_for(vetting).assign(detected_by=["edge+periodic+network", "sectors+single"])
    [row] = build_candidates(scores, vetting, stars, None).to_dict("records")
    assert row["key"] == "7-s9999-0" and row["keys"] == "7-s0001-0;7-s9999-0"
    assert row["sectors"] == "1,3" and row["n_transits"] == 6  # not 5 + 6: the same transits
    assert row["detected_by"] == "network+periodic+single+edge+sectors"


def test_single_events_of_sectors_merge_into_their_joined_sectors_periodic_signal():
    joined = vet_row(7, 9999, 26.13, snr=80.0, epoch=1391.7, disposition="EB")
    vetting = pd.DataFrame([
        joined, vet_row(7, 3, math.nan, snr=30.0, epoch=1391.72, disposition="EB"),
        vet_row(7, 4, math.nan, snr=90.0, epoch=1417.84, disposition="EB"),  # next orbit
        vet_row(7, 4, math.nan, snr=20.0, index=1, epoch=1436.07, disposition="EB"),  # off it
        vet_row(7, 5, 52.26, snr=40.0, epoch=1443.96, disposition="EB"),  # every other transit
        vet_row(7, 6, 52.26, snr=40.0, epoch=1457.0, disposition="EB"),  # twice, off its transits
        vet_row(7, 8, math.nan, snr=20.0, epoch=1496.22),  # on a transit, but a PC: kept apart
        vet_row(8, 1, 0.5, snr=40.0, disposition="SYSTEMATIC"),  # one light curve: a lone
        vet_row(8, 1, math.nan, snr=20.0, index=1, epoch=1400.02)])  # transit beside stays
    table = build_candidates(scores_for(vetting), vetting, None, None).set_index("key")
    assert table.loc["7-s9999-0", "keys"] == "7-s0003-0;7-s0004-0;7-s0005-0;7-s9999-0"
    assert table.loc["7-s9999-0", "disposition"] == "EB"
    for alone in ("7-s0004-1", "7-s0006-0", "7-s0008-0", "8-s0001-1"):
        assert table.loc[alone, "keys"] == alone
    assert table.loc["7-s0008-0", "disposition"] == "PC" and len(table) == 6


def test_each_candidate_links_the_other_signals_of_its_star(vetting, tmp_path):
    table = build_candidates(scores_for(vetting), vetting, None, None)
    html = write_report(table, tmp_path / "r.html", {"run": "r"}, {}, {}, {}).read_text()
    row = re.search(r'<tr id="7-s0002-0".*?</tr>', html).group(0)
    assert '<a href="#7-s0002-1">P=5.00 d PC</a>' in row and 'href="#7-s0002-0"' not in row
    alone = re.search(r'<tr id="8-s0001-0".*?</tr>', html).group(0)
    assert alone.endswith("<td></td></tr>")


def test_the_report_filters_its_table_in_a_browser(vetting, tmp_path):
    table = build_candidates(scores_for(vetting), vetting, None, None)
    sheets = bundle_sheets({"7-s0002-0": small_png(tmp_path / "7-s0002-0.png", "C0")},
                           tmp_path / "report" / "sheets")
    page = write_report(table, tmp_path / "report" / "index.html", {"run": "r"}, sheets, {},
                        {"light curves": {"ok": 6}})
    everything = rendered_dom(page, tmp_path / "profile")
    assert "light curves read</th><td>6" in everything
    assert f"{len(table)} of {len(table)} shown" in everything
    filtered = rendered_dom(page, tmp_path / "profile", "filter=disposition=PC snr>15")
    shown = re.findall(r'<tr id="([^"]+)" class="[^"]*">', filtered)  # rows without hidden=""
    assert shown == ["7-s0002-0"] and f"1 of {len(table)} shown" in filtered
    worded = rendered_dom(page, tmp_path / "profile", "filter=P=5.00")  # a sibling's label
    assert re.findall(r'<tr id="([^"]+)" class="[^"]*">', worded) == []
    link = re.search(r'<tr id="7-s0002-0".*?href="([^"]+\.png)"', filtered).group(1)
    assert (page.parent / link).is_file()


def test_ephemeris_errors_follow_carter_et_al_2008_at_the_transits_orbits():
    # T = 0.1 d, depth 1%: ingress 0.01 d; Q = 20: one event timed to
    # 0.1 / 20 * sqrt(0.1 / 2) * sqrt(2) = 1.581e-3 d, two orbits apart: P to 2.236e-3 d
    period, epoch, duration = ephemeris_errors(0.1, 0.01, 20.0, [0, 1])
    assert (period, epoch, duration) == pytest.approx((2.236e-3, 1.581e-3, 2.236e-3), rel=1e-3)
    gapped = ephemeris_errors(0.1, 0.01, 20.0, [0, 3])  # the same two events, three orbits apart
    assert gapped[0] == pytest.approx(period / 3) and gapped[1] == pytest.approx(epoch)
    assert math.isnan(ephemeris_errors(0.1, 0.01, 20.0, [0])[0])
    assert all(map(math.isnan, ephemeris_errors(0.1, 0.01, 0.0, [0, 1])))


def test_errors_follow_the_snr_and_the_epoch_is_given_as_bjd(vetting):
    table = build_candidates(scores_for(vetting), vetting, None, None).set_index("key")
    strong, weak = table.loc["8-s0001-0"], table.loc["10-s0003-0"]  # SNR 50 and 8, 5 transits
    assert 0 < strong["period_err"] < weak["period_err"] < 0.01
    assert strong["epoch_err"] * 50 == pytest.approx(weak["epoch_err"] * 8)
    assert 0 < strong["duration_err_h"] < strong["duration_h"] / 10
    single = table.loc["9-s0001-0"]
    assert np.isnan(single["period_err"]) and single["epoch_err"] > 0
    assert (table["epoch_bjd"] - table["epoch"]).eq(2457000.0).all()


@pytest.mark.realdata
def test_the_ctoi_export_holds_the_new_pcs_under_exofop_names(tois, tmp_path):
    vetting = pd.DataFrame([vet_row(WASP18, 2, 0.94145, snr=100.0),  # a known planet
                            vet_row(1, 1, 4.2, snr=30.0),  # new
                            vet_row(2, 1, 3.3, snr=40.0, disposition="EB")])
    table = build_candidates(scores_for(vetting), vetting, None, tois)
    ctoi = ctoi_table(table, "transitflow 0.1, run r")
    assert ctoi["TIC ID"].tolist() == [1]
    assert set(ctoi.columns) - {"Notes", "Sectors"} <= set(tois.columns)
    assert ctoi.iloc[0]["Epoch (BJD)"] == pytest.approx(2458400.0)
    assert ctoi.iloc[0]["Notes"].startswith("transitflow 0.1, run r; 1-s0001-0: periodic")
    written = pd.read_csv(write_ctoi(table, tmp_path / "ctoi.csv", "x"))
    assert written["Epoch (BJD)"].tolist() == [2458400.0] and len(written.columns) == 13
    unmatched = build_candidates(scores_for(vetting), vetting, None, None)  # no TOI table
    assert ctoi_table(unmatched, "x").empty


def test_the_optional_size_limit_makes_large_pcs_eb_and_says_so(vetting, tmp_path):
    stars = pd.DataFrame({"key": ["7-s0001", "7-s0002", "9-s0001"], "tmag": 10.0,
                          "radius": [10.0, 10.0, 1.0], "ra": math.nan, "dec": math.nan})
    vetting = vetting.assign(radius_earth=vetting["tic"].map({7: 25.0, 9: 3.0, 8: 1.0, 10: 1.0}))
    kept = build_candidates(scores_for(vetting), vetting, stars, None)
    limited = build_candidates(scores_for(vetting), vetting, stars, None, pc_max_radius_rjup=1.8)
    assert (kept.set_index("key").loc["7-s0002-0", "disposition"]) == "PC"
    row = limited.set_index("key").loc["7-s0002-0"]  # 25 R_earth = 2.23 R_Jup
    assert row["disposition"] == "EB" and "2.23 R_Jup, above the PC limit of 1.8" in row["reasons"]
    assert limited.set_index("key").loc["9-s0001-0", "disposition"] == "PC"
    assert (limited["disposition"] == "PC").sum() == (kept["disposition"] == "PC").sum() - 2
    html = write_report(limited, tmp_path / "r.html", {"run": "r"}, {}, {}, {}).read_text()
    assert "made EB by the size limit (report.pc_max_radius_rjup)</th><td>2" in html
    with pytest.raises(ValueError, match="pc_max_radius_rjup"):
        ReportConfig(pc_max_radius_rjup=0.0)


def test_two_transits_make_the_period_ambiguous_and_the_reasons_say_so():
    rows = [vet_row(5, 1, 6.9, snr=50.0), vet_row(6, 1, 3.0, snr=40.0),
            vet_row(7, 1, 6.9, snr=30.0), vet_row(7, 2, 6.9, snr=20.0)]
    for row in (rows[0], rows[2], rows[3]):
        row |= {"n_transits": 2, "transit_times": [1404.0, 1417.8]}
    table = build_candidates(scores_for(pd.DataFrame(rows)), pd.DataFrame(rows)).set_index("key")
    assert table.loc["5-s0001-0", "period_ambiguous"]
    assert "period ambiguous: two transits (13.80 d apart)" in table.loc["5-s0001-0", "reasons"]
    assert not table.loc["6-s0001-0", "period_ambiguous"]  # five transits
    assert not table.loc["7-s0001-0", "period_ambiguous"]  # a second sector confirms it


@pytest.mark.realdata
def test_two_secondary_eclipses_of_tic255567460_give_an_ambiguous_period(realdata):
    """Sector 66 holds only two secondary eclipses of this 13.8 d binary, 13.8 d apart; the
    periodogram peaks at 6.9 d (the middle event falls in the gap), the signal takes their
    separation."""
    lc = read_lightcurves(realdata / "lightcurves/modebs/tic-255567460/tess2023153011303-s0066"
                                     "-0000000255567460-0260-s_lc.fits")[0]
    signals = search_lightcurve(lc, SearchConfig())
    vetting = pd.DataFrame(vet_light_curve(lc, signals, VetConfig(),
                                           detrend_for_search(lc, SearchConfig())))
    row = build_candidates(scores_for(vetting), vetting).iloc[0]
    assert row["period"] == pytest.approx(13.796, rel=0.001) and row["period_ambiguous"]
    assert "13.80 d apart" in row["reasons"]
    # Its light curve alone looks like a planet; the TESS EB catalog knows the binary.
    assert row["disposition"] == "PC"
    ebs = read_eb_ephemerides(realdata / "catalogs/tess_ebs_prsa2022/tess-ebs.dat")
    row = build_candidates(scores_for(vetting), vetting, known_ebs=ebs).iloc[0]
    assert row["disposition"] == "EB" and row["period_ambiguous"]
    assert row["known_eb"] == "TIC 255567460 EB 1, P 13.79633 d, secondary eclipse"


def test_the_reports_threshold_line_carries_the_flag_jobs_warning():
    summary = {"thresholds": {"periodic_snr": 19.2, "single_snr": 19.4, "edge_snr": 19.8,
                              "min_sde": 7.0, "nulls": 45},
               "measured_null_rate_per_10k": {"periodic": 444.4, "single": 444.4, "edge": 0.0},
               "false_alarms_per_10k": 500, "edge_false_alarms_per_10k": 50,
               "expected_false_alarms": 4.0, "warning": "raise it"}
    assert _thresholds_text(summary).endswith("expected false alarms in this run: 4. Warning: "
                                              "raise it")
    assert _thresholds_text({**summary, "warning": ""}).endswith("in this run: 4")
