"""The public API as type checkers see it: pyright over
tests/typing/api_usage.py, whose correct uses must type-check and whose
misuses must each be a type error."""

import json
import pathlib
import shutil
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
USAGE = ROOT / "tests" / "typing" / "api_usage.py"


@pytest.mark.skipif(
    shutil.which("pyright") is None,
    reason="pyright is not installed: pip install -e '.[typecheck]'",
)
def test_api_usage_type_checks():
    result = subprocess.run(
        ["pyright", "--outputjson", str(USAGE)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    report = json.loads(result.stdout)
    problems = [
        f"{USAGE.name}:{d['range']['start']['line'] + 1}: {d['message']}"
        for d in report["generalDiagnostics"]
        if d["severity"] == "error"
    ]
    assert report["summary"]["filesAnalyzed"] >= 1
    assert not problems, "\n".join(problems)
    assert result.returncode == 0, result.stderr
