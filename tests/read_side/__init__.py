"""Read-side tests: a still clock, an empty store and a tag projector (see conftest.py)."""
