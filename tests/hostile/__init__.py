"""The hostile-text corpus (`corpus.py`) that `tests/test_hostile.py` pushes through every output."""
