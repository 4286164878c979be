from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
SHARED = ROOT.parent / "shared" / "data"  # ../shared/data relative to the repo root


def shared(sub: str) -> Path:
    """A folder of the shared data set, or skip the test with the reason."""
    path = SHARED / sub
    if not path.exists():
        pytest.skip(f"shared data set absent: {path} (only in the development checkout)")
    return path


@pytest.fixture
def fixture_text():
    return lambda name: (DATA / name).read_text(encoding="utf-8")
