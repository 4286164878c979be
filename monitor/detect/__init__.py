"""Detection of copies: pure functions and values, no I/O, no database.

Public interface (the pipeline and the CLI use only this):

    det = Detector(DetectSettings())
    sig = det.signature(source_text)       # bytes, stored with the source
    det.add(source_id, sig)                # (re)build the index from stored signatures
    ids = det.candidates(post_text)        # source ids worth verifying
    verdict = det.compare(source_text, post_text)   # alignment, evidence, verdict
"""

from monitor.detect.engine import DetectSettings, Detector, Verdict

__all__ = ["DetectSettings", "Detector", "Verdict"]
