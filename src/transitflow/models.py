"""Light-curve classifiers by name: a fast 1-D CNN and the transit transformer.

Both take ``(batch, channels, length)`` features (:mod:`transitflow.features`) and return
one logit per light curve (planet vs not); apply a sigmoid to score.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class ConvBlock(nn.Sequential):
    """Convolution, max pooling, batch norm, leaky ReLU (qusi's Hadryss unit, pooled first
    so the element-wise layers see fewer samples)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, pool: int) -> None:
        super().__init__(
            nn.Conv1d(in_channels, out_channels, kernel_size, padding=kernel_size // 2, bias=False),
            nn.MaxPool1d(pool),
            nn.BatchNorm1d(out_channels),
            nn.LeakyReLU(),
        )


def conv_stack(in_channels: int, length: int, widths: tuple[int, ...], kernel_size: int,
               pool: int) -> nn.Sequential:
    """Conv blocks of ``widths`` over inputs of ``length`` samples."""
    if length < pool ** len(widths):
        raise ValueError(f"length {length} is too short for {len(widths)} pooling blocks")
    sizes = (in_channels, *widths)
    return nn.Sequential(*(ConvBlock(a, b, kernel_size, pool)
                           for a, b in zip(sizes[:-1], sizes[1:])))


def pooled(x: Tensor) -> Tensor:
    """Mean and maximum over the samples of ``(batch, channels, samples)``."""
    return torch.cat([x.mean(dim=-1), x.amax(dim=-1)], dim=-1)


class LightCurveCNN(nn.Module):
    """A 1-D CNN after qusi's Hadryss: pooled conv blocks, global pooling, linear head;
    with a local view (:mod:`transitflow.features`), a second conv stack reads its
    ``local_length`` samples after the first ``length`` and the head reads both.

    Parameters
    ----------
    in_channels, length : int
        Input channels and samples of the global view (any length of at least
        ``pool ** len(widths)``).
    widths : tuple of int
        Output channels of each conv block; each block halves the length (``pool``).
    kernel_size, pool : int
        Convolution kernel and pooling size of every block.
    dropout : float
        Dropout before the head.
    local_length : int
        Samples of the local view (0: none).
    local_widths : tuple of int
        Output channels of the local view's conv blocks.
    """

    def __init__(self, in_channels: int = 3, length: int = 1000,
                 widths: tuple[int, ...] = (8, 8, 16, 32, 64, 128, 128), kernel_size: int = 5,
                 pool: int = 2, dropout: float = 0.1, local_length: int = 0,
                 local_widths: tuple[int, ...] = (16, 32, 64)) -> None:
        super().__init__()
        self.length = length
        self.blocks = conv_stack(in_channels, length, widths, kernel_size, pool)
        self.local_blocks = conv_stack(in_channels, local_length, local_widths, kernel_size,
                                       pool) if local_length else None
        features = 2 * widths[-1] + (2 * local_widths[-1] if local_length else 0)
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(features, 1))

    def forward(self, x: Tensor) -> Tensor:
        views = [pooled(self.blocks(x[..., :self.length]))]
        if self.local_blocks is not None:
            views.append(pooled(self.local_blocks(x[..., self.length:])))
        return self.head(torch.cat(views, dim=-1)).squeeze(-1)


def sinusoidal_encoding(tokens: int, d_model: int) -> Tensor:
    """The ``(tokens, d_model)`` sine/cosine positional encoding of Vaswani et al. (2017)."""
    position = torch.arange(tokens, dtype=torch.float32)[:, None]
    frequency = torch.exp(torch.arange(0, d_model, 2, dtype=torch.float32)
                          * (-math.log(10000.0) / d_model))
    encoding = torch.zeros(tokens, d_model)
    encoding[:, 0::2] = torch.sin(position * frequency)
    encoding[:, 1::2] = torch.cos(position * frequency[: d_model // 2])
    return encoding


class EncoderLayer(nn.Module):
    """Pre-norm transformer encoder layer: multi-head self-attention, then a GELU MLP."""

    def __init__(self, d_model: int, heads: int, mlp_ratio: int, dropout: float) -> None:
        super().__init__()
        if d_model % heads:
            raise ValueError(f"d_model {d_model} is not divisible by heads {heads}")
        self.heads = heads
        self.dropout = dropout
        self.norm1 = nn.LayerNorm(d_model)
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.proj = nn.Linear(d_model, d_model)
        self.norm2 = nn.LayerNorm(d_model)
        self.mlp = nn.Sequential(nn.Linear(d_model, mlp_ratio * d_model), nn.GELU(),
                                 nn.Dropout(dropout), nn.Linear(mlp_ratio * d_model, d_model))
        self.drop = nn.Dropout(dropout)

    def forward(self, x: Tensor) -> Tensor:
        batch, tokens, d_model = x.shape
        q, k, v = (self.qkv(self.norm1(x)).view(batch, tokens, 3, self.heads, -1)
                   .permute(2, 0, 3, 1, 4))
        attended = F.scaled_dot_product_attention(
            q, k, v, dropout_p=self.dropout if self.training else 0.0)
        x = x + self.drop(self.proj(attended.transpose(1, 2).reshape(batch, tokens, d_model)))
        return x + self.drop(self.mlp(self.norm2(x)))


class TransitTransformer(nn.Module):
    """The transit transformer of Salinas et al. (2025).

    A kernel-1 convolution mixes the channels per cadence, a strided convolution turns
    ``patch`` cadences into one ``d_model`` token, sinusoidal positions are added, pre-norm
    encoder layers follow, and the mean token feeds a linear head.

    Parameters
    ----------
    in_channels, length : int
        Input channels and samples; ``length // patch`` tokens.
    patch : int
        Cadences per token (kernel and stride of the embedding convolution).
    d_model, heads, layers, mlp_ratio : int
        Token width, attention heads, encoder layers, MLP expansion.
    embed_channels : int
        Width of the kernel-1 convolution.
    dropout : float
        Dropout of attention, MLP and residual branches.
    """

    def __init__(self, in_channels: int = 3, length: int = 1000, patch: int = 10,
                 d_model: int = 64, heads: int = 4, layers: int = 2, mlp_ratio: int = 4,
                 embed_channels: int = 32, dropout: float = 0.1) -> None:
        super().__init__()
        if length < patch:
            raise ValueError(f"length {length} is shorter than one patch ({patch})")
        self.embed = nn.Sequential(nn.Conv1d(in_channels, embed_channels, 1), nn.GELU(),
                                   nn.Conv1d(embed_channels, d_model, patch, stride=patch))
        self.register_buffer("position", sinusoidal_encoding(length // patch, d_model),
                             persistent=False)
        self.drop = nn.Dropout(dropout)
        self.layers = nn.Sequential(*(EncoderLayer(d_model, heads, mlp_ratio, dropout)
                                      for _ in range(layers)))
        self.norm = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, 1)

    def forward(self, x: Tensor) -> Tensor:
        tokens = self.embed(x).transpose(1, 2)
        tokens = self.layers(self.drop(tokens + self.position))
        return self.head(self.norm(tokens).mean(dim=1)).squeeze(-1)


class Ensemble(nn.Module):
    """Networks of one architecture whose logits are averaged (a deep ensemble: members
    trained from other seeds disagree where the training data say little, and their mean
    generalises better than any one of them)."""

    def __init__(self, members: list[nn.Module]) -> None:
        super().__init__()
        self.members = nn.ModuleList(members)

    def forward(self, x: Tensor) -> Tensor:
        return torch.stack([member(x).float() for member in self.members]).mean(dim=0)


ARCHITECTURES = {"cnn": LightCurveCNN, "transformer": TransitTransformer}

_PAPER = {"arch": "transformer", "patch": 8, "d_model": 512, "heads": 4, "layers": 4,
          "embed_channels": 64}
#: The model sizes of Table 2 of Salinas et al. (2025): encoder layers ``L`` and token width
#: ``d``, each varied about the paper's model (L=4, d=512).
PAPER_PRESETS: dict[str, dict] = {
    **{f"paper-L{layers}": {**_PAPER, "layers": layers} for layers in (2, 4, 8)},
    **{f"paper-d{d_model}": {**_PAPER, "d_model": d_model} for d_model in (128, 256, 512)},
}
#: Named model settings: ``arch`` picks the class, the rest are its arguments.
PRESETS: dict[str, dict] = {
    "cnn": {"arch": "cnn"},
    "transformer-cpu": {"arch": "transformer", "patch": 10, "d_model": 64, "heads": 4,
                        "layers": 2},
    "transformer-paper": _PAPER,
    **PAPER_PRESETS,
}


def build_model(preset: str, members: int = 1, **overrides) -> nn.Module:
    """A freshly initialised model from a preset, with arguments overridden; an
    :class:`Ensemble` of that model when ``members`` > 1.

    ``in_channels`` and ``length`` should match the :class:`~transitflow.features.FeatureConfig`.

    Raises
    ------
    ValueError
        For an unknown preset, or an override the architecture does not take.
    """
    if preset not in PRESETS:
        raise ValueError(f"unknown model preset {preset!r}; valid: {sorted(PRESETS)}")
    if members < 1:
        raise ValueError(f"an ensemble needs at least one member, not {members}")
    options = {**PRESETS[preset], **overrides}
    architecture = ARCHITECTURES[options.pop("arch")]
    try:
        models = [architecture(**options) for _ in range(members)]
    except TypeError as error:
        raise ValueError(f"model preset {preset!r}: {error}") from error
    return Ensemble(models) if members > 1 else models[0]


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
