"""Current catalogs from the web, for runs that name a catalog by URL instead of by file.

A catalog setting (``labels: toi_table``, ``tess_ebs``, ``tess_ebs_readme``, ``yu2019``,
``known_tois`` and ``known_ebs``) is a file path, an ``http(s)://`` URL, or a shortcut:
``exofop`` for the ExoFOP-TESS TOI table, ``vizier`` for the TESS EB catalog of Prsa et al.
2022 at CDS. The
workflow fetches named catalogs into ``results/<run>/catalogs/`` once, so a run keeps the
exact bytes its labels and crossmatch came from. The Snakefile imports this module, so it
imports the network libraries only when fetching.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

EXOFOP_TOI_URL = "https://exofop.ipac.caltech.edu/tess/download_toi.php?sort=toi&output=csv"
TESS_EBS_URL = "https://cdsarc.cds.unistra.fr/ftp/J/ApJS/258/16/tess-ebs.dat"
SHORTCUTS = {"toi_table": {"exofop": EXOFOP_TOI_URL}, "known_tois": {"exofop": EXOFOP_TOI_URL},
             "tess_ebs": {"vizier": TESS_EBS_URL}, "known_ebs": {"vizier": TESS_EBS_URL}}
#: Where each catalog setting's download goes, in the run's catalogs/ folder.
FILE_NAMES = {"toi_table": "toi_table.csv", "known_tois": "known_tois.csv",
              "tess_ebs": "tess-ebs.dat", "tess_ebs_readme": "ReadMe", "yu2019": "yu2019.csv",
              "known_ebs": "known_ebs/tess-ebs.dat", "known_ebs_readme": "known_ebs/ReadMe"}
#: A CDS table's setting -> the setting of the ReadMe that describes it.
README_OF = {"tess_ebs": "tess_ebs_readme", "known_ebs": "known_ebs_readme"}


class CatalogUnreachable(ConnectionError):
    """A catalog server did not answer; ``str()`` is one line saying what to do."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"{url} could not be reached ({reason}); check the network, or give "
                         "the catalog as a file path")


def catalog_urls(settings: Mapping[str, str]) -> dict[str, str]:
    """Setting -> URL, for the catalog settings that name one (shortcut or URL); file paths
    are left out. A fetched CDS table (``tess_ebs``, ``known_ebs``) without its ReadMe
    setting gets the CDS ``ReadMe`` beside it."""
    urls = {}
    for key, value in settings.items():
        url = SHORTCUTS.get(key, {}).get(value, value)
        if key in FILE_NAMES and isinstance(url, str) and url.startswith(("http://", "https://")):
            urls[key] = url
    for table, readme in README_OF.items():
        if table in urls and not settings.get(readme):
            urls[readme] = urls[table].rsplit("/", 1)[0] + "/ReadMe"
    return urls


def fetch_catalog(url: str, dest: str | Path, retries: int = 4, backoff_s: float = 2.0,
                  timeout_s: float = 120.0) -> int:
    """Download ``url`` to ``dest`` (written whole or not at all); the bytes written.

    Timeouts, lost connections and HTTP 5xx/429 are retried ``retries`` times with
    exponential backoff from ``backoff_s``.

    Raises
    ------
    CatalogUnreachable
        If no connection could be made after the retries.
    ValueError
        On any other HTTP error, or an empty answer.
    """
    import requests

    from transitflow.http import GaveUp, RetryPolicy, save_url, unreachable

    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(f"{dest.name}.{os.getpid()}.part")
    try:
        nbytes = RetryPolicy(retries, backoff_s).run(
            lambda: save_url(requests.get, url, part, timeout_s))[0]
    except GaveUp as gave_up:
        part.unlink(missing_ok=True)
        if unreachable(gave_up.error):
            raise CatalogUnreachable(url, str(gave_up)) from gave_up.error
        raise ValueError(f"{url}: {gave_up}") from gave_up.error
    if nbytes == 0:
        part.unlink()
        raise ValueError(f"{url}: the server answered with an empty file")
    os.replace(part, dest)
    return nbytes
