"""Completeness by injection and recovery through the run's chain."""

import json
import math
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from tests.builders import flat_lightcurve
from transitflow import completeness
from transitflow.cli import main
from transitflow.completeness import (INJECTED_TIC_OFFSET, CompletenessConfig,
                                      completeness_by_snr, completeness_map, inject_shard,
                                      null_counts, recover_shard, signal_hosts, summary)
from transitflow.detect import DetectConfig
from transitflow.inject import transit_flux
from transitflow.report import injections_against_truth, reliability, truth_recall_by_snr
from transitflow.searching import SearchConfig, without_brightenings
from transitflow.shards import read_shard, write_shard
from transitflow.signals import SNR_BINS
from transitflow.tables import read_provenance, read_table
from transitflow.vetting import VetConfig

HOSTS = [flat_lightcurve(tic=tic, seed=tic, noise=5e-4) for tic in (1, 2, 3, 4)]
#: Detection thresholds as the run's flag summary holds them, without a network.
OPEN = {"thresholds": {"periodic_snr": 7.1, "single_snr": 7.0, "edge_snr": 7.0, "min_sde": 7.0}}
SHUT = {"thresholds": {"periodic_snr": math.inf, "single_snr": math.inf, "edge_snr": math.inf,
                       "min_sde": 7.0}}


def test_copies_skip_training_stars_carry_the_model_and_repeat_with_the_seed():
    config = CompletenessConfig(stars=2, n_per_star=3, seed=5)
    copies, injections = inject_shard(HOSTS, {1, 2}, config, shard_number=0)
    assert len(copies) == len(injections) == 10 and set(injections["tic"]) == {3, 4}
    assert [lc.meta.key for lc in copies] == injections["key"].tolist()
    assert copies[0].meta.tic == INJECTED_TIC_OFFSET + 3 * 100 + 0
    assert injections["copy"].tolist() == (["injected"] * 3 + ["inverted", "scrambled"]) * 2
    hosts = {lc.meta.key: lc for lc in HOSTS}
    for lc, params in zip(copies, injections.to_dict("records")):
        host = hosts[params["host_key"]]
        if params["copy"] == "scrambled":  # the host's own cadences, in another order
            np.testing.assert_array_equal(np.sort(lc.flux), np.sort(host.flux))
            assert not np.array_equal(lc.flux, host.flux)
            continue
        if params["copy"] == "inverted":  # what the search keeps of the host, mirrored
            kept = without_brightenings(host, SearchConfig())
            np.testing.assert_array_equal(lc.time, kept.time)
            np.testing.assert_allclose(lc.flux, 2 * np.median(kept.flux) - kept.flux, rtol=1e-6)
            continue
        np.testing.assert_allclose(lc.flux, host.flux * transit_flux(host.time, params),
                                   rtol=1e-6)
    again = inject_shard(HOSTS, {1, 2}, config, shard_number=0)[1]
    pd.testing.assert_frame_equal(again, injections)
    other_shard = inject_shard(HOSTS, {1, 2}, config, shard_number=1)[1]
    assert not np.allclose(other_shard["period"], injections["period"])


def test_the_inverted_copy_of_a_flaring_host_leaves_the_flare_out():
    host = HOSTS[0]
    flux = host.flux.copy()
    flux[300:304] += 0.01 * np.exp(-np.arange(4.0))  # a flare of 20 sigma
    copies, injections = inject_shard([replace(host, flux=flux)], set(),
                                      CompletenessConfig(stars=1, n_per_star=1), shard_number=0)
    inverted = copies[injections["copy"].tolist().index("inverted")]
    assert not np.isin(host.time[300:302], inverted.time).any()
    assert len(inverted) >= len(host) - 4 and inverted.flux.min() > 0.997  # no flare dip


def test_a_host_whose_flux_cannot_be_normalised_is_left_out_and_the_rest_injected(caplog):
    zero = replace(HOSTS[0], flux=np.zeros_like(HOSTS[0].flux))
    copies, injections = inject_shard([zero, HOSTS[1]], set(),
                                      CompletenessConfig(stars=2, n_per_star=1), shard_number=0)
    assert set(injections["host_key"]) == {HOSTS[1].meta.key} and len(copies) == 3
    assert f"{zero.meta.key} is no host: {zero.meta.key}: cannot normalise" in caplog.text


def test_a_deep_transit_is_found_as_pc_and_thresholds_out_of_reach_stop_it():
    config = CompletenessConfig(stars=1, n_per_star=1, period_range=(3.0, 3.0),
                                radius_range=(8.0, 8.0), max_impact=0.3)
    copies, injections = inject_shard(HOSTS[:1], set(), config, shard_number=0)
    assert injections["snr"].iloc[0] > 50 and injections["n_transits"].iloc[0] >= 8
    chain = (SearchConfig(), DetectConfig(), VetConfig())
    found, inverted, scrambled = recover_shard(copies, injections, None, OPEN, *chain).itertuples()
    assert (found.stage, found.disposition) == ("PC", "PC")
    assert found.detected_by == "periodic+single+edge"  # a transit falls in the edges too
    assert found.found_period == pytest.approx(3.0, rel=1e-3)
    assert inverted.copy == "inverted" and inverted.stage != "PC"  # the bumps are no transit
    assert scrambled.copy == "scrambled" and scrambled.stage != "PC"  # the host is quiet
    blocked = recover_shard(copies, injections, None, SHUT, *chain).iloc[0]
    assert (blocked.stage, blocked.flagged, blocked.found) == ("injected", False, False)


def test_a_rank_only_flag_rule_is_refused_with_the_fix():
    copies, injections = inject_shard(HOSTS[:1], set(), CompletenessConfig(stars=1, n_per_star=1),
                                      shard_number=0)
    scores = pd.DataFrame({"key": injections["key"], "score": [0.3, 0.1, 0.1]})
    with pytest.raises(ValueError, match="set flag.threshold, flag.top_k: null or completeness.stars: 0"):
        recover_shard(copies, injections, scores, {"threshold": None, "top_k": 5},
                      SearchConfig(), DetectConfig(), VetConfig())


def test_a_network_score_below_the_run_threshold_does_not_flag():
    copies, injections = inject_shard(HOSTS[:1], set(), CompletenessConfig(stars=1, n_per_star=1),
                                      shard_number=0)
    scores = pd.DataFrame({"key": injections["key"], "score": [0.3, 0.1, 0.1]})
    chain = (SearchConfig(), DetectConfig(), VetConfig())
    below = recover_shard(copies, injections, scores, {"threshold": 0.5}, *chain).iloc[0]
    above = recover_shard(copies, injections, scores, {"threshold": 0.2}, *chain).iloc[0]
    assert (below.flagged, below.score, above.detected_by) == (False, 0.3, "network")


def test_completeness_tables_count_each_bin():
    injections = pd.DataFrame({
        "key": list("abcdef"), "copy": ["injected"] * 5 + ["inverted"],
        "snr": [5.0, 12.0, 12.5, 60.0, 80.0, np.nan],
        "n_transits": [3, 3, 3, 3, 0, 0], "period": [1.5, 3.0, 3.0, 10.0, 30.0, np.nan],
        "radius_earth": [1.0, 2.5, 2.5, 10.0, 10.0, np.nan],
        "flagged": [False, True, True, True, True, True],
        "found": [False, True, False, True, False, True],
        "stage": ["injected", "PC", "flagged", "found", "flagged", "PC"]})
    by_snr = completeness_by_snr(injections).set_index("snr_low")
    assert by_snr.loc[10.0, ["n", "flagged", "found", "PC"]].tolist() == [2, 1.0, 0.5, 0.5]
    assert by_snr.loc[50.0, "n"] == 1 and by_snr.loc[50.0, "PC"] == 0.0  # no transit: left out
    assert np.isnan(by_snr.loc[20.0, "PC"])
    cells = completeness_map(injections)
    cell = cells[(cells["n"] > 0) & (cells["PC"] > 0)]
    assert len(cell) == 1 and cell[["n", "flagged", "found", "PC"]].values.tolist() == [
        [2, 1.0, 0.5, 0.5]]
    assert cells["n"].sum() == 4  # neither the inverted copy nor one without a transit
    nulls = null_counts(injections)
    assert nulls["inverted"] == {"copies": 1, "flagged": 1, "with_signal": 1, "with_pc": 1,
                                 "failed": 0, "excluded": 0}
    assert nulls["scrambled"]["copies"] == 0


def nulls(copies: int, with_pc: int, failed: int = 0, excluded: int = 0) -> dict[str, int]:
    """A kind's null counts as :func:`null_counts` gives them."""
    return {"copies": copies, "flagged": with_pc, "with_signal": with_pc, "with_pc": with_pc,
            "failed": failed, "excluded": excluded}


def test_reliability_pools_the_null_pc_rate_of_both_kinds_and_scales_it_to_the_run():
    measured = reliability({"inverted": nulls(110, 1, failed=10), "scrambled": nulls(
        150, 3, excluded=50)}, light_curves=2000, with_pc=400)
    assert measured["expected_false_pcs"] == pytest.approx(40.0)  # 4 PCs in 200 followed
    assert measured["expected_false_pcs_error"] == pytest.approx(20.0)
    assert measured["reliability"] == pytest.approx(0.9)
    assert measured["reliability_error"] == pytest.approx(0.05)
    none_found = reliability({"inverted": nulls(100, 0), "scrambled": nulls(0, 0)},
                             light_curves=1000, with_pc=50)
    assert none_found["expected_false_pcs"] == 0 and none_found["expected_false_pcs_error"] == 10
    worse = reliability({"inverted": nulls(100, 9), "scrambled": nulls(0, 0)},
                        light_curves=1000, with_pc=50)
    assert worse["expected_false_pcs"] == pytest.approx(90.0) and worse["reliability"] == 0.0
    assert reliability({"inverted": nulls(3, 0, failed=3), "scrambled": nulls(
        2, 0, excluded=2)}, 10, 1) == {}


def test_a_scrambled_copy_of_a_host_with_a_signal_of_the_run_is_excluded_not_followed():
    copies, injections = inject_shard(HOSTS[:1], set(), CompletenessConfig(stars=1, n_per_star=1),
                                      shard_number=0)
    vetting = pd.DataFrame({"tic": [1, 1, 2], "disposition": ["SYSTEMATIC", "EB", "PC"]})
    assert signal_hosts(vetting) == {1, 2} and signal_hosts(pd.DataFrame()) == frozenset()
    recovered = recover_shard(copies, injections, None, SHUT, SearchConfig(), DetectConfig(),
                              VetConfig(), signal_hosts(vetting)).set_index("copy")
    assert recovered.loc["scrambled", "stage"] == "excluded"
    assert "PC, EB or BEB" in recovered.loc["scrambled", "reason"]
    assert recovered.loc["inverted", "stage"] == "injected"  # inverted: still a null
    assert null_counts(recovered.reset_index())["scrambled"]["excluded"] == 1


def test_a_shard_without_light_curves_gives_empty_tables_with_their_columns():
    copies, injections = inject_shard([], set(), CompletenessConfig(), shard_number=0)
    assert copies == [] and injections.empty and "snr" in injections
    recovered = recover_shard(copies, injections, None, OPEN, SearchConfig(), DetectConfig(),
                              VetConfig())
    assert recovered.empty and {"stage", "score", "snr"} <= set(recovered.columns)


def test_truth_recall_counts_planets_recovered_as_pc_per_snr_bin():
    truth = pd.DataFrame({"tic": [1, 2, 3, 4], "sim_class": ["planet", "planet", "planet", "eb"],
                          "period": [2.0, 5.0, np.nan, 3.0], "epoch": [1.0, 2.0, 3.0, 1.0],
                          "duration": [0.1, 0.1, 0.2, 0.1], "n_events_in_data": [10, 4, 1, 5],
                          "snr": [12.0, 13.0, 40.0, 50.0]})
    candidates = pd.DataFrame({"tic": [1, 2, 3], "period": [2.0, 10.0, np.nan],
                               "epoch": [3.0, 2.0, 3.05], "disposition": ["PC", "EB", "PC"]})
    table = truth_recall_by_snr(truth, candidates).set_index("snr_low")
    assert table.loc[10.0, ["n", "PC"]].tolist() == [2, 0.5]  # tic 2 found, but as EB
    assert table.loc[30.0, ["n", "PC"]].tolist() == [1, 1.0]  # the single transit
    assert table["n"].sum() == 3  # the EB is no planet


def test_injections_meet_the_planted_planets_like_for_like():
    truth = pd.DataFrame({"tic": [1, 2, 3, 4, 5], "sim_class": "planet",
                          "period": [2.0, 5.0, 30.0, 3.0, 4.0], "epoch": [1.0, 2.0, 3.0, 1.0, 1.0],
                          "duration": 0.1, "n_events_in_data": [10, 4, 1, 8, 6],
                          "snr": [60.0, 60.0, 60.0, 900.0, 60.0]})
    candidates = pd.DataFrame({"tic": [1, 2, 3, 4, 5], "period": [2.0, 5.0, 30.0, 3.0, 4.0],
                               "epoch": 1.0, "disposition": ["PC", "EB", "PC", "PC", "PC"]})
    candidates.loc[1:2, "epoch"] = [2.0, 3.0]
    split = pd.DataFrame({"tic": [1, 2, 3, 4, 5],
                          "split": ["test", "val", "test", "test", "train"]})
    stars = pd.DataFrame({"key": [f"{tic}-s0001" for tic in range(10, 16)],
                          "n_signals": [0, 2, 1, 0, 3, 1],
                          "sim_class": ["quiet", "planet", "eb", "quiet", "planet", "variable"]})
    injections = pd.DataFrame({"host_key": [f"{tic}-s0001" for tic in (10, 11, 12, 13, 14, 15, 10)],
                               "snr": [60.0, 80.0, 60.0, 60.0, 60.0, 60.0, np.nan],
                               "copy": ["injected"] * 6 + ["inverted"],
                               "n_transits": [3, 5, 3, 1, 4, 3, np.nan],
                               "stage": ["PC", "found", "PC", "PC", "found", "PC", "injected"]})
    table = injections_against_truth(injections, truth, stars, candidates,
                                     split).set_index("snr_low")
    # left out: injections into a binary, a variable and a host of three planets, a single
    # transit and a null copy; planted, a single transit, one beyond the injections' SNR
    # and one of the training split
    assert table.loc[50.0, ["injections", "injected, as PC", "planted planets",
                            "planted, as PC", "difference"]].tolist() == [2, 0.5, 2, 0.5, 0.0]
    assert not table["compared"].any()  # fewer than 30 of each
    everything = injections_against_truth(injections, truth, stars, candidates,
                                          like_for_like=False).set_index("snr_low")
    assert everything.loc[50.0, ["injections", "planted planets"]].tolist() == [6, 5]


def test_a_copy_whose_search_fails_is_a_failed_row_and_the_others_go_on(monkeypatch):
    copies, injections = inject_shard(HOSTS[:2], set(), CompletenessConfig(stars=2, n_per_star=1),
                                      shard_number=0)
    real_search = completeness.search_lightcurve

    def search(lc, config):
        if lc.meta.key == copies[0].meta.key:
            raise ZeroDivisionError("float division by zero")
        return real_search(lc, config)

    monkeypatch.setattr(completeness, "search_lightcurve", search)
    recovered = recover_shard(copies, injections, None, OPEN, SearchConfig(), DetectConfig(),
                              VetConfig()).set_index("key")
    broken = recovered.loc[copies[0].meta.key]
    assert (broken.stage, broken.reason) == ("failed", "ZeroDivisionError: float division by zero")
    assert (recovered.drop(index=copies[0].meta.key)["reason"] == "").all()


def test_the_summary_holds_every_table_as_json():
    copies, injections = inject_shard(HOSTS, set(), CompletenessConfig(stars=4, n_per_star=2),
                                      shard_number=0)
    recovered = injections.assign(flagged=False, found=False, stage="injected")
    document = json.loads(json.dumps(summary(recovered), allow_nan=False))
    assert document["injections"] == 8 and document["nulls"]["scrambled"]["copies"] == 4
    assert [row["snr_low"] for row in document["by_snr"]] == list(SNR_BINS)
    assert sum(row["n"] for row in document["by_radius"]) == document["with_transit_in_data"]
    assert {"period", "radius_earth", "n", "flagged", "found", "PC"} <= set(
        document["by_period_radius"][0])


def test_a_scrambled_light_curve_keeps_its_blocks_and_dips_but_not_their_period():
    host = flat_lightcurve(noise=1e-4)
    period, epoch = 2.3, 1325.4
    dip = np.abs(((host.time - epoch + period / 2) % period) - period / 2) < 0.05
    host = replace(host, flux=np.where(dip, host.flux - 0.01, host.flux).astype(np.float32),
                   centroid_col=np.arange(len(host), dtype=np.float64))  # cadence numbers
    scrambled = host.scrambled(np.random.default_rng(3), block_days=3.0, gap_days=1.0)
    again = host.scrambled(np.random.default_rng(3), block_days=3.0, gap_days=1.0)
    np.testing.assert_array_equal(scrambled.flux, again.flux)
    steps = np.diff(scrambled.time)
    assert (steps > 0).all() and np.sum(steps > 0.9) == 8  # nine blocks, a day apart
    blocks = np.split(scrambled.centroid_col.astype(int), np.flatnonzero(steps > 0.9) + 1)
    for block in blocks:  # each block a run of the host's cadences, its data with it
        np.testing.assert_array_equal(block, np.arange(block[0], block[0] + len(block)))
        np.testing.assert_array_equal(scrambled.flux[np.isin(scrambled.centroid_col, block)],
                                      host.flux[block])
    starts = [block[0] for block in blocks]
    assert sorted(starts) != starts and sum(map(len, blocks)) == len(host)
    dips = scrambled.time[scrambled.flux < 0.995]
    events = dips[np.r_[True, np.diff(dips) > 0.5]]
    cycles = (events - events[0]) / period
    assert len(events) >= 10 and np.abs(cycles - np.round(cycles)).max() > 0.2


def test_the_inject_recover_and_completeness_commands_chain_through_files(tmp_path):
    shard = write_shard(tmp_path / "0003.arrow", HOSTS[:2], provenance={})
    split = tmp_path / "split.parquet"
    pd.DataFrame({"tic": [1, 2], "label": "non_transit", "split": ["train", "test"]}
                 ).to_parquet(split)
    copies, injections = tmp_path / "copies.arrow", tmp_path / "injections.parquet"
    assert main(["inject", "--shard", str(shard), "--split", str(split), "--options",
                 '{"completeness": {"stars": 2, "n_per_star": 1}, "search": {}}',
                 "--out-shard", str(copies),
                 "--out", str(injections)]) == 0
    planted = read_table(injections)
    assert set(planted["tic"]) == {2}  # star 1 is a training star
    assert [lc.meta.key for lc in read_shard(copies)] == list(planted["key"])

    files = {"flag-summary": tmp_path / "flag.json", "vetting": tmp_path / "vetting.parquet",
             "crowded-epochs": tmp_path / "crowded.json"}
    files["flag-summary"].write_text(json.dumps(SHUT))
    pd.DataFrame({"tic": [2], "disposition": ["EB"]}).to_parquet(files["vetting"])
    files["crowded-epochs"].write_text(json.dumps({"windows": []}))
    recovered = tmp_path / "recovered.parquet"
    options = {"infer": {}, "search": {}, "detect": {}, "vet": {}}
    assert main(["recover", "--shard", str(copies), "--injections", str(injections),
                 *[item for name, path in files.items() for item in (f"--{name}", str(path))],
                 "--model", "", "--options", json.dumps(options), "--out", str(recovered)]) == 0
    assert read_table(recovered).set_index("copy")["stage"].to_dict() == {
        "injected": "injected", "inverted": "injected", "scrambled": "excluded"}

    out, summary_file = tmp_path / "injections-all.parquet", tmp_path / "completeness.json"
    figure = tmp_path / "completeness.png"
    assert main(["completeness", "--recovered", str(recovered), "--out", str(out),
                 "--summary", str(summary_file), "--figure", str(figure)]) == 0
    assert json.loads(summary_file.read_text())["injections"] == 1 and figure.stat().st_size
    assert read_provenance(out)["stage"] == "completeness"
