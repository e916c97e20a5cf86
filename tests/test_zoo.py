"""The published model zoo: official files from a mirror folder, strict loading, registration, the CLI."""
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from lpips_mirror import lpips_mirror
from test_drunet import official_shapes

from denoise_core import cli, metrics, registry, runner, weights
from denoise_core.methods import learned
from denoise_core.datasets import image_files
from denoise_core.errors import WeightsError
from denoise_core.image import read_image
from denoise_core.weights import Source, zoo
from denoise_core.weights.download import HASH_NOTES

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
KAIR = SHARED / "reference_weights" / "kair"
needs_kair = pytest.mark.skipif(not KAIR.is_dir(), reason="../shared/reference_weights/kair absent")
needs_bsd68 = pytest.mark.skipif(not (SHARED / "data" / "bsd68").is_dir(), reason="../shared/data/bsd68 absent")


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """An empty cache, and a registry that forgets what the test registers."""
    monkeypatch.setenv("DENOISE_WORKBENCH_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(registry, "REGISTRY", registry.REGISTRY.copy())
    runner.clear_cache()
    yield tmp_path / "cache"
    runner.clear_cache()


def official_state(published: zoo.Published) -> dict[str, torch.Tensor]:
    """Random tensors under the keys and shapes of the published file, written out from the papers' layouts
    (KAIR: ``model.N`` convolutions with biases, every other module a ReLU; DRUNet: ``test_drunet``)."""
    torch.manual_seed(0)
    config = published.config
    if published.arch == "drunet":
        shapes = official_shapes(published.channels)
    else:
        c, width, depth = published.channels, config["width"], config["depth"]
        first, last = (4 * c + 1, 4 * c) if published.arch == "ffdnet" else (c, c)
        shapes = {}
        for i in range(depth):
            inputs, outputs = (first if i == 0 else width), (last if i == depth - 1 else width)
            shapes[f"model.{2 * i}.weight"], shapes[f"model.{2 * i}.bias"] = (outputs, inputs, 3, 3), (outputs,)
    return {key: 0.01 * torch.randn(shape) for key, shape in shapes.items()}


def denoising_gain(name: str, sigma: float = 25 / 255) -> float:
    """dB that ``name`` adds to a 96×96 crop of a sample photograph (colour for a colour model) with Gaussian
    noise ``sigma``."""
    from denoise_core.samples import load_sample
    colour = weights.get_entry(name).channels == 3
    clean = load_sample("astronaut" if colour else "camera")[0][64:160, 64:160]
    noisy = (clean + sigma * np.random.default_rng(0).standard_normal(clean.shape)).astype(np.float32)
    method = registry.get(name, "denoiser")
    out = method.func(noisy, **({"sigma": sigma} if method.params else {}))
    return metrics.psnr(clean, out) - metrics.psnr(clean, np.clip(noisy, 0, 1))


def test_the_catalog_names_every_published_model_with_its_facts():
    assert set(zoo.ZOO) >= {"kair_dncnn_15", "kair_dncnn_25", "kair_dncnn_50", "kair_dncnn_gray_blind",
                            "kair_dncnn_color_blind", "kair_ffdnet_gray", "kair_ffdnet_color", "kair_drunet_gray",
                            "kair_drunet_color"}
    for published in zoo.ZOO.values():
        assert published.source.url == zoo.KAIR + published.source.filename
        assert published.licence.startswith("MIT") and published.paper and published.psnr
        assert published.source.size or published.approx_bytes
        assert registry.check_name(published.name) == published.name
    assert zoo.ZOO["kair_dncnn_25"].source.trust == "pinned" and zoo.ZOO["kair_drunet_gray"].source.trust == "unknown"
    assert zoo.size_label(zoo.ZOO["kair_dncnn_25"]) == "2.2 MB" and zoo.size_label(zoo.ZOO["kair_drunet_gray"]) == "≈130.0 MB"


@pytest.mark.parametrize("name", list(zoo.ZOO))
def test_each_network_holds_a_file_of_the_official_layout_strictly(name):
    published = zoo.ZOO[name]
    state = weights.renamed(official_state(published), published.rename)
    model = weights.build_network(published.arch, published.config, state, name)
    x = torch.rand(1, published.channels, 24, 24)
    with torch.inference_mode():
        out = model(x, torch.full((1,), 0.1)) if getattr(model, "noise_map", False) else model(x)
    assert out.shape == x.shape and torch.isfinite(out).all()


@needs_kair
def test_fetched_from_a_mirror_it_denoises_in_this_process_and_the_next(cache):
    assert "kair_dncnn_25" not in registry.names("denoiser")
    entry = learned.fetch_published("kair_dncnn_25", mirror=KAIR)
    assert entry.source == "zoo" and entry.hash_note == HASH_NOTES["pinned"] and entry.file.parent == cache / "zoo"
    assert "kair_dncnn_25" in learned.registered() and "published" in registry.get("kair_dncnn_25", "denoiser").tags
    assert denoising_gain("kair_dncnn_25") > 8.0
    probe = "from denoise_core.methods import learned; print('kair_dncnn_25' in learned.registered())"
    env = {**os.environ, "DENOISE_WORKBENCH_CACHE": str(cache)}
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, env=env, timeout=120)
    assert out.stdout.strip() == "True", out.stderr


@needs_kair
@needs_bsd68
def test_the_published_dncnn_beats_our_default_model_on_bsd68(cache):
    """Three BSD68 images at σ 25, the BENCHMARK.md protocol (unclipped noise seeded per image)."""
    learned.fetch_published("kair_dncnn_25", mirror=KAIR)
    files = image_files(SHARED / "data" / "bsd68")[:3]
    gains = []
    for i, path in enumerate(files):
        clean = read_image(path)[0]
        noisy = (clean + 25 / 255 * np.random.default_rng(i).standard_normal(clean.shape)).astype(np.float32)
        ours = registry.get(learned.DEFAULT_GRAY, "denoiser").func(noisy, sigma=25 / 255)
        theirs = registry.get("kair_dncnn_25", "denoiser").func(noisy)
        gains.append(metrics.psnr(clean, theirs) - metrics.psnr(clean, ours))
    assert np.mean(gains) > 0.3


@needs_kair
@pytest.mark.parametrize("name, channels", [("kair_dncnn_gray_blind", 1), ("kair_dncnn_color_blind", 3),
                                            ("kair_ffdnet_color", 3)])
def test_the_other_official_files_fetch_load_and_denoise(cache, name, channels):
    entry = learned.fetch_published(name, mirror=KAIR)
    assert entry.channels == channels and entry.hash_note in (HASH_NOTES["pinned"], HASH_NOTES["expected"])
    assert denoising_gain(name) > 7.0


def test_an_unpublished_hash_is_recorded_and_marked_wherever_the_model_is_shown(cache, tmp_path):
    usb = tmp_path / "usb"
    usb.mkdir()
    torch.save(official_state(zoo.ZOO["kair_drunet_gray"]), usb / "drunet_gray.pth")
    entry = learned.fetch_published("kair_drunet_gray", mirror=usb)
    assert entry.hash_note == "hash not published (recorded at first download)"
    assert entry.title.endswith("hash not published")
    assert registry.get("kair_drunet_gray", "denoiser").title.endswith("hash not published")
    row = next(r for r in weights.list_rows() if r["name"] == "kair_drunet_gray")
    assert row["status"] == "ok" and row["hash"] == entry.hash_note
    torch.save({k: v + 1 for k, v in official_state(zoo.ZOO["kair_drunet_gray"]).items()}, usb / "drunet_gray.pth")
    entry.file.unlink()
    with pytest.raises(WeightsError, match="recorded at its first download; the file changed"):
        weights.fetch("kair_drunet_gray", mirror=usb)


def test_a_file_that_does_not_fit_its_network_is_refused_by_name_and_not_kept(cache, tmp_path):
    usb = tmp_path / "usb"
    usb.mkdir()
    torch.save({"model.0.weight": torch.zeros(3, 3, 3, 3)}, usb / "drunet_gray.pth")
    with pytest.raises(WeightsError, match="drunet_gray.pth: drunet option width=64 is no size this file can hold"):
        weights.fetch("kair_drunet_gray", mirror=usb)
    assert "kair_drunet_gray" not in weights.fetched_zoo() and not (cache / "zoo" / "drunet_gray.pth").exists()


def test_the_cli_fetches_lists_and_refuses_offline_in_one_line(cache, capsys, monkeypatch, tmp_path):
    usb = tmp_path / "usb"
    usb.mkdir()
    torch.save(official_state(zoo.ZOO["kair_ffdnet_gray"]), usb / "ffdnet_gray.pth")
    assert cli.main(["weights", "fetch", "kair_ffdnet_gray", "--mirror", str(usb), "--quiet"]) == 2
    assert "differs from the published 3c592bc0" in capsys.readouterr().err
    assert cli.main(["weights", "fetch", "kair_ffdnet_gray", "--mirror", str(usb), "--trust", "--quiet"]) == 0
    assert "accepted deliberately (--trust)" in capsys.readouterr().out
    offline = zoo.Published(**{**zoo.ZOO["kair_dncnn_50"].__dict__,
                               "source": Source("http://127.0.0.1:9/dncnn_50.pth", "0" * 64, "expected")})
    monkeypatch.setitem(zoo.ZOO, "kair_dncnn_50", offline)
    assert cli.main(["weights", "fetch", "kair_dncnn_50", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "offline?" in err and "--mirror DIR" in err
    assert cli.main(["weights", "list"]) == 0
    listed = capsys.readouterr().out
    assert "kair_ffdnet_gray         zoo" in listed and "kair_drunet_color        zoo       drunet      downloadable" in listed


@needs_kair
def test_lpips_fetches_from_a_mirror_with_the_real_head(cache, tmp_path, monkeypatch):
    """The real v0.1 head; an AlexNet file built here, whose hash only this test puts in place of the pin."""
    usb = lpips_mirror(tmp_path / "usb", monkeypatch)
    monkeypatch.setattr(metrics, "_LPIPS_CACHE", [])
    assert [got.hash for got in weights.fetch("lpips", mirror=usb)] == ["pinned", "pinned"]
    image = np.random.default_rng(0).random((48, 48), dtype=np.float32)
    near = metrics.lpips(image, np.clip(image + 0.02, 0, 1))
    assert 0 < near < metrics.lpips(image, np.clip(image + 0.3, 0, 1))
