"""A private HORUS namespace per test (removed afterwards), and where the
Rust programs of the cross-language tests are."""

import itertools
import os
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
_SERIAL = itertools.count()


def shm_base() -> Path:
    return Path(os.environ.get("HORUS_SHM_DIR") or "/dev/shm")


@pytest.fixture
def ns(monkeypatch, request):
    """A fresh namespace, also set as HORUS_NAMESPACE for this test."""
    safe = "".join(c for c in request.node.name if c.isalnum())[:24]
    name = f"py{os.getpid()}_{next(_SERIAL)}_{safe}"
    monkeypatch.setenv("HORUS_NAMESPACE", name)
    yield name
    shutil.rmtree(shm_base() / f"horus_{name}", ignore_errors=True)


def rust_bin(name: str) -> Path:
    """A binary of the workspace (HORUS_BIN_DIR, default target/debug)."""
    d = Path(os.environ.get("HORUS_BIN_DIR") or REPO / "target" / "debug")
    p = d / name
    if not p.exists():
        pytest.fail(f"{p} is missing: build it with `cargo build -p horus-examples -p horus-cli` "
                    "(ci/python.sh does)")
    return p
