"""Worked solutions of the exercises, one module each; ``Exercise.solution()`` shows their source.

Each module defines the names its exercise's ``check`` takes, so a test can run the source
shown to students through the check and see it pass.
"""
