"""The default config is valid, and config/README.md documents every option."""

from dataclasses import fields

import pytest
import yaml

from tests.conftest import REPO
from transitflow.completeness import CompletenessConfig
from transitflow.config_schema import check_config
from transitflow.detect import DetectConfig
from transitflow.features import FeatureConfig
from transitflow.inject import TransitPrior
from transitflow.infer import InferConfig
from transitflow.labels import LabelConfig
from transitflow.mast import MastConfig
from transitflow.report import ReportConfig
from transitflow.searching import SearchConfig
from transitflow.simulate import SimConfig
from transitflow.split import SplitConfig
from transitflow.training import TrainConfig
from transitflow.vetting import VetConfig

CONFIG = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
REFERENCE = (REPO / "config" / "README.md").read_text()
SECTIONS = {"sim": SimConfig, "mast": MastConfig, "labels": LabelConfig, "split": SplitConfig,
            "train": TrainConfig, "detect": DetectConfig, "search": SearchConfig,
            "vet": VetConfig, "completeness": CompletenessConfig, "infer": InferConfig,
            "report": ReportConfig}


SCHEMA_PATH = REPO / "workflow" / "schemas" / "config.schema.yaml"


def test_default_config_follows_the_schema():
    from snakemake.utils import validate

    check_config(CONFIG, SCHEMA_PATH)
    validate(dict(CONFIG), str(SCHEMA_PATH))


@pytest.mark.parametrize("change, problem", [
    ({"serach": {"max_signals": 2}}, "^config: Additional properties are not allowed "
                                     ".'serach'.*did you mean 'search'"),
    ({"run": ".."}, "^config run: '..' does not match"),
    ({"run": "a/b"}, "does not match"),
])
def test_a_typo_or_an_unsafe_run_name_fails_validation(change, problem):
    with pytest.raises(ValueError, match=problem):
        check_config({**CONFIG, **change}, SCHEMA_PATH)


SCHEMA = yaml.safe_load(SCHEMA_PATH.read_text())
#: Options the workflow sets itself (the top-level seed) or that only the config has
#: (train.preset, expanded by TrainConfig.from_dict).
WORKFLOW_SET = {section: {"seed"} for section in ("train", "sim", "split", "completeness")}
CONFIG_ONLY = {"train": {"preset"}}


@pytest.mark.parametrize("section", sorted(SECTIONS))
def test_typed_schema_sections_list_exactly_the_options(section):
    properties = SCHEMA["properties"][section]["properties"]
    options = {f.name for f in fields(SECTIONS[section])} - WORKFLOW_SET.get(section, set())
    assert set(properties) == options | CONFIG_ONLY.get(section, set())
    assert all("description" in spec for spec in properties.values())


@pytest.mark.parametrize("key, options", [("features", FeatureConfig),
                                          ("transit_prior", TransitPrior)])
def test_nested_train_sections_list_exactly_the_options(key, options):
    properties = SCHEMA["properties"]["train"]["properties"][key]["properties"]
    assert set(properties) == {f.name for f in fields(options)}


def test_every_schema_key_is_described_and_every_section_closed():
    """So that `snakemake -n` fails on a typo and says what each key is."""
    def undescribed(node: dict, path: str) -> list[str]:
        problems = [] if node.get("additionalProperties") is False else [f"{path}: open"]
        for key, value in node["properties"].items():
            problems += [] if "description" in value else [f"{path}.{key}: no description"]
            if "properties" in value:
                problems += undescribed(value, f"{path}.{key}")
        return problems

    assert undescribed(SCHEMA, "config") == []


def test_train_schema_names_every_preset():
    from transitflow.models import PRESETS
    from transitflow.training import TRAIN_PRESETS

    properties = SCHEMA["properties"]["train"]["properties"]
    assert properties["model"]["enum"] == list(PRESETS)
    assert properties["preset"]["enum"] == list(TRAIN_PRESETS)


@pytest.mark.parametrize("change, problem", [
    ({"search": {"max_signals": "3"}}, "'3' is not of type 'integer'"),
    ({"vet": {"min_snrr": 7}}, "^config vet: Additional properties are not allowed .'min_snrr'"
                               ".*did you mean 'min_snr'"),
    ({"train": {"epochs": 2.5}}, "2.5 is not of type 'integer'"),
    ({"sim": {"n_star": 10}}, "Additional properties are not allowed .'n_star'"),
    ({"sim": {"class_fractions": {"planets": 0.5}}}, "Additional properties are not allowed"),
    ({"train": {"features": {"channels": ["flux", "flx"]}}}, "'flx' is not one of"),
    ({"train": {"transit_prior": {"min_snr": -1}}},
     "^config train.transit_prior.min_snr: -1 is less than the minimum of 0"),
])
def test_a_wrongly_typed_or_misspelt_stage_option_fails_validation(change, problem):
    with pytest.raises(ValueError, match=problem):
        check_config({**CONFIG, **change}, SCHEMA_PATH)


@pytest.mark.parametrize("section", sorted(SECTIONS))
def test_each_stage_accepts_its_default_section(section):
    SECTIONS[section].from_dict(CONFIG[section])


@pytest.mark.parametrize("options", [*SECTIONS.values(), FeatureConfig, TransitPrior])
def test_every_option_is_documented(options):
    missing = [f.name for f in fields(options) if f"`{f.name}`" not in REFERENCE]
    assert not missing, f"config/README.md does not document {options.__name__}: {missing}"


def test_every_top_level_key_is_documented():
    missing = [key for key in CONFIG if f"`{key}`" not in REFERENCE]
    assert not missing, missing


def test_shifted_preset_layers_over_the_default_config():
    from snakemake.utils import validate

    preset = yaml.safe_load((REPO / "config" / "shifted.yaml").read_text())
    merged = {**CONFIG, **preset, "sim": {**CONFIG["sim"], **preset["sim"]}}
    validate(merged, str(REPO / "workflow" / "schemas" / "config.schema.yaml"))
    sim = SimConfig.from_dict({**merged["sim"], "seed": merged["seed"]})
    assert sim.star_mass_range == (0.1, 3.0) and sim.grazing_fraction > 0


def test_gpu_recipe_layers_over_the_default_config():
    from snakemake.utils import validate

    recipe = yaml.safe_load((REPO / "config" / "paper-gpu.yaml").read_text())
    merged = {**CONFIG, **recipe, "sim": {**CONFIG["sim"], **recipe["sim"]},
              "train": {**CONFIG["train"], **recipe["train"]}}
    validate(merged, str(REPO / "workflow" / "schemas" / "config.schema.yaml"))
    config = TrainConfig.from_dict(merged["train"])
    assert config.model == "transformer-paper" and config.batch_size == 256
