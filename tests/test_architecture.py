"""The library's shape: the classical path never loads torch; facts kept without torch match the networks."""
import inspect
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from denoise_core import weights
from denoise_core.models import ARCHITECTURES

ROOT = Path(__file__).resolve().parents[1]


def _fresh(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_every_module_imports_only_from_the_layers_below_it(monkeypatch, capsys):
    from importlinter.cli import lint_imports
    monkeypatch.chdir(ROOT)
    assert lint_imports(config_filename=str(ROOT / "pyproject.toml"), no_cache=True, no_logo=True) == 0, \
        capsys.readouterr().out
    assert "Contracts: 1 kept, 0 broken." in capsys.readouterr().out


def test_every_module_of_the_library_has_its_layer():
    import tomllib

    import grimp
    layers = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"][0]["layers"]
    named = {module.strip() for layer in layers for module in layer.split("|")}
    packages = {"denoise_core", "denoise_core.__main__", "denoise_core.classifier"}
    modules = grimp.build_graph("denoise_core").modules - packages
    assert len(modules) > 30
    assert [m for m in modules if not any(m == n or m.startswith(n + ".") for n in named)] == []


def test_a_module_importing_upwards_breaks_the_contract(tmp_path, monkeypatch, capsys):
    from importlinter.cli import lint_imports
    config = (ROOT / "pyproject.toml").read_text()
    bad = tmp_path / "denoise_core"
    import shutil
    shutil.copytree(ROOT / "denoise_core", bad, ignore=shutil.ignore_patterns("__pycache__"))
    (bad / "image" / "__init__.py").write_text((bad / "image" / "__init__.py").read_text()
                                               + "\nfrom .. import pipeline  # noqa\n")
    (tmp_path / "pyproject.toml").write_text(config)
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    for name in [m for m in sys.modules if m == "denoise_core" or m.startswith("denoise_core.")]:
        monkeypatch.delitem(sys.modules, name)
    assert lint_imports(config_filename=str(tmp_path / "pyproject.toml"), no_cache=True, no_logo=True) == 1
    assert "denoise_core.image -> denoise_core.pipeline" in capsys.readouterr().out


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


def test_one_registry_refuses_a_duplicate_unless_told_to_replace(monkeypatch):
    from denoise_core import registry
    from denoise_core.errors import DenoiseError, DuplicateMethodError
    monkeypatch.setattr(registry, "REGISTRY", registry.REGISTRY.copy())
    registry.register("twin", kind="denoiser", family="classical")(lambda image: image)
    with pytest.raises(DuplicateMethodError, match="denoiser 'twin' is already registered") as raised:
        registry.register("twin", kind="denoiser")(lambda image: image * 0)
    assert isinstance(raised.value, DenoiseError)
    registry.register("twin", kind="denoiser", family="learned", replace=True)(lambda image: image * 0)
    assert registry.names("denoiser").count("twin") == 1 and "twin" in registry.names("denoiser", family="learned")
    assert registry.get("twin", "denoiser").func(np.ones(2)).tolist() == [0, 0]


def test_a_model_imported_at_run_time_is_routed_by_the_pipeline(tmp_path, monkeypatch):
    from denoise_core import add_noise, denoise, pipeline, registry
    from denoise_core.estimate import real_noise_level
    from denoise_core.methods import learned
    from denoise_core.models import FFDNet
    from denoise_core.weights import save_weights
    monkeypatch.setenv("DENOISE_WORKBENCH_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(registry, "REGISTRY", registry.REGISTRY.copy())
    monkeypatch.setitem(pipeline.MARGINS, ("late_model", "gaussian"), pipeline.Margin(0.5, "on test images"))
    assert pipeline.earned("late_model", "gaussian") is None  # not registered yet: no route
    torch.manual_seed(0)
    path = save_weights(tmp_path / "late", FFDNet(depth=3, width=8), {"arch": "ffdnet", "config": '{"depth": 3, "width": 8}'})
    learned.import_weights(path, "late_model")
    assert pipeline.earned("late_model", "gaussian").db == 0.5
    noisy = add_noise(np.full((48, 48), 0.5, np.float32), "gaussian", {"sigma": 0.1}, seed=0)
    result = pipeline.run(noisy, noise_type="gaussian", denoisers=["late_model"])
    stage = result.stages[-1]
    assert stage.method == "late_model" and stage.params == {"sigma": pytest.approx(stage.params["sigma"]),
                                                                  "gain": 0.0}  # white noise: one level
    np.testing.assert_array_equal(result.image, denoise(noisy, "late_model", stage.params))
    level = {"sigma": 0.1, "var": 0.04}
    plain = real_noise_level(noisy)["sigma"]  # what a learned model was trained with: the plain estimate
    assert pipeline.start_level(noisy, {"level": level}, "speckle", "late_model")["sigma"] == plain
    assert pipeline.start_level(noisy, {"level": level}, "speckle", "bm3d")["sigma"] != plain  # speckle's RMS noise


def test_every_noise_model_states_its_strength_and_usual_levels_its_schema_accepts(monkeypatch):
    from denoise_core import registry
    from denoise_core.errors import InvalidParameterError
    for model in registry.methods("noise"):
        level = model.level
        assert level is not None and len(level.sweep) >= 2, model.name
        for value in level.sweep:
            model.param(level.param).check(value / level.scale)
        assert level.estimate in ("", "sigma", "impulse")
    assert registry.get("gaussian", "noise").level.label == "sigma × 255"
    monkeypatch.setattr(registry, "REGISTRY", registry.REGISTRY.copy())
    with pytest.raises(InvalidParameterError, match="level parameter 'sigma' is not in its schema"):
        registry.register("odd_noise", kind="noise", level=registry.Level("sigma"))(lambda image, *, rng: image)
