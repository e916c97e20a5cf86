"""Weights catalog, sha256 checks, downloads (file:// and a local HTTP server) and imports."""
import argparse
import json
import os
import resource
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from bad_weights import BAD_FILES, published_dncnn
from denoise_core import cli, denoise, runner, weights
from denoise_core.methods import learned
from denoise_core.errors import InvalidParameterError, WeightsError
from denoise_core.models import DnCNN, FFDNet
from denoise_core.weights import save_weights

REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "reference_weights"
needs_reference = pytest.mark.skipif(not REFERENCE.is_dir(), reason="../shared/reference_weights absent")


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("DENOISE_WORKBENCH_CACHE", str(tmp_path / "cache"))
    runner.clear_cache()
    yield tmp_path / "cache"
    runner.clear_cache()


@pytest.fixture
def tiny_file(tmp_path):
    torch.manual_seed(0)
    model = FFDNet(depth=3, width=8)
    path = save_weights(tmp_path / "tiny", model, {"arch": "ffdnet", "config": '{"depth": 3, "width": 8}'})
    return path, model


@pytest.mark.parametrize("entry", list(weights.CATALOG.values()), ids=list(weights.CATALOG))
def test_shipped_files_match_catalog_and_have_cards(entry):
    assert entry.file.is_file(), f"{entry.file} listed in the catalog but absent"
    assert entry.file.stat().st_size <= weights.MAX_SHIPPED_BYTES
    assert weights.sha256(entry.file) == entry.sha256
    assert entry.card is not None, f"model card {entry.file.with_suffix('.md')} missing"
    weights.load_model(entry)


def test_missing_and_corrupted_files_name_the_file(tmp_path, tiny_file):
    path, _ = tiny_file
    entry = weights.Entry("tiny", str(path), weights.sha256(path), "ffdnet", {"depth": 3, "width": 8}, "Tiny",
                          source="imported")
    assert weights.status(entry) == "ok"
    weights.load_model(entry)
    broken = tmp_path / "broken.safetensors"
    broken.write_bytes(path.read_bytes()[:-5] + b"xxxxx")
    bad = weights.Entry("bad", str(broken), entry.sha256, "ffdnet", entry.config, "Bad", source="imported")
    assert weights.status(bad) == "corrupted"
    with pytest.raises(WeightsError, match="broken.safetensors.*sha256"):
        weights.load_model(bad)
    gone = weights.Entry("gone", str(tmp_path / "gone.safetensors"), entry.sha256, "ffdnet", entry.config, "Gone")
    with pytest.raises(WeightsError, match="gone.safetensors: weights file not found.*git checkout"):
        weights.load_model(gone)
    wrong = weights.Entry("wrong", str(path), entry.sha256, "ffdnet", {"depth": 4, "width": 8}, "Wrong")
    with pytest.raises(WeightsError, match="does not fit ffdnet"):
        weights.load_model(wrong)


def test_import_our_own_safetensors_and_run_it(cache, tiny_file):
    path, model = tiny_file
    entry = weights.import_weights(path, "my_tiny")
    assert entry.source == "imported" and entry.noise_map and Path(entry.path).parent == cache / "weights"
    assert "my_tiny" in weights.entries()
    image = np.random.default_rng(0).random((20, 22), dtype=np.float32)
    np.testing.assert_allclose(runner.load("my_tiny")(image, 0.1),
                               runner.Network(model, target=torch.device("cpu"))(image, 0.1), atol=1e-6)
    with pytest.raises(InvalidParameterError, match="name"):
        weights.import_weights(path, "Bad Name")
    weights.remove_imported("my_tiny")
    assert "my_tiny" not in weights.entries()


def test_import_refuses_unknown_layouts(cache, tmp_path):
    torch.save({"encoder.weight": torch.zeros(2, 2)}, tmp_path / "odd.pth")
    with pytest.raises(WeightsError, match="odd.pth: unrecognised layout"):
        weights.import_weights(tmp_path / "odd.pth", "odd")
    (tmp_path / "junk.pth").write_bytes(b"not a pickle")
    with pytest.raises(WeightsError, match="junk.pth"):
        weights.import_weights(tmp_path / "junk.pth", "junk")


@needs_reference
@pytest.mark.parametrize("file, depth, batch_norm", [("saoyan_dncnn_s_25.pth", 17, True),
                                                      ("kair_dncnn_25.pth", 17, False),
                                                      ("saoyan_dncnn_b.pth", 20, True)])
def test_import_published_dncnn_layouts(cache, file, depth, batch_norm):
    entry = weights.import_weights(REFERENCE / file, "ref_" + file.split(".")[0])
    assert entry.arch == "dncnn" and entry.config["depth"] == depth and entry.config["batch_norm"] is batch_norm
    model = weights.load_model(entry)
    assert isinstance(model, DnCNN)


@needs_reference
def test_saoyan_and_kair_sigma25_agree(cache):
    image = np.clip(np.add.outer(np.linspace(0, 1, 48), np.linspace(0, 1, 40)) / 2, 0, 1).astype(np.float32)
    noisy = image + 25 / 255 * np.random.default_rng(0).standard_normal(image.shape).astype(np.float32)
    outs = []
    for file in ("saoyan_dncnn_s_25.pth", "kair_dncnn_25.pth"):
        entry = weights.import_weights(REFERENCE / file, "ref_" + file.split("_")[0])
        outs.append(runner.load(entry.name)(noisy))
    errors = [np.sqrt(np.mean((o - image) ** 2)) for o in outs]
    assert max(errors) < 0.6 * np.sqrt(np.mean((noisy - image) ** 2))


def test_cli_functions(cache, tiny_file, capsys):
    path, _ = tiny_file
    parser = argparse.ArgumentParser()
    cli.add_weights_arguments(parser)
    cli.run_weights(parser.parse_args(["import", str(path), "--name", "cli_tiny"]))
    assert "imported cli_tiny" in capsys.readouterr().out
    cli.run_weights(parser.parse_args(["list"]))
    out = capsys.readouterr().out
    assert "cli_tiny" in out and "lpips" in out and "weights fetch lpips" in out
    cli.run_weights(parser.parse_args(["remove", "cli_tiny"]))
    assert capsys.readouterr().out == "removed cli_tiny\n"
    assert "cli_tiny" not in weights.entries() and not (cache / "weights" / "cli_tiny.safetensors").exists()


def run_cli(capsys, *argv: str) -> tuple[int, str, str, list[str]]:
    """``cli.main(argv)`` in this process: exit code, stdout, stderr and every warning raised."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err, [str(w.message) for w in caught]


@pytest.mark.parametrize("file", list(BAD_FILES))
def test_a_bad_weights_file_is_one_line_exit_2(cache, tmp_path, capsys, file):
    path = tmp_path / file
    path.write_bytes(BAD_FILES[file](tmp_path / "pwned"))
    code, out, err, caught = run_cli(capsys, "weights", "import", path, "--name", "bad_one")
    assert (code, out, caught) == (2, "", [])
    assert err.count("\n") == 1 and err.startswith(f"error: {path}: ")
    assert not (tmp_path / "pwned").exists(), "the pickle ran"
    assert not (cache / "weights").exists(), "nothing is written for a file that is refused"


@pytest.mark.parametrize("name", ["../../x", "/etc/x", "a/b", ".", "okname\n", "x" * 300, "", "Bad Name"])
def test_a_name_that_is_no_registry_name_is_refused_before_anything_is_written(cache, tiny_file, capsys, name):
    path, _ = tiny_file
    code, out, err, _ = run_cli(capsys, "weights", "import", path, "--name", name)
    assert (code, out) == (2, "")
    assert err.count("\n") == 1 and "lower-case letters" in err and len(err) < 200
    assert not (cache / "weights").exists()


def test_an_upload_gets_a_suffix_from_the_allow_list_and_a_one_line_label():
    assert weights.upload_suffix("../../site-packages/x.PT") == ".pth"
    assert weights.upload_suffix("C:\\Users\\me\\model.safetensors") == ".safetensors"
    assert weights.upload_label("../../../../tmp/evil\n.pth") == "evil\\n.pth"
    with pytest.raises(WeightsError, match="x.py: not a weights file"):
        weights.upload_suffix("/tmp/x.py")


def write_catalog(cache: Path, items: list) -> Path:
    catalog = cache / "weights" / "catalog.json"
    catalog.parent.mkdir(parents=True, exist_ok=True)
    catalog.write_text(json.dumps(items))
    return catalog


def test_the_imported_catalog_never_supplies_a_path(cache, tmp_path, tiny_file):
    path, _ = tiny_file
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    entry = weights.import_weights(path, "listed")
    write_catalog(cache, [{**entry.__dict__, "path": str(victim), "sha256": weights.sha256(victim)}])
    assert weights.entries()["listed"].file == cache / "weights" / "listed.safetensors"
    weights.remove_imported("listed")
    assert victim.read_text() == "keep me" and not (cache / "weights" / "listed.safetensors").exists()
    for bad in ({**entry.__dict__, "name": "../../evil"}, {**entry.__dict__, "name": "okname\n"},
                {**entry.__dict__, "config": [3]}, {**entry.__dict__, "arch": "rrdbnet"}, "a string"):
        write_catalog(cache, [bad])
        with pytest.raises(WeightsError, match="catalog.json: unreadable catalog"):
            weights.entries()


def test_a_corrupt_catalog_is_one_line_exit_2(cache, capsys):
    catalog = write_catalog(cache, [])
    catalog.write_text('[{"name": "half')
    code, out, err, _ = run_cli(capsys, "weights", "list")
    assert (code, out) == (2, "")
    assert err.count("\n") == 1 and f"{catalog}: unreadable catalog" in err and "delete it" in err


def test_an_import_replaces_a_link_in_the_cache_instead_of_writing_through_it(cache, tmp_path, tiny_file):
    path, _ = tiny_file
    victim = tmp_path / "victim.bin"
    victim.write_bytes(b"keep me")
    (cache / "weights").mkdir(parents=True)
    (cache / "weights" / "linked.safetensors").symlink_to(victim)
    weights.import_weights(path, "linked")
    assert victim.read_bytes() == b"keep me"
    assert not (cache / "weights" / "linked.safetensors").is_symlink()
    assert sorted(p.name for p in (cache / "weights").iterdir()) == ["catalog.json", "linked.safetensors"]


def test_importing_a_name_again_replaces_the_earlier_weights_and_other_names_are_refused(cache, tiny_file, tmp_path,
                                                                                          monkeypatch):
    from denoise_core import registry
    monkeypatch.setattr(registry, "REGISTRY", registry.REGISTRY.copy())
    path, first = tiny_file
    second = FFDNet(depth=3, width=8)
    with torch.no_grad():  # a freshly built FFDNet's output does not depend on its weights yet
        for parameter in second.parameters():
            parameter.add_(torch.randn_like(parameter) * 0.1)
    other = save_weights(tmp_path / "other", second, {"arch": "ffdnet", "config": '{"depth": 3, "width": 8}'})
    image = np.random.default_rng(0).random((20, 22), dtype=np.float32)
    learned.import_weights(path, "twice")
    before = denoise(image, "twice", {"sigma": 0.1})
    learned.import_weights(other, "twice")
    after = denoise(image, "twice", {"sigma": 0.1})
    np.testing.assert_allclose(after, runner.Network(second, target=torch.device("cpu"))(image, 0.1), atol=1e-6)
    assert np.abs(after - before).max() > 1e-3
    assert registry.names("denoiser").count("twice") == 1 and list(weights.imported()) == ["twice"]
    with pytest.raises(WeightsError, match="'median' is already a denoiser"):
        learned.import_weights(path, "median")
    with pytest.raises(WeightsError, match=f"'{learned.DEFAULT_GRAY}' is already a denoiser"):
        learned.import_weights(path, learned.DEFAULT_GRAY)


def _memory_limit() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (6 << 30, 6 << 30))


@pytest.mark.parametrize("file", ["huge_option.safetensors", "malicious.pth"])
def test_the_command_refuses_a_bad_file_in_one_line_within_a_memory_limit(tmp_path, file):
    path = tmp_path / file
    path.write_bytes(BAD_FILES[file](tmp_path / "pwned"))
    done = subprocess.run([sys.executable, "-W", "default", "-m", "denoise_core", "weights", "import", str(path),
                           "--name", "bad_one"], capture_output=True, text=True, preexec_fn=_memory_limit,
                          cwd=Path(__file__).resolve().parents[1], timeout=300,
                          env={**os.environ, "DENOISE_WORKBENCH_CACHE": str(tmp_path / "cache")})
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr.count("\n") == 1 and done.stderr.startswith(f"error: {path}: "), done.stderr
    assert not (tmp_path / "pwned").exists() and not (tmp_path / "cache").exists()


def test_a_published_layout_with_batch_norm_imports_without_its_counters(cache, tmp_path):
    state = {k.replace("dncnn.", "module.dncnn."): v for k, v in DnCNN(depth=4, width=8).state_dict().items()
             if not k.endswith("num_batches_tracked")}
    torch.save(state, tmp_path / "old_torch.pth")
    entry = weights.import_weights(tmp_path / "old_torch.pth", "old_torch")
    assert entry.config == {"channels": 1, "depth": 4, "width": 8, "batch_norm": True}
    merged = published_dncnn(depth=3, width=4)
    torch.save(merged, tmp_path / "merged.pth")
    assert weights.import_weights(tmp_path / "merged.pth", "merged").config["depth"] == 3


def test_an_imported_entry_named_like_a_method_does_not_break_the_library_import(cache, tiny_file, monkeypatch):
    from denoise_core import registry
    monkeypatch.setattr(registry, "REGISTRY", registry.REGISTRY.copy())
    path, _ = tiny_file
    entry = weights.import_weights(path, "mine")
    (cache / "weights" / "mine.safetensors").rename(cache / "weights" / "median.safetensors")
    write_catalog(cache, [{**entry.__dict__, "name": "median"}])
    assert "median" not in learned.register_present()
    assert registry.get("median", "denoiser").family == "classical"


def test_the_overview_s_measured_numbers_are_those_of_the_model_cards():
    from denoise_core.weights.catalog import MEASURED
    for name, numbers in MEASURED.items():
        card = weights.CATALOG[name].card.read_text()
        assert all(f"{value:.2f}" in card for value in numbers.values()), name
