"""Steering a finished run: regenerate, edit, rerun, switch, forks, promote, compare."""

# the folder's modules (imported one by one where used; none is imported here)
__all__ = ["compare", "forks", "promote", "steer"]
