"""LPIPS: the code path with a checkpoint built here, its properties, and 'unavailable' handling."""
import numpy as np
import pytest
import torch

from denoise_core import metrics, registry, weights
from denoise_core.errors import WeightsError
from denoise_core.models import LPIPSAlex
from denoise_core.weights import Source

RNG = np.random.default_rng(0)
IMAGE = np.clip(np.add.outer(np.linspace(0, 1, 64), np.linspace(0, 0.5, 64)) / 1.5, 0, 1).astype(np.float32)


@pytest.fixture(scope="module")
def published_files(tmp_path_factory):
    """Random weights saved in the two published layouts (AlexNet with classifier; v0.1 heads)."""
    folder = tmp_path_factory.mktemp("lpips")
    torch.manual_seed(0)
    model = LPIPSAlex()
    state = model.state_dict()
    alexnet = {k: v for k, v in state.items() if k.startswith("features.")}
    alexnet["classifier.1.weight"] = torch.zeros(4, 4)  # the published file also holds the classifier
    heads = {k: v.abs() for k, v in state.items() if k.startswith("lin")}
    torch.save(alexnet, folder / "alexnet-owt-7be5be79.pth")
    torch.save(heads, folder / "alex.pth")
    return folder / "alexnet-owt-7be5be79.pth", folder / "alex.pth"


@pytest.fixture(scope="module")
def network(published_files):
    return metrics.lpips_network(*published_files)


def test_identical_is_zero_and_symmetric(network):
    noisy = np.clip(IMAGE + 0.1 * RNG.standard_normal(IMAGE.shape), 0, 1).astype(np.float32)
    assert metrics.lpips_distance(network, IMAGE, IMAGE) == pytest.approx(0.0, abs=1e-7)
    assert metrics.lpips_distance(network, IMAGE, noisy) == pytest.approx(metrics.lpips_distance(network, noisy, IMAGE),
                                                                          rel=1e-5)


def test_grows_with_noise_gray_and_colour(network):
    for image in (IMAGE, np.stack([IMAGE, IMAGE.T, 1 - IMAGE], axis=-1)):
        noise = np.random.default_rng(1).standard_normal(image.shape)
        values = [metrics.lpips_distance(network, image, np.clip(image + s * noise, 0, 1).astype(np.float32))
                  for s in (0.02, 0.1, 0.3)]
        assert values[0] < values[1] < values[2]


def test_registered_lower_is_better_and_unavailable_without_weights(tmp_path, monkeypatch):
    monkeypatch.setenv("DENOISE_WORKBENCH_CACHE", str(tmp_path))
    monkeypatch.setattr(metrics, "_LPIPS_CACHE", [])
    method = registry.get("lpips", "metric")
    assert method.higher_is_better is False
    assert not metrics.available("lpips")
    values = metrics.measure(IMAGE, IMAGE * 0.9)
    assert "lpips" not in values and "psnr" in values
    with pytest.raises(WeightsError, match="weights fetch lpips"):
        metrics.lpips(IMAGE, IMAGE)


def test_fetch_then_measure(tmp_path, monkeypatch, published_files):
    monkeypatch.setenv("DENOISE_WORKBENCH_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(metrics, "_LPIPS_CACHE", [])
    local = tuple(Source(item.url, weights.sha256(path), "pinned")
                  for path, item in zip(published_files, weights.DOWNLOADS["lpips"]))
    monkeypatch.setitem(weights.DOWNLOADS, "lpips", local)
    weights.fetch("lpips", mirror=published_files[0].parent)
    assert metrics.available("lpips")
    values = metrics.measure(IMAGE, np.clip(IMAGE + 0.1, 0, 1))
    assert values["lpips"] > 0


def test_wrong_file_is_a_weights_error(tmp_path, published_files):
    torch.save({"something": torch.zeros(1)}, tmp_path / "bad.pth")
    with pytest.raises(WeightsError, match="bad.pth"):
        metrics.lpips_network(tmp_path / "bad.pth", published_files[1])
