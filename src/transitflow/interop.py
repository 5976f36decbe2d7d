"""lightkurve light curves to and from :class:`~transitflow.lightcurve.LightCurve`, for use
in notebooks: ``from_lightkurve(lightkurve.read(path))``, ``to_lightkurve(lc).plot()``."""

from __future__ import annotations

import warnings

import numpy as np

from transitflow.lightcurve import BTJD_ZERO, LightCurve, LightCurveMeta

#: lightkurve columns per LightCurve field, the first one present wins.
LIGHTKURVE_COLUMNS = {
    "flux_err": ("flux_err",),
    "centroid_col": ("centroid_col", "mom_centr1"),
    "centroid_row": ("centroid_row", "mom_centr2"),
    "background": ("sap_bkg", "background", "flux_bkg"),
    "quality": ("quality",),
}
#: Metadata keys of the target ID and of the sector (campaign, quarter), in order.
ID_KEYS = ("TICID", "KEPLERID", "TARGETID", "LABEL")
SECTOR_KEYS = ("SECTOR", "CAMPAIGN", "QUARTER")


def from_lightkurve(lk_lc, tic: int | None = None, sector: int | None = None) -> LightCurve:
    """A lightkurve ``LightCurve`` (any mission) as a LightCurve: time in BTJD, its flux
    column, error, centroids, background and quality where it has them; the target ID and
    sector (K2 campaign, Kepler quarter) from its metadata unless given.

    Raises
    ------
    ValueError
        When the target ID or the sector is neither given nor in the metadata.
    """
    meta = {key.upper(): value for key, value in lk_lc.meta.items()}
    tic = tic if tic is not None else _first_int(meta, ID_KEYS)
    sector = sector if sector is not None else _first_int(meta, SECTOR_KEYS)
    if tic is None or sector is None:
        missing = "target ID (TICID, KEPLERID)" if tic is None else "sector (SECTOR, CAMPAIGN)"
        raise ValueError(f"the lightkurve light curve has no {missing} in its meta; pass "
                         f"{'tic' if tic is None else 'sector'}=")
    time = np.asarray(lk_lc.time.tdb.jd, dtype=np.float64) - BTJD_ZERO
    columns = {field: _column(lk_lc, names) for field, names in LIGHTKURVE_COLUMNS.items()}
    info = LightCurveMeta(
        tic=tic, sector=sector, mission=str(meta.get("MISSION") or "TESS"),
        camera=_first_int(meta, ("CAMERA",)) or -1, ccd=_first_int(meta, ("CCD",)) or -1,
        cadence_min=float(np.nanmedian(np.diff(time))) * 1440.0 if len(time) > 1 else np.nan,
        tmag=_number(meta, "TESSMAG"), radius=_number(meta, "RADIUS"),
        teff=_number(meta, "TEFF"), logg=_number(meta, "LOGG"),
        contamination=1.0 - _number(meta, "CROWDSAP"),
        flux_column=str(meta.get("FLUX_ORIGIN") or "").upper(),
        ra=_number(meta, "RA_OBJ", "RA"), dec=_number(meta, "DEC_OBJ", "DEC"),
        source_file=str(meta.get("FILENAME") or ""))
    return LightCurve.from_arrays(info, time, np.asarray(lk_lc.flux.value), **columns)


def to_lightkurve(lc: LightCurve):
    """``lc`` as a ``lightkurve.LightCurve`` (time BTJD, with its metadata in ``meta``)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # lightkurve warns on import
        import lightkurve
    from astropy.time import Time

    meta = {"TICID" if lc.meta.mission == "TESS" else "KEPLERID": lc.meta.tic,
            "SECTOR" if lc.meta.mission == "TESS" else "CAMPAIGN": lc.meta.sector,
            "MISSION": lc.meta.mission, "FLUX_ORIGIN": lc.meta.flux_column.lower(),
            "FILENAME": lc.meta.source_file}
    return lightkurve.LightCurve(
        time=Time(lc.time, format="btjd", scale="tdb"), flux=lc.flux, flux_err=lc.flux_err,
        data={"centroid_col": lc.centroid_col, "centroid_row": lc.centroid_row,
              "sap_bkg": lc.background, "quality": lc.quality}, meta=meta)


def _column(lk_lc, names: tuple[str, ...]) -> np.ndarray | None:
    name = next((name for name in names if name in lk_lc.colnames), None)
    if name is None:
        return None
    values = lk_lc[name]
    return np.asarray(getattr(values, "value", values))


def _first_int(meta: dict, keys: tuple[str, ...]) -> int | None:
    for key in keys:
        value = meta.get(key)
        if isinstance(value, (int, np.integer)) or (isinstance(value, str) and value.isdigit()):
            return int(value)
    return None


def _number(meta: dict, *keys: str) -> float:
    """The first numeric value among ``keys``; NaN if none is."""
    values = (meta.get(key) for key in keys)
    return next((float(value) for value in values
                 if isinstance(value, (int, float, np.number)) and not isinstance(value, bool)),
                float("nan"))
