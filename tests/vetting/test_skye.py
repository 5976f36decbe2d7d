"""Epochs crowded with the events of many stars (Skye)."""

import json

import numpy as np
import pandas as pd
import pytest
from scipy.stats import binom

from benchmarks.skye_null_benchmark import SPAN_DAYS, null_sector
from tests.builders import flat_lightcurve
from transitflow.lightcurve import STITCHED_SECTOR
from transitflow.vetting.skye import (BIN_DAYS, CROWDED_EPOCH_BIT, GRID_OFFSETS, CrowdedEpochs,
                                      crowded_epochs, mark_crowded)

def test_independent_events_crowd_no_epoch_at_the_stated_rate():
    rng = np.random.default_rng(1)
    bins = crowded = 0
    for _ in range(20):  # 20 sectors of 1000 stars: 216 bins on each grid, 1e-3 per bin
        epochs = crowded_epochs(null_sector(rng, 1000), false_alarm=1e-3)
        bins += int(SPAN_DAYS / BIN_DAYS) * len(GRID_OFFSETS)
        crowded += len(epochs.sectors[1]["crowded"])
    assert crowded / bins <= 3e-3  # measured 0.8e-3 in 86,400 bins (docs/benchmarks.md)


def test_a_systematic_dip_in_many_stars_at_once_crowds_its_bin_only():
    rng = np.random.default_rng(2)
    signals = null_sector(rng, 1000)
    glint = pd.DataFrame({"tic": np.arange(60), "sector": 1, "n_transits": 1,
                          "transit_times": [[15.2 + 0.01 * rng.random()] for _ in range(60)]})
    joined = pd.DataFrame({"tic": np.arange(60), "sector": STITCHED_SECTOR, "n_transits": 1,
                           "transit_times": [[8.1] for _ in range(60)]})
    epochs = crowded_epochs(pd.concat([signals, glint, joined], ignore_index=True), 1e-3)
    assert epochs.windows == ((15.125, 15.3125),)  # the joined sectors' events not counted
    stats = epochs.sectors[1]
    assert stats["crowded"][0][1] > stats["threshold"] > stats["typical_per_bin"] > 0
    assert crowded_epochs(signals.assign(n_transits=5), 1e-3).windows == ()  # many events
    assert crowded_epochs(pd.concat([signals, glint]), false_alarm=0).windows == ()
    assert crowded_epochs(pd.DataFrame(), 1e-3) == CrowdedEpochs((), {})
    document = json.loads(json.dumps(epochs.to_dict()))
    assert CrowdedEpochs.from_dict(document) == epochs


def _glint(stars: int, time: float, spread: float, first_tic: int = 0) -> pd.DataFrame:
    """Single events of ``stars`` stars within ``spread`` days of ``time``."""
    times = time + spread * np.linspace(-1.0, 1.0, stars)
    return pd.DataFrame({"tic": first_tic + np.arange(stars), "sector": 1, "n_transits": 1,
                         "transit_times": [[t] for t in times]})


def test_a_glint_across_a_bin_edge_crowds_the_bin_of_the_other_grid():
    signals = null_sector(np.random.default_rng(2), 1000)
    edge = 15.25  # a bin edge of the first grid: each of its bins gets half the glint
    epochs = crowded_epochs(pd.concat([signals, _glint(16, edge, 0.01)]), 1e-3)
    assert epochs.windows == ((edge - BIN_DAYS / 2, edge + BIN_DAYS / 2),)


def test_in_a_sector_of_thousands_of_stars_a_bin_mostly_of_real_transits_is_not_crowded():
    """A chance excess that a binomial draw would call crowded, but under half the bin's
    stars: dropping its events would lose more real transits than systematics."""
    signals = null_sector(np.random.default_rng(3), 4000)
    stats = crowded_epochs(signals, 1e-3).sectors[1]
    typical = stats["typical_per_bin"]
    binomial = binom.ppf(1 - 1e-3, stats["stars"], typical / stats["stars"])
    excess = pd.concat([signals, _glint(int(0.5 * typical), 10.06, 0.02, first_tic=10_000)],
                       ignore_index=True)
    few = excess[excess["n_transits"] <= 3]
    in_bin = [any(10.0 <= t < 10.0 + BIN_DAYS for t in times) for times in few["transit_times"]]
    assert few["tic"][in_bin].nunique() > binomial
    assert crowded_epochs(excess, 1e-3).windows == ()
    glint = _glint(int(1.5 * typical), 10.06, 0.02, first_tic=10_000)
    assert crowded_epochs(pd.concat([signals, glint]), 1e-3).windows == ((10.0, 10.125),)


def test_crowded_bins_next_to_each_other_make_one_window_that_marks_them_all():
    signals = null_sector(np.random.default_rng(2), 1000)
    glint = pd.concat([_glint(60, 12.1, 0.01), _glint(60, 12.2, 0.01, first_tic=100),
                       _glint(60, 20.55, 0.01, first_tic=200)])
    epochs = crowded_epochs(pd.concat([signals, glint]), 1e-3)
    assert epochs.windows == ((12.0, 12.3125), (20.4375, 20.625))  # 4 bins, then 2
    lc = mark_crowded(flat_lightcurve(), CrowdedEpochs(((1330.0, 1330.3125),), {}))
    marked = lc.time[(lc.quality & CROWDED_EPOCH_BIT) != 0]
    assert marked.min() >= 1330.0 and marked.max() < 1330.3125 and len(marked) == 15


def test_marking_sets_the_bit_on_the_cadences_in_crowded_windows_only():
    lc = flat_lightcurve()
    marked = mark_crowded(lc, CrowdedEpochs(((1330.0, 1330.5), (1340.0, 1340.5)), {}))
    inside = ((lc.time >= 1330.0) & (lc.time < 1330.5)) | ((lc.time >= 1340.0)
                                                           & (lc.time < 1340.5))
    np.testing.assert_array_equal((marked.quality & CROWDED_EPOCH_BIT) != 0, inside)
    assert inside.sum() == 48
    assert mark_crowded(lc, CrowdedEpochs((), {})) is lc


@pytest.mark.parametrize("stars", [30, 300])
def test_small_sectors_get_a_threshold_of_at_least_one_star(stars):
    epochs = crowded_epochs(null_sector(np.random.default_rng(stars), stars), 1e-3)
    assert epochs.sectors[1]["threshold"] >= 1
