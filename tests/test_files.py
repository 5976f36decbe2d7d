import glob
import os
from pathlib import Path

import pytest

from transitflow.files import find_files, shard_files, star_in_name
from transitflow.ingest import ingest_local

FILES = ("a/x.fits", "a/deep/w.fits", "b/y.fits", "b/y.csv", "top.fits", ".hidden/z.fits")


def tree(root: Path) -> Path:
    for name in FILES:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(name)
    return root


@pytest.mark.parametrize("pattern", ["*.fits", "**/*.fits", "**/*", "a/*.fits", "*/y.*",
                                     "**/deep/*", "a/**", "top.fits", ".hidden/*", "none/*"])
def test_without_links_it_finds_what_glob_finds(tmp_path, pattern):
    root = tree(tmp_path)
    expected = sorted(p for p in glob.glob(f"{root}/{pattern}", recursive=True)
                      if Path(p).is_file())
    assert find_files(f"{root}/{pattern}") == expected


def test_link_loops_end_and_each_file_is_listed_once(tmp_path):
    root = tree(tmp_path)
    os.symlink(root / "a", root / "a" / "deep" / "back")  # a loop
    os.symlink(root, root / "b" / "up")  # a second loop, through the root
    os.symlink(root / "a" / "x.fits", root / "alias.fits")  # another name of a file
    assert find_files(f"{root}/**/*.fits") == [str(root / name) for name in (
        "a/deep/w.fits", "a/x.fits", "b/y.fits", "top.fits")]


def test_dangling_and_looping_links_are_listed_and_quarantined(tmp_path):
    root = tree(tmp_path)
    os.symlink(root / "gone.fits", root / "dangling.fits")
    os.symlink(root / "self.fits", root / "self.fits")
    found = find_files(f"{root}/*.fits")
    assert found == [str(root / name) for name in ("dangling.fits", "self.fits", "top.fits")]
    ledger = ingest_local(found).ledger.set_index("source")
    for name in ("dangling.fits", "self.fits"):
        row = ledger.loc[str(root / name)]
        assert row.status == "quarantined"
        assert "which does not exist (a dangling link or a loop of links)" in row.reason


def test_a_link_sorting_before_the_folder_it_names_does_not_hide_that_folder(tmp_path):
    root = tree(tmp_path)
    os.symlink(root / "b", root / "a" / "0-latest")  # walked first, does not match b/*
    assert find_files(f"{root}/b/*.fits") == [str(root / "b" / "y.fits")]
    assert find_files(f"{root}/**/y.fits") == [str(root / "b" / "y.fits")]


@pytest.mark.parametrize("name, star", [
    ("tess2018263035959-s0003-0000000382067804-0123-s_lc.fits", "382067804"),
    ("hlsp_qlp_tess_ffi_s0001-0000000025155310_tess_v01_llc.fits", "25155310"),
    ("kplr011446443-2009131110544_llc.fits", "11446443"),
    ("ktwo206103150-c03_llc.fits", "206103150"),
    ("epic206103150_k2c10.csv", "206103150"),
    ("TOI-175_TIC307210830_lc_data.csv", "307210830"),
    ("tess00260128333-s01-c1800-dr01-v04-tasoc_lc.fits.gz", "260128333"),
    ("hlsp_tglc_tess_ffi_gaiaid-4755392374681472-s0001-cam1-ccd1_tess_v1_llc.fits",
     "4755392374681472"),
    ("toi237.csv", "lcs/toi237.csv"),  # no ID: the file is its own group
    ("synthetic_2024.csv", "lcs/synthetic_2024.csv"),  # 'tic' inside a word is no prefix
])
def test_the_star_in_a_file_name(name, star):
    assert star_in_name(f"lcs/{name}") == star


def test_shards_keep_a_stars_files_together_and_in_order():
    files = ["s1/tic7_lc.csv", "s1/tic8_lc.csv", "s2/tic7_lc.csv", "s2/tic9_lc.csv", "x.csv"]
    assert shard_files(files, 2) == [["s1/tic7_lc.csv", "s2/tic7_lc.csv"],
                                     ["s1/tic8_lc.csv", "s2/tic9_lc.csv"], ["x.csv"]]
    assert shard_files(files[:2], 1) == [["s1/tic7_lc.csv"], ["s1/tic8_lc.csv"]]
