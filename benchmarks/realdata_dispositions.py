"""Every planet and binary of ../shared/realdata searched and vetted as a user's run does.

    python benchmarks/realdata_dispositions.py [--realdata ../shared/realdata]

Per light curve (a star's sectors joined where it has several, as the workflow does), the
signals found and their dispositions, and for each known planet the disposition of the
signal at its period (the single event for TOI-813 b). Prints markdown rows.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import transitflow
from transitflow.lightcurve import stitch
from transitflow.readers import read_lightcurves

REPO = Path(__file__).resolve().parents[1]
#: Star -> (files under lightcurves/, TIC for a file without one, known planets' periods in
#: days: NaN for a single transit; none for a binary).
CASES = {
    "WASP-18": (["exovetter/wasp18b.fits"], None, [0.941453]),
    "TOI-237": (["tls/toi237.csv"], 305048087, [5.436167]),
    "TOI-813": (["tesslatte/tic55525572_lc.fits"], None, [math.nan]),
    "WASP-47 (K2)": (["dave/ktwo206103150-c03_llc.fits"], None, [4.159151, 0.789518, 9.03052]),
    "L 98-59": (["sherlock/TOI-175_TIC307210830_lc_data.csv"], None,
                [2.253106, 3.690676, 7.45073]),
    "TOI-1798": (["sherlock/TOI-1798_TIC198153540_lc.csv"], None, [0.437808, 8.021473]),
    "CM Dra S24": (["modebs/cm-dra/tess2020106103520-s0024-0000000199574208-0180-s_lc.fits"],
                   None, []),
    "CM Dra S25": (["modebs/cm-dra/tess2020133194932-s0025-0000000199574208-0182-s_lc.fits"],
                   None, []),
    "CM Dra S26": (["modebs/cm-dra/tess2020160202036-s0026-0000000199574208-0188-s_lc.fits"],
                   None, []),
    "TIC 117544915": (["qusi/tess2018206045859-s0001-0000000117544915-0120-s_lc.fits"], None,
                      []),
}
PERIOD_MATCH = 2e-3  # relative


def dispositions(realdata: Path) -> list[str]:
    """One markdown row per star: its signals' periods and dispositions, its planets'."""
    rows = []
    for name, (files, tic, periods) in CASES.items():
        lcs = [lc for file in files for lc in read_lightcurves(realdata / "lightcurves" / file,
                                                              tic=tic)]
        lc = stitch(lcs) if len(lcs) > 1 else lcs[0]
        vetted = transitflow.vet(lc, transitflow.search(lc))
        found = ", ".join(f"{'single' if math.isnan(row.period) else f'{row.period:.4f} d'} "
                          f"{row.disposition}" for row in vetted.itertuples())
        planets = []
        for period in periods:
            hit = (vetted[vetted["kind"] == "single"] if math.isnan(period)
                   else vetted[(vetted["period"] / period - 1).abs() < PERIOD_MATCH])
            planets.append(f"{'single' if math.isnan(period) else period}: "
                           f"{'/'.join(hit['disposition']) or 'not found'}")
        rows.append(f"| {name} | {found} | {'; '.join(planets) or '(binary)'} |")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--realdata", type=Path, default=REPO.parent / "shared" / "realdata")
    args = parser.parse_args()
    print("| star | signals found | known planets |\n|---|---|---|")
    print("\n".join(dispositions(args.realdata)))


if __name__ == "__main__":
    main()
