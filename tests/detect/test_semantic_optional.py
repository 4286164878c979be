"""The semantic tier is optional: importing the detector loads none of its libraries, and a
detector without the extra works (CI installs `.[test,dev]` only)."""

from __future__ import annotations

import subprocess
import sys

from monitor.detect import DetectSettings, Detector


def test_detector_import_loads_no_model_library() -> None:
    code = ("import sys, monitor.detect, monitor.pipeline; from monitor.detect import Detector, DetectSettings;"
            "Detector(DetectSettings()).compare('a b c', 'a b c');"
            "print(sorted(m for m in ('safetensors', 'tokenizers', 'torch') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_the_tier_is_opt_in_and_off_works() -> None:
    # a detector made in code never runs it unasked (a second of CPU a post); the service's
    # detection.semantic "auto" turns it on only where the extra and model were installed
    assert DetectSettings().semantic is False
    v = Detector(DetectSettings(semantic=False)).compare("word " * 60, "other " * 60)
    assert not v.is_match and v.method != "semantic"


def test_asking_for_the_tier_without_its_extra_warns_and_keeps_it_off(tmp_path, monkeypatch, caplog) -> None:
    import monitor.pipeline as pipeline
    from monitor import config
    from monitor.store import Database

    monkeypatch.setattr(pipeline, "_semantic_available", lambda: False)
    s = config.load(None, database_url=f"sqlite:///{tmp_path / 'm.db'}", data_dir=str(tmp_path),
                    detection={"semantic": True})
    db = Database(s.db_url)
    db.migrate()
    m = pipeline.Monitor(s, db)
    try:
        assert m.detector.settings.semantic is False
        assert "detection.semantic is on but its extra or model is not installed" in caplog.text
    finally:
        m.close()


def test_auto_runs_the_tier_where_it_is_installed_and_false_keeps_it_off(tmp_path, monkeypatch, caplog) -> None:
    import logging

    import monitor.pipeline as pipeline
    from monitor import config
    from monitor.store import Database

    def tier(setting, installed: bool) -> bool:  # noqa: ANN001
        monkeypatch.setattr(pipeline, "_semantic_available", lambda: installed)
        s = config.load(None, database_url=f"sqlite:///{tmp_path / 'm.db'}", data_dir=str(tmp_path),
                        **({} if setting is None else {"detection": {"semantic": setting}}))
        db = Database(s.db_url)
        db.migrate()
        m = pipeline.Monitor(s, db)
        try:
            return m.detector.settings.semantic
        finally:
            m.close()

    caplog.set_level(logging.INFO, logger="monitor")
    assert config.load(None).detection.semantic == "auto"
    assert tier(None, installed=True) is True and "semantic tier on (detection.semantic: auto)" in caplog.text
    caplog.clear()
    assert tier(None, installed=False) is False and "semantic" not in caplog.text  # not installed: no noise
    assert tier(False, installed=True) is False
    assert tier(True, installed=True) is True
