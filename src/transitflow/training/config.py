"""The training options (``train`` section) and the presets of Salinas et al. (2025).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from transitflow.dataset import AUGMENTATIONS
from transitflow.features import FeatureConfig
from transitflow.inject import TransitPrior
from transitflow.models import PAPER_PRESETS
from transitflow.models import PRESETS as MODEL_PRESETS
from transitflow.options import options_from_dict


_PAPER = "transformer-paper"
_PAPER_CHANNELS = ["flux", "centroid", "background"]  # the paper's raw flux, not ``flat``
#: Training presets reproducing the rows of Table 2 of Salinas et al. (2025): the model
#: size rows, and the base model without a feature channel or without injections.
TRAIN_PRESETS: dict[str, dict] = {
    **{name: {"model": name, "features": {"channels": _PAPER_CHANNELS}}
       for name in PAPER_PRESETS},
    "paper-no-centroid": {"model": _PAPER, "features": {"channels": ["flux", "background"]}},
    "paper-no-background": {"model": _PAPER, "features": {"channels": ["flux", "centroid"]}},
    "paper-no-injection": {"model": _PAPER, "features": {"channels": _PAPER_CHANNELS},
                           "injection_fraction": 0.0, "physical_injection_fraction": 0.0},
}


@dataclass(frozen=True)
class TrainConfig:
    """Training settings.

    Parameters
    ----------
    model : str
        Model preset (:data:`transitflow.models.PRESETS`); ``model_options`` override it.
    features : FeatureConfig
        Model input definition, stored with the model.
    epochs, steps_per_epoch, batch_size : int
        Epochs of ``steps_per_epoch`` balanced batches (per process).
    lr, weight_decay : float
        AdamW settings.
    plateau_patience : int
        Epochs without a lower validation loss before the learning rate is multiplied by
        ``plateau_factor``.
    early_stopping_patience : int
        Epochs without a lower validation loss before training stops.
    seed : int
        Seed of initialisation, batches, injections, augmentation and dropout.
    ensemble : int
        Networks trained, member ``i`` with seed ``seed + i``; the model averages their
        logits (:class:`transitflow.models.Ensemble`) and is calibrated as one.
    num_workers : int
        DataLoader worker processes building batches.
    member_processes : int
        Ensemble members trained at once, each in a process of its own (never the result).
    threads : int
        CPU threads of each training process (torch's intra-op threads). Part of the result:
        the same number gives the same model on any machine, whatever cores the job gets.
    device : str
        ``"auto"`` (GPU when present), ``"cpu"``, ``"cuda"``, ...
    target_precision : float
        Validation precision at which the decision threshold is chosen.
    gate_false_alarm : float
        Share of the validation non-planets that the gate threshold passes: the network's
        threshold where it alone picks the light curves to search (``detect.policy:
        network``), never above the decision threshold.
    compile : bool
        Run the model through ``torch.compile``.
    injection_fraction : float
        Share of the planet and of the EB samples that are a non-transit light curve
        carrying a planet's or an EB's signal (:func:`transitflow.inject.inject_signals`).
    physical_injection_fraction : float
        Further share of the planet samples that are a non-transit light curve with a random
        model transit (:func:`transitflow.inject.inject_transits`).
    eclipse_injection_fraction : float
        Further share of the EB samples that are a non-transit light curve with a random
        model eclipsing binary (:func:`transitflow.inject.inject_eclipses`).
    eclipse_period_range : tuple of float
        Days; the injected binaries' period is log-uniform in it.
    eclipse_diluted_fraction : float
        Share of the injected binaries diluted by third light to planet-like depths
        (:func:`transitflow.inject.diluted`).
    transit_prior : TransitPrior
        Distribution of those model transits (a mapping in :meth:`from_dict`).
    augment_noise, augment_roll, augment_swap, augment_mirror : float
        Probability that a training sample gets each augmentation
        (:func:`transitflow.dataset.augment`); the rest get none.
    noise_level : float
        Largest standard deviation of the noise augmentation (normalised flux units).
    missing_channels : float
        Probability that a training sample loses its centroid channel, its background
        channel or both (:func:`transitflow.dataset.drop_channels`), apart from the
        augmentations, so that light curves without those columns are scored on the rest.

    :meth:`from_dict` also takes ``preset``, a name of :data:`TRAIN_PRESETS`, whose settings
    the other keys override.
    """

    model: str = "cnn"
    model_options: dict = field(default_factory=dict)
    features: FeatureConfig = FeatureConfig()
    epochs: int = 30
    steps_per_epoch: int = 100
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 1e-2
    plateau_patience: int = 2
    plateau_factor: float = 0.8
    early_stopping_patience: int = 6
    seed: int = 0
    ensemble: int = 1
    num_workers: int = 0
    member_processes: int = 1
    threads: int = 1
    device: str = "auto"
    target_precision: float = 0.9
    gate_false_alarm: float = 0.1
    compile: bool = False
    injection_fraction: float = 0.2
    physical_injection_fraction: float = 0.2
    eclipse_injection_fraction: float = 0.0
    eclipse_period_range: tuple[float, float] = (0.5, 100.0)
    eclipse_diluted_fraction: float = 0.0
    transit_prior: TransitPrior = TransitPrior()
    augment_noise: float = 0.25
    augment_roll: float = 0.25
    augment_swap: float = 0.25
    augment_mirror: float = 0.25
    noise_level: float = 0.05
    missing_channels: float = 0.0

    def __post_init__(self) -> None:
        arch = MODEL_PRESETS.get(self.model, {}).get("arch")
        if self.features.local_length and arch not in (None, "cnn"):
            raise ValueError(f"model {self.model!r} reads the global view alone; local views "
                             f"(features.local_length {self.features.local_length}) need the "
                             "cnn model: set train.features.local_length: 0")
        if min(self.epochs, self.steps_per_epoch, self.batch_size, self.ensemble,
               self.threads, self.member_processes) < 1:
            raise ValueError("epochs, steps_per_epoch, batch_size, ensemble, member_processes "
                             "and threads must be positive")
        if not 0 < self.plateau_factor < 1 or not 0 < self.target_precision <= 1:
            raise ValueError("plateau_factor must be in (0, 1) and target_precision in (0, 1]")
        if not 0 <= self.gate_false_alarm < 1:
            raise ValueError("gate_false_alarm must be in [0, 1)")
        shares = {"injection_fraction + physical_injection_fraction":
                  (self.injection_fraction, self.physical_injection_fraction),
                  "injection_fraction + eclipse_injection_fraction":
                  (self.injection_fraction, self.eclipse_injection_fraction),
                  "augment_*": tuple(self.augmentation.values())}
        for name, values in shares.items():
            if min(values) < 0 or sum(values) > 1 + 1e-9:
                raise ValueError(f"{name}: probabilities must be >= 0 and sum to at most 1")
        if not 0 <= self.eclipse_diluted_fraction <= 1:
            raise ValueError("eclipse_diluted_fraction must be in [0, 1]")
        if self.noise_level < 0:
            raise ValueError("noise_level must be >= 0")
        low, high = self.eclipse_period_range
        if not 0 < low <= high:
            raise ValueError(f"eclipse_period_range must be (low, high) days with 0 < low <= "
                             f"high, got {self.eclipse_period_range}")
        object.__setattr__(self, "eclipse_period_range", (float(low), float(high)))
        if "members" in self.model_options:
            raise ValueError("train.model_options cannot set members: set train.ensemble")
        if not 0 <= self.missing_channels <= 1:
            raise ValueError("missing_channels must be a probability in [0, 1]")

    @property
    def augmentation(self) -> dict[str, float]:
        """Probability of each augmentation, by name."""
        return {name: getattr(self, f"augment_{name}") for name in AUGMENTATIONS}

    @classmethod
    def from_dict(cls, options: dict) -> TrainConfig:
        """The config from a mapping (``features`` as a mapping too, ``preset`` a name of
        :data:`TRAIN_PRESETS`); unknown keys are an error."""
        options = _with_preset(dict(options))
        if "features" in options:
            options["features"] = FeatureConfig.from_dict(options["features"])
        if "transit_prior" in options:
            options["transit_prior"] = TransitPrior.from_dict(options["transit_prior"])
        return options_from_dict(cls, options, "train")

    def to_dict(self) -> dict:
        prior = {name: list(value) if isinstance(value, tuple) else value
                 for name, value in asdict(self.transit_prior).items()}
        return {**asdict(self), "features": self.features.to_dict(), "transit_prior": prior}


def _with_preset(options: dict) -> dict:
    """``options`` over the settings of their ``preset`` (``features`` merged key by key)."""
    name = options.pop("preset", None)
    if name is None:
        return options
    if name not in TRAIN_PRESETS:
        raise ValueError(f"unknown training preset {name!r}; valid: {sorted(TRAIN_PRESETS)}")
    preset = TRAIN_PRESETS[name]
    features = {**preset.get("features", {}), **options.get("features", {})}
    return {**preset, **options, **({"features": features} if features else {})}
