"""The benchmark suite runs end to end (in its quick mode, a smoke test, not
a measurement) and skips libraries that are not installed."""

import importlib.util
import json

import jax
import pytest

from benchmarks import __main__ as cli
from benchmarks import libraries, models, report

TITLES = ["Throughput, 64×64 float32", "Throughput, 128×128 bfloat16",
          "Ensemble of 4 × 32×32", "Orthogonal, float32",
          "First call at a new shape, eager", "First call at a new shape, jit",
          "Whole models, float32, tiny sizes"]


def test_quick_run_prints_ratios_and_writes_its_files(tmp_path, capsys,
                                                      monkeypatch):
    found = dict(libraries.available(), torch=False)
    monkeypatch.setattr(libraries, "available", lambda: found)
    markdown = tmp_path / "BENCHMARKS.md"
    assert cli.main(["--quick", "--libraries", "jinit,jax,torch", "--out",
                     str(tmp_path), "--markdown", str(markdown)]) == 0
    printed = capsys.readouterr().out
    assert "not installed, skipped: torch" in printed
    for title in TITLES:
        assert title in printed
    record = json.loads((tmp_path / "benchmarks.json").read_text())
    assert record["skipped"] == ["torch"]
    assert set(record["libraries"]) == {"jinit", "jax"}
    *tables, whole_models = record["tables"]
    for table in tables:
        for seconds in table["seconds"].values():
            assert set(seconds) == {"jinit", "jax"}
            assert all(0 < s < 60 for s in seconds.values())
    assert list(whole_models["models"]) == ["GPT-2 small", "ResNet-50"]
    assert "Not run: torch." in whole_models["note"]
    for row in whole_models["models"].values():
        assert row["tensors"] > 0 and row["parameters"] > 0
        for figure in ("cold", "warm", "peak_memory"):
            assert set(row[figure]) == {"jinit", "jax"}
        assert all(0 < s < 60 for s in [*row["cold"].values(),
                                         *row["warm"].values()])
        assert all(m >= 0 for m in row["peak_memory"].values())
        assert report.ratio(row["cold"], "jax") > 0
    charted = importlib.util.find_spec("matplotlib") is not None
    assert (tmp_path / "speedups.png").exists() == charted
    page = markdown.read_text()
    assert "| uniform |" in page and "vs jax" in page
    assert "| GPT-2 small | 28 |" in page and "jax÷jinit cold" in page
    assert ("![speed-ups](speedups.png)" in page) == charted


def test_models_have_their_published_sizes():
    assert models.size(models.build("GPT-2 small")) == {
        "tensors": 148, "parameters": 124_439_808, "bytes": 497_759_232}
    assert models.size(models.build("ResNet-50"))["tensors"] == 161
    # torchvision's resnet50(), batch-norm running statistics left out.
    assert models.size(models.build("ResNet-50"))["parameters"] == 25_557_032


def test_every_library_makes_the_same_shapes_and_laws():
    specs = models.build("GPT-2 small", tiny=True)
    libraries_made = {"jinit": models.INITIALIZE["jinit"](0, specs),
                      "jax": models.jax_materialize(0, specs)}
    if libraries.available()["torch"]:
        libraries_made["torch"] = models.torch_materialize(0, specs)
    for made in libraries_made.values():
        for spec, array in zip(jax.tree.leaves(specs), jax.tree.leaves(made),
                               strict=True):
            assert tuple(array.shape) == spec.shape
    wte = {name: float(made["wte"].std())
           for name, made in libraries_made.items()}
    assert all(abs(std - 0.02) < 0.001 for std in wte.values()), wte


def test_torch_weights_take_its_layout_and_its_fans():
    pytest.importorskip("torch")
    made = models.torch_materialize(0, models.build("ResNet-50", tiny=True))
    conv = made["layer4"][0]["conv2"]["kernel"]  # HWIO (3, 3, 64, 64).
    assert tuple(conv.shape) == (64, 64, 3, 3)
    assert abs(float(conv.std()) / (2 / (9 * 64)) ** 0.5 - 1) < 0.03
    fc = made["fc"]["kernel"]  # (256, 10): U(±1/16).
    assert tuple(fc.shape) == (10, 256)
    assert 0.06 < float(fc.abs().max()) <= 1 / 16


def test_ratio_is_the_other_time_over_jinit_time():
    seconds = {"jinit": 0.5, "jax": 2.0}
    assert report.ratio(seconds, "jax") == 4.0
    assert report.ratio(seconds, "torch") is None


def test_unknown_library_is_an_error(capsys):
    with pytest.raises(SystemExit):
        cli.main(["--quick", "--libraries", "jinit,flax"])
    assert "unknown ['flax']" in capsys.readouterr().err
