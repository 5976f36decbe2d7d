"""The ephemeris arithmetic every stage shares (transitflow.signals)."""

import math

import numpy as np
import pytest

from transitflow.signals import (SNR_BINS, Signal, coincidence_chance, has_period, snr_bin_label,
                                transit_offset)


def test_the_offset_wraps_to_the_nearest_transit_within_half_a_period():
    time = np.array([99.0, 100.0, 100.4, 101.6, 102.0, 103.0, 104.9])
    offset = transit_offset(time, 2.0, 100.0)
    assert offset == pytest.approx([-1.0, 0.0, 0.4, -0.4, 0.0, -1.0, 0.9])
    assert np.all((offset >= -1.0) & (offset < 1.0))


@pytest.mark.parametrize("period", [math.nan, 0.0, -3.0, math.inf])
def test_without_a_period_the_offset_is_from_the_epoch(period):
    time = np.array([95.0, 100.0, 107.5])
    assert not has_period(period)
    assert transit_offset(time, period, 100.0) == pytest.approx([-5.0, 0.0, 7.5])


def test_a_signal_offsets_by_its_own_ephemeris():
    periodic = Signal(1, 1, 0, "periodic", "bls", 3.0, 10.0, 0.1, 1e-3, 1e-4, 10.0, 10.0, 3)
    single = Signal(1, 1, 1, "single", "single_event", math.nan, 10.0, 0.1, 1e-3, 1e-4, 10.0,
                    math.nan, 1)
    assert periodic.periodic and not single.periodic
    assert periodic.offset(np.array([16.2])) == pytest.approx([0.2])
    assert single.offset(np.array([16.2])) == pytest.approx([6.2])


def test_the_coincidence_chance_falls_with_each_event_and_saturates_at_one():
    assert coincidence_chance(0.1, 2.0, 1) == pytest.approx(0.1)
    assert coincidence_chance(0.1, 2.0, 3) == pytest.approx(1e-3)
    assert coincidence_chance(2.0, 2.0, 5) == 1.0


def test_snr_bins_are_labelled_by_both_edges_the_last_open():
    assert [snr_bin_label(low) for low in SNR_BINS] == [
        "0-7", "7-10", "10-15", "15-20", "20-30", "30-50", ">= 50"]
