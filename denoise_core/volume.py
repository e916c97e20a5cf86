"""Whole volumes, slice by slice: denoise a NIfTI or multi-frame DICOM file into a volume file, with progress
and cancel, and measure one volume against another. Memory holds one slice at a time, beside the file's bytes
while a slice is read (and a NIfTI output's volume at the source's data type, see ``image.write_volume``)."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

from . import registry
from .apply import add_noise, denoise, resolve
from .errors import InvalidImageError
from .image import volume_slices, write_volume
from .image.read import source_label
from .metrics import mse, psnr, psnr_of, ssim
from .timing import timed

Source = str | os.PathLike | bytes


@dataclass(frozen=True)
class VolumeResult:
    """What :func:`denoise_volume` did: the file written (None when cancelled), the parameters each slice
    denoised so far used, the volume's number of slices and the seconds taken."""

    path: Path | None
    params: list[dict]
    slices: int
    seconds: float
    scores: list[dict] = field(default_factory=list)
    """With synthetic noise added: per slice denoised, {"slice", "noisy_psnr", "psnr", "ssim", "mse"} against
    the clean slice."""

    @property
    def volume_psnr(self) -> float | None:
        """PSNR over all the voxels scored (every slice has as many), None without scores."""
        return psnr_of(sum(row["mse"] for row in self.scores) / len(self.scores)) if self.scores else None


class _Cancelled(Exception):
    """Stops the slices the writer takes, so that it leaves nothing behind."""


def denoise_volume(source: Source, out: str | os.PathLike, method: str, params: Mapping[str, Any] | None = None, *,
                   name: str | None = None, noise: tuple[str, Mapping[str, Any], int] | None = None,
                   progress: Callable[[int, int], None] | None = None,
                   cancel: Callable[[], bool] | None = None) -> VolumeResult:
    """Denoise every slice of a volume file (a path, or the bytes of an upload named ``name``) into ``out``.

    Each slice is denoised as :func:`denoise` would (parameters not in ``params`` from that slice's noise
    level) and written as it comes, in the format ``out``'s name gives (``image.volume_format``: .nii/.nii.gz,
    .tif/.tiff, or a folder without a suffix for a DICOM series). ``progress(done, total)`` is called after
    each slice is written; ``cancel()`` is asked before each slice, and when it says True the run stops and
    nothing is left at ``out`` (``result.path`` is None). An exception (e.g. Ctrl-C) leaves nothing either.
    ``noise`` = (model, parameters, seed): each slice, taken as clean, first gets that noise (seed + its index)
    and is scored against itself (``result.scores``).

    Raises
    ------
    DenoiseError
        Not a volume, an unknown method or parameter, an unsupported output, a failed write (one line).
    """
    entry = registry.get(method, "denoiser")
    first, slices = volume_slices(source, name=name)
    used: list[dict] = []
    scores: list[dict] = []

    def denoised():
        for image, meta in slices:
            if cancel is not None and cancel():
                raise _Cancelled
            noisy = image if noise is None else add_noise(image, noise[0], noise[1], seed=noise[2] + meta.slice_index)
            used.append(resolve(entry, noisy, params))
            result = denoise(noisy, entry.name, used[-1], auto=False)
            if noise is not None:
                error = mse(image, result)
                scores.append({"slice": meta.slice_index, "noisy_psnr": psnr(image, noisy), "psnr": psnr_of(error),
                               "ssim": ssim(image, result), "mse": error})
            yield result, meta
            if progress is not None:
                progress(len(used), first.slices)

    def run() -> bool:
        try:
            write_volume(out, first, denoised())
        except _Cancelled:
            return False
        return True

    finished, seconds = timed(run)
    return VolumeResult(Path(out) if finished else None, used, first.slices, seconds, scores)


def measure_volume(reference: Source, image: Source) -> dict:
    """PSNR and SSIM of every slice of ``image`` against the same slice of ``reference``, and of the volume.

    Returns ``{"slices": [{"slice", "psnr", "ssim"}, ...], "volume": {"psnr", "ssim"}}``: each slice as the
    ``metrics`` of ``read_image(..., slice=i)`` of both; the volume's PSNR over all its voxels, its SSIM the
    mean over slices. Two slices are held at a time.
    """
    reference_meta, references = volume_slices(reference)
    image_meta, images = volume_slices(image)
    if image_meta.slices != reference_meta.slices:
        raise InvalidImageError(f"{source_label(image)}: has {image_meta.slices} slices, the reference "
                                f"{reference_meta.slices}; compare volumes of the same size")
    rows, squared, voxels = [], 0.0, 0
    for (clean, meta), (result, _) in zip(references, images):
        error = mse(clean, result)
        squared, voxels = squared + error * clean.size, voxels + clean.size
        rows.append({"slice": meta.slice_index, "psnr": psnr_of(error), "ssim": ssim(clean, result)})
    return {"slices": rows, "volume": {"psnr": psnr_of(squared / voxels),
                                       "ssim": sum(row["ssim"] for row in rows) / len(rows)}}
