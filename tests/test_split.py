import json

import pandas as pd
import pytest

from transitflow.cli import main
from transitflow.split import SplitConfig, split_by_target, split_report, star_labels
from transitflow.tables import read_provenance, read_table


def light_curve_table(n_stars: int = 300, sectors: int = 3) -> pd.DataFrame:
    labels = ["planet", "eb", "non_transit"]
    rows = [{"tic": 1000 + i, "sector": s, "label": labels[i % 3]}
            for i in range(n_stars) for s in range(1, sectors + 1)]
    return pd.DataFrame(rows)


def test_no_tic_is_in_two_splits():
    split = split_by_target(star_labels(light_curve_table()), SplitConfig(seed=1))
    assert split["tic"].is_unique
    assert set(split["split"]) == {"train", "val", "test"}


def test_split_is_stratified_with_the_configured_fractions():
    split = split_by_target(star_labels(light_curve_table(600)), SplitConfig(0.8, 0.1, 0.1, 7))
    for label, group in split.groupby("label"):
        fractions = group["split"].value_counts(normalize=True)
        assert fractions["train"] == pytest.approx(0.8, abs=0.01), label
        assert fractions["val"] == pytest.approx(0.1, abs=0.01), label


def test_split_is_deterministic_from_the_seed():
    stars = star_labels(light_curve_table())
    first = split_by_target(stars, SplitConfig(seed=3))
    assert first.equals(split_by_target(stars.sample(frac=1, random_state=0), SplitConfig(seed=3)))
    assert not first.equals(split_by_target(stars, SplitConfig(seed=4)))


def test_a_star_with_mixed_labels_takes_the_planet_label():
    table = pd.DataFrame({"tic": [5, 5, 6], "sector": [1, 2, 1],
                          "label": ["eb", "planet", None]})
    assert star_labels(table).to_dict("records") == [{"tic": 5, "label": "planet"}]


def test_report_counts_every_star():
    split = split_by_target(star_labels(light_curve_table(90)), SplitConfig())
    report = split_report(split)
    assert sum(sum(counts.values()) for counts in report.values()) == 90


@pytest.mark.parametrize("options, message", [
    ({"train": 0.9, "val": 0.2, "test": 0.1}, "sum to 1"),
    ({"trian": 0.8}, "unknown option 'trian'"),
])
def test_bad_options_are_rejected(options, message):
    with pytest.raises(ValueError, match=message):
        SplitConfig.from_dict(options)


def test_split_command_writes_the_split_its_report_and_refuses_no_labels(tmp_path, capsys):
    labels = tmp_path / "labels.parquet"
    light_curve_table(30).to_parquet(labels)
    out, report = tmp_path / "split.parquet", tmp_path / "split.json"
    assert main(["split", "--labels", str(labels), "--options", '{"seed": 3}', "--out", str(out),
                 "--report", str(report)]) == 0
    expected = split_by_target(star_labels(light_curve_table(30)), SplitConfig(seed=3))
    pd.testing.assert_frame_equal(read_table(out), expected)
    assert json.loads(report.read_text())["counts"] == split_report(expected)
    assert read_provenance(out)["stage"] == "split"
    light_curve_table(0).to_parquet(labels)
    assert main(["split", "--labels", str(labels), "--out", str(out),
                 "--report", str(report)]) == 2
    assert "no light curve has a training label" in capsys.readouterr().err
