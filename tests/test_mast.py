"""The MAST source, offline: recorded-format answers replayed through the real client, and
the real light curves of ../shared/realdata served over loopback HTTP as if from MAST."""

import errno
import json
import os
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import requests
from astropy.table import Table

from transitflow import mast
from transitflow.http import GaveUp, RetryPolicy
from transitflow.mast import (AstroqueryClient, MastConfig, MastUnreachable, download,
                              list_sector, parse_sectors, plan_shards, read_targets,
                              stellar_parameters)
from tests.conftest import REPO
from tests.mast_server import FIXTURES, FakeMast
from transitflow.readers import read_lightcurves
from transitflow.tables import read_table

SECTOR1_TICS = [117544915, 126602778, 150065151]
TIMEOUT_S = 1.0  # the client's, generous for loopback on a busy machine
FAST_RETRY = {"retries": 2, "backoff_s": 0.01}


class ReplayObservations:
    """astroquery's ``Observations``, answering from the recorded tables like MAST would."""

    def __init__(self) -> None:
        self.observations = Table.read(FIXTURES / "observations.ecsv")
        self.products = Table.read(FIXTURES / "products.ecsv")
        self.queries: list[dict] = []

    def query_criteria(self, **criteria) -> Table:
        self.queries.append(criteria)
        keep = np.ones(len(self.observations), bool)
        for column, wanted in criteria.items():
            keep &= np.isin(self.observations[column], np.atleast_1d(wanted))
        return self.observations[keep]

    def get_product_list(self, observations) -> Table:
        return self.products[np.isin(self.products["obsID"], observations["obsid"])]


class ReplayCatalogs:
    """astroquery's ``Catalogs`` for the TIC."""

    def __init__(self) -> None:
        self.table = Table.read(FIXTURES / "tic.ecsv")
        self.batches: list[list[str]] = []

    def query_criteria(self, catalog: str, ID: list[str]) -> Table:
        assert catalog == "Tic"
        self.batches.append(ID)
        return self.table[np.isin(self.table["ID"], ID)]


class ReplayGaia:
    """astroquery's ``Gaia``: answers an ADQL query with the recorded rows whose ID it names."""

    def __init__(self) -> None:
        self.table = Table.read(FIXTURES / "gaia_dr3.ecsv")
        self.queries: list[str] = []

    def launch_job(self, query: str):
        self.queries.append(query)
        named = [str(gaia) in query for gaia in self.table["dr2_source_id"]]
        return SimpleNamespace(get_results=lambda: self.table[named])


@pytest.fixture
def mirror(realdata):
    files = {path.name: path for path in (realdata / "lightcurves").rglob("*.fits")}
    with FakeMast(files) as server:
        yield server


@pytest.fixture
def observations():
    return ReplayObservations()


@pytest.fixture
def replayed(observations):
    """The real client over replayed listings."""
    with AstroqueryClient(observations=observations) as client:
        yield client


@pytest.fixture
def client(observations, mirror):
    """The real client over replayed listings, downloading from the mirror."""
    with AstroqueryClient(observations=observations, download_url=mirror.url,
                          timeout_s=TIMEOUT_S) as client:
        yield client


def config_for(tmp_path: Path, **options) -> MastConfig:
    return MastConfig(**{"sectors": "1", "cache_dir": str(tmp_path / "cache"),
                         "max_workers": 2, "timeout_s": TIMEOUT_S, **FAST_RETRY, **options})


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_config_parses_sectors_targets_and_rejects_unknown_keys(tmp_path):
    assert parse_sectors("1-3, 7") == (1, 2, 3, 7)
    assert parse_sectors([9, "4-5"]) == (4, 5, 9)
    config = MastConfig.from_dict({"sectors": [1, 2], "product": "tess-spoc",
                                   "targets": [5, "3", 5]})
    assert config.sectors == (1, 2) and config.target_tics() == (3, 5)
    for bad in ({"sectors": "7-3"}, {"sectors": 1, "product": "ffi"},
                {"sectors": 1, "sectorz": 2}, {"sectors": 1, "max_workers": 0}):
        with pytest.raises(ValueError) as error:
            MastConfig.from_dict(bad)
        assert "\n" not in str(error.value)


def test_targets_come_from_a_tic_column_of_a_csv(tmp_path, realdata):
    exofop = realdata / "catalogs" / "exofop_toi_tess-atlas_2025-10-19.csv"
    assert len(read_targets(exofop)) == pd.read_csv(exofop)["TIC ID"].nunique()
    (tmp_path / "targets.csv").write_text("TIC,note\n150065151,m dwarf\n126602778,eb\n")
    assert MastConfig(sectors=1, targets=str(tmp_path / "targets.csv")).target_tics() == (
        126602778, 150065151)
    (tmp_path / "names.csv").write_text("star\nWASP-18\n")
    with pytest.raises(ValueError, match="no TIC column"):
        read_targets(tmp_path / "names.csv")


def test_listing_keeps_the_light_curves_of_the_product_and_sectors(tmp_path, replayed,
                                                                    observations):
    listing = list_sector(config_for(tmp_path), replayed)
    assert listing["tic"].tolist() == SECTOR1_TICS
    assert (listing["sector"] == 1).all() and listing["filename"].str.endswith("-s_lc.fits").all()
    assert (listing["size"] == 2039040).all()
    assert listing["uri"].iloc[0] == f"mast:TESS/product/{listing['filename'].iloc[0]}"
    assert observations.queries == [{"obs_collection": "TESS", "dataproduct_type": "timeseries",
                                     "provenance_name": "SPOC", "sequence_number": 1}]


def test_listing_a_target_list_over_a_sector_range(tmp_path, replayed, observations):
    listing = list_sector(config_for(tmp_path, sectors="1-2", targets=[150065151]), replayed)
    assert listing[["tic", "sector"]].values.tolist() == [[150065151, 1], [150065151, 2]]
    assert [query["target_name"] for query in observations.queries] == [
        ["150065151"]] * 2


@pytest.mark.parametrize("product, sector, filename", [
    ("tess-spoc", 25, "hlsp_tess-spoc_tess_phot_0000000103098373-s0025_tess_v1_lc.fits"),
    ("qlp", 25, "hlsp_qlp_tess_ffi_s0025-0000000103098373_tess_v01_llc.fits"),
])
def test_listing_ffi_products(tmp_path, replayed, product, sector, filename):
    listing = list_sector(config_for(tmp_path, sectors=sector, product=product), replayed)
    assert listing[["tic", "product", "filename"]].values.tolist() == [
        [103098373, product, filename]]


def test_shards_cover_the_listing_in_order():
    listing = pd.DataFrame({"tic": range(7)})
    shards = plan_shards(listing, 3)
    assert [len(shard) for shard in shards] == [3, 3, 1]
    assert pd.concat(shards, ignore_index=True).equals(listing)


def test_shards_keep_each_stars_sectors_together():
    listing = pd.DataFrame({"sector": [1, 1, 1, 2, 2], "tic": [5, 7, 9, 5, 9]})
    shards = [shard.values.tolist() for shard in plan_shards(listing, 2)]
    assert shards == [[[1, 5], [2, 5]], [[1, 7]], [[1, 9], [2, 9]]]


@pytest.mark.realdata
def test_download_retries_a_timeout_and_a_503(tmp_path, client, mirror):
    config = config_for(tmp_path)
    listing = list_sector(config, client)
    stalled, unavailable = listing["filename"].iloc[:2]
    mirror.script = {stalled: ["stall"], unavailable: [503]}
    ledger = download(listing, config, client, progress=False)
    assert (ledger["status"] == "downloaded").all()
    assert ledger["attempts"].tolist() == [2, 2, 1]
    for row in ledger.itertuples():
        assert Path(row.path).read_bytes() == mirror.files[row.filename].read_bytes()
        assert row.bytes == mirror.files[row.filename].stat().st_size
    assert not list(Path(config.cache_dir).rglob("*.part"))


@pytest.mark.realdata
def test_a_failing_star_is_marked_failed_and_the_others_download(tmp_path, client, mirror):
    config = config_for(tmp_path)
    listing = list_sector(config, client)
    listing.loc[2, "uri"] += ".gone"
    listing.loc[1, "size"] += 1
    mirror.script = {listing["filename"].iloc[0]: [503] * 10}
    ledger = download(listing, config, client, progress=False).set_index("tic")
    assert ledger.loc[117544915, ["status", "reason", "attempts"]].tolist() == [
        "failed", "HTTP 503 Service Unavailable", 3]
    assert ledger.loc[126602778, "status"] == "failed"
    assert "MAST lists 2039041" in ledger.loc[126602778, "reason"]
    assert ledger.loc[150065151, ["reason", "attempts"]].tolist() == ["HTTP 404 Not Found", 1]
    assert not any(Path(path).exists() for path in ledger["path"])

    listing.loc[0:1, "size"] = 2039040
    mirror.script = {}
    assert download(listing.iloc[:2], config, client, progress=False)["status"].eq(
        "downloaded").all()


@pytest.mark.realdata
def test_a_rerun_skips_complete_files_and_refetches_broken_ones(tmp_path, client, mirror):
    config = config_for(tmp_path)
    listing = list_sector(config, client)
    first = download(listing, config, client, progress=False)
    asked = len(mirror.requested)
    again = download(listing, config, client, progress=False)
    assert (again["status"] == "skipped").all() and (again["attempts"] == 0).all()
    assert len(mirror.requested) == asked

    truncated, interrupted = (Path(path) for path in first["path"].iloc[:2])
    truncated.write_bytes(truncated.read_bytes()[:5000])
    part = interrupted.with_name(f"{interrupted.name}.{os.getpid()}.part")
    part.write_bytes(interrupted.read_bytes()[:7000])
    interrupted.unlink()
    resumed = download(listing, config, client, progress=False)
    assert resumed["status"].tolist() == ["downloaded", "downloaded", "skipped"]
    assert sorted(mirror.requested[asked:]) == sorted(listing["filename"].iloc[:2])
    assert (resumed["bytes"] == 2039040).all() and not part.exists()
    assert [len(read_lightcurves(path)) for path in resumed["path"]] == [1, 1, 1]


def test_an_unreachable_server_is_one_clear_error(tmp_path, replayed):
    config = config_for(tmp_path)
    listing = list_sector(config, replayed)
    offline = AstroqueryClient(download_url=f"http://127.0.0.1:{closed_port()}/file",
                               timeout_s=TIMEOUT_S)
    with offline, pytest.raises(MastUnreachable) as error:
        download(listing, config, offline, progress=False)
    message = str(error.value)
    assert "\n" not in message and "MAST could not be reached" in message
    assert "source=local" in message


def test_an_unreachable_listing_is_one_clear_error(tmp_path):
    class Offline(ReplayObservations):
        def query_criteria(self, **criteria):
            super().query_criteria(**criteria)
            raise requests.ConnectionError("Failed to resolve 'mast.stsci.edu'\n(NameResolution)")

    observations = Offline()
    with pytest.raises(MastUnreachable, match="listing sector 1") as error:
        list_sector(config_for(tmp_path), AstroqueryClient(observations=observations))
    assert "\n" not in str(error.value)
    assert len(observations.queries) == 1 + FAST_RETRY["retries"]


def test_stellar_parameters_are_queried_in_batches_and_cached(tmp_path):
    catalogs = ReplayCatalogs()
    client = AstroqueryClient(catalogs=catalogs, gaia=ReplayGaia())
    cache = tmp_path / "tic.parquet"
    tics = [*SECTOR1_TICS, 103098373, 150065151]
    first = stellar_parameters(tics, client, cache, batch_size=2)
    assert catalogs.batches == [["103098373", "117544915"], ["126602778", "150065151"]]
    assert first["tic"].tolist() == sorted(set(tics))
    row = first.set_index("tic").loc[117544915]
    assert row[["tmag", "radius", "teff", "logg"]].tolist() == [8.441, 2.87472, 6220.0, 3.60015]
    assert row["contamination"] == pytest.approx(0.00456 / 1.00456)

    again = stellar_parameters(tics, client, cache, batch_size=2)
    pd.testing.assert_frame_equal(again, first)
    assert len(catalogs.batches) == 2
    stellar_parameters([98853987, 117544915], client, cache, batch_size=2)
    assert catalogs.batches[2:] == [["98853987"]]


class SlowCatalogs(ReplayCatalogs):
    """The TIC answering after a pause, so that two jobs' queries overlap."""

    def query_criteria(self, catalog: str, ID: list[str]) -> Table:
        time.sleep(0.3)
        return super().query_criteria(catalog, ID)


def test_jobs_adding_stars_to_the_cache_side_by_side_keep_each_others(tmp_path):
    cache = tmp_path / "tic.parquet"
    client = AstroqueryClient(catalogs=SlowCatalogs(), gaia=ReplayGaia())
    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(lambda tics: stellar_parameters(tics, client, cache),
                      [SECTOR1_TICS[:1], SECTOR1_TICS[1:]]))
    assert sorted(pd.read_parquet(cache)["tic"]) == SECTOR1_TICS


def test_a_file_system_without_locks_still_caches_with_a_warning(tmp_path, monkeypatch, caplog):
    def no_locks(handle, operation):
        raise OSError(errno.ENOLCK, "No locks available")

    monkeypatch.setattr(mast.fcntl, "flock", no_locks)
    client = AstroqueryClient(catalogs=ReplayCatalogs(), gaia=ReplayGaia())
    found = stellar_parameters(SECTOR1_TICS, client, tmp_path / "tic.parquet")
    assert found["tic"].tolist() == SECTOR1_TICS and "no file lock here" in caplog.text
    assert sorted(pd.read_parquet(tmp_path / "tic.parquet")["tic"]) == SECTOR1_TICS


@pytest.mark.realdata
def test_header_values_then_gaia_fill_what_the_tic_lacks(tmp_path, realdata):
    gaia = ReplayGaia()
    client = AstroqueryClient(catalogs=ReplayCatalogs(), gaia=gaia)
    files = ["modebs/v889-aql/hlsp_tess-spoc_tess_phot_0000000300000680-s0040_tess_v1_lc.fits",
             "qusi/tess2018206045859-s0001-0000000126602778-0120-s_lc.fits",
             "qusi/tess2018206045859-s0001-0000000117544915-0120-s_lc.fits"]
    headers = pd.DataFrame([read_lightcurves(realdata / "lightcurves" / name)[0].meta.to_dict()
                            for name in files])
    stars = stellar_parameters(headers["tic"], client, tmp_path / "tic.parquet",
                               fits_headers=headers).set_index("tic")
    v889 = headers.set_index("tic").loc[300000680]
    assert stars.loc[300000680, ["tmag", "radius", "contamination"]].tolist() == pytest.approx(
        v889[["tmag", "radius", "contamination"]].tolist())
    assert stars["radius_source"].to_dict() == {117544915: "tic", 126602778: "gaia-dr3",
                                                300000680: "header"}
    assert stars.loc[126602778, "radius"] == pytest.approx(1.9214)
    assert np.isnan(stars.loc[126602778, "logg"])
    assert stars.loc[117544915, "contamination"] == pytest.approx(0.00456 / 1.00456)
    assert len(gaia.queries) == 1 and "6480264578215417600" in gaia.queries[0]


def test_retry_policy_gives_up_at_once_on_a_client_error():
    response = requests.Response()
    response.status_code = 404
    calls = []

    def missing():
        calls.append(1)
        raise requests.HTTPError(response=response)

    with pytest.raises(GaveUp, match="HTTP 404") as error:
        RetryPolicy(retries=3, backoff_s=0).run(missing)
    assert error.value.attempts == 1 and len(calls) == 1


def transitflow_against(server: FakeMast, tmp_path: Path, *args: str):
    """``python -m transitflow`` in a process whose astroquery talks to ``server``."""
    server.write_astroquery_config(tmp_path / "xdg")
    env = {**os.environ, "XDG_CONFIG_HOME": str(tmp_path / "xdg"),
           "PYTHONPATH": str(REPO / "src")}
    return subprocess.run([sys.executable, "-m", "transitflow", *args], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=300)


@pytest.mark.realdata
def test_the_commands_list_in_shards_and_download_through_astroquery(tmp_path, mirror):
    options = json.dumps({"sectors": "1-2", "targets": [117544915, 150065151],
                          "max_workers": 2, "timeout_s": TIMEOUT_S, **FAST_RETRY})
    listed = transitflow_against(mirror, tmp_path, "mast-list", "--options", options,
                                 "--shard-size", "2", "--out", "listing.parquet",
                                 "--shards-dir", "shards")
    assert listed.returncode == 0, listed.stderr
    assert mirror.services[-2:] == ["Mast.Caom.Filtered", "Mast.Caom.Products"]
    listing = read_table(tmp_path / "listing.parquet")
    assert listing[["tic", "sector"]].values.tolist() == [[117544915, 1], [150065151, 1],
                                                          [150065151, 2]]
    assert sorted(path.name for path in (tmp_path / "shards").iterdir()) == [
        "0000.parquet", "0001.parquet"]

    both_sectors = read_table(tmp_path / "shards" / "0001.parquet")  # a star's in one shard
    assert both_sectors[["tic", "sector"]].values.tolist() == [[150065151, 1], [150065151, 2]]

    mirror.script = {listing["filename"].iloc[1]: ["stall"]}
    fetched = transitflow_against(mirror, tmp_path, "mast-download", "--options", options,
                                  "--listing", "shards/0001.parquet", "--ledger", "ledger.parquet")
    assert fetched.returncode == 0, fetched.stderr
    ledger = read_table(tmp_path / "ledger.parquet")
    assert ledger[["status", "attempts"]].values.tolist() == [["downloaded", 2],
                                                              ["downloaded", 1]]
    assert (tmp_path / "cache" / "mast" / "spoc-2min" / "s0001" / listing["filename"].iloc[1]
            ).stat().st_size == listing["size"].iloc[1]
    assert mirror.services[-1] == "Mast.Catalogs.Filtered.Tic.Rows"  # the stars, cached
    assert read_table(tmp_path / "cache" / "mast" / "tic.parquet")["tic"].tolist() == [150065151]

    asked = len(mirror.services)  # the data job reads the TIC from the cache: no network
    read = transitflow_against(mirror, tmp_path, "ingest", "--source", "mast", "--inputs",
                               "ledger.parquet", "--options", options,
                               *[item for name in ("shard", "stars", "ledger", "truth")
                                 for item in (f"--{name}", f"data-{name}")])
    assert read.returncode == 0, read.stderr
    assert mirror.services[asked:] == []
    assert read_table(tmp_path / "data-stars")["radius_source"].tolist() == ["tic", "tic"]


def test_the_listing_command_reports_mast_unreachable_in_one_line(tmp_path):
    server = FakeMast({})
    server.root = f"http://127.0.0.1:{closed_port()}"  # nothing answers there
    options = json.dumps({"sectors": 1, **FAST_RETRY})
    done = transitflow_against(server, tmp_path, "mast-list", "--options", options,
                               "--shard-size", "2", "--out", "listing.parquet",
                               "--shards-dir", "shards")
    server.server_close()
    assert done.returncode == 2
    error = done.stderr.strip().splitlines()[-1]
    assert error.startswith("transitflow mast-list: error: MAST could not be reached")
    assert "source=local" in error
