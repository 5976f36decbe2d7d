"""Catalogs named by URL: which settings are fetched, and the fetch itself over loopback."""

import socket

import pytest

from tests.mast_server import FakeMast
from transitflow.catalogs import (EXOFOP_TOI_URL, TESS_EBS_URL, CatalogUnreachable,
                                  catalog_urls, fetch_catalog)
from transitflow.cli import main

FAST = {"retries": 2, "backoff_s": 0.01, "timeout_s": 1.0}


@pytest.fixture
def web(realdata):
    with FakeMast({path.name: path for path in (realdata / "catalogs").rglob("*")
                   if path.is_file()}) as server:
        yield server


def test_shortcuts_and_urls_are_fetched_and_paths_are_not():
    urls = catalog_urls({"toi_table": "exofop", "tess_ebs": "vizier", "tess_ebs_readme": "",
                         "yu2019": "catalogs/yu2019.csv", "known_tois": "exofop"})
    assert urls == {"toi_table": EXOFOP_TOI_URL, "known_tois": EXOFOP_TOI_URL,
                    "tess_ebs": TESS_EBS_URL,
                    "tess_ebs_readme": "https://cdsarc.cds.unistra.fr/ftp/J/ApJS/258/16/ReadMe"}
    readme = "https://cdsarc.cds.unistra.fr/ftp/J/ApJS/258/16/ReadMe"
    assert catalog_urls({"known_ebs": "vizier"}) == {"known_ebs": TESS_EBS_URL,
                                                     "known_ebs_readme": readme}
    mirror = catalog_urls({"tess_ebs": "https://cds.example.org/tess-ebs.dat",
                           "tess_ebs_readme": "local/ReadMe", "yu2019": "vizier"})
    assert mirror == {"tess_ebs": "https://cds.example.org/tess-ebs.dat"}


@pytest.mark.realdata
def test_a_catalog_is_fetched_whole_after_a_server_error(web, tmp_path, realdata):
    name = "exofop_toi_tess-atlas_2025-10-19.csv"
    web.script = {name: [503]}
    dest = tmp_path / "catalogs" / "toi_table.csv"
    assert fetch_catalog(f"{web.root}/files/{name}", dest, **FAST) == dest.stat().st_size
    assert dest.read_bytes() == (realdata / "catalogs" / name).read_bytes()
    assert web.requested == [name, name] and not list(dest.parent.glob("*.part"))


def test_a_missing_catalog_and_an_unreachable_server_are_one_line_errors(web, tmp_path):
    with pytest.raises(ValueError, match="HTTP 404 Not Found") as missing:
        fetch_catalog(f"{web.root}/files/nothing.csv", tmp_path / "toi.csv", **FAST)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    with pytest.raises(CatalogUnreachable, match="check the network") as unreachable:
        fetch_catalog(f"http://127.0.0.1:{closed}/toi.csv", tmp_path / "toi.csv", **FAST)
    assert "\n" not in str(missing.value) + str(unreachable.value)
    assert not (tmp_path / "toi.csv").exists()


def test_the_fetch_command_reports_a_failure_in_one_line(web, tmp_path, capsys):
    code = main(["fetch-catalog", "--url", f"{web.root}/files/nothing.csv",
                 "--out", str(tmp_path / "toi.csv")])
    assert code == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert error[-1].startswith("transitflow fetch-catalog: error: ")
    assert "nothing.csv: HTTP 404" in error[-1]
