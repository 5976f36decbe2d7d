"""Candidate tables and the self-contained HTML report.

Modules: ``config`` (:class:`ReportConfig`), ``candidates`` (the candidate table),
``catalogs`` (the TOI crossmatch and known binaries), ``ctoi`` (the CTOI export), ``truth``
(recovery against a simulation's truth, reliability from the nulls), ``html`` and
``assets`` (the report page), ``stage`` (the report stage: all of it from a run's files).
"""

from transitflow.report.candidates import (BACK_COLUMNS, FRONT_COLUMNS, build_candidates,
                                           filter_pc_radius, light_curve_keys, write_candidates)
from transitflow.report.config import ReportConfig
from transitflow.report.ctoi import ctoi_table, write_ctoi
from transitflow.report.html import bundle_sheets, write_report
from transitflow.report.truth import (held_out_stars, injections_against_truth, planet_recall,
                                      reliability, truth_recall_by_snr, truth_recovery)

__all__ = ["BACK_COLUMNS", "FRONT_COLUMNS", "ReportConfig",
           "build_candidates", "bundle_sheets", "ctoi_table", "filter_pc_radius",
           "held_out_stars", "injections_against_truth", "light_curve_keys", "planet_recall",
           "reliability", "truth_recall_by_snr", "truth_recovery", "write_candidates",
           "write_ctoi", "write_report"]
