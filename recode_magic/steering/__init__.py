"""Steering a finished run: regenerate, edit, rerun, switch, forks, promote, compare."""
