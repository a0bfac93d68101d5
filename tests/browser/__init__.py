"""Browser tests: JupyterLab + Playwright + Debian Chromium (see lab.py)."""
