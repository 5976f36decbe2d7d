"""The in-depth search of a star's sectors joined, on every multi-sector star of realdata.

    python benchmarks/stitched_search_benchmark.py [--realdata ../shared/realdata]

Reads every light curve under ``realdata/lightcurves``, joins the sectors of each star read
in two or more (as the data stage does with ``stitch_sectors: true``) and times
``search_lightcurve`` with the default ``SearchConfig`` on one core. Prints a Markdown table
row per star: sectors, baseline, cadences, seconds and the periods found (a single event
as "single").
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from transitflow.files import find_files
from transitflow.ingest import ingest_local, with_stitched
from transitflow.searching import search_lightcurve

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--realdata", type=Path, default=REPO.parent / "shared" / "realdata")
    args = parser.parse_args()
    data = with_stitched(ingest_local(find_files(f"{args.realdata}/lightcurves/**/*")))
    joined = data.ledger[data.ledger.status == "stitched"].set_index("key")["reason"]
    print("| star | sectors | baseline (d) | cadences | search (s) | periods found (d) |")
    print("|---|---|---|---|---|---|")
    for lc in (lc for lc in data.light_curves if lc.meta.stitched):
        start = time.perf_counter()
        signals = search_lightcurve(lc)
        seconds = time.perf_counter() - start
        found = ", ".join("single" if s.kind == "single" else f"{s.period:.4f}" for s in signals)
        sectors = joined[lc.meta.key].split()[1]
        print(f"| TIC {lc.meta.tic} | {sectors} | {lc.time[-1] - lc.time[0]:.0f} | {len(lc):,} "
              f"| {seconds:.1f} | {found} |", flush=True)
    print(f"\nload (1 min) at the end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
