"""``python -m jinit``, the README's main job: every initializer with target
and measured moments."""

import subprocess
import sys


def test_main_prints_every_initializer_with_measured_std_near_target():
    output = subprocess.run([sys.executable, "-m", "jinit"], check=True,
                            capture_output=True, text=True,
                            timeout=300).stdout
    rows = {line.split()[0]: line.split()[1:7] for line in
            output.splitlines()[3:]}
    factories = {"zeros", "ones", "constant", "random_normal",
                 "random_uniform", "truncated_normal", "variance_scaling",
                 "orthogonal", "identity", "lecun_uniform", "lecun_normal",
                 "glorot_uniform", "glorot_normal", "he_uniform", "he_normal",
                 "delta_orthogonal", "dirac", "sparse", "depth_scaled_normal",
                 "small_init", "wang_init", "deepnorm", "t_fixup",
                 "t_fixup_embedding", "fixup", "skip_init", "zer_o"}
    assert set(rows) == factories
    for name, row in rows.items():
        target_std, std, target_mean, mean, low, high = map(float, row)
        assert abs(std - target_std) <= 0.03 * target_std + 1e-9, name
        assert abs(mean - target_mean) <= 0.05 * target_std + 1e-9, name
        assert low <= mean <= high
