"""The training loop: the network built (or taken from ``init``), validated, checkpointed and saved.

One call of ``train`` trains one model and writes ``<out>.safetensors`` (weights plus the metadata that rebuilds
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
from tqdm.auto import tqdm

from .. import runner, weights
from ..errors import InvalidParameterError, WeightsError
from ..models import ARCHITECTURES, parameter_count, run_network
from ..weights import DENOISERS, save_weights
from .data import PatchSampler, training_images
from .losses import loss_value
from .recipe import LOSSES, TrainConfig
from .schedule import learning_rate


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
    images = training_images(config.data, channels)
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
