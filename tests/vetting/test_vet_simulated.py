"""Vetting on the simulated sector's own populations, with the planted ephemerides."""

import numpy as np
import pytest

from transitflow.signals import Signal
from transitflow.simulate import SimConfig, simulate_stars
from transitflow.vetting import VetConfig, disposition, vet_signal


def planted_signals(sim_class: str, n_stars: int = 60):
    """(light curve, planted primary signal) for each star of one simulated class."""
    batch = simulate_stars(SimConfig(n_stars=n_stars, seed=7, class_fractions={sim_class: 0.5}))
    light_curves = {lc.meta.key: lc for lc in batch.light_curves}
    truth = batch.signals
    primary = truth[(truth.sim_class == sim_class) & (truth.signal_index == 0)
                    & (truth.kind == "periodic") & (truth.n_events_in_data >= 2)]
    for row in primary.itertuples():
        signal = Signal(tic=row.tic, sector=row.sector, index=0, kind="periodic", method="truth",
                        period=row.period, epoch=row.epoch, duration=row.duration,
                        depth=row.depth, depth_err=row.depth / 20, snr=20.0, sde=20.0,
                        n_transits=int(row.n_events_in_data))
        yield light_curves[row.key], signal


def centroid_verdicts(sim_class: str) -> list[tuple[bool, str]]:
    verdicts = []
    for lc, signal in planted_signals(sim_class):
        results = vet_signal(lc, signal, VetConfig())
        centroid = next(result for result in results if result.test == "centroid")
        verdicts.append((centroid.flag, disposition(signal, results, VetConfig())[0]))
    return verdicts


@pytest.mark.slow
def test_simulated_background_binaries_are_caught_by_the_centroid_test():
    verdicts = centroid_verdicts("beb")
    assert len(verdicts) >= 10
    flagged = np.mean([flag for flag, _ in verdicts])
    assert flagged >= 0.8, f"centroid test caught {flagged:.0%} of the blended binaries"
    assert np.mean([label == "BEB" for _, label in verdicts]) >= 0.7


@pytest.mark.slow
def test_simulated_planets_pass_the_centroid_test():
    verdicts = centroid_verdicts("planet")
    assert len(verdicts) >= 10
    assert np.mean([flag for flag, _ in verdicts]) <= 0.05
