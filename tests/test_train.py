"""Training loop on a tiny folder of images: outputs, curves, resume, noise models, errors."""
import argparse
import csv
import json

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors import safe_open
from safetensors.torch import load_file

from denoise_core import cli
from denoise_core import training
from denoise_core.errors import InvalidParameterError
from denoise_core.estimate import noise_level


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("images")
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:40, 0:40] / 40
    for i in range(6):
        image = 0.5 + 0.4 * np.sin(6 * x * (i + 1) + 3 * y) * np.cos(4 * y + i) + 0.02 * rng.random((40, 40))
        Image.fromarray((np.clip(image, 0, 1) * 255).astype(np.uint8)).save(folder / f"{i:02d}.png")
    return folder


def _config(folder, out, **changes):
    base = dict(out=str(out), arch="ffdnet", arch_config={"depth": 3, "width": 8}, data=str(folder), val_images=2,
                patch=16, batch=4, steps=6, val_every=3, checkpoint_every=3, threads=1, device="cpu")
    return training.TrainConfig(**{**base, **changes})


def test_train_writes_weights_curves_and_checkpoint(folder, tmp_path):
    path = training.train(_config(folder, tmp_path / "m"))
    assert path == tmp_path / "m.safetensors"
    with safe_open(str(path), "pt") as handle:
        meta = handle.metadata()
    assert meta["arch"] == "ffdnet" and json.loads(meta["config"])["depth"] == 3 and meta["steps"] == "6"
    rows = list(csv.DictReader(open(tmp_path / "m.csv")))
    assert [r["step"] for r in rows] == ["3", "6"] and all(float(r["val_psnr"]) > 0 for r in rows)
    assert (tmp_path / "m.run" / "checkpoint.pt").exists()
    resumed = training.train(_config(folder, tmp_path / "m", steps=9, resume=True))
    rows = list(csv.DictReader(open(tmp_path / "m.csv")))
    assert [r["step"] for r in rows] == ["3", "6", "9"]
    with safe_open(str(resumed), "pt") as handle:
        assert handle.metadata()["steps"] == "9"


@pytest.mark.parametrize("arch, config, noise, noise_range, loss", [
    ("dncnn", {"depth": 3, "width": 8}, "salt_pepper", {"amount": (0.05, 0.2)}, "mse"),
    ("unet", {"width": 4, "levels": 1}, "speckle", {"var": (0.01, 0.05)}, "mse+ssim"),
    ("autoencoder", {"width": 4}, "poisson", {"peak": (10, 50)}, "ssim"),
])
def test_other_architectures_noises_and_losses(folder, tmp_path, arch, config, noise, noise_range, loss):
    path = training.train(_config(folder, tmp_path / arch, arch=arch, arch_config=config,
                                  noises=[training.NoiseSpec(noise, ranges=noise_range)], loss=loss, steps=2,
                                  val_every=2, schedule="step"))
    assert path.exists()


def test_a_mix_draws_every_noise_and_pooled_noise_gets_the_blind_estimate(folder):
    images = training.training_images(folder, 1)
    config = _config(folder, "unused", batch=400, noises=[
        training.NoiseSpec("gaussian", params={"clip": False}, ranges={"sigma": (0.1, 0.1)}),
        training.NoiseSpec("rician_snr", ranges={"snr": (2.0, 50.0, "log")}, pool=3)])
    sampler = training.PatchSampler(images, config, np.random.default_rng(0))
    assert [len(pool) for pool in sampler.pools[1]] == [3] * len(images)
    for noisy, level in (copy for pool in sampler.pools[1] for copy in pool):
        assert level == pytest.approx(noise_level(noisy[..., 0])["sigma"])
    noisy, clean, levels = sampler.batch()
    gaussian = np.isclose(levels.numpy(), 0.1)
    assert 150 < gaussian.sum() < 250  # about half of the patches from each model
    config.noises[0].weight = 3.0  # three Gaussian patches for every Rician one
    assert 270 < np.isclose(training.PatchSampler(images, config, np.random.default_rng(1)).batch()[2].numpy(),
                            0.1).sum() < 330
    residual = (noisy - clean).numpy()[gaussian]
    assert residual.std() == pytest.approx(0.1, rel=0.05)
    pool_levels = {np.float32(level) for pool in sampler.pools[1] for _, level in pool}
    assert set(levels.numpy()[~gaussian]) <= pool_levels  # the other patches come from the pooled copies
    snrs = [training.NoiseDraw(config.noises[1]).params(np.random.default_rng(i))["snr"] for i in range(2000)]
    assert np.median(snrs) == pytest.approx(np.sqrt(2 * 50), rel=0.1)  # log-uniform: median at the geometric mean


def test_fine_tuning_starts_from_the_given_weights(folder, tmp_path):
    first = training.train(_config(folder, tmp_path / "a", steps=3))
    start = load_file(str(first))
    config = _config(folder, tmp_path / "b", arch="dncnn", arch_config={}, init=str(first), steps=1, lr=1e-9,
                     lr_min=1e-9, val_every=1)
    tuned = training.train(config)
    with safe_open(str(tuned), "pt") as handle:
        meta = handle.metadata()
    assert meta["arch"] == "ffdnet" and json.loads(meta["config"])["depth"] == 3  # the init's architecture
    after = load_file(str(tuned))
    assert max(float((after[k] - start[k]).abs().max()) for k in start) < 1e-6
    with pytest.raises(InvalidParameterError, match="--init"):
        training.train(_config(folder, tmp_path / "c", init="no_such_weights"))


def test_fine_tuning_may_switch_on_options_that_keep_the_weights_shapes(folder, tmp_path):
    first = training.train(_config(folder, tmp_path / "a", steps=1))
    tuned = training.train(_config(folder, tmp_path / "b", arch_config={"impulses": "switch"}, init=str(first), steps=1,
                                   noises=[training.NoiseSpec("salt_pepper", ranges={"amount": (0.05, 0.2)})]))
    with safe_open(str(tuned), "pt") as handle:
        config = json.loads(handle.metadata()["config"])
    assert config == {"channels": 1, "depth": 3, "width": 8, "noise_map": True, "impulses": "switch"}
    with pytest.raises(RuntimeError, match="size mismatch"):  # an option that changes the shapes is refused
        training.train(_config(folder, tmp_path / "c", arch_config={"width": 16}, init=str(first), steps=1))


def test_a_multiplicative_network_is_given_the_relative_noise_std(folder):
    images = training.training_images(folder, 1)
    config = _config(folder, "unused", arch_config={"multiplicative": True}, batch=64, noises=[
        training.NoiseSpec("speckle", ranges={"var": (0.04, 0.04)}),
        training.NoiseSpec("speckle", ranges={"var": (0.04, 0.04)}, pool=2)])
    sampler = training.PatchSampler(images, config, np.random.default_rng(0))
    levels = sampler.batch()[2].numpy()
    assert np.median(levels) == pytest.approx(0.2, rel=0.1)  # sqrt(var), truth per patch or measured per image
    pooled = [level for pool in sampler.pools[1] for _, level in pool]
    assert np.median(pooled) == pytest.approx(0.2, rel=0.15)


def test_time_limit_and_schedules(folder, tmp_path):
    config = _config(folder, tmp_path / "t", steps=1000, max_seconds=0.5)
    training.train(config)
    with safe_open(str(tmp_path / "t.safetensors"), "pt") as handle:
        assert int(handle.metadata()["steps"]) < 1000
    assert training.learning_rate(config, 0) == pytest.approx(config.lr)
    assert training.learning_rate(config, 1) == pytest.approx(config.lr_min)
    step = _config(folder, tmp_path, schedule="step")
    assert training.learning_rate(step, 0.9) == pytest.approx(step.lr / 100)


def test_warmup_ramps_the_learning_rate_linearly_then_follows_the_schedule(folder, tmp_path):
    config = _config(folder, tmp_path, schedule="constant", warmup=100)
    assert training.learning_rate(config, 0.0, step=0) == pytest.approx(config.lr / 100)
    assert training.learning_rate(config, 0.1, step=49) == pytest.approx(config.lr / 2)
    assert training.learning_rate(config, 0.2, step=500) == pytest.approx(config.lr)


def test_ssim_loss_is_zero_for_identical():
    x = torch.rand(2, 1, 24, 24)
    assert float(training.loss_value("ssim", x, x)) == pytest.approx(0, abs=1e-6)
    assert float(training.loss_value("ssim", x, torch.rand_like(x))) > 0.5


def test_bad_configurations_are_refused(folder, tmp_path):
    with pytest.raises(InvalidParameterError, match="loss"):
        training.train(_config(folder, tmp_path / "x", loss="huber"))
    with pytest.raises(InvalidParameterError, match="weights must be positive"):
        training.train(_config(folder, tmp_path / "x", noises=[training.NoiseSpec(weight=0)]))
    with pytest.raises(InvalidParameterError, match="no parameter"):
        training.train(_config(folder, tmp_path / "x", noises=[training.NoiseSpec(ranges={"sigmaa": (0, 0.1)})]))
    with pytest.raises(InvalidParameterError, match="patch 64"):
        training.train(_config(folder, tmp_path / "x", patch=64))
    with pytest.raises(InvalidParameterError, match="architecture"):
        training.train(_config(folder, tmp_path / "x", arch="resnet"))


def test_cli_arguments_build_the_config(folder, tmp_path):
    parser = argparse.ArgumentParser()
    cli.add_train_arguments(parser)
    args = parser.parse_args(["--out", str(tmp_path / "c"), "--data", str(folder), "--arch-set", "depth=3",
                              "--arch-set", "width=8", "--range", "sigma=0:0.2", "--noise-set", "clip=false",
                              "--steps", "2", "--val-every", "2", "--patch", "16", "--batch", "2", "--val-images", "2"])
    config = cli.config_from_args(args)
    assert config.noises == [training.NoiseSpec("gaussian", params={"clip": False}, ranges={"sigma": (0.0, 0.2)})]
    assert config.arch_config == {"depth": 3, "width": 8}
    cli.run_train(args)
    assert (tmp_path / "c.safetensors").exists()
    with pytest.raises(InvalidParameterError, match="LO:HI"):
        cli.config_from_args(parser.parse_args(["--out", "x", "--range", "sigma=0.1"]))
    with pytest.raises(InvalidParameterError, match="log range"):
        cli.config_from_args(parser.parse_args(["--out", "x", "--range", "sigma=0:0.1:log"]))


def test_cli_noise_options_apply_to_the_noise_before_them(tmp_path):
    parser = argparse.ArgumentParser()
    cli.add_train_arguments(parser)
    args = parser.parse_args(["--out", "x", "--noise-set", "clip=false", "--noise", "ct_lowdose",
                              "--range", "photons=300:30000:log", "--pool", "4", "--val-set", "photons=2000",
                              "--noise", "poisson", "--range", "peak=5:50", "--weight", "0.5"])
    assert cli.config_from_args(args).noises == [
        training.NoiseSpec("gaussian", params={"clip": False}, ranges={"sigma": (0.0, 55 / 255)}),
        training.NoiseSpec("ct_lowdose", ranges={"photons": (300.0, 30000.0, "log")}, val={"photons": 2000}, pool=4),
        training.NoiseSpec("poisson", ranges={"peak": (5.0, 50.0)}, weight=0.5)]
    assert cli.config_from_args(parser.parse_args(["--out", "x"])).noise_name == "gaussian"


def test_tinted_training_images_keep_the_gray_image_as_their_luminance():  # scripts/make_colour_data.py
    import sys
    from pathlib import Path
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
    from make_colour_data import tint
    y, x = np.mgrid[0:64, 0:64] / 64
    gray = (0.3 + 0.4 * x * y + 0.1 * np.sin(8 * x)).astype(np.float32)
    rgb = tint(gray, np.random.default_rng(3))
    luma = rgb @ np.array([0.299, 0.587, 0.114])
    inside = (rgb > 0).all(axis=2) & (rgb < 1).all(axis=2)
    assert inside.mean() > 0.9 and np.abs(luma - gray)[inside].max() < 0.01
    assert np.abs(rgb[..., 0] - rgb[..., 2]).mean() > 0.01  # it has colour
    assert not np.allclose(rgb, tint(gray, np.random.default_rng(4)))  # seeded: other seeds, other hues


@pytest.mark.parametrize("out", ["", ".", "..", "runs/", "runs/.."])
def test_an_out_that_names_no_file_is_refused_before_training(folder, tmp_path, capsys, monkeypatch, out):
    from denoise_core import cli
    monkeypatch.chdir(tmp_path)
    code = cli.main(["train", "--out", out, "--data", str(folder), "--arch-set", "depth=3", "--arch-set", "width=8",
                     "--steps", "2", "--patch", "16", "--batch", "2", "--val-images", "2"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "--out" in err and "without suffix" in err
    assert list(tmp_path.iterdir()) == []


def test_init_from_a_file_that_is_not_safetensors_is_one_weights_error(folder, tmp_path):
    from denoise_core.errors import WeightsError
    (tmp_path / "garbage.safetensors").write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json at all")
    with pytest.raises(WeightsError, match="garbage.safetensors: not a readable safetensors file"):
        training.train(_config(folder, tmp_path / "m", init=str(tmp_path / "garbage.safetensors")))


def test_amp_is_accepted_and_ignored_on_the_cpu(folder, tmp_path):
    parser = argparse.ArgumentParser()
    cli.add_train_arguments(parser)
    common = ["--data", str(folder), "--arch-set", "depth=3", "--arch-set", "width=8", "--steps", "3",
              "--val-every", "3", "--patch", "16", "--batch", "2", "--val-images", "2", "--device", "cpu"]
    runs = {}
    for flag in ("--amp", "--no-amp"):
        args = parser.parse_args(["--out", str(tmp_path / flag.strip("-")), *common, flag])
        assert args.amp is (flag == "--amp")
        runs[flag] = training.train(cli.config_from_args(args))
    amp, plain = (load_file(str(runs[flag])) for flag in ("--amp", "--no-amp"))
    assert amp.keys() == plain.keys() and all(torch.equal(amp[k], plain[k]) for k in amp)
    with safe_open(str(runs["--amp"]), "pt") as handle:
        meta = handle.metadata()
    assert json.loads(meta["train_config"])["amp"] is False and meta["device"] == "cpu"
    assert parser.parse_args(["--out", "x"]).amp is None  # on CUDA that means on


@pytest.mark.parametrize("device, message", [("gpu", "expected auto, cpu, cuda"), ("cuda:x", "expected auto"),
                                             ("cuda:7", "no such CUDA device")])
def test_a_device_that_is_not_there_is_one_line(folder, tmp_path, capsys, device, message):
    from denoise_core import cli
    code = cli.main(["train", "--out", str(tmp_path / "m"), "--data", str(folder), "--arch-set", "depth=3",
                     "--arch-set", "width=8", "--steps", "2", "--patch", "16", "--batch", "2", "--val-images", "2",
                     "--device", device])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and message in err and "--device" in err
    assert not (tmp_path / "m.safetensors").exists()
