"""The benchmark suite runs end to end (in its quick mode, a smoke test, not
a measurement) and skips libraries that are not installed. No test bounds a
time: the figures depend on the machine and its load; the tests check that
they are there, positive and finite."""

import importlib.util
import json
import math

import jax
import pytest

from benchmarks import __main__ as cli
from benchmarks import eager, libraries, models, multihost, report

TITLES = [
    "Throughput, 64×64 float32",
    "Throughput, 64×64 bfloat16",
    "Ensemble of 4 × 32×32",
    "Orthogonal, float32",
    "First call at a new 32×16 shape, eager",
    "First call at a new 32×16 shape, jit",
    "jinit.diagnose on a GPT-2-small-shaped model, tiny sizes",
    "Whole models, float32, tiny sizes",
    "Building a GPT-2-small-shaped model, float32, tiny sizes",
]


def positive_and_finite(numbers):
    return all(
        isinstance(x, (int, float)) and 0 < x < math.inf for x in numbers
    )


def check_figures(record, libraries_run, model_libraries=None):
    """The figures of ``benchmarks.json``: one per library run (in the
    whole-model table, per library of ``model_libraries``, by default the
    same), each a positive, finite number of seconds, however long it
    took."""
    *tables, whole_models, construction = record["tables"]
    for table in tables:
        if "diagnose" in table:  # jinit.diagnose against a forward+backward
            assert set(table["diagnose"]) == {"forward+backward", "diagnose"}
            for row in table["diagnose"].values():
                assert positive_and_finite([row["seconds"]]), row
                assert row["bytes"] is None or row["bytes"] > 0, row
            continue
        for seconds in table["seconds"].values():
            assert set(seconds) == libraries_run
            assert positive_and_finite(seconds.values()), seconds
    for row in whole_models["models"].values():
        for figure in ("cold", "warm", "peak_memory"):
            assert set(row[figure]) == (model_libraries or libraries_run)
        assert positive_and_finite(
            [*row["cold"].values(), *row["warm"].values()]
        ), row
        assert all(m >= 0 for m in row["peak_memory"].values())
    assert construction["construction"]
    for runs in construction["construction"].values():
        assert runs and positive_and_finite(runs), runs


def test_quick_run_prints_ratios_and_writes_its_files(
    tmp_path, capsys, monkeypatch
):
    found = dict(libraries.available(), torch=False)
    monkeypatch.setattr(libraries, "available", lambda: found)
    # One fresh process runs `python -m benchmarks.models` (the command, its
    # line of JSON); the other models and libraries take the same figures
    # here, each fresh process costing seconds to import and start JAX. The
    # fresh one is the costliest, jax.nn.initializers compiling each of
    # ResNet-50's shapes eagerly; there, XLA need not optimize (no figure is
    # checked but for being there), which halves its compile time.
    fresh, runs = models.in_fresh_process, []

    def once_fresh(model, library, *args):
        runs.append((model, library))
        return (
            fresh
            if (model, library) == ("ResNet-50", "jax")
            else models.figures
        )(model, library, *args)

    monkeypatch.setattr(models, "in_fresh_process", once_fresh)
    monkeypatch.setenv("JAX_DISABLE_MOST_OPTIMIZATIONS", "1")
    markdown = tmp_path / "BENCHMARKS.md"
    # A multi-host section (python -m benchmarks.multihost) is kept.
    markdown.write_text(f"old tables\n\n{multihost.SECTION}\nkept\n")
    assert (
        cli.main(
            [
                "--quick",
                "--libraries",
                "jinit,jax,torch",
                "--out",
                str(tmp_path),
                "--markdown",
                str(markdown),
            ]
        )
        == 0
    )
    printed = capsys.readouterr().out
    assert "not installed, skipped: torch" in printed
    for title in TITLES:
        assert title in printed
    record = json.loads((tmp_path / "benchmarks.json").read_text())
    assert record["skipped"] == ["torch"]
    assert set(record["libraries"]) == {"jinit", "jax"}
    check_figures(record, {"jinit", "jax"}, {"jinit", "jinit-recorded", "jax"})
    assert runs == [
        (model, library)
        for model in models.MODELS
        for library in ("jinit", "jinit-recorded", "jax")
    ]
    whole_models, construction = record["tables"][-2:]
    assert "torch" not in construction["construction"]
    assert {"nnx-jinit", "nnx-no-draw"} <= set(construction["construction"])
    assert list(whole_models["models"]) == ["GPT-2 small", "ResNet-50"]
    assert "Not run: torch." in whole_models["note"]
    for row in whole_models["models"].values():
        assert row["tensors"] > 0 and row["parameters"] > 0
        assert report.ratio(row["cold"], "jax") > 0
    charted = importlib.util.find_spec("matplotlib") is not None
    assert (tmp_path / "speedups.png").exists() == charted
    page = markdown.read_text()
    assert "| uniform |" in page and "vs jax" in page
    assert "| GPT-2 small | 28 |" in page and "jax÷jinit cold" in page
    assert ("![speed-ups](speedups.png)" in page) == charted
    assert "old tables" not in page
    assert page.endswith(f"\n{multihost.SECTION}\nkept\n")


def record_of(seconds):
    """A ``benchmarks.json`` whose every time is ``seconds``."""
    times = {"jinit": seconds, "jax": seconds}
    return {
        "tables": [
            {"seconds": {"uniform": times}},
            {
                "diagnose": {
                    name: {"seconds": seconds, "bytes": 1}
                    for name in ("forward+backward", "diagnose")
                }
            },
            {
                "models": {
                    "GPT-2 small": {
                        "cold": times,
                        "warm": times,
                        "peak_memory": {"jinit": 0, "jax": 1},
                    }
                }
            },
            {"construction": {"nnx-jinit": [seconds]}},
        ]
    }


def test_figures_of_a_loaded_machine_pass_and_broken_ones_do_not():
    # A loaded machine took over 60 s, which a time bound here once failed.
    check_figures(record_of(600.0), {"jinit", "jax"})
    check_figures(record_of(1e-6), {"jinit", "jax"})
    for broken in (0.0, -1.0, math.nan, math.inf, None):
        with pytest.raises(AssertionError):
            check_figures(record_of(broken), {"jinit", "jax"})


def test_models_have_their_published_sizes():
    assert models.size(models.build("GPT-2 small")) == {
        "tensors": 148,
        "parameters": 124_439_808,
        "bytes": 497_759_232,
    }
    assert models.size(models.build("ResNet-50"))["tensors"] == 161
    # torchvision's resnet50(), batch-norm running statistics left out.
    assert models.size(models.build("ResNet-50"))["parameters"] == 25_557_032


def test_every_library_makes_the_same_shapes_and_laws():
    specs = models.build("GPT-2 small", tiny=True)
    libraries_made = {
        "jinit": models.INITIALIZE["jinit"](0, specs),
        "jax": models.jax_materialize(0, specs),
    }
    if libraries.available()["torch"]:
        libraries_made["torch"] = models.torch_materialize(0, specs)
    for made in libraries_made.values():
        for spec, array in zip(
            jax.tree.leaves(specs), jax.tree.leaves(made), strict=True
        ):
            assert tuple(array.shape) == spec.shape
    wte = {
        name: float(made["wte"].std()) for name, made in libraries_made.items()
    }
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


def test_multihost_tables_from_records(tmp_path):
    """The multi-host section from three runs' records (no processes
    started): the memory rows, and the at-scale cells from the one-process
    time per element and the elementwise run's memory beyond its share."""

    def row(name, shares, peaks, seconds, elements, total):
        return {
            "run": name,
            "share_mib": shares,
            "peak_growth_mib": peaks,
            "ratio": [p / s for p, s in zip(peaks, shares, strict=True)],
            "seconds": seconds,
            "elements": elements,
            "total": total,
        }

    rows = [
        row("1 process", [1000.0], [1050.0], [5.0], 10**9, "ab"),
        row(
            "4, elementwise",
            [250.0] * 4,
            [300.0, 310.0, 300.0, 300.0],
            [2.0] * 4,
            250 * 10**6,
            "cd",
        ),
        row("4, whole", [250.0] * 4, [400.0] * 4, [3.0] * 4, 250 * 10**6, "ab"),
    ]
    table = multihost.memory_table(rows)
    assert table[2] == (
        "| 1 process | 1000 MiB | 1050 MiB | 1.050 | 5.00 | `ab` |"
    )
    assert "| 300–310 MiB | 1.200–1.240 |" in table[3]
    scale, per_element, overhead = multihost.scale_table(rows)
    assert per_element == 5e-9 and overhead == 60.0
    # 7B float32 on 8 hosts: 26.1 GiB / 8 + 60 MiB; 7e9 / 8 x 5 ns.
    assert scale[2].startswith("| 7B | 3.3 GiB, 4.4 s | ")
    page = tmp_path / "BENCHMARKS.md"
    page.write_text("tables\n")
    multihost.write_section(page, f"{multihost.SECTION}\nfirst\n")
    multihost.write_section(page, f"{multihost.SECTION}\nsecond\n")
    assert page.read_text() == f"tables\n\n{multihost.SECTION}\nsecond\n"


def test_eager_benchmark_prints_its_table(capsys, monkeypatch):
    """``python -m benchmarks.eager --quick``: a row per law, each with its
    ratios to the jitted draw (a smoke test: fewer calls)."""
    monkeypatch.setattr(eager, "WARM_UP", 2)
    monkeypatch.setattr(eager, "REPEATS", 3)
    monkeypatch.setattr(eager, "NEW_SHAPES", 2)
    eager.main(["--quick"])
    lines = capsys.readouterr().out.splitlines()
    rows = [line for line in lines if line.startswith("| ") and "×" in line]
    assert [row.split(" | ")[0][2:] for row in rows] == list(eager.laws())
    for row in rows:
        cells = row.strip("| ").split(" | ")[1:]
        assert positive_and_finite(
            [float(cell.rstrip("×")) for cell in cells]
        ), row
