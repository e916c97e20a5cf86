"""DRUNet: the published key layout loads strictly, any size goes through, a tiny one trains."""
import json

import numpy as np
import pytest
import torch
from safetensors import safe_open

from denoise_core import runner, weights
from denoise_core import training
from denoise_core.errors import InvalidParameterError
from denoise_core.models import ARCHITECTURES, DRUNet, parameter_count, run_network
from denoise_core.weights import takes_noise_map

TINY = {"width": 4, "levels": 3, "blocks": 1}


def official_shapes(channels: int) -> dict[str, tuple[int, ...]]:
    """The tensors of the published drunet_gray.pth / drunet_color.pth, written out from the paper's layout
    (independently of ``DRUNet``): 64/128/256/512 channels, 4 residual blocks per scale, no biases."""
    widths, shapes = (64, 128, 256, 512), {"m_head.weight": (64, channels + 1, 3, 3)}

    def blocks(prefix: str, first: int, width: int) -> None:
        for i in range(first, first + 4):
            shapes[f"{prefix}.{i}.res.0.weight"] = shapes[f"{prefix}.{i}.res.2.weight"] = (width, width, 3, 3)

    for level in (1, 2, 3):
        blocks(f"m_down{level}", 0, widths[level - 1])
        shapes[f"m_down{level}.4.weight"] = (widths[level], widths[level - 1], 2, 2)
    blocks("m_body", 0, 512)
    for level in (3, 2, 1):
        shapes[f"m_up{level}.0.weight"] = (widths[level], widths[level - 1], 2, 2)  # ConvTranspose2d: (in, out, k, k)
        blocks(f"m_up{level}", 1, widths[level - 1])
    shapes["m_tail.weight"] = (channels, 64, 3, 3)
    return shapes


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.mark.parametrize("channels, parameters", [(1, 32_638_656), (3, 32_640_960)])
def test_published_layout_loads_strictly_through_the_safe_loader(tmp_path, channels, parameters):
    shapes = official_shapes(channels)
    assert sum(int(np.prod(s)) for s in shapes.values()) == parameters  # 32,640,960 for colour, as published
    generator = torch.Generator().manual_seed(channels)
    state = {key: torch.randn(shape, generator=generator) * 0.01 for key, shape in shapes.items()}
    path = tmp_path / f"drunet_{channels}.pth"
    torch.save(state, path)
    loaded = weights.read_state_dict(path)  # torch.load(weights_only=True)
    model = DRUNet(channels=channels)
    assert {k: tuple(v.shape) for k, v in model.state_dict().items()} == shapes
    model.load_state_dict(loaded, strict=True)
    assert parameter_count(model) == parameters
    converted = weights.convert_drunet(loaded, path)  # what 'weights import' does with the file
    assert converted.config() == {"channels": channels, "width": 64, "levels": 3, "blocks": 4, "noise_map": True}
    torch.testing.assert_close(converted.m_body[3].res[2].weight, state["m_body.3.res.2.weight"])


def test_a_file_of_another_layout_is_refused_by_name():
    state = {"m_head.weight": torch.zeros(8, 2, 3, 3), "m_tail.bias": torch.zeros(1),
             "m_tail.weight": torch.zeros(1, 8, 3, 3)}
    with pytest.raises(weights.WeightsError, match="m_tail.bias"):
        weights.convert_drunet(state, "odd.pth")
    small = {k: v for k, v in DRUNet(**TINY).state_dict().items() if k != "m_up2.0.weight"}
    with pytest.raises(weights.WeightsError, match="m_up2.0.weight"):
        weights.convert_drunet(small, "cut.pth")


@pytest.mark.parametrize("channels", [1, 3])
def test_any_size_goes_through_padded_and_cropped_back(channels):
    torch.manual_seed(0)
    model = DRUNet(channels=channels, **TINY).eval()
    for p in model.parameters():  # residual branches start at zero; give them something to do
        p.data.normal_(0, 0.2)
    x = torch.rand(2, channels, 37, 53)
    sigma = torch.tensor([0.05, 0.2])
    with torch.no_grad():
        out = model(x, sigma)
        assert out.shape == x.shape and bool(torch.isfinite(out).all())
        padded = torch.nn.functional.pad(x, (0, 3, 0, 3), mode="replicate")  # to 40×56, a multiple of 8
        torch.testing.assert_close(out, model(padded, sigma)[..., :37, :53])
        assert not torch.allclose(out[0], model(x, sigma.flip(0))[0])  # the noise map is used
        torch.testing.assert_close(model(x, sigma[:, None]), out)  # (N, 1) as well as (N,)
    with pytest.raises(ValueError, match="one noise level per image"):
        model(x, torch.zeros(2, 3))
    with pytest.raises(ValueError, match="takes a noise level"):
        model(x)


def test_blind_variant_ignores_sigma_and_the_runner_knows_which_is_which():
    blind, mapped = DRUNet(noise_map=False, **TINY).eval(), DRUNet(**TINY).eval()
    x = torch.rand(1, 1, 16, 16)
    with torch.no_grad():
        torch.testing.assert_close(run_network(blind, x, torch.tensor([0.3])), blind(x))
        assert run_network(mapped, x, torch.tensor([0.1])).shape == x.shape
    assert takes_noise_map("drunet", {}) and not takes_noise_map("drunet", {"noise_map": False})
    assert takes_noise_map("ffdnet", {}) and not takes_noise_map("unet", {"noise_map": True})
    assert ARCHITECTURES["drunet"](**mapped.config()).config() == mapped.config()


def test_the_residual_variant_starts_as_the_identity():  # so that a short run from scratch trains
    model = DRUNet(residual=True, **TINY).eval()
    x = torch.rand(1, 1, 21, 19)
    with torch.no_grad():
        torch.testing.assert_close(model(x, torch.tensor([0.1])), x)
    assert model.config()["residual"] and "residual" not in DRUNet(**TINY).config()
    assert ARCHITECTURES["drunet"](**model.config()).residual


@pytest.mark.parametrize("shape", [(37, 53), (5, 3), (30, 21, 3)])
def test_adapter_keeps_the_contract(shape):
    torch.manual_seed(0)
    image = np.random.default_rng(0).random(shape, dtype=np.float32)
    before = image.copy()
    out = runner.Network(DRUNet(**TINY), target=torch.device("cpu"))(image, 0.1)
    assert out.shape == image.shape and out.dtype == np.float32 and 0 <= out.min() <= out.max() <= 1
    np.testing.assert_array_equal(image, before)


def test_a_tiny_drunet_trains_saves_and_loads_like_ffdnet(tmp_path, monkeypatch):
    from PIL import Image
    folder = tmp_path / "images"
    folder.mkdir()
    y, x = np.mgrid[0:40, 0:40] / 40
    for i in range(5):
        image = 0.5 + 0.4 * np.sin(6 * x * (i + 1) + 3 * y) * np.cos(4 * y + i)
        Image.fromarray((np.clip(image, 0, 1) * 255).astype(np.uint8)).save(folder / f"{i:02d}.png")
    config = training.TrainConfig(out=str(tmp_path / "d"), arch="drunet", arch_config=dict(TINY), data=str(folder),
                                  val_images=2, patch=16, batch=4, steps=4, val_every=2, checkpoint_every=2,
                                  threads=1, device="cpu")
    path = training.train(config)
    with safe_open(str(path), "pt") as handle:
        meta = handle.metadata()
    assert meta["arch"] == "drunet" and json.loads(meta["config"]) == {**TINY, "channels": 1, "noise_map": True}
    assert float(meta["val_psnr"]) > 0 and meta["steps"] == "4"
    monkeypatch.setenv("DENOISE_WORKBENCH_CACHE", str(tmp_path / "cache"))
    entry = weights.import_weights(path, "tiny_drunet")
    assert entry.arch == "drunet" and entry.noise_map  # so it is registered with a sigma slider
    out = runner.load("tiny_drunet")(np.full((37, 53), 0.5, dtype=np.float32), 0.1)
    assert out.shape == (37, 53)
    weights.remove_imported("tiny_drunet")
    runner.clear_cache()
    with pytest.raises(InvalidParameterError, match="drunet"):
        training.build_model("drunet", {"levels": 0})
