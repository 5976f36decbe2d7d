"""Models by preset: output shapes, sizes, encodings, errors."""

from __future__ import annotations

import pytest
import torch

from transitflow.models import (PAPER_PRESETS, PRESETS, Ensemble, build_model,
                                count_parameters, sinusoidal_encoding)


@pytest.mark.parametrize("preset, low, high", [("cnn", 1e5, 1e6),
                                               ("transformer-cpu", 5e4, 5e5),
                                               ("transformer-paper", 1e7, 2e7)])
def test_forward_shape_and_size(preset, low, high):
    torch.manual_seed(0)
    model = build_model(preset).eval()
    assert low <= count_parameters(model) <= high
    with torch.inference_mode():
        logits = model(torch.randn(2, 3, 1000))
    assert logits.shape == (2,) and torch.isfinite(logits).all()


@pytest.mark.parametrize("preset", ["cnn", "transformer-cpu"])
def test_overrides_channels_and_length(preset):
    model = build_model(preset, in_channels=1, length=640).eval()
    with torch.inference_mode():
        assert model(torch.randn(4, 1, 640)).shape == (4,)


def test_transformer_tokens_and_dropout():
    model = build_model("transformer-cpu")
    assert model.position.shape == (100, 64)
    x = torch.randn(3, 3, 1000)
    model.train()
    assert not torch.equal(model(x), model(x))
    model.eval()
    assert torch.equal(model(x), model(x))


def test_paper_presets_vary_layers_and_width_about_the_paper_model():
    size = {name: count_parameters(build_model(name)) for name in PAPER_PRESETS}
    assert size["paper-L2"] < size["paper-L4"] < size["paper-L8"]
    assert size["paper-d128"] < size["paper-d256"] < size["paper-d512"]
    assert PRESETS["paper-L4"] == PRESETS["paper-d512"] == PRESETS["transformer-paper"]
    assert [PRESETS[f"paper-L{n}"]["layers"] for n in (2, 4, 8)] == [2, 4, 8]
    model = build_model("paper-d128").eval()
    with torch.inference_mode():
        assert model(torch.randn(2, 3, 1000)).shape == (2,)


def test_ensemble_averages_its_members_logits():
    torch.manual_seed(0)
    ensemble = build_model("cnn", members=3, in_channels=1, length=640).eval()
    assert isinstance(ensemble, Ensemble) and len(ensemble.members) == 3
    assert count_parameters(ensemble) == 3 * count_parameters(build_model("cnn", in_channels=1,
                                                                          length=640))
    x = torch.randn(4, 1, 640)
    with torch.inference_mode():
        each = torch.stack([member(x) for member in ensemble.members])
        assert torch.allclose(ensemble(x), each.mean(dim=0))
    assert not torch.equal(each[0], each[1])  # members start from other weights
    assert not isinstance(build_model("cnn", members=1), Ensemble)


def test_sinusoidal_encoding():
    encoding = sinusoidal_encoding(5, 8)
    assert torch.equal(encoding[0], torch.tensor([0.0, 1.0] * 4))
    three = torch.tensor(3.0)
    assert torch.allclose(encoding[3, :2], torch.stack([three.sin(), three.cos()]))


def test_unknown_preset_lists_valid_ones():
    with pytest.raises(ValueError, match="transformer-cpu") as error:
        build_model("resnet")
    assert all(name in str(error.value) for name in PRESETS)


def test_bad_override_is_a_value_error():
    with pytest.raises(ValueError, match="d_model"):
        build_model("cnn", d_model=3)
    with pytest.raises(ValueError, match="divisible"):
        build_model("transformer-cpu", d_model=30, heads=4)


def test_the_cnn_reads_a_local_view_after_the_global_one_in_its_own_branch():
    torch.manual_seed(0)
    model = build_model("cnn", length=1000, local_length=64).eval()
    assert count_parameters(model) > count_parameters(build_model("cnn"))
    x = torch.randn(2, 3, 1064)
    changed = x.clone()
    changed[..., 1000:] = torch.randn(2, 3, 64)
    with torch.inference_mode():
        assert model(x).shape == (2,)
        assert not torch.equal(model(x), model(changed))  # the local view counts
    with pytest.raises(ValueError, match="too short"):
        build_model("cnn", local_length=4)
