"""Batched detection search: agreement with astropy BLS, single events, awkward inputs, the
torch path, null thresholds and the detection policy."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
import torch

import transitflow.detect.batch as detect
from tests.builders import flat_lightcurve, inject_box, phase_offset
from transitflow.cli import main
from transitflow.detect import (DetectConfig, detect_shard, null_thresholds, search_batch,
                                select_for_search, trial_periods)
from transitflow.detect.batch import JOINED, JOINED_REASON
from transitflow.features import search_ephemerides
from transitflow.flag_summary import read_flag_summary
from transitflow.infer import flag_scores
from transitflow.lightcurve import ARRAY_FIELDS, stitch
from transitflow.readers import read_lightcurves
from transitflow.searching import (Periodogram, SearchConfig, bls_spectrum, detrend_for_search,
                                   flatten_for_search, stellar_density, without_brightenings)
from transitflow.simulate import SimConfig, simulate_stars
from transitflow.shards import write_shard
from transitflow.tables import read_provenance, read_table


def astropy_bls(lc, periods: np.ndarray) -> Periodogram:
    """The reference: BLS (astropy's, compiled: equal results) on the same grid, detrending
    and binning."""
    return bls_spectrum(detrend_for_search(lc, SearchConfig()), periods, SearchConfig())


def same_period(found: float, true: float, tolerance: float = 0.01) -> bool:
    return any(abs(found / (true * ratio) - 1) < tolerance for ratio in (0.5, 1.0, 2.0))


@pytest.fixture(scope="module")
def planets():
    """Twelve simulated stars with one detectable periodic planet each (30-min)."""
    sim = SimConfig(n_stars=12, seed=5, class_fractions={"planet": 1.0},
                    multi_planet_fraction=0.0, single_transit_fraction=0.0,
                    detectable_fraction=1.0)
    return simulate_stars(sim)


def test_agrees_with_astropy_bls_on_injected_planets(planets):
    found = search_batch(planets.light_curves)
    span = np.ptp(planets.light_curves[0].time)
    periods = trial_periods(span, [stellar_density(lc.meta) for lc in planets.light_curves],
                            SearchConfig())
    agree = 0
    for lc, row, true_period in zip(planets.light_curves, found.itertuples(),
                                    planets.stars["period"]):
        reference = astropy_bls(lc, periods)
        if same_period(reference.period, true_period):
            agree += same_period(row.period, reference.period)
            assert phase_offset(row.epoch, reference.epoch, reference.period) < row.duration
            assert row.depth == pytest.approx(reference.depth, rel=0.35)
    assert agree >= 10


def test_recovers_injected_periods_and_reports_other_peaks(planets):
    found = search_batch(planets.light_curves, config=DetectConfig(n_peaks=3))
    truth = planets.stars
    hits = [same_period(p, t) for p, t in zip(found["period"], truth["period"])]
    assert np.mean(hits) >= 0.9 and (found["sde"] > 7).mean() >= 0.9
    for row, epoch, period, duration, hit in zip(found.itertuples(), truth["epoch"],
                                                 truth["period"], truth["duration"], hits):
        if hit and same_period(row.period, period, 0.002):
            assert phase_offset(row.epoch, epoch, period) < max(duration / 2, 1 / 48)
    others = found[["period_2", "period_3"]].to_numpy()
    assert np.isfinite(others).all()
    assert not any(same_period(o, p, 0.005) for o, p in zip(others[:, 0], found["period"]))


def test_inverted_planets_hold_no_transit(planets):
    nulls = search_batch(planets.light_curves, invert=True)
    data = search_batch(planets.light_curves)
    assert (nulls["snr"] < 0.5 * data["snr"]).all()
    assert (nulls["single_snr"] < 8).all()


def test_a_flare_that_the_search_clips_is_no_dip_in_the_null():
    quiet, flaring = (flat_lightcurve(tic=tic, seed=5) for tic in (1, 2))  # the same noise
    flux = flaring.flux.copy()
    flux[600:606] += 0.02 * np.exp(-np.arange(6) / 1.5)  # 20 sigma, decaying in 3 hours
    flaring = replace(flaring, flux=flux)
    nulls = search_batch([quiet, flaring], invert=True)
    assert nulls["single_snr"].max() < 5
    assert nulls["single_snr"][1] == pytest.approx(nulls["single_snr"][0], abs=2)
    assert search_batch([flaring])["single_snr"][0] < 5  # and none in the data


def test_a_light_curves_statistics_do_not_depend_on_its_batch_mates(planets):
    """Sharding and batch size are throughput settings: a star searched among others, among
    half of them or in batches of three gets the same row (its grid is its own)."""
    lcs = [replace(lc, meta=replace(lc.meta, mass=mass)) for lc, mass in  # densities apart
           zip(planets.light_curves, np.geomspace(0.2, 1.5, len(planets.light_curves)))]
    every = search_batch(lcs).set_index("key")
    for found in (search_batch(lcs[::2]), search_batch(lcs, config=DetectConfig(batch_size=3))):
        pd.testing.assert_frame_equal(found.set_index("key"), every.loc[found["key"]])


@pytest.mark.realdata
def test_agrees_with_astropy_bls_on_real_planets(realdata):
    files = {"exovetter/wasp18b.fits": 0.941453, "tls/toi237.csv": 5.436167}
    for name, true_period in files.items():
        override = {"tic": 305048087, "sector": 2} if name.endswith(".csv") else {}
        [lc] = read_lightcurves(realdata / "lightcurves" / name, **override)
        [row] = search_batch([lc]).itertuples()
        periods = trial_periods(np.ptp(lc.time), [stellar_density(lc.meta)], SearchConfig())
        reference = astropy_bls(lc, periods)
        assert row.period == pytest.approx(true_period, rel=2e-3)
        assert reference.period == pytest.approx(row.period, rel=2e-3)
        assert phase_offset(row.epoch, reference.epoch, true_period) < 0.05


def test_single_event_found_without_a_period():
    lc = inject_box(flat_lightcurve(seed=3), np.nan, 1338.0, 0.25, snr=15)
    [row] = search_batch([lc]).itertuples()
    assert row.single_snr > 10 and abs(row.single_epoch - 1338.0) < 0.1
    assert row.single_depth == pytest.approx(15e-3 / np.sqrt(12), rel=0.3)
    assert row.sde < 9


def test_a_transit_at_the_edge_of_the_data_is_an_edge_event():
    """The periodic and single-event statistics leave the ends of the data out; a lone
    transit there is the edge event, and an interior one is not."""
    edge = inject_box(flat_lightcurve(seed=3), np.nan, 1325.2, 0.25, snr=30)
    inner = inject_box(flat_lightcurve(tic=2, seed=3), np.nan, 1338.0, 0.25, snr=30)
    gapped = inject_box(flat_lightcurve(tic=3, seed=4), np.nan, 1338.3, 0.25, snr=30)
    gapped = gapped.select((gapped.time < 1338.5) | (gapped.time > 1339.5))
    at_edge, inside, at_gap = search_batch([edge, inner, gapped]).itertuples()
    assert at_edge.edge_snr > 15 and abs(at_edge.edge_epoch - 1325.2) < 0.15
    assert at_edge.single_snr < 5
    assert inside.single_snr > 15 and inside.edge_snr < 5
    assert at_gap.edge_snr > 15 and abs(at_gap.edge_epoch - 1338.3) < 0.15
    [untrimmed] = search_batch([edge], config=DetectConfig(edge_days=0)).itertuples()
    assert untrimmed.single_snr > 15 and np.isnan(untrimmed.edge_snr)


def test_awkward_light_curves_in_one_batch():
    planet = inject_box(flat_lightcurve(seed=1), 3.3, 1327.0, 0.12, snr=20)
    holed = replace(planet, flux=np.where(np.arange(len(planet)) % 7 == 0, np.nan,
                                          planet.flux).astype(np.float32))
    gapped = planet.select((planet.time < 1334) | (planet.time > 1336))
    short = flat_lightcurve(tic=2, span=12.0, seed=2)
    tiny = flat_lightcurve(tic=3, span=0.5)
    flat = replace(flat_lightcurve(tic=4), flux=np.ones(len(planet), np.float32))
    keyed = [replace(lc, meta=replace(lc.meta, tic=tic)) for tic, lc in
             ((10, planet), (11, holed), (12, gapped))]
    found = search_batch([*keyed, short, tiny, flat]).set_index("key")
    for tic in (10, 11, 12):
        assert same_period(found.loc[f"{tic}-s0001", "period"], 3.3)
    assert found.loc["2-s0001", "status"] == "ok"
    assert found.loc["3-s0001", "status"] == "failed"
    assert "good cadences" in found.loc["3-s0001", "reason"]
    assert found.loc["4-s0001", "status"] == "failed"
    assert "no usable scatter" in found.loc["4-s0001", "reason"]


def test_data_in_stretches_shorter_than_both_edges_fail_saying_what_to_lower():
    lc = flat_lightcurve(seed=2)
    fragments = lc.select((lc.time - lc.time[0]) % 1.5 < 0.95)  # 0.95 d on, 0.55 d off
    [row] = search_batch([fragments]).itertuples()
    assert row.status == "failed" and "lower detect.edge_days" in row.reason
    [row] = search_batch([fragments], config=DetectConfig(edge_days=0.2)).itertuples()
    assert row.status == "ok"


def test_torch_path_matches_the_cpu_kernel(planets, monkeypatch):
    monkeypatch.setattr(detect, "CPU_CHUNK", 4)  # the kernel's chunks split the batch
    cpu = search_batch(planets.light_curves[:6])
    monkeypatch.setattr(detect, "_scan_cpu", detect._scan_torch)
    via_torch = search_batch(planets.light_curves[:6])
    numbers = cpu.select_dtypes("number").columns
    np.testing.assert_allclose(via_torch[numbers], cpu[numbers], rtol=1e-6)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.gpu
def test_cuda_matches_the_cpu(planets):
    cpu = search_batch(planets.light_curves[:6])
    gpu = search_batch(planets.light_curves[:6], config=DetectConfig(device="cuda"))
    numbers = cpu.select_dtypes("number").columns
    np.testing.assert_allclose(gpu[numbers], cpu[numbers], rtol=1e-5)


def detections(data_snr, null_snr, data_single=None, null_single=None, data_edge=None,
               null_edge=None) -> pd.DataFrame:
    """A detect_shard-like table with the given statistics (SDE 10 throughout; single and
    edge events 0 unless given)."""
    def rows(snr, single, edge, copy):
        n = len(snr)
        return pd.DataFrame({"key": [f"{i}-s0001" for i in range(n)], "tic": range(n),
                             "sector": 1, "status": "ok", "reason": "", "snr": snr,
                             "sde": 10.0, "single_snr": single if single is not None
                             else np.zeros(n), "edge_snr": edge if edge is not None
                             else np.zeros(n), "copy": copy})
    return pd.concat([rows(np.asarray(data_snr, float), data_single, data_edge, "data"),
                      rows(np.asarray(null_snr, float), null_single, null_edge, "inverted")],
                     ignore_index=True)


def test_thresholds_are_null_quantiles_with_floors():
    nulls = np.linspace(0, 20, 1001)
    table = detections(np.zeros(1001), nulls, null_single=nulls / 4, null_edge=nulls * 2)
    limits = null_thresholds(table, DetectConfig(false_alarms_per_10k=100, min_snr=7))
    assert limits["periodic_snr"] == pytest.approx(19.8)
    assert limits["null_periodic_passing"] == 10  # 1% of 1001 nulls
    assert limits["single_snr"] == 7.0  # the floor: the nulls stay below 5
    assert limits["edge_snr"] == pytest.approx(39.8)  # its own nulls, at its own rate
    assert limits["null_edge_passing"] == 5  # 0.5% (edge_false_alarms_per_10k)
    low = null_thresholds(table, DetectConfig(false_alarms_per_10k=5000))
    assert low["periodic_snr"] == pytest.approx(10.0)


def test_policies_pick_the_light_curves_for_the_search():
    table = detections([20, 3, 3, 3, 3], [1, 2, 3, 4, 5], data_single=[0, 0, 30, 0, 0],
                       data_edge=[0, 0, 0, 0, 30], null_edge=[10, 12, 14, 16, 18])
    scores = pd.DataFrame({"key": [f"{i}-s0001" for i in range(5)], "tic": range(5),
                           "sector": 1, "score": [0.1, 0.9, 0.1, 0.1, 0.1], "status": "scored",
                           "reason": "", "model_id": "m"})
    rule = lambda s: flag_scores(s, 0.5)  # noqa: E731
    union, summary = select_for_search(scores, table, rule, DetectConfig())
    assert list(union["detected_by"]) == ["periodic", "network", "single", "", "edge"]
    assert list(union["flagged"]) == [True, True, True, False, True]
    assert summary["flagged"] == 4 and summary["detected_periodic"] == 1
    assert summary["detected_edge"] == 1 and summary["thresholds"]["edge_snr"] == 18
    assert summary["thresholds"]["nulls"] == 5
    network, _ = select_for_search(scores, None, rule, DetectConfig(policy="network"))
    assert list(network["flagged"]) == [False, True, False, False, False]
    search_only, _ = select_for_search(None, table, rule, DetectConfig(policy="search"))
    assert list(search_only["detected_by"]) == ["periodic", "", "single", "", "edge"]
    assert search_only["score"].isna().all()


def test_a_run_too_small_for_its_false_alarm_rate_says_what_to_raise():
    rule = lambda s: flag_scores(s, 0.5)  # noqa: E731
    small = detections(np.zeros(45), np.linspace(0, 20, 45))
    _, summary = select_for_search(None, small, rule, DetectConfig(policy="search"))
    assert "set by the strongest 2 of 45 inverted" in summary["warning"]
    assert "raise detect.false_alarms_per_10k to at least 1112 (" in summary["warning"]
    tiny = detections(np.zeros(4), np.linspace(10, 20, 4))
    _, summary = select_for_search(None, tiny, rule, DetectConfig(policy="search"))
    assert "set detect.false_alarms_per_10k to 9999" in summary["warning"]
    large = detections(np.zeros(100), np.linspace(0, 20, 100))
    _, summary = select_for_search(None, large, rule, DetectConfig(policy="search"))
    assert summary["warning"] == ""
    quiet = detections(np.zeros(45), np.linspace(0, 3, 45))  # thresholds at the floors
    _, summary = select_for_search(None, quiet, rule, DetectConfig(policy="search"))
    assert summary["warning"] == ""


def test_tables_and_summaries_from_before_edge_events_say_to_rerun(tmp_path):
    old = detections([20, 3], [1, 2]).drop(columns="edge_snr")
    with pytest.raises(ValueError, match="lack edge_snr.*--forcerun detect"):
        null_thresholds(old, DetectConfig())
    summary = tmp_path / "flag_summary.json"
    summary.write_text(json.dumps({"thresholds": {"periodic_snr": 8.0, "single_snr": 7.0}}))
    with pytest.raises(ValueError, match="flag_summary.json: no edge_snr.*--forcerun detect"):
        read_flag_summary(summary)
    summary.write_text(json.dumps({"policy": "network"}))  # no batched search: no thresholds
    assert read_flag_summary(summary) == {"policy": "network"}


def test_a_joined_light_curve_is_searched_in_depth_when_one_of_its_sectors_is_raised():
    first = flat_lightcurve(tic=5, sector=1)
    later = replace(flat_lightcurve(tic=5, sector=2, seed=1), time=first.time + 27.5)
    [joined] = search_batch([stitch([first, later])]).itertuples()
    assert joined.status == JOINED and "one of its sectors is raised" in joined.reason
    table = detections([20, 3, 3, 3], [1, 2, 3, 4])
    stitched = pd.DataFrame({"key": ["0-s9999", "3-s9999"], "tic": [0, 3], "sector": 9999,
                             "status": JOINED, "reason": JOINED_REASON, "copy": "data"})
    picked, summary = select_for_search(None, pd.concat([table, stitched]), None,
                                        DetectConfig(policy="search"))
    picked = picked.set_index("key")
    assert picked.loc["0-s9999", "detected_by"] == "sectors"  # 0-s0001 was raised
    assert not picked.loc["3-s9999", "flagged"]
    assert summary["searched"] == 4 and summary["search_failed"] == 0


def test_a_joined_light_curve_takes_its_sectors_period_refined_over_the_baseline():
    period, epoch, duration = 3.7, 1326.1, 0.12
    first = inject_box(flat_lightcurve(tic=5, sector=1), period, epoch, duration, snr=15)
    later = flat_lightcurve(tic=5, sector=30, seed=1)
    later = inject_box(replace(later, time=later.time + 700), period, epoch, duration, snr=15)
    joined = stitch([first, later])
    rows = search_batch([first, later, joined]).set_index("key")
    baseline = np.ptp(joined.time)

    def drift(row):  # durations the transits drift across the baseline at the row's period
        return abs(row.period - period) * baseline / period / duration

    sectors, star = rows.loc[[first.meta.key, later.meta.key]], rows.loc[joined.meta.key]
    assert star.status == JOINED and np.isnan(star.snr)  # no statistic for the policy
    assert max(drift(row) for row in sectors.itertuples()) > 1
    assert drift(star) < 0.25 and phase_offset(star.epoch, epoch, period) < duration / 4
    ephemeris = search_ephemerides(rows.reset_index().assign(copy="data"), [joined.meta.key])
    assert np.allclose(ephemeris, [[star.period, star.epoch, star.duration]])


def test_detect_shard_holds_data_and_inverted_rows(planets):
    table = detect_shard(planets.light_curves[:3], SearchConfig(), DetectConfig())
    assert list(table["copy"]) == ["data"] * 3 + ["inverted"] * 3
    assert set(table["key"]) == {lc.meta.key for lc in planets.light_curves[:3]}


def test_detect_shard_rows_are_each_copy_searched_alone(planets):
    """The data and its null share one trend per light curve in detect_shard; each copy's
    rows, failures included, are those of its search alone."""
    flaring = flat_lightcurve(tic=5, seed=5)
    flares = np.isin(np.arange(len(flaring)), [300, 301, 900])
    flaring = replace(flaring, flux=np.where(flares, 1.02, flaring.flux).astype(np.float32))
    light_curves = [*planets.light_curves[:2], flaring, flat_lightcurve(tic=3, span=0.5)]
    table = detect_shard(light_curves, SearchConfig(), DetectConfig())
    for copy, invert in (("data", False), ("inverted", True)):
        alone = search_batch(light_curves, invert=invert)
        rows = table[table["copy"] == copy].drop(columns="copy").reset_index(drop=True)
        pd.testing.assert_frame_equal(rows, alone)
    assert list(table["status"]) == ["ok", "ok", "ok", "failed"] * 2


def test_a_light_curve_and_its_null_from_one_trend_are_each_detrended_alone():
    """The copies' views from the binned light curve's one trend equal the light curve
    detrended for the data, and its own trend's brightenings dropped, mirrored and
    detrended for the null."""
    lc = flat_lightcurve(tic=5, seed=5)
    lc = replace(lc, flux=np.where(np.isin(np.arange(len(lc)), [300, 301, 900]), 1.02,
                                   lc.flux).astype(np.float32))
    search = SearchConfig()
    binned, weights = detect._pre_binned(lc.good(), detect._bin_width(lc.good(), DetectConfig())[1])
    flat = flatten_for_search(binned, search)
    kept = without_brightenings(binned, search)
    assert len(kept) < len(binned)  # the brightenings
    alone = {"data": (binned, weights, detrend_for_search(binned, search)),
             "inverted": (kept.inverted(), weights[np.isin(binned.time, kept.time)],
                          detrend_for_search(kept.inverted(), search))}
    for copy, (bins, bin_weights, detrended) in alone.items():
        shared_bins, shared_weights, shared = detect._copy_view(binned, weights, flat, copy,
                                                                search)
        assert np.array_equal(shared_weights, bin_weights)
        for name in ARRAY_FIELDS:
            for ours, theirs in ((shared_bins, bins), (shared, detrended)):
                assert np.array_equal(getattr(ours, name), getattr(theirs, name), equal_nan=True)


def test_detect_command_writes_the_detections_of_a_shard(planets, tmp_path):
    shard = write_shard(tmp_path / "0000.arrow", planets.light_curves[:2], provenance={})
    out = tmp_path / "detect.parquet"
    options = {"batch_size": 8, "search": {"max_period": 10.0}}
    assert main(["detect", "--shard", str(shard), "--options", json.dumps(options),
                 "--out", str(out)]) == 0
    table = read_table(out)
    assert list(table["copy"]) == ["data"] * 2 + ["inverted"] * 2
    assert (table["status"] == "ok").all()
    assert read_provenance(out)["config"] == options


def test_flag_command_reads_the_card_scores_and_detections(tmp_path):
    detected, scored = tmp_path / "detect.parquet", tmp_path / "scores.parquet"
    card = tmp_path / "card.json"
    detections([20, 3, 3, 3], [1, 2, 3, 4]).to_parquet(detected)
    pd.DataFrame({"key": [f"{i}-s0001" for i in range(4)], "tic": range(4), "sector": 1,
                  "score": [0.1, 0.9, 0.1, 0.1], "status": "scored", "reason": "",
                  "model_id": "m"}).to_parquet(scored)
    card.write_text(json.dumps({"threshold": 0.5}))
    out, summary = tmp_path / "flagged.parquet", tmp_path / "flag.json"
    assert main(["flag", "--scores", str(scored), "--detections", str(detected),
                 "--model-card", str(card), "--out", str(out), "--summary", str(summary)]) == 0
    assert list(read_table(out)["detected_by"]) == ["periodic", "network", "", ""]
    document = json.loads(summary.read_text())
    assert document["flagged"] == 2 and document["threshold"] == 0.5
    assert set(document["provenance"]["inputs"]) == {str(scored), str(detected), str(card)}


def test_the_network_gating_alone_flags_from_the_cards_gate_threshold(tmp_path, caplog):
    scored, card = tmp_path / "scores.parquet", tmp_path / "card.json"
    detected = tmp_path / "detect.parquet"
    pd.DataFrame({"key": [f"{i}-s0001" for i in range(3)], "tic": range(3), "sector": 1,
                  "score": [0.1, 0.3, 0.9], "status": "scored", "reason": "",
                  "model_id": "m"}).to_parquet(scored)
    detections([3, 3, 3], [1, 2, 3]).to_parquet(detected)  # nothing detected

    def flagged(policy: str, gate: dict) -> list[bool]:
        card.write_text(json.dumps({"threshold": 0.5, **gate}))
        out = tmp_path / "flagged.parquet"
        found = ["--detections", str(detected)] if policy == "union" else []
        assert main(["flag", "--scores", str(scored), *found, "--model-card", str(card),
                     "--out", str(out), "--summary", str(tmp_path / "flag.json"), "--options",
                     json.dumps({"detect": {"policy": policy}})]) == 0
        return list(read_table(out)["flagged"])

    assert flagged("network", {"gate_threshold": 0.2}) == [False, True, True]
    assert flagged("union", {"gate_threshold": 0.2}) == [False, False, True]
    assert flagged("network", {}) == [False, False, True]  # an older card: its threshold
    assert "no gate threshold" in caplog.text


def test_config_rejects_unknown_keys_and_bad_values():
    with pytest.raises(ValueError, match="detect: unknown option 'polcy'"):
        DetectConfig.from_dict({"polcy": "union"})
    with pytest.raises(ValueError, match="policy must be one of"):
        DetectConfig(policy="both")


def test_periods_longer_than_the_data_are_searched_safely():
    lc = inject_box(flat_lightcurve(seed=4, span=20.0), 3.3, 1327.0, 0.12, snr=20)
    [row] = search_batch([lc], SearchConfig(max_period=40.0)).itertuples()
    assert row.status == "ok" and same_period(row.period, 3.3)


def test_a_policy_without_its_inputs_is_an_error():
    table = detections([20.0], [1.0])
    with pytest.raises(ValueError, match="policy network needs scores, got detections"):
        select_for_search(None, table, lambda s: flag_scores(s, 0.5), DetectConfig("network"))
