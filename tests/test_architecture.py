"""The library's shape: the classical path never loads torch; facts kept without torch match the networks."""
import inspect
import subprocess
import sys
from pathlib import Path

from denoise_core import weights
from denoise_core.models import ARCHITECTURES

ROOT = Path(__file__).resolve().parents[1]


def _fresh(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_the_classical_path_and_the_list_command_never_import_torch():
    done = _fresh("import denoise_core, sys; from denoise_core import add_noise, denoise, measure, cli; "
                  "import numpy as np; x = np.zeros((64, 64), np.float32); y = denoise(add_noise(x, 'gaussian'), 'median'); "
                  "print(round(measure(x, y)['psnr'], 1), 'drunet_gray_blind' in denoise_core.names('denoiser')); "
                  "cli.main(['list', '--kind', 'noise']); print('torch' in sys.modules)")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].split()[1] == "True"  # the learned models are registered all the same
    assert float(lines[0].split()[0]) > 20 and any(line.split()[:2] == ["noise", "gaussian"] for line in lines)
    assert lines[-1] == "False"


def test_a_learned_denoiser_loads_torch_on_its_first_call():
    done = _fresh("import sys, numpy as np; from denoise_core import denoise; x = np.full((32, 32), 0.5, np.float32); "
                  "print('torch' in sys.modules); y = denoise(x, 'drunet_gray_blind', {'sigma': 0.1}); "
                  "print('torch' in sys.modules, y.shape)")
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[:2] == ["False", "True (32, 32)"]


def test_the_noise_map_option_known_without_torch_matches_each_network():
    assert set(weights.DENOISERS) <= set(ARCHITECTURES)
    for arch, default in weights.NOISE_MAP_OPTION.items():
        option = inspect.signature(ARCHITECTURES[arch]).parameters.get("noise_map")
        assert (option.default if option is not None else None) == default, arch
        assert weights.takes_noise_map(arch, {}) is bool(default)
