"""Training of the planet classifier (the ``train`` stage).

Modules: ``trainer`` (:func:`run_training`: streamed batches, checkpoints, data-parallel
under ``torchrun``), ``config`` (:class:`TrainConfig` and the paper's presets),
``metrics``, ``card`` (the model card and its figures), ``distributed`` (the process group),
``stage`` (:func:`~transitflow.training.stage.run_train`, the stage from its files).
"""

from transitflow.training.config import TRAIN_PRESETS, TrainConfig
from transitflow.training.metrics import (average_precision, f1_score, precision_recall_curve,
                                          recall_at_precision, roc_auc, threshold_at_false_alarm,
                                          threshold_at_precision)
from transitflow.training.trainer import run_training

__all__ = ["TRAIN_PRESETS", "TrainConfig", "average_precision", "f1_score",
           "precision_recall_curve", "recall_at_precision", "roc_auc", "run_training",
           "threshold_at_false_alarm", "threshold_at_precision"]
