"""The CTOI export: the run's new PCs under ExoFOP's TOI-table names."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from transitflow.report.candidates import FLOAT_FORMAT
from transitflow.report.catalogs import TOI_NONE
from transitflow.tables import atomic_output


#: The CTOI export: candidate column -> its name in ExoFOP's TOI table.
CTOI_COLUMNS = {"tic": "TIC ID", "sectors": "Sectors", "period": "Period (days)",
                "period_err": "Period (days) err", "epoch_bjd": "Epoch (BJD)",
                "epoch_err": "Epoch (BJD) err", "duration_h": "Duration (hours)",
                "duration_err_h": "Duration (hours) err", "depth_ppm": "Depth (ppm)",
                "depth_err_ppm": "Depth (ppm) err", "radius_earth": "Planet Radius (R_Earth)",
                "snr": "Planet SNR"}


def ctoi_table(candidates: pd.DataFrame, origin: str) -> pd.DataFrame:
    """The PCs of TESS stars that match no known TOI, ready to propose as community TOIs
    (CTOIs): the columns of :data:`CTOI_COLUMNS` under ExoFOP's TOI-table names, and
    ``Notes`` naming ``origin`` (code version and run), the signal and how it was raised.
    Empty when the run was given no TOI table (``known_tois``): nothing can then be called
    new."""
    new = candidates[(candidates["disposition"] == "PC") & (candidates["toi_match"] == TOI_NONE)
                     & (candidates["mission"] == "TESS")]
    notes = [f"{origin}; {row['key']}: {row['kind']} signal, raised by "
             f"{row['detected_by'] or 'the search'}, network score {row['score']:.2f}"
             for row in new.to_dict("records")]
    return new[list(CTOI_COLUMNS)].rename(columns=CTOI_COLUMNS).assign(Notes=notes)


def write_ctoi(candidates: pd.DataFrame, path: str | Path, origin: str) -> Path:
    """Write :func:`ctoi_table` as CSV (formatted as the candidate table)."""
    with atomic_output(path) as partial:
        ctoi_table(candidates, origin).to_csv(partial, index=False, float_format=FLOAT_FORMAT,
                                             lineterminator="\n")
    return Path(path)
