"""Options of the detection stage."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from transitflow.options import options_from_dict, reject_invalid

POLICIES = ("union", "network", "search")


@dataclass(frozen=True)
class DetectConfig:
    """Options of the detection stage (the ``detect`` section of the workflow config).

    policy : which light curves go on to the in-depth search and vetting. ``union``: network
        score above its threshold, or a periodic, single-event or edge-event detection;
        ``network``: the score alone (no batched search runs); ``search``: the detections
        alone (no network).
    false_alarms_per_10k : false alarms per 10,000 stars allowed to each search statistic
        (periodic, single event); the thresholds are the matching quantiles of the inverted
        light curves' statistics, never below the floors that follow.
    edge_false_alarms_per_10k : the same for the edge event (see ``edge_days``), whose
        nulls have a long tail and whose false alarms cost in-depth searches and crowd the
        sector's edges with events.
    min_sde, min_snr : floors of the periodic SDE and SNR thresholds.
    min_single_snr : floor of the single-event and edge-event SNR thresholds.
    bin_minutes : finer cadences are binned to this for the search (one bin width for all
        light curves of a cadence, so that they are searched together).
    edge_days : data this close to the start or end of a stretch of data (gaps over half a
        day split stretches) are left out of the periodic and single-event statistics:
        detrending leaves ramps there, which dominated their false alarms on inverted light
        curves. The edge-event statistic (the strongest dip reaching into these edges) has
        its own threshold from the inverted light curves' edges. The in-depth search keeps
        the edges.
    batch_size : light curves searched together.
    n_peaks : periodogram peaks reported per light curve (the best and independent others).
    device : torch device of the search: ``cpu``, ``cuda`` or ``auto`` (a GPU when there is one).
    """

    policy: str = "union"
    false_alarms_per_10k: float = 500.0
    edge_false_alarms_per_10k: float = 50.0
    min_sde: float = 7.0
    min_snr: float = 7.0
    min_single_snr: float = 7.0
    bin_minutes: float = 10.0
    edge_days: float = 0.5
    batch_size: int = 512
    n_peaks: int = 3
    device: str = "cpu"

    def __post_init__(self) -> None:
        reject_invalid("detect config", [
            (self.policy not in POLICIES, f"policy must be one of {', '.join(POLICIES)}, "
                                          f"not {self.policy!r}"),
            (not 0 < self.false_alarms_per_10k < 10_000,
             "false_alarms_per_10k must be between 0 and 10000"),
            (not 0 < self.edge_false_alarms_per_10k < 10_000,
             "edge_false_alarms_per_10k must be between 0 and 10000"),
            (min(self.min_sde, self.min_snr, self.min_single_snr) < 0,
             "min_sde, min_snr and min_single_snr must be >= 0"),
            (self.bin_minutes <= 0, "bin_minutes must be positive"),
            (self.edge_days < 0, "edge_days must be >= 0"),
            (self.device not in ("cpu", "cuda", "auto"),
             f"device must be cpu, cuda or auto, not {self.device!r}"),
            (self.batch_size < 1 or self.n_peaks < 1, "batch_size and n_peaks must be >= 1"),
        ])

    @classmethod
    def from_dict(cls, options: Mapping) -> DetectConfig:
        """The options from a config section; an unknown key is an error naming it."""
        return options_from_dict(cls, options, "detect")
