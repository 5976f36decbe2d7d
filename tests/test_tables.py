"""Safe writes: a failed write leaves the previous output or none, and the error is seen."""

import io

import pandas as pd
import pytest

from transitflow import cli
from transitflow.tables import atomic_output, read_provenance, read_table, write_table


def full_disk(*args, **kwargs):
    raise OSError(28, "No space left on device")


def test_a_write_that_fails_leaves_the_previous_file_and_no_partial(tmp_path, monkeypatch):
    path = write_table(pd.DataFrame({"a": [1]}), tmp_path / "t.parquet", {"run": 1})
    monkeypatch.setattr("pyarrow.parquet.write_table",
                        lambda table, where: (where.write_bytes(b"PAR1"), full_disk()))
    with pytest.raises(OSError, match="No space left"):
        write_table(pd.DataFrame({"a": [2]}), path, {"run": 2})
    assert read_table(path)["a"].tolist() == [1] and read_provenance(path) == {"run": 1}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.parquet"]


def test_the_output_appears_only_when_the_block_ends(tmp_path):
    with atomic_output(tmp_path / "sub" / "figure.png") as partial:
        partial.write_bytes(b"png")
        assert partial.suffix == ".png" and not (tmp_path / "sub" / "figure.png").exists()
    assert (tmp_path / "sub" / "figure.png").read_bytes() == b"png"
    assert not partial.exists()


class FullLog(io.StringIO):
    def write(self, text):
        full_disk()


def test_an_error_the_log_cannot_take_reaches_stdout(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(cli, "cmd_collect", full_disk)
    monkeypatch.setattr("sys.stderr", FullLog())
    assert cli.main(["collect", "--stars", "s", "--ledgers", "l", "--truths", "t",
                     "--out-stars", "a", "--out-ledger", "b", "--out-truth", "c",
                     "--out-quarantine", "d"]) == 2
    assert capsys.readouterr().out == ("transitflow collect: error: [Errno 28] No space left on "
                                       "device; free disk space and rerun\n")
