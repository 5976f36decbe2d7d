from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from transitflow.cli import main, with_throughput
from transitflow.ingest import (ingest_downloads, ingest_local, ingest_sim,
                                with_stellar_parameters, with_stitched)
from transitflow.shards import read_shard, shard_metadata
from transitflow.tables import read_provenance, read_table


def corrupt_copy(source: Path, target: Path) -> Path:
    target.write_bytes(source.read_bytes()[:5000])
    return target


@pytest.mark.realdata
def test_local_ingest_quarantines_bad_files_and_keeps_the_rest(realdata, tmp_path):
    good = sorted((realdata / "lightcurves" / "qusi").glob("*.fits"))
    bad = corrupt_copy(good[0], tmp_path / "truncated.fits")
    result = ingest_local([*good, bad, good[1]])
    statuses = result.ledger.set_index("source")["status"]
    assert statuses[str(bad)] == "quarantined"
    assert str(bad) in result.ledger.loc[result.ledger.status == "quarantined", "reason"].iloc[0]
    assert len(result.light_curves) == len(good)
    assert (result.ledger.status == "duplicate").sum() == 1
    assert set(result.stars["key"]) == {lc.meta.key for lc in result.light_curves}


@pytest.mark.realdata
def test_the_star_table_names_each_star_in_its_missions_catalogue(realdata):
    files = [realdata / "lightcurves/qusi/tess2018206045859-s0001-0000000117544915-0120-s_lc.fits",
             realdata / "lightcurves/dave/ktwo206103150-c03_llc.fits"]
    stars = ingest_local(files).stars.set_index("key")
    assert stars.loc["117544915-s0001", ["id", "mission"]].tolist() == ["TIC 117544915", "TESS"]
    assert stars.loc["206103150-s0003", ["id", "mission"]].tolist() == ["EPIC 206103150", "K2"]


@pytest.mark.realdata
def test_downloads_are_read_and_failed_ones_accounted_for(realdata, tmp_path):
    good = sorted((realdata / "lightcurves" / "qusi").glob("*s0001*.fits"))[:2]
    bad = corrupt_copy(good[0], tmp_path / "cut.fits")
    downloads = pd.DataFrame({
        "tic": [117544915, 126602778, 150065151, 150065151], "sector": [1, 1, 1, 2],
        "filename": ["a", "b", "c", "d"], "path": [*map(str, good), str(bad), "gone.fits"],
        "status": ["downloaded", "skipped", "downloaded", "failed"],
        "reason": ["", "already in the cache", "", "HTTP 503 Service Unavailable"]})
    result = ingest_downloads(downloads)
    assert len(result.light_curves) == 2
    ledger = result.ledger.set_index("source")
    assert ledger.loc[str(bad), "status"] == "quarantined"
    assert ledger.loc["gone.fits"].tolist() == [
        "150065151-s0002", "failed", "download failed: HTTP 503 Service Unavailable"]


@pytest.mark.realdata
def test_stellar_parameters_replace_known_values_and_keep_the_header_otherwise(realdata):
    result = ingest_local(sorted((realdata / "lightcurves" / "qusi").glob("*s0001*.fits")))
    header = result.stars.set_index("tic")
    parameters = pd.DataFrame({"tic": header.index, "tmag": 9.5, "radius": [1.1, np.nan, 0.2],
                               "teff": np.nan, "logg": np.nan, "contamination": 0.01,
                               "gaia_id": "", "radius_source": ["tic", "", "gaia-dr3"]})
    filled = with_stellar_parameters(result, parameters)
    stars = filled.stars.set_index("tic")
    assert (stars["tmag"] == 9.5).all() and (stars["contamination"] == 0.01).all()
    assert stars["radius"].tolist()[::2] == [1.1, 0.2]
    assert np.isnan(header["radius"].iloc[1]) and np.isnan(stars["radius"].iloc[1])
    assert stars["teff"].tolist() == header["teff"].tolist()
    assert stars["radius_source"].tolist() == ["tic", "", "gaia-dr3"]
    assert [lc.meta.tmag for lc in filled.light_curves] == [9.5] * 3


def test_sim_ingest_gives_labels_for_every_light_curve():
    result = ingest_sim({"n_stars": 30, "seed": 3}, 10, 20)
    assert len(result.light_curves) == 10 == len(result.stars)
    assert result.stars["label"].isin(["planet", "eb", "non_transit"]).all()
    assert (result.ledger.status == "ok").all()


def test_ingest_command_writes_a_shard_with_provenance(tmp_path):
    out = {name: tmp_path / f"{name}.{ext}" for name, ext in
           [("shard", "arrow"), ("stars", "parquet"), ("ledger", "parquet"), ("truth", "parquet")]}
    args = ["ingest", "--source", "sim", "--start", "0", "--stop", "5",
            "--options", '{"n_stars": 5, "seed": 1}']
    args += [item for name, path in out.items() for item in (f"--{name}", str(path))]
    assert main(args) == 0
    assert len(read_shard(out["shard"])) == 5
    assert list(shard_metadata(out["shard"])["key"]) == list(read_table(out["stars"])["key"])
    provenance = read_provenance(out["stars"])
    assert provenance["config"] == {"source": "sim", "n_stars": 5, "seed": 1, "stars": [0, 5]}
    assert provenance["code_version"].startswith("0.1.0")


def test_bad_options_give_a_one_line_error(tmp_path, capsys):
    code = main(["ingest", "--source", "sim", "--options", '{"n_starz": 5}', "--stop", "1",
                 *[item for name in ("shard", "stars", "ledger", "truth")
                   for item in (f"--{name}", str(tmp_path / name))]])
    error = capsys.readouterr().err.strip()
    assert code == 2
    assert "n_starz" in error and "\n" not in error


def test_throughput_takes_only_settings_that_never_change_a_result(tmp_path, capsys):
    out = [item for name in ("shard", "stars", "ledger", "truth")
           for item in (f"--{name}", str(tmp_path / name))]
    base = ["ingest", "--source", "sim", "--stop", "2", "--options", '{"n_stars": 2, "seed": 3}']
    assert main([*base, "--throughput", '{"seed": 1}', *out]) == 2
    error = capsys.readouterr().err.strip()
    assert "--throughput takes only" in error and "not seed" in error and "\n" not in error
    with pytest.raises(SystemExit):
        main([*base, "--throughput", "{seed: 1}", *out])
    assert "argument --throughput: not valid JSON" in capsys.readouterr().err
    assert with_throughput("mast-download", {"retries": 4, "sectors": [1]}, {"retries": 1}) == {
        "retries": 1, "sectors": [1]}


@pytest.mark.realdata
def test_one_light_curve_in_two_shards_stops_collect_with_both_files(realdata, tmp_path,
                                                                     capsys):
    original = sorted((realdata / "lightcurves" / "qusi").glob("*.fits"))[0]
    copy = tmp_path / "copy.fits"
    copy.write_bytes(original.read_bytes())
    error = collect_one_file_per_shard([original, copy], tmp_path, capsys)
    assert "share a TIC and sector with another in a different shard" in error
    assert f"{original} and {copy}" in error


def test_stars_of_two_missions_with_one_key_in_two_shards_stop_collect(tmp_path, capsys):
    rows = b"time,flux\n1400.0,1.0\n1400.1,1.1\n1400.2,0.9\n"
    files = [tmp_path / "a.csv", tmp_path / "b.csv"]
    files[0].write_bytes(b"# tic_id: 7\n# sector: 3\n" + rows)
    files[1].write_bytes(b"# epic_id: 7\n# sector: 3\n" + rows)
    error = collect_one_file_per_shard(files, tmp_path, capsys)
    assert "stars of different missions (TESS, K2) share the light-curve key 7-s0003" in error


def collect_one_file_per_shard(paths, tmp_path, capsys) -> str:
    """Ingest each file as a shard of its own, collect them (which must fail), and return
    the error it printed."""
    tables = {"stars": [], "ledgers": [], "truths": []}
    for shard, path in enumerate(paths):
        result = ingest_local([path])
        for name, frame in (("stars", result.stars), ("ledgers", result.ledger),
                            ("truths", result.truth)):
            tables[name].append(str(tmp_path / f"{name}{shard}.parquet"))
            frame.to_parquet(tables[name][-1])
    outputs = [f"--out-{name}={tmp_path / name}" for name in ("stars", "ledger", "truth")]
    assert main(["collect", "--stars", *tables["stars"], "--ledgers", *tables["ledgers"],
                 "--truths", *tables["truths"], *outputs,
                 f"--out-quarantine={tmp_path / 'q.csv'}"]) == 2
    return capsys.readouterr().err


@pytest.mark.realdata
def test_a_star_read_in_several_sectors_gets_a_light_curve_joining_them(realdata):
    files = sorted((realdata / "lightcurves" / "modebs" / "tic-382067804").glob("*.fits"))
    sectors = with_stitched(ingest_local(files))
    *observations, joined = sectors.light_curves
    assert joined.meta.key == "382067804-s9999" and joined.meta.stitched
    assert len(joined) == sum(map(len, observations)) and (np.diff(joined.time) > 0).all()
    for lc in observations:  # each sector on its own median; centroids about their own
        inside = (joined.time >= lc.time[0]) & (joined.time <= lc.time[-1])
        assert np.nanmedian(joined.flux[inside]) == pytest.approx(1.0)
        assert np.nanmedian(joined.centroid_col[inside]) == pytest.approx(0.0, abs=1e-6)
    row = sectors.ledger[sectors.ledger.status == "stitched"].squeeze()
    assert row["key"] == joined.meta.key and "sectors 3,4,5,6,7 of TESS 382067804" in row["reason"]
    stars = sectors.stars.set_index("key")
    assert list(stars.index) == [lc.meta.key for lc in sectors.light_curves]
    assert stars.loc[joined.meta.key, ["time_start", "time_stop"]].tolist() == [
        joined.time[0], joined.time[-1]]
    assert joined.meta.source_file == "; ".join(map(str, files))


@pytest.mark.realdata
def test_the_sectors_of_one_file_joined_name_the_file_once(realdata):
    path = realdata / "lightcurves" / "sherlock" / "TOI-175_TIC307210830_lc_data.csv"
    sectors = with_stitched(ingest_local([path]))
    assert len(sectors.light_curves) > 2
    assert sectors.light_curves[-1].meta.source_file == str(path)


@pytest.mark.realdata
def test_a_star_read_in_one_sector_gets_nothing_joined(realdata):
    files = sorted((realdata / "lightcurves" / "qusi").glob("*s0001*.fits"))
    single = ingest_local(files[:1])
    assert with_stitched(single) is single


def test_an_epic_and_a_tic_of_one_number_and_sector_are_not_called_duplicates(tmp_path):
    rows = b"time,flux\n1400.0,1.0\n1400.1,1.1\n1400.2,0.9\n"
    tess = tmp_path / "a.csv"
    tess.write_bytes(b"# tic_id: 7\n# sector: 3\n" + rows)
    k2 = tmp_path / "b.csv"
    k2.write_bytes(b"# epic_id: 7\n# sector: 3\n" + rows)
    ledger = ingest_local([tess, k2]).ledger.set_index("source")
    assert ledger.loc[str(tess), "status"] == "ok"
    assert ledger.loc[str(k2), "status"] == "quarantined"
    assert ledger.loc[str(k2), "reason"] == (
        f"{k2}: EPIC 7 has the light-curve key 7-s0003 of TIC 7, read from {tess} (keys do not "
        "name the mission); read the K2 files in a run of their own")
