"""Training labels from the real TOI, TESS-EBs and Yu et al. 2019 catalogs."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from transitflow.cli import main
from transitflow.ingest import ingest_sim
from transitflow.labels import (COVERAGE_COLUMNS, ENTRY_DTYPES, CatalogFormatError,
                                LabelConfig, build_labels, count_events, coverage_segments,
                                coverage_table, read_catalogs, read_tess_ebs, read_toi_table,
                                read_yu2019)
from transitflow.lightcurve import stitch
from transitflow.readers import read_lightcurves
from transitflow.shards import write_shard
from transitflow.tables import read_provenance, read_table

CATALOGS = "catalogs"
TOI = f"{CATALOGS}/exofop_toi_tess-atlas_2025-10-19.csv"
TESS_EBS = f"{CATALOGS}/tess_ebs_prsa2022/tess-ebs.dat"
YU2019 = f"{CATALOGS}/astronet_triage_tces_yu2019.csv"
WASP18 = "lightcurves/exovetter/wasp18b.fits"
QUSI_EB = "lightcurves/qusi/tess2018206045859-s0001-0000000117544915-0120-s_lc.fits"
QUIET = "lightcurves/qusi/tess2018206045859-s0001-0000000150065151-0120-s_lc.fits"
SECONDARIES_ONLY = ("lightcurves/modebs/tic-255567460/"
                    "tess2023153011303-s0066-0000000255567460-0260-s_lc.fits")

pytestmark = pytest.mark.realdata


@pytest.fixture(scope="module")
def config(realdata: Path) -> LabelConfig:
    return LabelConfig.from_dict({"toi_table": str(realdata / TOI),
                                  "tess_ebs": str(realdata / TESS_EBS),
                                  "yu2019": str(realdata / YU2019)})


@pytest.fixture(scope="module")
def catalogs(config) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    return read_catalogs(config)


@pytest.fixture(scope="module")
def by_tic(catalogs, config):
    """Labels per TIC from the catalogs alone."""
    return build_labels(*catalogs, config=config)


@pytest.fixture(scope="module")
def wasp18(realdata):
    return read_lightcurves(realdata / WASP18)[0]


def label_of(result, tic: int) -> pd.Series:
    rows = result.labels[result.labels["tic"] == tic]
    assert len(rows) == 1, f"TIC {tic}: {len(rows)} label rows"
    return rows.iloc[0]


def tics_with_only(entries: pd.DataFrame, source: str) -> set[int]:
    """TICs whose every catalog entry comes from ``source``."""
    sources = entries.groupby("tic")["source"].agg(set)
    return set(sources[sources == {source}].index)


def test_readers_normalise_to_btjd_days_and_fractions(catalogs):
    tois, ebs, yu = catalogs
    for entries in catalogs:
        assert entries.dtypes.to_dict() == {name: pd.Series(dtype=dtype).dtype
                                            for name, dtype in ENTRY_DTYPES.items()}
        assert entries["epoch"].dropna().between(500, 5000).all()  # BTJD, none left in BJD
    wasp96 = tois[tois["comments"] == "WASP-96 b"].iloc[0]
    assert wasp96["epoch"] == pytest.approx(2458354.319774 - 2457000)
    assert wasp96["duration"] == pytest.approx(2.46177615 / 24)
    assert wasp96["depth"] == pytest.approx(0.01422, rel=1e-3)
    assert (wasp96["entry"], wasp96["source_label"]) == ("TOI-247.01", "KP")
    eb = ebs[ebs["tic"] == 117544915].iloc[0]
    assert (eb["period"], eb["epoch"]) == pytest.approx((2.968452, 1324.354635), abs=1e-5)
    assert yu["sector"].between(1, 5).all() and tois["sector"].isna().all()


def test_catalog_report_counts_add_up(by_tic, catalogs):
    labels, report = by_tic.labels, by_tic.report
    assert report["n_labels"] == len(labels) == labels["tic"].nunique() == report["n_tics"]
    assert sum(report["per_class"].values()) == len(labels)
    assert sum(report["per_source"].values()) == len(labels)
    entries = report["entries"]
    assert entries["read"] == {"toi": len(catalogs[0]), "tess_ebs": len(catalogs[1]),
                               "yu2019": len(catalogs[2])}
    assert sum(entries["read"].values()) == entries["used"] + sum(entries["dropped"].values())
    assert min(report["per_class"].values()) > 0 and entries["dropped"]["unused_disposition"] > 0
    assert report["light_curves"] is None and labels["sector"].isna().all()
    assert json.loads(json.dumps(report)) == report
    assert label_of(by_tic, 307210830)["entry"] == "TOI-175.01"  # L 98-59: lowest TOI wins
    assert sum(report["conflicts"].values()) == (labels["conflicts"].str.count(";")
                                                 + (labels["conflicts"] != "")).sum()


def test_wasp96b_is_a_planet_although_the_eb_catalog_lists_it_at_twice_its_period(
        by_tic, catalogs):
    tois, ebs, _ = catalogs
    toi = tois[tois["comments"] == "WASP-96 b"].iloc[0]
    eb_period = ebs.loc[ebs["tic"] == toi["tic"], "period"].iloc[0]
    assert eb_period / toi["period"] == pytest.approx(2.0, rel=1e-3)
    row = label_of(by_tic, toi["tic"])
    assert (row["label"], row["entry"]) == ("planet", "TOI-247.01")
    assert "eb_catalog_lists_planet" in row["conflicts"].split(";")
    assert by_tic.report["conflicts"]["eb_catalog_lists_planet"] >= 1


def test_wasp96b_light_curve_keeps_planet_and_counts_the_conflict(catalogs, config, wasp18):
    sector2 = coverage_table([wasp18]).assign(key="160148385-s0002", tic=160148385)
    result = build_labels(*catalogs, sector2, config)
    row = label_of(result, 160148385)
    assert (row["label"], row["source"]) == ("planet", "toi") and row["n_events"] >= 7
    assert result.report["conflicts"]["eb_catalog_lists_planet"] == 1


def test_toi_false_positive_naming_an_eb_is_eb_otherwise_non_transit(by_tic, catalogs):
    tois = catalogs[0]
    only_toi = tois[tois["tic"].isin(tics_with_only(pd.concat(catalogs), "toi"))]
    only_toi = only_toi[~only_toi["tic"].duplicated(keep=False)]
    fps = only_toi[only_toi["source_label"] == "FP"]
    for comment, label in (("TFOP FP; retired as NEB", "eb"), ("TFOP FP; retired as EB", "eb"),
                           ("TFOP FP", "non_transit")):
        row = label_of(by_tic, fps.loc[fps["comments"] == comment, "tic"].iloc[0])
        assert (row["label"], row["source"], row["source_label"]) == (label, "toi", "FP")


def test_yu2019_variable_is_non_transit_in_its_own_sector_only(by_tic, catalogs, config):
    yu = catalogs[2]
    alone = yu[yu["tic"].isin(tics_with_only(pd.concat(catalogs), "yu2019"))]
    variable = alone[(alone["source_label"] == "V") & ~alone["tic"].duplicated(keep=False)]
    variable = variable.iloc[0]
    row = label_of(by_tic, variable["tic"])
    assert (row["label"], row["source"], row["source_label"]) == ("non_transit", "yu2019", "V")
    sector = int(variable["sector"])
    coverage = pd.DataFrame(
        [(f"{variable['tic']}-s{s:04d}", variable["tic"], s, variable["epoch"] - 1,
          variable["epoch"] + 1) for s in (sector, sector + 1)], columns=list(COVERAGE_COLUMNS))
    result = build_labels(*catalogs, coverage, config)
    assert result.labels["sector"].tolist() == [sector]
    assert result.report["light_curves"]["dropped"]["no_catalog_entry"] == 1


def test_events_in_data_keep_wasp18_s2_and_drop_a_window_between_events(
        catalogs, config, wasp18):
    coverage = coverage_table([wasp18], config.coverage_gap_days)
    assert len(coverage) == 2  # the mid-sector gap splits sector 2
    row = label_of(build_labels(*catalogs, coverage, config), wasp18.meta.tic)
    assert (row["key"], row["label"], row["entry"]) == ("100100827-s0002", "planet", "TOI-185.01")
    assert row["n_events"] == 27
    assert row["conflicts"] == "eb_catalog_lists_planet"  # the EB catalog lists it at 1x
    first = np.ceil((coverage["time_start"].min() - row["epoch"]) / row["period"])
    start = row["epoch"] + (first + 0.2) * row["period"]  # from 0.2 to 0.8 in phase
    between = pd.DataFrame([(row["key"], row["tic"], 2, start, start + 0.6 * row["period"])],
                           columns=list(COVERAGE_COLUMNS))
    result = build_labels(*catalogs, between, config)
    assert result.labels.empty
    assert result.report["light_curves"] == {
        "given": 1, "labelled": 0, "dropped": {"no_catalog_entry": 0, "no_events_in_data": 1}}


def test_real_light_curves_are_labelled_or_dropped_with_a_reason(realdata, catalogs, config,
                                                                 wasp18):
    lcs = [wasp18] + [lc for path in (QUSI_EB, QUIET, SECONDARIES_ONLY)
                      for lc in read_lightcurves(realdata / path)]
    result = build_labels(*catalogs, coverage_table(lcs), config)
    labels, report = result.labels.set_index("key"), result.report["light_curves"]
    assert report == {"given": 4, "labelled": 2,
                      "dropped": {"no_catalog_entry": 1, "no_events_in_data": 1}}
    assert labels["label"].to_dict() == {"100100827-s0002": "planet", "117544915-s0001": "eb"}
    eb = labels.loc["117544915-s0001"]  # Yu et al. label the SPOC TCE at half the period
    assert (eb["source"], eb["sources"], eb["conflicts"]) == (
        "tess_ebs", "tess_ebs,yu2019", "eb_period_alias")
    assert eb["period"] == pytest.approx(2.968452, abs=1e-5)


def test_include_pc_adds_planets_but_eb_evidence_outranks_them(catalogs, config, by_tic):
    with_pc = build_labels(*catalogs, config=LabelConfig(include_pc=True))
    assert with_pc.report["per_class"]["planet"] > by_tic.report["per_class"]["planet"]
    tois, ebs, _ = catalogs
    pcs_in_eb_catalog = set(tois.loc[tois["source_label"] == "PC", "tic"]) & set(ebs["tic"])
    confirmed = set(tois.loc[tois["source_label"].isin(["CP", "KP"]), "tic"])
    tic = min(pcs_in_eb_catalog - confirmed)
    assert label_of(with_pc, tic)["label"] == "eb"


def test_count_events_skips_gaps_and_handles_single_events():
    segments = [(0.0, 4.5), (5.5, 10.0)]  # an event at 5.0 falls in the gap
    start, stop = np.array(segments).T
    assert count_events(1.0, 0.0, start, stop).sum() == 10
    assert count_events(np.nan, 5.0, start, stop).sum() == 0
    assert count_events(0.0, 6.0, start, stop).tolist() == [0, 1]
    assert coverage_segments(np.array([3.0, 1.0, np.nan, 2.0, 9.0]), 0.5) == [(1.0, 1.0),
                                                                           (2.0, 2.0),
                                                                           (3.0, 3.0),
                                                                           (9.0, 9.0)]
    assert coverage_segments(np.array([1.0, 1.1, 1.2, 5.0]), 1.0) == [(1.0, 1.2), (5.0, 5.0)]


def test_one_catalog_alone_and_bad_coverage(catalogs, config):
    ebs_only = LabelConfig(tess_ebs=config.tess_ebs)
    result = build_labels(*read_catalogs(ebs_only), config=ebs_only)
    assert result.report["per_source"]["tess_ebs"] == len(result.labels) > 0
    with pytest.raises(ValueError, match="coverage: missing column 'time_stop'"):
        build_labels(*catalogs, pd.DataFrame(columns=["key", "tic", "sector", "time_start"]))


def test_label_config_is_strict():
    with pytest.raises(ValueError, match="labels: unknown option 'min_event'"):
        LabelConfig.from_dict({"min_event": 2})
    with pytest.raises(ValueError, match="labels: min_events"):
        LabelConfig(min_events=0)


def _csv_without(source: Path, target: Path, column: str) -> Path:
    pd.read_csv(source, nrows=5).drop(columns=column).to_csv(target, index=False)
    return target


@pytest.mark.parametrize("reader, catalog, column", [
    (read_toi_table, TOI, "Epoch (BJD)"),
    (read_yu2019, YU2019, "Disposition"),
])
def test_csv_catalog_missing_a_column_is_a_one_line_error(realdata, tmp_path, reader, catalog,
                                                          column):
    path = _csv_without(realdata / catalog, tmp_path / "catalog.csv", column)
    with pytest.raises(CatalogFormatError) as error:
        reader(path)
    message = str(error.value)
    assert len(message.splitlines()) == 1 and str(path) in message and repr(column) in message


def test_wrong_files_are_one_line_errors_naming_them(realdata, tmp_path):
    readme = (realdata / TESS_EBS).with_name("ReadMe").read_text()
    renamed = tmp_path / "ReadMe"
    renamed.write_text(readme.replace(" Per      [0.048", " Porb     [0.048"))
    data = tmp_path / "tess-ebs.dat"
    data.write_text("".join((realdata / TESS_EBS).read_text().splitlines(keepends=True)[:3]))
    calls = [
        (lambda: read_tess_ebs(data), data, "missing column 'Per'"),
        (lambda: read_tess_ebs(realdata / TOI), realdata / TOI, "no CDS ReadMe"),
        (lambda: read_tess_ebs(realdata / TOI, renamed), realdata / TOI, "not a CDS table"),
        (lambda: read_toi_table(realdata / TESS_EBS), realdata / TESS_EBS, "not a readable"),
        (lambda: read_yu2019(realdata / TOI), realdata / TOI, "missing column 'row_id'"),
        (lambda: read_toi_table(tmp_path / "absent.csv"), tmp_path / "absent.csv",
         "not a readable CSV"),
    ]
    for call, path, problem in calls:
        with pytest.raises(CatalogFormatError) as error:
            call()
        message = str(error.value)
        assert len(message.splitlines()) == 1
        assert message.startswith(f"{path}: ") and problem in message


def test_a_light_curve_joining_sectors_gets_no_label(wasp18):
    later = replace(wasp18, time=wasp18.time + 30.0, meta=replace(wasp18.meta, sector=3))
    assert len(coverage_table([wasp18, later])) >= 2
    assert coverage_table([stitch([wasp18, later])]).empty  # labels are per sector


def test_labels_command_takes_a_simulation_truth(tmp_path):
    sim = ingest_sim({"n_stars": 6, "seed": 2}, 0, 6)
    shard = write_shard(tmp_path / "0000.arrow", sim.light_curves, provenance={})
    stars = tmp_path / "stars.parquet"
    sim.stars.to_parquet(stars)
    out, report = tmp_path / "labels.parquet", tmp_path / "labels.json"
    assert main(["labels", "--stars", str(stars), "--shards", str(shard), "--out", str(out),
                 "--report", str(report)]) == 0
    assert read_table(out)[["key", "label"]].values.tolist() == (
        sim.stars[["key", "label"]].values.tolist())
    document = json.loads(report.read_text())
    assert document["source"] == "simulation truth"
    assert list(document["provenance"]["inputs"]) == sorted([str(stars), str(shard)])
    assert read_provenance(out)["stage"] == "labels"
