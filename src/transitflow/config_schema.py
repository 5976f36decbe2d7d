"""The workflow config checked against its JSON schema, one line per problem: the
Snakefile's first step (Snakemake's own ``validate`` prints the whole schema and config)."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from pathlib import Path

import jsonschema
import yaml


def check_config(config: Mapping, schema_path: str | Path) -> None:
    """ValueError naming the first problem of ``config`` against the schema at
    ``schema_path``: where it is, what is wrong and, for a misspelt key, the key meant."""
    schema = yaml.safe_load(Path(schema_path).read_text())
    error = jsonschema.exceptions.best_match(
        jsonschema.Draft202012Validator(schema).iter_errors(dict(config)))
    if error is not None:
        raise ValueError(config_problem(error))


def config_problem(error: jsonschema.ValidationError) -> str:
    """One line for a schema error: the config path, the message, a likely meant key."""
    where = ".".join(str(part) for part in error.absolute_path)
    message = f"config{' ' + where if where else ''}: {error.message}"
    if error.validator == "additionalProperties":
        known = error.schema.get("properties", {})
        for key in sorted(set(error.instance) - set(known)):
            meant = difflib.get_close_matches(key, known, n=1)
            message += f"; {key!r}: did you mean {meant[0]!r}?" if meant else ""
    return message + " (the options: config/README.md)"
