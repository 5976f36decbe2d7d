"""The candidate columns' dictionary: it describes every column the pipeline writes, and
docs/candidates.md is generated from it."""

from __future__ import annotations

from tests.conftest import REPO
from transitflow.cli import main
from transitflow.columns import CANDIDATE_COLUMNS, columns_markdown, undocumented
from transitflow.report import BACK_COLUMNS, FRONT_COLUMNS
from transitflow.vetting import REGISTRY, SPECS


def vetting_columns() -> list[str]:
    """The columns every registered vetting test adds, as vetting.vetting_row names them."""
    names = []
    for test in REGISTRY:
        for name in ("metric", "sigma", "flag", "reason", *SPECS[test].extras):
            names.append(name if name.startswith(f"{test}_") else f"{test}_{name}")
    return names


def test_the_dictionary_lists_the_candidate_columns_in_their_order():
    assert list(CANDIDATE_COLUMNS) == [*FRONT_COLUMNS, *vetting_columns(), *BACK_COLUMNS]
    assert undocumented(["tic", "no_such_column"]) == ["no_such_column"]


def test_every_column_has_a_meaning():
    assert all(meaning and not meaning.endswith(".") for _, meaning in CANDIDATE_COLUMNS.values())


def test_the_docs_are_generated_from_the_dictionary(capsys):
    assert main(["columns"]) == 0
    printed = capsys.readouterr().out
    assert printed == columns_markdown()
    assert (REPO / "docs" / "candidates.md").read_text() == printed, (
        "docs/candidates.md is stale: python -m transitflow columns > docs/candidates.md")
    assert printed.count("\n| `") == len(CANDIDATE_COLUMNS)


def test_the_formats_doc_names_the_vetting_tests_in_registry_order():
    text = (REPO / "docs" / "formats.md").read_text()
    listed = text.split("for each test T (", 1)[1].split(")", 1)[0]
    assert listed.replace("\n", " ") == ", ".join(f"`{test}`" for test in REGISTRY)
