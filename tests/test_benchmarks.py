"""The benchmark suite runs end to end (in its quick mode, a smoke test, not
a measurement) and skips libraries that are not installed."""

import importlib.util
import json

import pytest

from benchmarks import __main__ as cli
from benchmarks import libraries, report

TITLES = ["Throughput, 64×64 float32", "Throughput, 128×128 bfloat16",
          "Ensemble of 4 × 32×32", "Orthogonal, float32",
          "First call at a new shape, eager", "First call at a new shape, jit"]


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
    for table in record["tables"]:
        for seconds in table["seconds"].values():
            assert set(seconds) == {"jinit", "jax"}
            assert all(0 < s < 60 for s in seconds.values())
    charted = importlib.util.find_spec("matplotlib") is not None
    assert (tmp_path / "speedups.png").exists() == charted
    page = markdown.read_text()
    assert "| uniform |" in page and "vs jax" in page
    assert ("![speed-ups](speedups.png)" in page) == charted


def test_ratio_is_the_other_time_over_jinit_time():
    seconds = {"jinit": 0.5, "jax": 2.0}
    assert report.ratio(seconds, "jax") == 4.0
    assert report.ratio(seconds, "torch") is None


def test_unknown_library_is_an_error(capsys):
    with pytest.raises(SystemExit):
        cli.main(["--quick", "--libraries", "jinit,flax"])
    assert "unknown ['flax']" in capsys.readouterr().err
