"""Light-curve shards: the digest of their light curves."""

from __future__ import annotations

from tests.builders import flat_lightcurve
from transitflow.provenance import file_digest
from transitflow.shards import shard_data_digest, write_shard


def test_the_data_digest_follows_the_light_curves_not_the_provenance(tmp_path):
    stars = [flat_lightcurve(tic=1, seed=1), flat_lightcurve(tic=2, seed=2)]
    first = write_shard(tmp_path / "a.arrow", stars, {"code_version": "0.1.0+g1"})
    second = write_shard(tmp_path / "b.arrow", stars, {"code_version": "0.1.0+g2"})
    noisier = write_shard(tmp_path / "c.arrow", [stars[0], flat_lightcurve(tic=2, seed=3)],
                          {"code_version": "0.1.0+g1"})
    assert file_digest(first) != file_digest(second)
    assert shard_data_digest(first) == shard_data_digest(second)
    assert shard_data_digest(noisier) != shard_data_digest(first)
