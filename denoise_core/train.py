"""Training of the learned denoisers: random patches of clean images, any registered noise model.

One call trains one model and writes ``<out>.safetensors`` (weights plus the metadata that rebuilds
the network) and ``<out>.csv`` (the curves: step, seconds, learning rate, training loss, validation
PSNR). Checkpoints go to ``run_dir`` every ``checkpoint_every`` steps and on the way out, so a
stopped run continues with ``resume=True``.

Validation uses the last ``val_images`` images of the training folder in sorted order, held out from
training; the test sets (Set12, BSD68) are never used here.
"""
from __future__ import annotations

import csv
import json
import math
import os
import time
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F
from tqdm.auto import tqdm

from . import registry
from .errors import InvalidParameterError, WeightsError
from .datasets import image_files
from .estimate import noise_level
from .image import read_image
from .learned import SIGMA_MAX, VAR_MAX, measured_speckle_var
from .models import ARCHITECTURES, parameter_count, run_network
from . import runner, weights
from .recipe import LOSSES, SCHEDULES, NoiseSpec, TrainConfig  # noqa: F401  (part of this module's API)
from .weights import DENOISERS, save_weights

# ---------------------------------------------------------------------------------------------- data
def load_images(folder: str | Path, channels: int) -> list[np.ndarray]:
    """Every image of ``folder`` in sorted order, as float32 (H, W, channels)."""
    images = []
    for path in image_files(folder):
        image = read_image(path)[0]
        if image.ndim == 2:
            image = image[..., None]
        if image.shape[2] != channels:
            if channels == 1:
                image = image.mean(axis=2, keepdims=True)
            else:
                raise InvalidParameterError(f"{path}: a colour model needs colour training images, this one is gray "
                                            "(give --data a folder of colour images)")
        images.append(np.ascontiguousarray(image, dtype=np.float32))
    return images


class NoiseDraw:
    """A ``NoiseSpec`` bound to its registered noise model: draws parameters and noises images;
    ``relative`` gives the levels of a multiplicative network (see ``NoiseSpec``)."""

    def __init__(self, spec: NoiseSpec, relative: bool = False):
        self.spec, self.relative = spec, relative
        self.method = registry.get(spec.model, "noise")
        for name in list(spec.params) + list(spec.ranges) + list(spec.val or {}):
            self.method.param(name)  # raises for a parameter the noise model does not have

    def _typed(self, values: dict) -> dict:
        def cast(name, value):
            default = self.method.param(name).default
            return int(round(value)) if isinstance(default, int) and not isinstance(default, bool) else value
        return self.method.resolve({name: cast(name, value) for name, value in values.items()})

    def params(self, rng: np.random.Generator) -> dict:
        """Fixed parameters plus one draw of each range."""
        values = dict(self.spec.params)
        for name, (lo, hi, *scale) in self.spec.ranges.items():
            lo, hi = float(lo), float(hi)
            values[name] = float(np.exp(rng.uniform(np.log(lo), np.log(hi)))) if scale == ["log"] \
                else rng.uniform(lo, hi)
        return self._typed(values)

    def val_params(self) -> dict:
        """The validation parameters: ``spec.val``, else the middle of each range."""
        values = {**self.spec.params, **{k: (float(r[0]) + float(r[1])) / 2 for k, r in self.spec.ranges.items()}}
        return self._typed({**values, **(self.spec.val or {})})

    def noisy(self, clean: np.ndarray, params: dict, rng: np.random.Generator) -> tuple[np.ndarray, float]:
        """``clean`` (H, W, C) noised, and the noise level the network is given with it."""
        image = clean[..., 0] if clean.shape[2] == 1 else clean
        out = np.asarray(self.method.func(image, rng=rng, **params), dtype=np.float32)
        if self.relative:
            level = np.sqrt(measured_speckle_var(out)) if self.spec.pool else \
                float(np.std(out - image) / max(np.sqrt(np.mean(np.square(image))), 1e-3))
            return out.reshape(clean.shape), min(level, np.sqrt(VAR_MAX))
        if self.spec.pool:
            level = noise_level(out)["sigma"]
        else:
            level = float(params["sigma"]) if "sigma" in params else float(np.std(out - image))
        return out.reshape(clean.shape), min(level, SIGMA_MAX)


class PatchSampler:
    """Random patches with the 8 flips/rotations, noised by a mix of registered noise models."""

    def __init__(self, images: list[np.ndarray], config: TrainConfig, rng: np.random.Generator):
        self.images, self.config, self.rng = images, config, rng
        relative = bool(config.arch_config.get("multiplicative"))
        self.draws = [NoiseDraw(spec, relative) for spec in config.noises]
        weights = np.array([spec.weight for spec in config.noises], dtype=float)
        if (weights <= 0).any():
            raise InvalidParameterError(f"noise weights must be positive, got {weights.tolist()}")
        self.odds = weights / weights.sum()
        small = [im.shape for im in images if min(im.shape[:2]) < config.patch]
        if small:
            raise InvalidParameterError(f"patch {config.patch} is larger than a training image {small[0][:2]}")
        self.pools = {i: self._pool(draw) for i, draw in enumerate(self.draws) if draw.spec.pool}

    def _pool(self, draw: NoiseDraw) -> list[list[tuple[np.ndarray, float]]]:
        """Per training image, ``pool`` noisy copies of the whole image with their levels."""
        bar = tqdm(self.images, desc=f"noising images ({draw.spec.model} x{draw.spec.pool})", unit="image",
                   dynamic_ncols=True)
        return [[draw.noisy(image, draw.params(self.rng), self.rng) for _ in range(draw.spec.pool)] for image in bar]

    def _patch(self) -> tuple[np.ndarray, np.ndarray, float]:
        size = self.config.patch
        index = int(self.rng.integers(len(self.images)))
        kind = int(self.rng.choice(len(self.draws), p=self.odds))
        image = self.images[index]
        top = self.rng.integers(image.shape[0] - size + 1)
        left = self.rng.integers(image.shape[1] - size + 1)
        turns, flip = int(self.rng.integers(4)), self.rng.random() < 0.5

        def cut(array: np.ndarray) -> np.ndarray:
            patch = np.rot90(array[top:top + size, left:left + size], k=turns)
            return np.ascontiguousarray(patch[:, ::-1] if flip else patch)

        clean = cut(image)
        if kind in self.pools:
            noisy, level = self.pools[kind][index][int(self.rng.integers(self.draws[kind].spec.pool))]
            return cut(noisy), clean, level
        draw = self.draws[kind]
        noisy, level = draw.noisy(clean, draw.params(self.rng), self.rng)
        return noisy, clean, level

    def batch(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        noisies, cleans, levels = zip(*(self._patch() for _ in range(self.config.batch)))
        to_tensor = lambda xs: torch.from_numpy(np.stack(xs)).permute(0, 3, 1, 2).contiguous()  # noqa: E731
        return to_tensor(noisies), to_tensor(cleans), torch.tensor(levels, dtype=torch.float32)

    def validation_set(self, images: list[np.ndarray]) -> list[tuple[np.ndarray, np.ndarray, float]]:
        """(clean, noisy, level) for every image and noise model at its validation parameters (fixed seed)."""
        rng = np.random.default_rng(12345)
        pairs = []
        for draw in self.draws:
            params = draw.val_params()
            for image in images:
                h, w = (s - s % 8 for s in image.shape[:2])
                clean = np.ascontiguousarray(image[:h, :w])
                pairs.append((clean, *draw.noisy(clean, params, rng)))
        return pairs


# -------------------------------------------------------------------------------------------- losses
def _gaussian_window(channels: int, size: int = 11, sigma: float = 1.5) -> torch.Tensor:
    x = torch.arange(size, dtype=torch.float32) - size // 2
    g = torch.exp(-x ** 2 / (2 * sigma ** 2))
    g = g / g.sum()
    return (g[:, None] * g[None, :]).expand(channels, 1, size, size).contiguous()


def ssim_torch(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean SSIM of two (N, C, H, W) batches in [0, 1] (Gaussian window σ=1.5, valid region)."""
    channels = x.shape[1]
    window = _gaussian_window(channels).to(x)
    mu_x, mu_y = F.conv2d(x, window, groups=channels), F.conv2d(y, window, groups=channels)
    xx = F.conv2d(x * x, window, groups=channels) - mu_x ** 2
    yy = F.conv2d(y * y, window, groups=channels) - mu_y ** 2
    xy = F.conv2d(x * y, window, groups=channels) - mu_x * mu_y
    c1, c2 = 0.01 ** 2, 0.03 ** 2
    ssim = ((2 * mu_x * mu_y + c1) * (2 * xy + c2)) / ((mu_x ** 2 + mu_y ** 2 + c1) * (xx + yy + c2))
    return ssim.mean()


def loss_value(name: str, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """``l1``, ``mse``, ``ssim`` (1 − SSIM) or ``mse+ssim`` (MSE + 0.01·(1 − SSIM))."""
    if name == "l1":
        return F.l1_loss(output, target)
    if name == "mse":
        return F.mse_loss(output, target)
    if name == "ssim":
        return 1 - ssim_torch(output, target)
    if name == "mse+ssim":
        return F.mse_loss(output, target) + 0.01 * (1 - ssim_torch(output, target))
    raise InvalidParameterError(f"unknown loss '{name}' (valid: {', '.join(LOSSES)})")


def learning_rate(config: TrainConfig, progress: float, step: int = 0) -> float:
    """Learning rate at ``progress`` in [0, 1] of the run, ramped up linearly over ``config.warmup`` steps."""
    return _scheduled(config, min(max(progress, 0.0), 1.0)) * min(1.0, (step + 1) / max(config.warmup, 1))


def _scheduled(config: TrainConfig, progress: float) -> float:
    if config.schedule == "cosine":
        return config.lr_min + 0.5 * (config.lr - config.lr_min) * (1 + math.cos(math.pi * progress))
    if config.schedule == "step":  # ÷10 at 50 % and 80 % of the run
        return config.lr * (0.1 ** (int(progress >= 0.5) + int(progress >= 0.8)))
    if config.schedule == "constant":
        return config.lr
    raise InvalidParameterError(f"unknown schedule '{config.schedule}' (valid: {', '.join(SCHEDULES)})")


# ------------------------------------------------------------------------------------------ training
def build_model(arch: str, arch_config: dict) -> torch.nn.Module:
    """The network ``arch`` built from its keyword configuration."""
    if arch not in DENOISERS:
        raise InvalidParameterError(f"unknown architecture '{arch}' (valid: {', '.join(DENOISERS)})")
    try:
        return ARCHITECTURES[arch](**arch_config)
    except (TypeError, ValueError) as error:  # an option it does not take, or a value it refuses
        raise InvalidParameterError(f"architecture '{arch}': {error}") from None


@torch.no_grad()
def _validate(model: torch.nn.Module, pairs, device: torch.device) -> float:
    model.eval()
    values = []
    for clean, noisy, level in pairs:
        x = torch.from_numpy(noisy).permute(2, 0, 1)[None].to(device)
        out = run_network(model, x, torch.tensor([level], device=device)).clamp(0, 1)
        mse = float(torch.mean((out.cpu()[0].permute(1, 2, 0) - torch.from_numpy(clean)) ** 2))
        values.append(10 * math.log10(1 / max(mse, 1e-12)))
    model.train()
    return float(np.mean(values))


def _metadata(config: TrainConfig, model: torch.nn.Module, step: int, seconds: float, val_psnr: float | None,
              device: torch.device) -> dict[str, str]:
    return {"arch": config.arch, "config": json.dumps(model.config()), "train_config": json.dumps(asdict(config)),
            "steps": str(step), "seconds": f"{seconds:.0f}", "device": str(device),
            "val_psnr": "" if val_psnr is None else f"{val_psnr:.3f}", "parameters": str(parameter_count(model)),
            "noise": config.noise_name, "title": config.title}


def _initial_weights(init: str) -> tuple[str, dict, dict]:
    """(arch, config, state dict) of ``init``: a weights entry's name or a ``.safetensors`` from ``train``."""
    if init in weights.entries():
        entry = weights.get_entry(init)
        return entry.arch, dict(entry.config), weights.load_state(entry)
    path = Path(init)
    if path.suffix != ".safetensors" or not path.is_file():
        raise InvalidParameterError(f"--init {init}: not a weights name (python -m denoise_core weights list) "
                                    "nor a .safetensors file written by train")
    metadata = weights.read_metadata(path)
    if not metadata.get("arch"):
        raise WeightsError(f"{path}: no architecture in its metadata (only files written by train can start a run)")
    return metadata["arch"], weights.trained_config(metadata, path), weights.read_state_dict(path)


def output_stem(out: str) -> Path:
    """``--out`` without its suffix: the run writes ``OUT.safetensors``, ``OUT.csv`` and ``OUT.run/``.

    Raises ``InvalidParameterError`` for a path that names no file (empty, ``.``, ``..``, ending in a separator).
    """
    path = Path(out)
    if not path.name or path.name == ".." or str(out).endswith(("/", os.sep)):
        raise InvalidParameterError(f"--out {str(out)!r}: give a file path without suffix, e.g. runs/my_model "
                                    "(writes runs/my_model.safetensors and runs/my_model.csv)")
    return path.with_suffix("")


def train(config: TrainConfig) -> Path:
    """Train one model as ``config`` says; returns the path of the weights file written.

    Raises
    ------
    InvalidParameterError
        Unknown architecture, loss, schedule or noise parameter; images smaller than the patch.
    WeightsError
        ``resume`` with a checkpoint of another architecture.
    """

    if config.loss not in LOSSES:
        raise InvalidParameterError(f"unknown loss '{config.loss}' (valid: {', '.join(LOSSES)})")
    out = output_stem(config.out)
    learning_rate(config, 0.0)
    if config.threads:
        torch.set_num_threads(config.threads)
    device = runner.device(config.device)
    config = replace(config, amp=device.type == "cuda" and config.amp is not False)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True  # one patch size: cuDNN may pick its fastest kernels once
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    start_state = None
    if config.init:
        arch, arch_config, start_state = _initial_weights(config.init)
        config = replace(config, arch=arch, arch_config={**arch_config, **config.arch_config})
    model = build_model(config.arch, config.arch_config)
    if start_state is not None:
        model.load_state_dict(start_state, strict=True)
    model = model.to(device)
    channels = model.channels
    images = load_images(config.data, channels)
    if len(images) <= config.val_images:
        raise InvalidParameterError(f"{config.data}: {len(images)} images, need more than {config.val_images} "
                                    "(some are held out for validation)")
    train_images, val_images = images[:-config.val_images or None], images[len(images) - config.val_images:]
    sampler = PatchSampler(train_images, config, rng)
    val_pairs = sampler.validation_set(val_images)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    scaler = torch.amp.GradScaler("cuda", enabled=config.amp)

    run_dir = Path(config.run_dir) if config.run_dir else out.parent / (out.name + ".run")
    run_dir.mkdir(parents=True, exist_ok=True)
    checkpoint = run_dir / "checkpoint.pt"
    log_path = out.with_suffix(".csv")
    step, spent, val_psnr = 0, 0.0, None
    if config.resume and checkpoint.exists():
        state = torch.load(checkpoint, map_location=device, weights_only=True)
        if state["arch"] != config.arch:
            raise WeightsError(f"{checkpoint}: a checkpoint of '{state['arch']}', not '{config.arch}' "
                               "(use another --run-dir or drop --resume)")
        model.load_state_dict(state["model"], strict=True)
        optimizer.load_state_dict(state["optimizer"])
        step, spent = int(state["step"]), float(state["seconds"])
        rng.bit_generator.state = json.loads(state["rng"])
        torch.manual_seed(config.seed + step)
    elif log_path.exists():
        log_path.unlink()

    def save_checkpoint() -> None:
        torch.save({"arch": config.arch, "model": model.state_dict(), "optimizer": optimizer.state_dict(),
                    "step": step, "seconds": spent, "rng": json.dumps(rng.bit_generator.state)}, checkpoint)

    new_log = not log_path.exists()
    log_file = open(log_path, "a", newline="")
    log = csv.writer(log_file)
    if new_log:
        log.writerow(["step", "seconds", "lr", "train_loss", "val_psnr"])
    model.train()
    start = time.perf_counter() - spent
    running: list[float] = []
    bar = tqdm(total=config.steps, initial=step, desc=out.name, unit="step", dynamic_ncols=True)
    try:
        while step < config.steps:
            spent = time.perf_counter() - start
            progress = step / config.steps
            if config.max_seconds:
                progress = max(progress, spent / config.max_seconds)
            if progress >= 1.0:
                break
            lr = learning_rate(config, progress, step)
            for group in optimizer.param_groups:
                group["lr"] = lr
            noisy, clean, level = sampler.batch()
            noisy, clean, level = noisy.to(device), clean.to(device), level.to(device)
            with torch.autocast("cuda", dtype=torch.float16, enabled=config.amp):
                output = run_network(model, noisy, level)
            loss = loss_value(config.loss, output.float(), clean)  # the loss in float32 (SSIM's variances)
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
            step += 1
            running.append(loss.item())
            bar.update(1)
            if step % config.val_every == 0 or step == config.steps:
                val_psnr = _validate(model, val_pairs, device)
                spent = time.perf_counter() - start
                log.writerow([step, f"{spent:.1f}", f"{lr:.3g}", f"{np.mean(running):.6f}", f"{val_psnr:.3f}"])
                log_file.flush()
                running = []
                bar.set_postfix(loss=f"{loss.item():.4f}", val_psnr=f"{val_psnr:.2f}")
            if step % config.checkpoint_every == 0:
                spent = time.perf_counter() - start
                save_checkpoint()
    finally:
        bar.close()
        spent = time.perf_counter() - start
        if step:
            save_checkpoint()
        log_file.close()
    if val_psnr is None or (step % config.val_every and step < config.steps):  # stopped between validations
        val_psnr = _validate(model, val_pairs, device)
        with open(log_path, "a", newline="") as handle:
            csv.writer(handle).writerow([step, f"{spent:.1f}", "", f"{np.mean(running) if running else ''}",
                                         f"{val_psnr:.3f}"])
    return save_weights(out, model.cpu(), _metadata(config, model, step, spent, val_psnr, device))
