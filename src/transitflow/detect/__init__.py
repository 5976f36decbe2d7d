"""Detection: a batched box search over every light curve of a shard, thresholds set on
inverted light curves, and the policy that picks the light curves for the in-depth search.

- :mod:`.config`: the ``detect`` section of the workflow config.
- :mod:`.batch`: the batched search (:func:`search_batch`, :func:`detect_shard`).
- :mod:`.policy`: thresholds from the nulls and the detection policy (:func:`select_for_search`).
- :mod:`.stage`: the detect and flag stages from their files (``run_detect``, ``run_flag``).
"""

from transitflow.detect.batch import detect_shard, search_batch, trial_periods
from transitflow.detect.config import POLICIES, DetectConfig
from transitflow.detect.policy import detection_paths, null_thresholds, select_for_search

__all__ = ["POLICIES", "DetectConfig", "detect_shard", "detection_paths", "null_thresholds",
           "search_batch", "select_for_search", "trial_periods"]
