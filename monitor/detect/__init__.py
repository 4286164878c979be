"""Detection of copies: pure functions and values, no I/O, no database.

Public interface (the pipeline and the CLI use only this):

    det = Detector(DetectSettings())
    sig = det.signature(source_text)       # bytes, stored with the source
    det.add(source_id, sig)                # (re)build the index from stored signatures
    ids = det.candidates(post_text)        # source ids worth verifying, best first
    verdict = det.compare(source_text, post_text)   # alignment, evidence, verdict
    post = det.read(post_text)             # one check: split and fingerprinted once for
    det.candidates(post); det.compare_each(post, {source_id: source_text})   # both
    matches = det.scan(post_text, load_sources)     # candidates + compare, matches only, folded
    matches = det.fold(matches)            # one match per copied post: others in `related`
    kept_words(source_passage, copy_passage)  # what a re-told passage kept (for the report)

How it works and why each threshold is what it is: monitor/detect/README.md.
"""

from monitor.detect.engine import DetectSettings, Detector, Reading, SignatureError, Verdict
from monitor.detect.fold import fold_related
from monitor.detect.sentences import kept_words

__all__ = ["DetectSettings", "Detector", "Reading", "SignatureError", "Verdict", "fold_related", "kept_words"]
