"""Architectures and the inference adapter of the learned denoisers (tiny models, fast)."""
from pathlib import Path

import numpy as np
import pytest
import torch

from denoise_core import runner
from denoise_core.models import (ARCHITECTURES, ConvAutoencoder, DnCNN, FFDNet, UNet, fuse_batch_norm, parameter_count,
                                  run_network)
from denoise_core.models.ffdnet import fill_impulses

SHARED = Path(__file__).resolve().parents[2] / "shared"
REFERENCE = SHARED / "reference_weights"
SET12 = SHARED / "data" / "set12"


def _randomise_batch_norm(model):
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-0.2, 0.2)
            module.running_var.uniform_(0.5, 2.0)
            module.weight.data.uniform_(0.5, 1.5)
            module.bias.data.uniform_(-0.1, 0.1)
    return model.eval()


@pytest.mark.parametrize("arch, config", [("dncnn", {"depth": 4, "width": 8}), ("ffdnet", {"depth": 3, "width": 8}),
                                          ("unet", {"width": 4, "levels": 2}), ("autoencoder", {"width": 4}),
                                          ("dncnn", {"depth": 3, "width": 8, "channels": 3})])
def test_shapes_and_config_roundtrip(arch, config):
    model = ARCHITECTURES[arch](**config)
    rebuilt = ARCHITECTURES[arch](**model.config())
    assert parameter_count(model) == parameter_count(rebuilt) > 0
    x = torch.rand(2, model.channels, 16, 24)
    out = run_network(model, x, torch.full((2,), 0.1))
    assert out.shape == x.shape


def test_dncnn_layout_matches_published_keys():
    keys = list(DnCNN(depth=17).state_dict())
    assert keys[:3] == ["dncnn.0.weight", "dncnn.2.weight", "dncnn.3.weight"] and keys[-1] == "dncnn.47.weight"
    assert list(DnCNN(depth=17, batch_norm=False).state_dict())[-1] == "dncnn.32.bias"


def test_fused_batch_norm_is_equivalent():
    torch.manual_seed(0)
    model = _randomise_batch_norm(DnCNN(depth=5, width=8))
    x = torch.rand(1, 1, 20, 20)
    with torch.no_grad():
        torch.testing.assert_close(fuse_batch_norm(model)(x), model(x), atol=1e-5, rtol=1e-5)


def test_dncnn_without_batch_norm_starts_as_the_identity():  # so that the plain stack trains from scratch
    x = torch.rand(1, 3, 12, 12)
    model = DnCNN(depth=5, width=8, channels=3, batch_norm=False)
    with torch.no_grad():
        torch.testing.assert_close(model(x), x)
    assert all(float(conv.weight.detach().std()) > 0.1 for conv in list(model.dncnn)[:-1] if isinstance(conv, torch.nn.Conv2d))


def test_ffdnet_noise_map_changes_output_and_blind_variant_ignores_it():
    torch.manual_seed(0)
    x = torch.rand(1, 1, 8, 8)
    model, blind = FFDNet(depth=3, width=8), FFDNet(depth=3, width=8, noise_map=False)
    with torch.no_grad():
        torch.testing.assert_close(model(x, torch.tensor([0.2])), x)  # zero last layer: starts as the identity
        for network in (model, blind):
            torch.nn.init.normal_(network.body[-1].weight, std=0.1)
        assert not torch.allclose(model(x, torch.tensor([0.0])), model(x, torch.tensor([0.2])))
        torch.testing.assert_close(blind(x, torch.tensor([0.0])), blind(x))


def test_multiplicative_ffdnet_scales_its_noise_map_with_the_local_brightness():
    torch.manual_seed(0)
    plain, multiplicative = FFDNet(depth=3, width=8), FFDNet(depth=3, width=8, multiplicative=True)
    assert multiplicative.config()["multiplicative"] and "multiplicative" not in plain.config()
    multiplicative.load_state_dict(plain.state_dict(), strict=True)  # the same weights' shapes
    torch.nn.init.normal_(plain.body[-1].weight, std=0.1)
    multiplicative.load_state_dict(plain.state_dict())
    with torch.no_grad():
        for brightness in (0.25, 0.8):  # on a flat image the map is sigma × brightness
            x = torch.full((1, 1, 8, 8), brightness)
            torch.testing.assert_close(multiplicative(x, torch.tensor([0.2])), plain(x, torch.tensor([0.2 * brightness])))


def test_fill_impulses_averages_the_nearest_clean_pixels():
    x = torch.full((1, 1, 9, 9), 0.5)
    x[0, 0, 4, 4], x[0, 0, 4, 5] = 0.0, 1.0          # two impulses side by side on a flat 0.5
    x[0, 0, 0, 0] = 0.2                              # a clean neighbour of the corner impulse below
    x[0, 0, 1, 1] = 1.0
    filled = fill_impulses(x, (x <= 0) | (x >= 1))
    assert filled[0, 0, 4, 4] == filled[0, 0, 4, 5] == 0.5  # no impulse enters the average
    assert abs(float(filled[0, 0, 1, 1]) - (0.2 + 7 * 0.5) / 8) < 1e-6  # its eight 3×3 neighbours
    white = torch.ones(1, 1, 20, 20)                 # nothing clean within 15×15: the value stays
    torch.testing.assert_close(fill_impulses(white, white >= 1), white)


@pytest.mark.parametrize("mode", ["switch", "fill"])
def test_ffdnet_impulse_modes_fill_the_extreme_pixels_first(mode):
    torch.manual_seed(0)
    model = FFDNet(depth=3, width=8, impulses=mode)
    torch.nn.init.normal_(model.body[-1].weight, std=0.1)
    x = torch.rand(1, 1, 16, 16) * 0.8 + 0.1
    x[0, 0, ::5, ::3] = 0.0
    x[0, 0, 2::5, 1::4] = 1.0
    mask = (x <= 0) | (x >= 1)
    with torch.no_grad():
        out = model(x, torch.tensor([0.05]))
        plain = FFDNet(depth=3, width=8)
        plain.load_state_dict(model.state_dict(), strict=True)  # the same weights as the plain network
        expected = plain(fill_impulses(x, mask), torch.tensor([0.05]))
    torch.testing.assert_close(out[mask], expected[mask])
    if mode == "switch":  # every other pixel passes through untouched
        assert torch.equal(out[~mask], x[~mask])
    else:
        torch.testing.assert_close(out, expected)
    assert model.config()["impulses"] == mode and "impulses" not in plain.config()
    with pytest.raises(ValueError, match="impulses"):
        FFDNet(impulses="sometimes")


def test_autoencoder_matches_the_course_layout():
    model = ConvAutoencoder()
    widths = [m.out_channels for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    assert widths == [64, 128, 128, 64, 1]
    assert isinstance(list(model.decoder)[-1], torch.nn.Sigmoid)
    assert UNet().multiple == 8


def _network(arch="ffdnet", **config):
    torch.manual_seed(0)
    return runner.Network(ARCHITECTURES[arch](**config), target=torch.device("cpu"))


@pytest.mark.parametrize("shape", [(17, 23), (5, 3), (2, 2), (30, 21, 3)])
def test_adapter_pads_crops_and_keeps_contract(shape):
    image = np.random.default_rng(0).random(shape, dtype=np.float32)
    for arch, config in [("ffdnet", {"depth": 3, "width": 8}), ("autoencoder", {"width": 4}),
                         ("unet", {"width": 4, "levels": 2}), ("ffdnet", {"depth": 3, "width": 8, "channels": 3})]:
        before = image.copy()
        out = _network(arch, **config)(image, 0.1)
        assert out.shape == image.shape and out.dtype == np.float32 and 0 <= out.min() <= out.max() <= 1
        np.testing.assert_array_equal(image, before)


def test_tiles_equal_whole_image_when_overlap_covers_receptive_field():
    net = _network("ffdnet", depth=3, width=8)  # receptive field 7 half-resolution pixels = 14 pixels
    image = np.random.default_rng(1).random((70, 90), dtype=np.float32)
    whole = net(image, 0.1)
    net.tile, net.overlap = 32, 16
    np.testing.assert_allclose(net(image, 0.1), whole, atol=1e-5)


def test_gray_model_denoises_colour_channel_by_channel():
    net = _network("dncnn", depth=3, width=8, batch_norm=False)
    rgb = np.random.default_rng(2).random((12, 14, 3), dtype=np.float32)
    out = net(rgb)
    np.testing.assert_allclose(out[..., 1], net(rgb[..., 1]), atol=1e-6)


@pytest.mark.skipif(not (REFERENCE / "saoyan_dncnn_s_25.pth").exists() or not SET12.is_dir(),
                    reason="../shared/reference_weights or ../shared/data/set12 absent")
def test_published_dncnn_denoises_a_set12_crop():
    from PIL import Image

    from denoise_core.weights import convert_dncnn
    state = torch.load(REFERENCE / "saoyan_dncnn_s_25.pth", map_location="cpu", weights_only=True)
    net = runner.Network(convert_dncnn(state, REFERENCE / "saoyan_dncnn_s_25.pth"), target=torch.device("cpu"))
    clean = np.asarray(Image.open(sorted(SET12.glob("*.png"))[0]), dtype=np.float32)[64:128, 64:128] / 255
    noisy = clean + 25 / 255 * np.random.default_rng(0).standard_normal(clean.shape).astype(np.float32)
    psnr = lambda a: 10 * np.log10(1 / np.mean((np.clip(a, 0, 1) - clean) ** 2))  # noqa: E731
    assert psnr(net(noisy)) > psnr(noisy) + 7
