"""Readers against every file type in ../shared/realdata, and against broken input."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from astropy.io import fits
from astropy.table import Table

from transitflow.ingest import ingest_local
from transitflow.readers import FORMATS, LightCurveReadError, detect_format, read_lightcurves
from transitflow.readers.text import tess_sectors

LC = Path("lightcurves")
WASP18 = LC / "exovetter/wasp18b.fits"
TOI813 = LC / "tesslatte/tic55525572_lc.fits"
QUSI_EB = LC / "qusi/tess2018206045859-s0001-0000000126602778-0120-s_lc.fits"
AN_CAM_FFI = LC / "modebs/an-cam/hlsp_tess-spoc_tess_phot_0000000103098373-s0025_tess_v1_lc.fits"
V889_FFI = LC / "modebs/v889-aql/hlsp_tess-spoc_tess_phot_0000000300000680-s0040_tess_v1_lc.fits"
WASP47_K2 = LC / "dave/ktwo206103150-c03_llc.fits"
TOI237 = LC / "tls/toi237.csv"
TOI175 = LC / "sherlock/TOI-175_TIC307210830_lc_data.csv"
TOI1798 = LC / "sherlock/TOI-1798_TIC198153540_lc.csv"
TOI237_TIC = 305048087
BKJD_TO_BTJD = -2167.0  # truth.csv gives the K2 time span in BKJD


@pytest.fixture(scope="module")
def truth(realdata: Path) -> pd.DataFrame:
    return pd.read_csv(realdata / "truth.csv")


def good_span(lcs) -> tuple[float, float]:
    """First and last time of unflagged cadences with finite flux, as truth.csv's time_span."""
    times = np.concatenate([lc.good().time for lc in lcs])
    return times.min(), times.max()


def only(lcs):
    assert len(lcs) == 1
    return lcs[0]


def write_table(path: Path, columns: dict[str, np.ndarray], **cards) -> Path:
    """A minimal light-curve FITS file: primary header ``cards`` and one binary table."""
    hdus = [fits.PrimaryHDU(header=fits.Header(cards)), fits.table_to_hdu(Table(columns))]
    fits.HDUList(hdus).writeto(path)
    return path


def write_bytes(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


@pytest.mark.realdata
def test_every_realdata_file_matches_truth_target_sector_and_time_span(realdata, truth):
    for row in truth.itertuples():
        tic = TOI237_TIC if row.file == str(TOI237) else None
        lcs = read_lightcurves(realdata / row.file, tic=tic)
        shift = BKJD_TO_BTJD if row.file == str(WASP47_K2) else 0.0
        start, end = (float(t) + shift for t in row.time_span.split("-"))
        assert good_span(lcs) == pytest.approx((start, end), abs=0.02), row.file
        assert {lc.meta.tic for lc in lcs} == {int(row.tic_or_epic.split()[1])}, row.file
        if row.sector.isdigit() and row.file.endswith(".fits"):  # CSV sectors are segments
            assert only(lcs).meta.sector == int(row.sector), row.file
        assert all(np.isfinite(lc.time).all() and lc.meta.source_file.endswith(row.file)
                   for lc in lcs)


@pytest.mark.realdata
@pytest.mark.parametrize("path, fmt", [
    (WASP18, "lightkurve"), (TOI813, "spoc"), (QUSI_EB, "spoc"), (AN_CAM_FFI, "tess-spoc-ffi"),
    (V889_FFI, "tess-spoc-ffi"), (WASP47_K2, "k2"), (TOI237, "csv"), (TOI175, "csv")])
def test_detect_format(realdata, path, fmt):
    assert fmt in FORMATS and detect_format(realdata / path) == fmt


@pytest.mark.realdata
@pytest.mark.parametrize("path, flux", [(WASP18, "FLUX"), (TOI813, "PDCSAP_FLUX"),
                                        (V889_FFI, "PDCSAP_FLUX"), (WASP47_K2, "PDCSAP_FLUX")])
def test_fits_columns_equal_astropy(realdata, path, flux):
    lc = only(read_lightcurves(realdata / path))
    data = fits.getdata(realdata / path, 1)
    names = data.columns.names
    finite = np.isfinite(data["TIME"])
    expected = {"flux": flux, "flux_err": f"{flux}_ERR", "centroid_col": "MOM_CENTR1",
                "centroid_row": "MOM_CENTR2", "background": "SAP_BKG",
                "quality": "QUALITY" if "QUALITY" in names else "SAP_QUALITY"}
    for field, column in expected.items():
        if column in names:
            values = data[column][finite].astype(getattr(lc, field).dtype)
            np.testing.assert_array_equal(getattr(lc, field), values, err_msg=field)
        else:
            assert np.isnan(getattr(lc, field)).all(), field


@pytest.mark.realdata
def test_lightkurve_fits_wasp18(realdata):
    lc = only(read_lightcurves(realdata / WASP18))
    meta = lc.meta
    assert (meta.tic, meta.sector, meta.camera, meta.ccd) == (100100827, 2, 2, 2)
    assert meta.mission == "TESS"
    assert meta.cadence_min == pytest.approx(2.0, abs=1e-3)  # no TIMEDEL: median step
    assert np.isnan(meta.contamination) and np.isnan(meta.tmag) and meta.flux_column == "FLUX"
    assert np.nanmedian(lc.flux) == pytest.approx(1.0, abs=0.01)
    assert np.isfinite(lc.centroid_col).mean() > 0.9 and np.isnan(lc.background).all()


@pytest.mark.realdata
def test_spoc_toi813_metadata(realdata):
    meta = only(read_lightcurves(realdata / TOI813)).meta
    assert (meta.tic, meta.sector, meta.camera, meta.ccd) == (55525572, 5, 4, 2)
    assert meta.cadence_min == 2.0
    assert (meta.tmag, meta.radius, meta.teff, meta.logg) == pytest.approx(
        (9.82, 1.9325, 5823.7, 3.77), rel=1e-4)
    assert meta.contamination == pytest.approx(1 - 0.98369962)
    assert np.isnan(meta.mass)


@pytest.mark.realdata
@pytest.mark.parametrize("name", [
    "tess2018206045859-s0001-0000000126602778-0120-s_lc.fits",
    "tess2018206045859-s0001-0000000117544915-0120-s_lc.fits",
    "tess2018206045859-s0001-0000000150065151-0120-s_lc.fits",
    "tess2018234235059-s0002-0000000150065151-0121-s_lc.fits"])
def test_qusi_spoc_metadata_equals_headers(realdata, name):
    path = realdata / LC / "qusi" / name
    meta = only(read_lightcurves(path)).meta
    primary, table = fits.getheader(path, 0), fits.getheader(path, 1)
    assert (meta.tic, meta.sector, meta.camera, meta.ccd) == (
        primary["TICID"], primary["SECTOR"], primary["CAMERA"], primary["CCD"])
    assert meta.tic == int(name.split("-")[2]) and meta.sector == int(name.split("-")[1][1:])
    assert meta.tmag == pytest.approx(primary["TESSMAG"])
    assert (meta.ra, meta.dec) == pytest.approx((primary["RA_OBJ"], primary["DEC_OBJ"]))
    assert meta.flux_column == "PDCSAP_FLUX"
    assert meta.contamination == pytest.approx(1 - table["CROWDSAP"])
    assert meta.cadence_min == pytest.approx(2.0)


@pytest.mark.realdata
def test_qusi_eb_literal_values(realdata):
    meta = only(read_lightcurves(realdata / QUSI_EB)).meta
    assert (meta.tic, meta.sector, meta.camera, meta.ccd) == (126602778, 1, 1, 1)
    assert meta.tmag == pytest.approx(10.793) and meta.teff == 7377.0
    assert meta.contamination == pytest.approx(0.00769, abs=1e-5) and np.isnan(meta.radius)


@pytest.mark.realdata
@pytest.mark.parametrize("path, tic, sector, cadence", [
    (AN_CAM_FFI, 103098373, 25, 30.0), (V889_FFI, 300000680, 40, 10.0)])
def test_ffi_hlsp_cadence(realdata, path, tic, sector, cadence):
    lc = only(read_lightcurves(realdata / path))
    assert (lc.meta.tic, lc.meta.sector) == (tic, sector)
    assert lc.meta.cadence_min == pytest.approx(cadence)
    assert np.median(np.diff(lc.time)) * 1440 == pytest.approx(cadence, rel=1e-3)


@pytest.mark.realdata
def test_k2_time_converted_to_btjd(realdata):
    lc = only(read_lightcurves(realdata / WASP47_K2))
    meta = lc.meta
    assert (meta.tic, meta.sector, meta.mission) == (206103150, 3, "K2")
    bkjd = fits.getdata(realdata / WASP47_K2, 1)["TIME"]
    np.testing.assert_allclose(lc.time, bkjd[np.isfinite(bkjd)] - 2167.0)
    assert lc.time.min() == pytest.approx(2144.1028 - 2167, abs=1e-3)
    assert meta.cadence_min == pytest.approx(29.42, abs=0.01)
    assert (lc.quality != 0).any() and meta.contamination == 0.0


@pytest.mark.realdata
def test_eleanor_style_csv_reads_its_corrected_flux(realdata):
    """A leading index column, then time, corr_flux, pca_flux, psf_flux, flux_err,
    time_flag, sector (extra/truth.csv: TIC 139456051, sector 1, 30-min)."""
    path = realdata / "extra" / "tessipack" / "star_TIC_139456051_s1_ffi.csv"
    lc = only(read_lightcurves(path))
    assert (lc.meta.tic, lc.meta.sector) == (139456051, 1)
    assert lc.meta.cadence_min == pytest.approx(30.0, rel=1e-3)
    table = pd.read_csv(path)
    np.testing.assert_allclose(lc.flux, table["corr_flux"].to_numpy(np.float32))
    np.testing.assert_allclose(lc.flux_err, table["flux_err"].to_numpy(np.float32))
    np.testing.assert_array_equal(lc.quality, table["time_flag"])  # TESS quality bits
    dumps = (table["time_flag"] & 32).to_numpy(bool)  # reaction wheel desaturations
    assert dumps.sum() >= 5 and len(lc.good()) <= len(lc) - dumps.sum()


@pytest.mark.realdata
def test_headerless_csv_toi237(realdata):
    with pytest.raises(LightCurveReadError, match="pass tic="):
        read_lightcurves(realdata / TOI237)
    lc = only(read_lightcurves(realdata / TOI237, tic=TOI237_TIC))
    assert (lc.meta.tic, lc.meta.sector, len(lc)) == (TOI237_TIC, 2, 18300)  # from its times
    assert lc.time[0] == pytest.approx(1354.1134205092073)
    assert np.isfinite(lc.flux_err).all() and (lc.quality == 0).all()
    assert only(read_lightcurves(realdata / TOI237, tic=TOI237_TIC, sector=5)).meta.key == \
        f"{TOI237_TIC}-s0005"


@pytest.mark.realdata
def test_sherlock_raw_csv_toi175_sectors(realdata):
    lcs = read_lightcurves(realdata / TOI175)  # L 98-59's sectors 28-39, as TESS observed it
    assert [lc.meta.sector for lc in lcs] == [28, 29, 32, 35, 36, 37, 38, 39]
    assert {lc.meta.tic for lc in lcs} == {307210830}
    assert all(lc.time[0] - previous.time[-1] > 0.25 for previous, lc in zip(lcs, lcs[1:]))
    assert all(np.ptp(lc.time) < 28 for lc in lcs)
    for lc in lcs:
        assert np.isfinite(lc.background).mean() > 0.99
        assert np.isfinite(lc.centroid_row).mean() > 0.99
        assert np.nanmedian(lc.flux) > 1e4 and (lc.quality != 0).any()
    assert sum(len(lc) for lc in lcs) == 29881 - 1291  # rows without a time dropped


@pytest.mark.realdata
def test_sherlock_normalized_csv_toi1798_sectors(realdata):
    lcs = read_lightcurves(realdata / TOI1798)  # consecutive sectors 22-23 and 49-50 parted
    assert [(lc.meta.sector, round(lc.time[0])) for lc in lcs] == [
        (16, 1739), (22, 1900), (23, 1929), (49, 2640), (50, 2665)]
    assert all(np.isfinite(lc.flux_err).all() and np.isnan(lc.centroid_col).all() for lc in lcs)
    assert only(read_lightcurves(realdata / TOI1798, sector=7)).meta.sector == 7


@pytest.mark.realdata
def test_fits_overrides_and_gzip(realdata, tmp_path):
    gzipped = tmp_path / "ffi.fits.gz"
    with open(realdata / AN_CAM_FFI, "rb") as source, gzip.open(gzipped, "wb") as target:
        shutil.copyfileobj(source, target)
    plain = only(read_lightcurves(realdata / AN_CAM_FFI))
    lc = only(read_lightcurves(gzipped, tic=7, sector=99))
    assert (lc.meta.tic, lc.meta.sector, lc.meta.camera) == (7, 99, plain.meta.camera)
    np.testing.assert_array_equal(lc.flux, plain.flux)


def test_lightkurve_flux_preferred_and_unsigned_quality(tmp_path):
    path = write_table(tmp_path / "lk.fits", {
        "TIME": np.array([1.0, np.nan, 3.0]), "FLUX": np.array([1.0, 2.0, 1.5]),
        "PDCSAP_FLUX": np.full(3, 5.0),
        "QUALITY": np.array([0, 40000, 65535], np.uint16)},
        CREATOR="lightkurve.LightCurve.to_fits()", OBJECT="TIC 42", SECTOR=3,
        **{"HIERARCH FLUX_ORIGIN": "pdcsap_flux"})
    assert fits.getheader(path, 1)["TZERO4"] == 32768
    assert detect_format(path) == "lightkurve"
    lc = only(read_lightcurves(path))
    assert (lc.meta.tic, lc.meta.sector) == (42, 3)
    np.testing.assert_array_equal(lc.time, [1.0, 3.0])
    np.testing.assert_array_equal(lc.flux, [1.0, 1.5])
    np.testing.assert_array_equal(lc.quality, [0, 65535])
    assert lc.meta.flux_column == "PDCSAP_FLUX"  # lightkurve's FLUX_ORIGIN


def write_hlsp(path: Path, columns: list[fits.Column], primary: dict, table: dict) -> Path:
    """A high-level science product as its pipeline writes it: identity in the primary
    header, time keywords in the table's."""
    hdu = fits.BinTableHDU.from_columns(columns, name="LIGHTCURVE")
    hdu.header.update(table)
    fits.HDUList([fits.PrimaryHDU(header=fits.Header(primary)), hdu]).writeto(path)
    return path


CADENCES = 1325.0 + np.arange(5) * 600 / 86400


@pytest.mark.parametrize(("sector", "detrended"), [(11, "KSPSAP_FLUX"), (56, "DET_FLUX")])
def test_qlp_reads_its_detrended_flux(tmp_path, sector, detrended):
    # QLP (archive.stsci.edu/hlsp/qlp): SAP and detrended flux, KSPSAP_FLUX up to sector 55
    # and DET_FLUX from sector 56, SAP_X/SAP_Y centroids, ORBITID
    flux = np.array([1.0, 0.998, 1.0, 1.001, 1.0])
    columns = [fits.Column(name="TIME", array=CADENCES, format="D", unit="BJD - 2457000, days"),
               fits.Column(name="CADENCENO", array=np.arange(5), format="J"),
               fits.Column(name="SAP_FLUX", array=flux * 1.02, format="E"),
               fits.Column(name=detrended, array=flux, format="E"),
               fits.Column(name=f"{detrended}_ERR", array=np.full(5, 3e-4), format="E"),
               fits.Column(name="QUALITY", array=np.array([0, 0, 0, 4096, 0]), format="J"),
               fits.Column(name="ORBITID", array=np.full(5, 2 * sector - 1), format="J"),
               fits.Column(name="SAP_X", array=np.full(5, 1201.3), format="E"),
               fits.Column(name="SAP_Y", array=np.full(5, 560.8), format="E"),
               fits.Column(name="SAP_BKG", array=np.full(5, 80.0), format="E")]
    path = write_hlsp(
        tmp_path / f"hlsp_qlp_tess_ffi_s{sector:04d}-0000000277554109_tess_v01_llc.fits",
        columns, {"ORIGIN": "MIT/QLP", "TELESCOP": "TESS", "OBJECT": "TIC 277554109",
                  "TICID": 277554109, "SECTOR": sector, "CAMERA": 1, "CCD": 3},
        {"BJDREFI": 2457000, "BJDREFF": 0.0, "TIMEDEL": 600 / 86400})
    lc = only(read_lightcurves(path))
    assert detect_format(path) == "tess-spoc-ffi"
    assert (lc.meta.tic, lc.meta.sector, lc.meta.flux_column) == (277554109, sector, detrended)
    np.testing.assert_allclose(lc.flux, flux)
    np.testing.assert_allclose(lc.flux_err, 3e-4)
    assert (lc.centroid_col == np.float32(1201.3)).all() and (lc.background == 80.0).all()
    np.testing.assert_array_equal(lc.quality, [0, 0, 0, 4096, 0])


def test_tglc_reads_its_calibrated_aperture_flux(tmp_path):
    # TGLC (archive.stsci.edu/hlsp/tglc) writes lower-case columns, fluxes calibrated to
    # about 1, TESS quality bits in TESS_flags and the TIC ID beside the Gaia one
    aperture = np.array([1.0, 0.99, 1.0, 1.01, 1.0])
    columns = [fits.Column(name="time", array=CADENCES, format="D", unit="d"),
               fits.Column(name="psf_flux", array=np.full(5, 5e3), format="E", unit="electron/s"),
               fits.Column(name="aperture_flux", array=np.full(5, 5e3), format="E",
                           unit="electron/s"),
               fits.Column(name="cal_psf_flux", array=np.full(5, 1.002), format="E"),
               fits.Column(name="cal_aper_flux", array=aperture, format="E"),
               fits.Column(name="background", array=np.full(5, 30.0), format="E",
                           unit="electron/s"),
               fits.Column(name="cadence_num", array=np.arange(5, dtype=np.int32), format="J"),
               fits.Column(name="TESS_flags", array=np.array([0, 0, 32, 0, 0]), format="J"),
               fits.Column(name="TGLC_flags", array=np.zeros(5, np.int32), format="J")]
    path = write_hlsp(
        tmp_path / "hlsp_tglc_tess_ffi_gaiaid-4755392374681472-s0056-cam1-ccd1_tess_v1_llc.fits",
        columns, {"ORIGIN": "UCSB/TGLC", "TELESCOP": "TESS", "OBJECT": "Gaia DR3 4755392374681472",
                  "TICID": 25155310, "SECTOR": 56, "CAMERA": 1, "CCD": 1, "TESSMAG": 9.9},
        {"BJDREFI": 2457000, "BJDREFR": 0.0, "TIMEDEL": 600 / 86400})
    lc = only(read_lightcurves(path))
    assert detect_format(path) == "tglc"
    assert (lc.meta.tic, lc.meta.sector, lc.meta.flux_column) == (25155310, 56, "CAL_APER_FLUX")
    assert lc.meta.cadence_min == pytest.approx(10.0)
    np.testing.assert_allclose(lc.time, CADENCES)
    np.testing.assert_allclose(lc.flux, aperture)
    np.testing.assert_array_equal(lc.quality, [0, 0, 32, 0, 0])
    np.testing.assert_allclose(lc.background, 30.0)


def test_tasoc_corrected_flux_in_ppm_becomes_relative_flux(tmp_path):
    # TASOC (archive.stsci.edu/hlsp/tasoc): FLUX_CORR is relative flux in ppm about 0
    corrected = np.array([0.0, -120.0, 40.0, 10.0, -5.0])
    columns = [fits.Column(name="TIME", array=CADENCES, format="D", unit="BJD - 2457000, days"),
               fits.Column(name="TIMECORR", array=np.zeros(5), format="E", unit="d"),
               fits.Column(name="CADENCENO", array=np.arange(5), format="J"),
               fits.Column(name="FLUX_RAW", array=np.full(5, 8e4), format="D", unit="e-/s"),
               fits.Column(name="FLUX_RAW_ERR", array=np.full(5, 40.0), format="D", unit="e-/s"),
               fits.Column(name="FLUX_BKG", array=np.full(5, 12.0), format="D", unit="e-/s"),
               fits.Column(name="FLUX_CORR", array=corrected, format="D", unit="ppm"),
               fits.Column(name="FLUX_CORR_ERR", array=np.full(5, 500.0), format="D", unit="ppm"),
               fits.Column(name="QUALITY", array=np.zeros(5), format="J"),
               fits.Column(name="PIXEL_QUALITY", array=np.zeros(5), format="J"),
               fits.Column(name="MOM_CENTR1", array=np.full(5, 1012.5), format="D",
                           unit="pixels"),
               fits.Column(name="MOM_CENTR2", array=np.full(5, 455.2), format="D",
                           unit="pixels")]
    path = write_hlsp(tmp_path / "tess00260128333-s01-c1800-dr01-v04-tasoc_lc.fits.gz", columns,
                      {"ORIGIN": "TASOC/Aarhus", "TELESCOP": "TESS", "OBJECT": "TIC 260128333",
                       "TICID": 260128333, "SECTOR": 1, "CAMERA": 4, "CCD": 2},
                      {"BJDREFI": 2457000, "BJDREFF": 0.0, "TIMEDEL": 1800 / 86400})
    lc = only(read_lightcurves(path))
    assert detect_format(path) == "tasoc"
    assert (lc.meta.tic, lc.meta.sector, lc.meta.flux_column) == (260128333, 1, "FLUX_CORR")
    np.testing.assert_allclose(lc.flux, 1.0 + corrected * 1e-6, rtol=1e-7)
    np.testing.assert_allclose(lc.flux_err, 5e-4)
    np.testing.assert_allclose([lc.background[0], lc.centroid_col[0]], [12.0, 1012.5])


def test_eleanor_fits_reads_its_corrected_flux(tmp_path):
    # eleanor / GSFC-ELEANOR-LITE (archive.stsci.edu/hlsp/gsfc-eleanor-lite), as lightkurve
    # reads it: CORR_FLUX, centroids X_/Y_CENTROID, FLUX_BKG, the TIC in TIC_ID
    corrected = np.array([1.0, 0.998, 1.001, 1.0, 0.999]) * 5e3
    columns = [fits.Column(name="TIME", array=CADENCES, format="D"),
               fits.Column(name="RAW_FLUX", array=np.full(5, 5.1e3), format="D"),
               fits.Column(name="CORR_FLUX", array=corrected, format="D"),
               fits.Column(name="FLUX_ERR", array=np.full(5, 20.0), format="D"),
               fits.Column(name="FLUX_BKG", array=np.full(5, 3.0), format="D"),
               fits.Column(name="QUALITY", array=np.zeros(5, np.int32), format="J"),
               fits.Column(name="X_CENTROID", array=np.full(5, 6.5), format="D"),
               fits.Column(name="Y_CENTROID", array=np.full(5, 7.5), format="D")]
    path = write_hlsp(tmp_path / "hlsp_gsfc-eleanor-lite_tess_ffi_s0010-0000000261136679"
                                 "_tess_v1.0_lc.fits", columns,
                      {"TELESCOP": "TESS", "TIC_ID": 261136679, "SECTOR": 10, "LITE": True,
                       "PCORIGIN": "eleanor", "TVERSION": "2.0.5"},
                      {"BJDREFI": 2457000, "TIMEDEL": 600 / 86400})
    lc = only(read_lightcurves(path))
    assert detect_format(path) == "eleanor"
    assert (lc.meta.key, lc.meta.flux_column) == ("261136679-s0010", "CORR_FLUX")
    np.testing.assert_allclose(lc.flux, corrected)
    np.testing.assert_allclose([lc.background[0], lc.centroid_row[0]], [3.0, 7.5])


def test_a_cutout_without_an_id_takes_the_tic_in_its_name(tmp_path):
    columns = {"TIME": CADENCES, "FLUX": np.array([1.0, 1.1, 1.0, 0.9, 1.0])}
    unnamed = write_table(tmp_path / "tess-s0001-1-1_83.4_-59.3_cutout.fits", columns, SECTOR=1)
    with pytest.raises(LightCurveReadError, match="no TIC ID in the file name .* rename it"):
        read_lightcurves(unnamed)
    named = write_table(tmp_path / "TIC350298314_cutout.fits", columns, SECTOR=1)
    assert only(read_lightcurves(named)).meta.key == "350298314-s0001"


@pytest.mark.parametrize("name, content", [
    ("folded.fits", None), ("TIC5_folded.csv", b"phase,flux\n-0.1,1.0\n0.0,0.99\n0.1,1.0\n")])
def test_a_folded_light_curve_is_refused_as_one(tmp_path, name, content):
    path = (write_table(tmp_path / name, {"TIME": CADENCES[:3], "FLUX": np.ones(3)},
                        CREATOR="lightkurve.FoldedLightCurve", OBJECT="TIC 5", SECTOR=1)
            if content is None else write_bytes(tmp_path / name, content))
    with pytest.raises(LightCurveReadError, match="phase-folded .* not a time series"):
        read_lightcurves(path)


def test_lightkurve_written_k2_without_bjdref_is_shifted_from_bkjd(tmp_path):
    path = write_table(tmp_path / "k2.fits", {"TIME": np.array([2144.0, 2145.0]),
                                              "FLUX": np.array([1.0, 1.1])},
                       TELESCOP="Kepler", KEPLERID=206103150, CAMPAIGN=3)
    lc = only(read_lightcurves(path))
    assert (detect_format(path), lc.meta.mission, lc.meta.sector) == ("k2", "K2", 3)
    np.testing.assert_allclose(lc.time, [2144.0 - 2167.0, 2145.0 - 2167.0])


def test_a_kepler_long_cadence_file_is_a_kic_star_in_its_quarter(tmp_path):
    # The Kepler Archive Manual's light-curve layout (KDMC-10008, A.1): no MISSION card, the
    # quarter in QUARTER, BKJD time, PDCSAP_FLUX and moment centroids
    rng = np.random.default_rng(0)
    bkjd = 131.51 + np.arange(200) * 0.0204335
    columns = {"TIME": bkjd, "SAP_FLUX": np.full(200, 1.0e5), "SAP_BKG": np.full(200, 90.0),
               "PDCSAP_FLUX": 1.01e5 + rng.normal(0, 30, 200),
               "PDCSAP_FLUX_ERR": np.full(200, 30.0), "SAP_QUALITY": np.zeros(200, np.int32),
               "MOM_CENTR1": np.full(200, 500.0), "MOM_CENTR2": np.full(200, 600.0)}
    path = write_table(tmp_path / "kplr011446443-2009166043257_llc.fits", columns,
                       TELESCOP="Kepler", OBJECT="KIC 11446443", KEPLERID=11446443, QUARTER=1)
    with fits.open(path, mode="update") as hdus:
        hdus[1].header.update(EXTNAME="LIGHTCURVE", BJDREFI=2454833, BJDREFF=0.0)
    lc = only(read_lightcurves(path))
    assert (lc.meta.star_id, lc.meta.sector, lc.meta.flux_column) == ("KIC 11446443", 1,
                                                                       "PDCSAP_FLUX")
    np.testing.assert_allclose(lc.time, bkjd + BKJD_TO_BTJD)
    assert lc.meta.cadence_min == pytest.approx(29.4, abs=0.1)
    assert (lc.centroid_col == 500.0).all() and (lc.background == 90.0).all()


def test_whitespace_csv_with_bjd_and_sector_column(tmp_path):
    path = write_bytes(tmp_path / "TIC_123_export.txt", b"# TIME Flux SECTOR\n"
                       b"2459001.0 1.0 27\n2459000.0 2.0 27\n2459030.0 3.0 28\n")
    lcs = read_lightcurves(path)
    assert detect_format(path) == "csv"
    assert [(lc.meta.tic, lc.meta.key, len(lc)) for lc in lcs] == [
        (123, "123-s0027", 2), (123, "123-s0028", 1)]
    np.testing.assert_array_equal(lcs[0].time, [2000.0, 2001.0])  # BJD -> BTJD, sorted
    np.testing.assert_array_equal(lcs[0].flux, [2.0, 1.0])


@pytest.mark.parametrize("flux, problem", [
    ([0.0, 0.0, 0.0], "median flux 0 is not a photometric flux"),
    ([1e30, 2e30, 3e30], "median flux 2e\\+30 is not a photometric flux"),
    ([5.0, 5.0, 5.0], "flux is constant \\(5\\), nothing to measure"),
    ([np.inf, np.inf, np.nan], "flux is NaN everywhere"),
])
def test_unusable_flux_levels_are_refused_with_a_reason(tmp_path, flux, problem):
    path = write_table(tmp_path / "bad.fits", {"TIME": np.array([1400.0, 1400.1, 1400.2]),
                                               "FLUX": np.array(flux)},
                       CREATOR="lightkurve.LightCurve.to_fits()", OBJECT="TIC 42", SECTOR=3)
    with pytest.raises(LightCurveReadError, match=f"bad.fits: sector 3: {problem}"):
        read_lightcurves(path)


def test_cadences_are_sorted_and_repeated_times_dropped(tmp_path, caplog):
    path = write_table(tmp_path / "messy.fits", {
        "TIME": np.array([1400.2, 1400.0, 1400.1, 1400.0, 1400.3]),
        "FLUX": np.array([3.0, 1.0, 2.0, 9.0, 4.0])},
        CREATOR="lightkurve.LightCurve.to_fits()", OBJECT="TIC 42", SECTOR=3)
    lc = only(read_lightcurves(path))
    np.testing.assert_array_equal(lc.time, [1400.0, 1400.1, 1400.2, 1400.3])
    np.testing.assert_array_equal(lc.flux, [1.0, 2.0, 3.0, 4.0])  # the first of the repeats
    assert "messy.fits: dropped 1 cadences repeating an earlier time" in caplog.text


@pytest.mark.realdata
def test_a_shuffled_copy_with_repeated_rows_reads_as_the_original(realdata, tmp_path):
    """Unsorted or repeated cadences of a quiet star once made 1-3% "events"."""
    quiet = realdata / LC / "qusi" / "tess2018206045859-s0001-0000000150065151-0120-s_lc.fits"
    with fits.open(quiet) as hdus:
        rows = np.random.default_rng(3).permutation(len(hdus[1].data))
        hdus[1].data = hdus[1].data[np.concatenate([rows, rows[:500]])]
        hdus.writeto(tmp_path / "shuffled.fits")
    original, shuffled = only(read_lightcurves(quiet)), only(read_lightcurves(
        tmp_path / "shuffled.fits"))
    for name in ("time", "flux", "flux_err", "quality", "centroid_col", "background"):
        np.testing.assert_array_equal(getattr(shuffled, name), getattr(original, name))


def test_times_of_no_mission_are_refused(tmp_path):
    path = write_table(tmp_path / "far.fits", {"TIME": np.array([1e300, 2e300]),
                                               "FLUX": np.array([1.0, 1.1])},
                       CREATOR="lightkurve.LightCurve.to_fits()", OBJECT="TIC 42", SECTOR=3)
    with pytest.raises(LightCurveReadError, match="far.fits: times 1e\\+300 to 2e\\+300 are not "
                                                  "BTJD of any TESS, K2 or Kepler data"):
        read_lightcurves(path)


def test_csv_metadata_lines_give_the_star_and_sector(tmp_path):
    path = write_bytes(tmp_path / "export.csv", b"# tic_id: TIC 307210830\n# sector = 28\n"
                       b"# note: made by hand\ntime,flux,flux_err\n"
                       b"2061.9,1.0,0.001\n2062.0,0.99,0.001\n2062.1,1.01,0.001\n")
    lc = only(read_lightcurves(path))
    assert (lc.meta.tic, lc.meta.sector, len(lc)) == (307210830, 28, 3)
    assert only(read_lightcurves(path, tic=5, sector=1)).meta.key == "5-s0001"


@pytest.mark.parametrize(("name", "lines", "star", "shift"), [
    ("epic211945201_k2c10.csv", b"", "EPIC 211945201", BKJD_TO_BTJD),  # K2 in BKJD
    ("ktwo211945201-c10_llc.csv", b"", "EPIC 211945201", BKJD_TO_BTJD),
    ("export.csv", b"# kic: KIC 11446443\n# quarter: 9\n", "KIC 11446443", BKJD_TO_BTJD),
    ("export.csv", b"# epic_id = 211945201\n# campaign: 1\n", "EPIC 211945201", BKJD_TO_BTJD),
    ("export.csv", b"# epic_id = 211945201\n", "EPIC 211945201", 0.0),  # no sign of K2 data
    ("epic211945201_tess.csv", b"# sector: 1\n", "EPIC 211945201", 0.0),  # TESS data
    ("TIC307210830.csv", b"", "TIC 307210830", 0.0)])
def test_a_csv_is_a_tess_k2_or_kepler_star_by_its_metadata_or_name(tmp_path, name, lines,
                                                                   star, shift):
    kepler = star.startswith("KIC")
    times = np.array([800.0, 800.1, 800.2]) if kepler else np.array([2750.0, 2750.1, 2750.2])
    rows = "".join(f"{t},{f}\n" for t, f in zip(times, (1.0, 0.99, 1.01)))
    lc = only(read_lightcurves(write_bytes(tmp_path / name, lines + b"time,flux\n"
                                           + rows.encode())))
    tess_sector = 53 if star.startswith("TIC") else 1  # a TESS star's from its times
    assert lc.meta.star_id == star and lc.meta.sector == (9 if kepler else tess_sector)
    np.testing.assert_allclose(lc.time, times + shift)


def test_a_csv_with_a_column_of_star_ids_holds_one_light_curve_per_star(tmp_path):
    path = write_bytes(tmp_path / "export.csv", b"TIC_ID,time,flux\n"
                       b"TIC 5,1400.0,1.0\nTIC 7,1400.0,2.0\nTIC 5,1400.1,1.1\n"
                       b"TIC 7,1400.1,2.1\nTIC 5,1400.2,0.9\nTIC 7,1400.2,1.9\n")
    lcs = read_lightcurves(path)
    assert [(lc.meta.star_id, lc.meta.sector) for lc in lcs] == [("TIC 5", 3), ("TIC 7", 3)]
    np.testing.assert_allclose(lcs[1].flux, [2.0, 2.1, 1.9])
    k2 = write_bytes(tmp_path / "k2.csv", b"epic,time,flux\n1,2750.0,1.0\n1,2750.1,1.1\n")
    assert only(read_lightcurves(k2)).meta.key == "1-s0001"
    assert only(read_lightcurves(k2)).meta.star_id == "EPIC 1"
    gap = write_bytes(tmp_path / "gap.csv", b"kic,time,flux\n3,-600.0,1.0\n,-600.1,1.1\n")
    with pytest.raises(LightCurveReadError, match="column kic: a row without a star ID"):
        read_lightcurves(gap)
    with pytest.raises(LightCurveReadError, match="star-ID column holds 2 stars; tic= names one"):
        read_lightcurves(path, tic=5)


def test_a_prefix_inside_a_word_names_no_star(tmp_path):
    path = write_bytes(tmp_path / "synthetic_2024.csv", b"time,flux\n1400.0,1.0\n1400.1,1.1\n")
    with pytest.raises(LightCurveReadError, match="no TIC, EPIC or KIC ID"):
        read_lightcurves(path)


def test_a_csv_in_bjd_is_not_shifted_as_bkjd(tmp_path):
    path = write_bytes(tmp_path / "epic211945201.csv", b"time,flux\n2457582.0,1.0\n"
                       b"2457582.1,0.99\n2457582.2,1.01\n")
    np.testing.assert_allclose(only(read_lightcurves(path)).time, [582.0, 582.1, 582.2])


def test_csv_magnitudes_become_relative_flux(tmp_path):
    path = write_bytes(tmp_path / "TIC5_photometry.csv", b"BJD,Mag,Mag_Err\n"
                       b"2459001.0,10.0,0.001\n2459001.1,10.1,0.001\n2459001.2,10.0,0.002\n")
    lc = only(read_lightcurves(path))
    np.testing.assert_allclose(lc.flux, [1.0, 10 ** -0.04, 1.0], rtol=1e-6)
    np.testing.assert_allclose(lc.flux_err[[0, 2]], [9.2103e-4, 1.84207e-3], rtol=1e-4)
    np.testing.assert_allclose(lc.time, [2001.0, 2001.1, 2001.2])


def test_a_csv_header_that_does_not_match_its_rows_is_refused(tmp_path):
    path = write_bytes(tmp_path / "TIC_9_short.csv", b"time,flux\n1400.0,1.0,0.001,27\n"
                       b"1400.1,1.1,0.001,27\n")
    with pytest.raises(LightCurveReadError, match="TIC_9_short.csv: the header names 2 "
                                                  "columns but the first data row has 4"):
        read_lightcurves(path)


def truncated(realdata: Path, tmp: Path, size: int) -> Path:
    """The first ``size`` bytes of a SPOC file (its table data starts at byte 20160)."""
    return write_bytes(tmp / "truncated.fits", (realdata / QUSI_EB).read_bytes()[:size])


def without_end_cards(realdata: Path, tmp: Path) -> Path:
    """A SPOC file whose every END card is blanked: nothing tells a header from data."""
    data = bytearray((realdata / QUSI_EB).read_bytes())
    for start in range(0, len(data), 80):
        if data[start:start + 80].rstrip() == b"END":
            data[start:start + 3] = b"   "
    return write_bytes(tmp / "noend.fits", bytes(data))


def with_card(path: Path, keyword: str, value) -> Path:
    """``path`` with the first ``keyword`` card of its table header set to ``value``."""
    data = path.read_bytes()
    start = data.index(f"{keyword:<8}=".encode(), 2880)
    card = str(fits.Card(keyword, value)).encode()
    return write_bytes(path, data[:start] + card + data[start + 80:])


def small_table(tmp: Path, name: str, columns: dict[str, np.ndarray], **cards) -> Path:
    return write_table(tmp / name, columns, **({"TICID": 1, "SECTOR": 1} | cards))


#: Broken input -> (file maker, text the error must contain).
BROKEN = {
    "missing file": (lambda real, tmp: tmp / "nowhere.fits", "no such file"),
    "truncated table": (lambda real, tmp: truncated(real, tmp, 1_000_000), "truncated"),
    "truncated header": (lambda real, tmp: truncated(real, tmp, 20_000),
                         "ends inside the HDU 1 header"),
    "header without END": (lambda real, tmp: without_end_cards(real, tmp), "no END card"),
    "binary header": (lambda real, tmp: write_bytes(
        tmp / "b.fits", (b"SIMPLE  =" + bytes(range(256)) * 11)[:2800] + b"END".ljust(80)),
                      "non-text bytes"),
    "absurd time reference": (lambda real, tmp: small_table(
        tmp, "r.fits", {"TIME": np.ones(2), "FLUX": np.ones(2)}, BJDREFI=1e308),
                              "no mission's time reference"),
    "huge table claim": (lambda real, tmp: with_card(
        small_table(tmp, "h.fits", {"TIME": np.ones(2), "FLUX": np.ones(2)}), "NAXIS2", 10 ** 12),
                         "claims a table"),
    "empty fits": (lambda real, tmp: write_bytes(tmp / "e.fits", b""), "empty file"),
    "text named fits": (lambda real, tmp: write_bytes(tmp / "t.fits", b"time,flux\n1,2\n"),
                        "not a FITS file"),
    "primary only": (lambda real, tmp: write_bytes(
        tmp / "p.fits", fits.PrimaryHDU().header.tostring().encode()), "no binary table"),
    "no flux column": (lambda real, tmp: small_table(tmp, "nf.fits", {"TIME": np.arange(3.0)}),
                       "no flux column"),
    "no time column": (lambda real, tmp: small_table(tmp, "nt.fits", {"FLUX": np.ones(3)}),
                       "no TIME column"),
    "no rows": (lambda real, tmp: small_table(
        tmp, "nr.fits", {"TIME": np.zeros(0), "FLUX": np.zeros(0)}), "no rows"),
    "no sector": (lambda real, tmp: small_table(
        tmp, "ns.fits", {"TIME": np.ones(2), "FLUX": np.ones(2)}, SECTOR=None), "pass sector="),
    "all-NaN flux": (lambda real, tmp: small_table(
        tmp, "nan.fits", {"TIME": np.ones(2), "FLUX": np.full(2, np.nan)}), "NaN everywhere"),
    "empty csv": (lambda real, tmp: write_bytes(tmp / "tic1.csv", b""), "empty file"),
    "csv without flux": (lambda real, tmp: write_bytes(
        tmp / "tic1.csv", b"time,counts\n1,2\n2,3\n"), "no flux column"),
    "unparsable csv": (lambda real, tmp: write_bytes(
        tmp / "tic1.csv", b"time,pdcsap_flux\n1,2\n2,abc\n"),
        "column pdcsap_flux: 'abc' in data row 2"),
    "wide headerless csv": (lambda real, tmp: write_bytes(
        tmp / "tic1.csv", b"1,2,3,4\n2,3,4,5\n"), "no header row"),
    "not a light curve": (lambda real, tmp: write_bytes(
        tmp / "LICENSE", b"MIT License\n"), "not a light-curve file: a text document"),
    "dv report": (lambda real, tmp: write_bytes(
        tmp / "tess2018206190142-s0001-s0001-0000000117544915-00106_dvr.xml", b"<?xml?>"),
                  "not a light-curve file: a SPOC data validation report"),
    "dv time series": (lambda real, tmp: small_table(
        tmp, "tess2018206190142-s0001-s0001-0000000117544915-00106_dvt.fits",
        {"TIME": np.ones(2), "LC_INIT": np.ones(2)}),
                       "not a light-curve file: a SPOC data validation time series"),
}
#: Broken files that :func:`detect_format` already rejects.
UNDETECTABLE = ("missing file", "truncated header", "header without END", "binary header",
                "empty fits", "text named fits", "primary only", "empty csv", "not a light curve",
                "dv report", "dv time series")


@pytest.mark.realdata
@pytest.mark.parametrize("case", BROKEN)
def test_broken_input_raises_one_line_read_error(realdata, tmp_path, case):
    make, problem = BROKEN[case]
    path = make(realdata, tmp_path)
    with pytest.raises(LightCurveReadError, match=problem) as error:
        read_lightcurves(path)
    assert str(error.value).startswith(f"{path}: ") and "\n" not in str(error.value)
    if case in UNDETECTABLE:
        with pytest.raises(LightCurveReadError, match=problem):
            detect_format(path)


PIXELS = "extra/altaipony/ktwo211983544-c18_lpd-targ.fits"


@pytest.mark.realdata
@pytest.mark.parametrize(("name", "epic", "campaign", "pixels"), [
    ("extra/altaipony/ktwo210994964-c04_lpd-targ.fits", 210994964, 4, 3),
    (PIXELS, 211983544, 18, 2)])
def test_k2_target_pixel_files_become_light_curves_in_their_pipeline_aperture(
        realdata, name, epic, campaign, pixels):
    lc = only(read_lightcurves(realdata / name))
    assert (lc.meta.tic, lc.meta.sector, lc.meta.mission) == (epic, campaign, "K2")
    assert lc.meta.flux_column == f"aperture photometry: pipeline aperture, {pixels} px"
    with fits.open(realdata / name) as hdus:
        mask = (hdus[2].data & 2) > 0  # the APERTURE image: bit 2, pixels summed by the pipeline
        pixels = hdus[1].data["FLUX"][:, mask]
        flux = np.where(np.isfinite(pixels).any(axis=1), np.nansum(pixels, axis=1), np.nan)
        column = hdus[1].header["1CRV5P"] + np.nonzero(mask)[1]  # physical column numbers
        keep = np.isfinite(hdus[1].data["TIME"])
        first = hdus[1].data["TIME"][keep][0] + 2454833 - 2457000  # BKJD to BTJD
    np.testing.assert_allclose(lc.flux, flux[keep], rtol=1e-5)
    assert column.min() - 0.5 <= np.nanmedian(lc.centroid_col) <= column.max() + 0.5
    assert np.nanmedian(lc.background) > 0 and np.isfinite(lc.centroid_row).mean() > 0.9
    assert lc.time[0] == pytest.approx(first)


@pytest.mark.realdata
def test_a_pixel_file_without_an_aperture_is_refused_with_the_reason(realdata, tmp_path):
    with fits.open(realdata / PIXELS) as hdus:
        rows, columns = hdus[1].data["FLUX"].shape[1:]
        plane = 100.0 + np.add.outer(np.arange(rows), np.arange(columns))
        hdus[1].data["FLUX"][:] = plane  # a tilted plane: no pixel stands out
        hdus[2].data[:] = 0  # and no pipeline aperture
        hdus.writeto(tmp_path / "flat-targ.fits")
    with pytest.raises(LightCurveReadError, match="flat-targ.fits: target pixel file without a "
                                                  "usable aperture: no pipeline aperture"):
        read_lightcurves(tmp_path / "flat-targ.fits")


@pytest.mark.realdata
def test_the_ledger_says_which_aperture_a_pixel_file_was_read_with(realdata):
    result = ingest_local([realdata / PIXELS])
    assert result.ledger[["status", "reason"]].values.tolist() == [
        ["ok", "aperture photometry: pipeline aperture, 2 px"]]


#: A 9x9-pixel TESS pixel file: sky and star (e-/s), the star's pixel and its 1% transit.
SKY, STAR, STAR_PIXEL, DEPTH = 40.0, 5000.0, (4, 5), 0.01
TRANSIT = slice(300, 330)


def write_pixel_file(path: Path, cutout: bool) -> Path:
    """A TESS target pixel file as SPOC writes it (EXP-TESS-ARC-ICD-TM-0014: PIXELS table
    with an image per cadence, APERTURE image with bit 2 the optimal aperture, FLUX with the
    background already subtracted and given in FLUX_BKG), or as TESScut (astrocut) writes
    it: no TICID and zero stellar parameters, APERTURE 1 on every collected pixel, FLUX_BKG
    zero and the sky still in FLUX."""
    rng = np.random.default_rng(3)
    cadences, shape = 600, (9, 9)
    rows, cols = np.indices(shape)
    psf = np.exp(-((rows - STAR_PIXEL[0]) ** 2 + (cols - STAR_PIXEL[1]) ** 2) / 2.0)
    star = np.ones(cadences)
    star[TRANSIT] -= DEPTH
    sky = SKY * (1 + 0.2 * np.sin(np.arange(cadences) / 50.0))  # scattered light
    flux = STAR * star[:, None, None] * psf / psf.sum() + rng.normal(0, 1.0, (cadences, *shape))
    pixels = fits.BinTableHDU.from_columns([
        fits.Column("TIME", "D", array=1325.3 + np.arange(cadences) / 48.0),
        fits.Column("CADENCENO", "J", array=np.arange(cadences)),
        fits.Column("FLUX", "81E", dim="(9,9)",
                    array=flux + (sky[:, None, None] if cutout else 0.0)),
        fits.Column("FLUX_ERR", "81E", dim="(9,9)", array=np.ones((cadences, *shape))),
        fits.Column("FLUX_BKG", "81E", dim="(9,9)",
                    array=np.zeros((cadences, *shape)) + (0.0 if cutout else sky[:, None, None])),
        fits.Column("QUALITY", "J", array=np.zeros(cadences, dtype=np.int32))], name="PIXELS")
    pixels.header.update({"BJDREFI": 2457000, "BJDREFF": 0.0, "TIMEDEL": 30 / 1440.0,
                          "1CRV5P": 1000, "2CRV5P": 200})
    aperture = np.ones(shape, dtype=np.int32)
    if not cutout:
        aperture[3:6, 4:7] |= 2
    cards = ({"ORIGIN": "STScI/MAST", "CREATOR": "astrocut", "TICID": None, "TESSMAG": 0.0}
             if cutout else {"ORIGIN": "NASA/Ames", "CREATOR": "TargetPixelExporterPipelineModule",
                             "TICID": 261136679, "OBJECT": "TIC 261136679", "TESSMAG": 9.4})
    primary = fits.PrimaryHDU(header=fits.Header({"TELESCOP": "TESS", "SECTOR": 1, "CAMERA": 4,
                                                  "CCD": 2, **cards}))
    fits.HDUList([primary, pixels, fits.ImageHDU(aperture, name="APERTURE")]).writeto(path)
    return path


def test_a_tess_target_pixel_file_reads_in_its_pipeline_aperture(tmp_path):
    lc = only(read_lightcurves(write_pixel_file(tmp_path / "tess-s0001-tp.fits", cutout=False)))
    assert (lc.meta.tic, lc.meta.sector, lc.meta.mission) == (261136679, 1, "TESS")
    assert lc.meta.flux_column == "aperture photometry: pipeline aperture, 9 px"
    assert np.nanmedian(lc.background) == pytest.approx(9 * SKY, rel=0.05)
    depth = 1 - np.median(lc.flux[TRANSIT]) / np.median(np.delete(lc.flux, np.r_[TRANSIT]))
    assert depth == pytest.approx(DEPTH, rel=0.1)
    assert np.nanmedian(lc.centroid_col) == pytest.approx(1000 + STAR_PIXEL[1], abs=0.3)
    assert np.nanmedian(lc.centroid_row) == pytest.approx(200 + STAR_PIXEL[0], abs=0.3)


def test_a_tesscut_cutout_has_its_sky_subtracted_in_a_threshold_aperture(tmp_path):
    unnamed = write_pixel_file(tmp_path / "tess-s0001-4-2_64.52_-63.61_9x9_astrocut.fits",
                               cutout=True)
    with pytest.raises(LightCurveReadError, match="TIC ID in the file name"):
        read_lightcurves(unnamed)
    with pytest.raises(LightCurveReadError, match="no TIC ID in the file name"):
        read_lightcurves(unnamed.rename(tmp_path / "epic211945201_astrocut.fits"))
    unnamed = tmp_path / "epic211945201_astrocut.fits"
    lc = only(read_lightcurves(unnamed.rename(tmp_path / "TIC261136679_astrocut.fits")))
    assert lc.meta.tic == 261136679 and np.isnan(lc.meta.tmag)
    assert lc.meta.flux_column.startswith("aperture photometry: threshold aperture (3 sigma)")
    assert lc.meta.flux_column.endswith("sky from the pixels below the median")
    pixels = int(lc.meta.flux_column.split(", ")[1].split()[0])
    assert np.median(lc.background) == pytest.approx(pixels * SKY, rel=0.05)
    quiet = np.delete(lc.flux, np.r_[TRANSIT])
    assert np.std(quiet) / np.median(quiet) < 0.2 * DEPTH  # the scattered light is gone
    depth = 1 - np.median(lc.flux[TRANSIT]) / np.median(quiet)
    assert depth == pytest.approx(DEPTH, rel=0.15)
    assert np.nanmedian(lc.centroid_col) == pytest.approx(1000 + STAR_PIXEL[1], abs=0.3)


@pytest.mark.realdata
def test_a_csv_export_of_one_sector_joins_the_stars_other_sectors(realdata, tmp_path):
    quiet = sorted((realdata / LC / "qusi").glob("*0000000150065151*.fits"))  # sectors 1, 2
    second = only(read_lightcurves(quiet[1]))
    export = tmp_path / "TIC150065151_s2.csv"
    pd.DataFrame({"time": second.time, "flux": second.flux}).to_csv(export, index=False)
    ledger = ingest_local([quiet[0], export]).ledger.set_index("source")
    assert ledger.loc[str(export), ["key", "status"]].tolist() == ["150065151-s0002", "ok"]
    assert ledger.loc[str(quiet[0]), ["key", "status"]].tolist() == ["150065151-s0001", "ok"]


def test_a_csv_outside_tess_sectors_is_split_at_long_gaps(tmp_path):
    path = write_bytes(tmp_path / "TIC5.csv", b"time,flux\n7000.0,1.0\n7000.1,1.1\n"
                       b"7010.0,1.0\n7010.1,0.9\n")  # after tess-point's last sector
    assert [lc.meta.sector for lc in read_lightcurves(path)] == [1, 2]


def test_a_k2_csv_with_a_campaign_column_is_shifted_from_bkjd(tmp_path):
    path = write_bytes(tmp_path / "EPIC206103150.csv", b"time,flux,campaign\n"
                       b"2144.1,1.0,3\n2144.2,1.1,3\n2144.3,0.9,3\n")
    lc = only(read_lightcurves(path))
    assert (lc.meta.star_id, lc.meta.sector) == ("EPIC 206103150", 3)
    np.testing.assert_allclose(lc.time, [2144.1 + BKJD_TO_BTJD, 2144.2 + BKJD_TO_BTJD,
                                         2144.3 + BKJD_TO_BTJD])


def test_csv_rows_without_a_sector_are_refused_and_a_byte_order_mark_is_read(tmp_path):
    blank = write_bytes(tmp_path / "TIC5.csv", b"time,flux,sector\n1400.0,1.0,3\n1400.1,1.1,\n")
    with pytest.raises(LightCurveReadError, match="TIC5.csv: 1 rows have no sector"):
        read_lightcurves(blank)
    marked = write_bytes(tmp_path / "TIC6.csv", b"\xef\xbb\xbftime,flux\n1400.0,1.0\n1400.1,1.1\n")
    assert only(read_lightcurves(marked)).meta.key == "6-s0003"


def test_bjd_minus_2450000_times_are_refused_with_the_fix(tmp_path):
    path = write_bytes(tmp_path / "TIC5.csv", b"bjd,flux\n8354.0,1.0\n8354.1,1.1\n")
    with pytest.raises(LightCurveReadError, match="BJD - 2450000 needs 7000 subtracted"):
        read_lightcurves(path)


@pytest.mark.realdata
def test_k2_thruster_firings_are_dropped_as_flagged_cadences(realdata):
    lc = only(read_lightcurves(realdata / WASP47_K2))
    firing = (lc.quality & 1048576) > 0  # Kepler's thruster-firing bit; no TESS flag uses it
    assert firing.sum() > 100
    assert not np.isin(lc.good().time, lc.time[firing]).any()


@pytest.mark.realdata
def test_an_unreadable_sector_of_a_csv_leaves_its_other_sectors(realdata, tmp_path):
    table = pd.read_csv(realdata / TOI1798)
    time = table.columns[0]
    table.loc[table[time].between(1899, 1927), table.columns[1]] = np.nan  # sector 22's flux
    path = tmp_path / "TIC198153540_blanked.csv"
    table.to_csv(path, index=False)
    with pytest.raises(LightCurveReadError, match="1 of its 5 light curves unreadable, e.g. "
                                                  "198153540-s0022: sector 22: flux is NaN"):
        read_lightcurves(path)
    ledger = ingest_local([path]).ledger
    assert ledger.status.tolist() == ["quarantined", "ok", "ok", "ok", "ok"]
    assert ledger.key.tolist() == [f"198153540-s{s:04d}" for s in (22, 16, 23, 49, 50)]
    assert ledger.reason[0] == f"{path}: sector 22: flux is NaN everywhere"


@pytest.mark.parametrize("lines", [b"# Light curve of TOI-237\ntime,flux\n",
                                   b"# made by hand\n#time,flux\n", b"#time,flux\n",
                                   b"# made by hand\n", b"# a,b\n#tic_id,time,flux\n",
                                   b"# TIC 5 light curve\n", b"# sector: 3\n\ntime,flux\n\n"])
def test_comment_lines_before_a_header_are_skipped(tmp_path, lines):
    star = b"TIC 5," if b"tic_id" in lines else b""
    rows = b"".join(star + row for row in (b"1400.0,1.0\n", b"1400.1,1.1\n"))
    lc = only(read_lightcurves(write_bytes(tmp_path / "TIC5.csv", lines + rows)))
    assert lc.meta.tic == 5
    np.testing.assert_allclose(lc.flux, [1.0, 1.1])


def test_a_csv_whose_name_and_metadata_disagree_on_the_star_says_so(tmp_path, caplog):
    path = write_bytes(tmp_path / "TIC305048087.csv", b"# tic_id: 111\ntime,flux\n"
                       b"1400.0,1.0\n1400.1,1.1\n")
    assert only(read_lightcurves(path)).meta.tic == 111
    assert "the metadata names TIC 111, the file name TIC 305048087" in caplog.text


def test_consecutive_tess_sectors_part_at_the_downlink_gap():
    sector_63 = np.arange(3015.24, 3040.90, 2 / 1440)  # as TESS observed them: 0.21 d apart
    sector_64 = np.arange(3041.11, 3068.03, 2 / 1440)
    sectors = tess_sectors(np.r_[sector_63, sector_64])
    assert sectors.tolist() == [63] * len(sector_63) + [64] * len(sector_64)


def test_a_csv_whose_every_light_curve_fails_lists_each(tmp_path):
    path = write_bytes(tmp_path / "TIC5.csv", b"time,flux,sector\n1400.0,nan,3\n1400.1,nan,3\n"
                       b"1430.0,2.0,4\n1430.1,2.0,4\n")
    with pytest.raises(LightCurveReadError, match="2 of its 2 light curves unreadable, e.g. "
                                                  "5-s0003: sector 3: flux is NaN everywhere$"):
        read_lightcurves(path)
    ledger = ingest_local([path]).ledger
    assert ledger.key.tolist() == ["5-s0003", "5-s0004"]
    assert (ledger.status == "quarantined").all()
    assert ledger.reason.tolist() == [f"{path}: sector 3: flux is NaN everywhere",
                                      f"{path}: sector 4: flux is constant (2), nothing to measure"]
