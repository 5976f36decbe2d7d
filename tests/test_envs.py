"""The per-rule conda environments (envs/*.yaml), checked as far as can be without conda.

No conda channel is reachable here, so the envs are never created: each file must follow the
schema below, its pins must agree with constraints.txt (the pip route), every ``conda:`` path
in the workflow must exist, each env must hold what its rules' code imports, and its ``pip:``
section must resolve with ``pip install --dry-run``. On a cluster the full check is
``snakemake --sdm conda --conda-create-envs-only``.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import jsonschema
import pytest
import yaml

from tests.conftest import REPO

ENVS = sorted((REPO / "envs").glob("*.yaml"))
RULE_FILES = sorted((REPO / "workflow" / "rules").glob("*.smk"))
LIBRARY = REPO / "src" / "transitflow"
RULE = re.compile(r"^(?:rule|checkpoint) (\w+):\n(.*?)(?=^\S|\Z)", re.MULTILINE | re.DOTALL)
CONDA = re.compile(r"^\s+conda:\n\s+\"([^\"]+)\"", re.MULTILINE)
SUBCOMMAND = re.compile(r"-m transitflow ([\w-]+)")
PIP_PIN = r"^[A-Za-z0-9][A-Za-z0-9._-]*==[0-9][0-9A-Za-z.+!-]*$"
ENV_SCHEMA = {
    "type": "object",
    "required": ["channels", "dependencies"],
    "additionalProperties": False,
    "properties": {
        "name": {"type": "string"},
        "channels": {"const": ["conda-forge"]},
        "dependencies": {
            "type": "array",
            "items": {"oneOf": [
                {"type": "string", "pattern": r"^[a-z0-9][a-z0-9._-]*=[0-9][0-9a-z.]*$"},
                {"type": "object", "required": ["pip"], "additionalProperties": False,
                 "properties": {"pip": {"type": "array", "minItems": 1,
                                        "items": {"type": "string", "pattern": PIP_PIN}}}},
            ]},
            "contains": {"type": "string", "pattern": r"^python=\d+\.\d+(\.\d+)?$"},
            "if": {"contains": {"type": "object"}},
            "then": {"contains": {"type": "string", "pattern": r"^pip="}},
        },
    },
}


def canonical(name: str) -> str:
    """A distribution name as PEP 503 compares them."""
    return re.sub(r"[-_.]+", "-", name).lower()


def load_env(path: Path) -> dict:
    """An env file, parsed."""
    return yaml.safe_load(path.read_text())


def pip_section(env: dict) -> list[str]:
    """An env's ``pip:`` requirements, as written."""
    return next((item["pip"] for item in env["dependencies"] if isinstance(item, dict)), [])


def pip_pins(env: dict) -> dict[str, str]:
    """Canonical name -> version of an env's ``pip:`` section."""
    return {canonical(name): version
            for pin in pip_section(env) for name, version in [pin.split("==")]}


def conda_pin(env: dict, package: str) -> str:
    """The version an env pins a conda package to."""
    return next(item.split("=")[1] for item in env["dependencies"]
                if isinstance(item, str) and item.split("=")[0] == package)


def rules() -> list[tuple[str, Path, str, str | None]]:
    """(rule, .smk file, rule text, conda path as written) of every rule in workflow/rules."""
    found = []
    for smk in RULE_FILES:
        for name, body in RULE.findall(smk.read_text()):
            conda = CONDA.search(body)
            found.append((name, smk, body, conda and conda.group(1)))
    return found


def rule_envs() -> list[tuple[str, Path, str]]:
    """(rule, env file, ``transitflow`` subcommand) of every rule that runs one in an env."""
    return [(name, (smk.parent / conda).resolve(), command.group(1))
            for name, smk, body, conda in rules()
            if conda and (command := SUBCOMMAND.search(body))]


def imported(tree: ast.AST) -> set[str]:
    """Every module name an import statement under ``tree`` names."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names.add(node.module)
    return names


def module_file(name: str) -> Path:
    """The source file of module ``transitflow[.x[.y]]``: a module or a package's __init__."""
    path = LIBRARY.joinpath(*name.split(".")[1:])
    return path.with_suffix(".py") if path.with_suffix(".py").is_file() else path / "__init__.py"


def third_party(names: set[str], seen: set[str]) -> set[str]:
    """Top-level third-party modules that ``names`` import, following transitflow's modules."""
    found = set()
    for name in names:
        top = name.split(".")[0]
        if top == "transitflow":
            if name not in seen:
                seen.add(name)
                found |= third_party(imported(ast.parse(module_file(name).read_text())), seen)
        elif top not in sys.stdlib_module_names:
            found.add(top)
    return found


def subcommand_imports(subcommand: str) -> set[str]:
    """Third-party modules that ``python -m transitflow <subcommand>`` can import."""
    cli = ast.parse((LIBRARY / "cli.py").read_text())
    module_level = {name for node in cli.body if isinstance(node, (ast.Import, ast.ImportFrom))
                    for name in imported(node)}
    functions = {node.name: node for node in cli.body if isinstance(node, ast.FunctionDef)}
    command = functions[f"cmd_{subcommand.replace('-', '_')}"]
    helpers = [functions[node.func.id] for node in ast.walk(command)
               if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
               and node.func.id in functions]
    names = set().union(*(imported(function) for function in [command, *helpers]))
    return third_party(module_level | names | {"transitflow"}, {"cli"})


@pytest.mark.parametrize("path", ENVS, ids=lambda path: path.name)
def test_env_follows_the_schema(path):
    jsonschema.validate(load_env(path), ENV_SCHEMA)


def test_each_env_serves_rules_and_each_family_has_one():
    assert {env for _, env, _ in rule_envs()} == set(ENVS)
    assert {path.stem for path in ENVS} == {"data", "train", "infer", "search", "report"}


def test_every_rule_names_an_env_that_exists():
    missing = [(name, conda) for name, smk, body, conda in rules()
               if "shell:" in body and not (conda and (smk.parent / conda).is_file())]
    assert not missing, f"rules without an existing conda env: {missing}"


@pytest.mark.parametrize("path", ENVS, ids=lambda path: path.name)
def test_env_pins_agree_with_the_constraints(path):
    lines = [line.split("#")[0].strip()
             for line in (REPO / "constraints.txt").read_text().splitlines()]
    constraints = {canonical(name): version
                   for line in lines if line for name, version in [line.split("==")]}
    pins = pip_pins(load_env(path))
    assert {name: constraints.get(name) for name in pins} == pins


@pytest.mark.parametrize(("rule", "env", "subcommand"), rule_envs(),
                         ids=[rule for rule, _, _ in rule_envs()])
def test_env_holds_what_the_rule_imports(rule, env, subcommand):
    distributions = metadata.packages_distributions()
    needed = {canonical(distributions.get(module, [module])[0])
              for module in subcommand_imports(subcommand)}
    missing = needed - set(pip_pins(load_env(env)))
    assert not missing, f"rule {rule} imports {sorted(missing)}, not in {env.name}"


@pytest.mark.slow
@pytest.mark.parametrize("path", ENVS, ids=lambda path: path.name)
def test_env_pip_section_resolves(path, tmp_path):
    env = load_env(path)
    host = f"{sys.version_info.major}.{sys.version_info.minor}"
    assert conda_pin(env, "python") == host, "resolve on the env's Python"
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("\n".join(pip_section(env)) + "\n")
    resolved = subprocess.run([sys.executable, "-m", "pip", "install", "--dry-run",
                               "--ignore-installed", "--quiet", "-r", str(requirements)],
                              check=False, capture_output=True, text=True, timeout=600)
    assert resolved.returncode == 0, resolved.stderr[-3000:]
