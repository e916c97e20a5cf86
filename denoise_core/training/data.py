"""The training data: the training folder's images, the noise drawn on them and the patches cut from them."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from .. import registry
from ..datasets import image_files
from ..errors import InvalidParameterError
from ..estimate import noise_level
from ..image import read_image
from ..methods.learned import SIGMA_MAX, VAR_MAX, measured_speckle_var
from .recipe import NoiseSpec, TrainConfig


def training_images(folder: str | Path, channels: int) -> list[np.ndarray]:
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
