"""The semantic tier is optional: importing the detector loads none of its libraries, and a
detector without the extra works (CI installs `.[test,dev]` only)."""

from __future__ import annotations

import subprocess
import sys

from monitor.detect import DetectSettings, Detector, semantic


def test_detector_import_loads_no_model_library() -> None:
    code = ("import sys, monitor.detect, monitor.pipeline; from monitor.detect import Detector, DetectSettings;"
            "Detector(DetectSettings()).compare('a b c', 'a b c');"
            "print(sorted(m for m in ('safetensors', 'tokenizers', 'torch') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_default_follows_what_is_installed_and_off_works() -> None:
    assert DetectSettings().semantic == semantic.available()
    v = Detector(DetectSettings(semantic=False)).compare("word " * 60, "other " * 60)
    assert not v.is_match and v.method != "semantic"
