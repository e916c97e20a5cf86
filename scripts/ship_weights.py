"""Store a trained weights file in float16 so that it fits the shipped-file limit (``weights.MAX_SHIPPED_BYTES``).

    python scripts/ship_weights.py weights/NAME.safetensors
    python scripts/ship_weights.py --smoke [weights/NAME.safetensors]

Rewrites the file in place with the same metadata (plus ``"stored": "float16"``); the network still computes
in float32 (loading casts). Prints the new size and sha256 (for ``weights.CATALOG``) and how far the float16
network's output is from the float32 one's on a noisy sample image (PSNR between the two outputs).
``--smoke`` works on a temporary copy of the file (the app's default gray model's when none is given) and
a 64×64 crop.
"""
from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import save_file

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks._smoke import SIDE  # noqa: E402
from denoise_core import metrics, weights  # noqa: E402
from denoise_core.methods import learned  # noqa: E402
from denoise_core.paths import write_atomically  # noqa: E402
from denoise_core.weights.files import sha256  # noqa: E402
from denoise_core.runner import Network  # noqa: E402
from denoise_core.samples import load_sample  # noqa: E402


def network(path: Path) -> Network:
    metadata = weights.read_metadata(path)
    model = weights.build_network(metadata["arch"], weights.trained_config(metadata, path),
                                  weights.read_state_dict(path), str(path))
    return Network(model.float(), target=torch.device("cpu"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", type=Path, nargs="?", help="the weights file (optional with --smoke)")
    parser.add_argument("--smoke", action="store_true", help="a temporary copy of the file (default: the app's "
                                                              "default gray model's), a 64×64 crop")
    args = parser.parse_args()
    if not (args.path or args.smoke):
        parser.error("the weights file is required without --smoke")
    path, side = args.path, 256
    if args.smoke:
        source = path or weights.get_entry(learned.DEFAULT_GRAY).file
        path, side = Path(tempfile.mkdtemp(prefix="smoke-")) / source.name, SIDE
        shutil.copyfile(source, path)
    metadata = weights.read_metadata(path)
    before = network(path)
    state = {k: (v.half() if v.is_floating_point() else v).contiguous() for k, v in weights.read_state_dict(path).items()}
    write_atomically(path, lambda tmp: save_file(state, tmp, metadata={**metadata, "stored": "float16"}))
    after = network(path)
    clean = load_sample("camera")[0][:side, :side]
    noisy = (clean + 25 / 255 * np.random.default_rng(0).standard_normal(clean.shape)).astype(np.float32)
    if before.channels == 3:
        noisy = np.repeat(noisy[..., None], 3, axis=2)
    agreement = metrics.psnr(before(noisy, 25 / 255), after(noisy, 25 / 255))
    print(f"{path}: {path.stat().st_size / 1e6:.1f} MB, sha256 {sha256(path)}; float16 vs float32 output: "
          f"{agreement:.1f} dB apart (PSNR)")


if __name__ == "__main__":
    main()
