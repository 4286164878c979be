"""Start-up stays cheap: `--help` imports neither the config, the database nor the detector, and
the listing commands read the store without building the detector index (timings: bench/startup.py)."""

import json
import subprocess
import sys

PROBE = """
import json, sys
from monitor.cli import app
try:
    app({args!r}, prog_name="monitor")
except SystemExit:
    pass
heavy = ["asyncio", "sqlalchemy", "pydantic", "alembic", "monitor.detect", "monitor.pipeline", "monitor.extract",
         "selectolax", "httpx", "numpy"]
print(json.dumps([m for m in heavy if m in sys.modules]), file=sys.stderr)
"""


def imported(args: list[str], cwd, env=None) -> list[str]:
    r = subprocess.run([sys.executable, "-c", PROBE.format(args=args)], capture_output=True, text=True,
                       cwd=cwd, env=env, timeout=120)
    return json.loads(r.stderr.strip().splitlines()[-1])


def test_help_imports_nothing_heavy(tmp_path):
    assert imported(["--help"], tmp_path) == []
    # (typer's own parsing of a sub-command's options imports pydantic; nothing of ours does)
    assert set(imported(["sources", "--help"], tmp_path)) <= {"pydantic"}


def test_listing_commands_do_not_build_the_index(tmp_path):
    db = f"sqlite:///{tmp_path / 'm.db'}"
    subprocess.run([sys.executable, "-m", "monitor", "--database-url", db, "migrate"], check=True,
                   capture_output=True, cwd=tmp_path, timeout=120)
    for args in (["sources", "list"], ["matches"], ["feeds", "list"]):
        loaded = imported(["--database-url", db, *args], tmp_path)
        assert "sqlalchemy" in loaded, args  # it did read the database …
        assert not {"monitor.detect", "monitor.pipeline", "alembic"} & set(loaded), (args, loaded)  # … and only that
