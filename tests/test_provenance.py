from transitflow.provenance import config_hash, file_digest, make_provenance, source_digest
from transitflow.tables import read_provenance, read_table, write_json, write_table


def test_config_hash_ignores_key_order_but_not_values():
    assert config_hash({"a": 1, "b": [1, 2]}) == config_hash({"b": [1, 2], "a": 1})
    assert config_hash({"a": 1}) != config_hash({"a": 2})


def test_provenance_names_code_config_inputs_and_packages(tmp_path):
    source = tmp_path / "input.txt"
    source.write_text("light curves")
    record = make_provenance("search", {"method": "bls"}, [source])
    assert record["inputs"] == {str(source): file_digest(source)}
    assert record["source_digest"] == source_digest() and len(source_digest()) == 16
    assert {"numpy", "torch", "transitflow"} <= set(record["packages"])
    assert make_provenance("search", {"method": "bls"}, [source]) == record


def test_tables_and_documents_carry_their_provenance(tmp_path):
    import pandas as pd

    record = make_provenance("flag", {"top_k": 3})
    frame = pd.DataFrame({"key": ["1-s0001"], "score": [0.5]})
    write_table(frame, tmp_path / "t.parquet", record)
    write_json({"flagged": 1}, tmp_path / "t.json", record)
    assert read_provenance(tmp_path / "t.parquet") == record == read_provenance(tmp_path / "t.json")
    assert read_table(tmp_path / "t.parquet").equals(frame)
    first = (tmp_path / "t.parquet").read_bytes()
    write_table(frame, tmp_path / "t.parquet", record)
    assert (tmp_path / "t.parquet").read_bytes() == first
