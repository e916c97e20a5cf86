"""The seed rule of ``apply.add_noise``, shared by the CLI and the app."""
import numpy as np
import pytest

from denoise_core import apply, cli
from denoise_core.errors import InvalidParameterError


@pytest.mark.parametrize("seed", [-1, -5, apply.MAX_SEED + 1, "99999999999999999999", "1.5", "nan", True])
def test_a_seed_out_of_range_is_refused_not_replaced(seed):
    image = np.full((16, 16), 0.5, np.float32)
    with pytest.raises(InvalidParameterError, match=f"use a whole number from 0 to {apply.MAX_SEED}"):
        apply.add_noise(image, "gaussian", {"sigma": 0.1}, seed=seed)


def test_seeds_at_both_ends_of_the_range_give_their_own_noise():
    image = np.full((16, 16), 0.5, np.float32)
    low, high = (apply.add_noise(image, "gaussian", {"sigma": 0.1}, seed=s) for s in (0, apply.MAX_SEED))
    assert apply.check_seed("7") == 7 and not np.array_equal(low, high)


def test_the_cli_refuses_a_negative_seed_with_one_line(tmp_path, capsys):
    from denoise_core.image import save_image
    source = tmp_path / "flat.png"
    save_image(source, np.full((32, 32), 0.5, np.float32))
    code = cli.main(["noise", str(source), str(tmp_path / "out.png"), "--model", "gaussian", "--seed", "-1"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "seed '-1'" in err, err
    assert not (tmp_path / "out.png").exists()
