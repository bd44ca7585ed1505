"""The example clients in examples/ run against a real `trainsim serve`, as a partner would run them."""

import subprocess
import sys
from pathlib import Path

import pytest

from simulators.server import free_port

from .platform.test_serve import start, stop

EXAMPLES = sorted((Path(__file__).resolve().parent.parent / "examples").glob("*.py"))


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    proc, url = start(str(tmp_path_factory.mktemp("examples") / "state.db"), free_port())
    yield url
    stop(proc)


@pytest.mark.parametrize("example", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_runs(server, example):
    run = subprocess.run([sys.executable, str(example), "--base-url", server], capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
