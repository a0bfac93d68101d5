"""Build the Binder environment the way repo2docker does and run the quickstart in it.

What repo2docker does with our ``binder/`` (read from jupyterhub/repo2docker,
``buildpacks/python/__init__.py``): ``binder/requirements.txt`` names a local path (``.``),
so the whole repository is copied into the image first, then
``pip install --no-cache-dir -r binder/requirements.txt`` runs with the repository root as
working directory; ``binder/apt.txt`` packages are apt-installed; the package is *not*
installed from ``pyproject.toml`` on its own because a ``binder/`` directory exists.

This test mirrors that: copy of the working tree (without .git, .venv, build debris) in a
temporary dir, a fresh venv (no ``--system-site-packages``), ``pip install -r
binder/requirements.txt`` from the copy's root, then nbval on ``notebooks/quickstart.ipynb``
with no API key and an isolated Jupyter/IPython config. Differences from a real Binder
build, on purpose: the pip cache is used (faster, same packages); the interpreter is the one
running the tests (a warning says so if ``binder/runtime.txt`` asks for another); ``pytest``,
``pytest-timeout`` and ``nbval`` are installed after the requirements to run the check;
repo2docker's base environment (jupyterlab, ipywidgets, ... from conda) is not there, so
our requirements must bring everything the notebooks need, which is the stricter test.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import warnings
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BINDER = REPO / "binder"
NOTEBOOK = "notebooks/quickstart.ipynb"
#: run too: the batch notebook (no pandas in Binder: it must not need it)
ALSO = ["notebooks/batch.ipynb"]

pytestmark = [pytest.mark.slow]

_IGNORE = shutil.ignore_patterns(
    ".git",
    ".venv",
    "venv",
    "artifacts",
    "build",
    "dist",
    "*.egg-info",
    "__pycache__",
    ".pytest_cache",
    ".hypothesis",
    ".ipynb_checkpoints",
    "node_modules",
)


def _missing_apt_packages() -> list[str]:
    apt_txt = BINDER / "apt.txt"
    if not apt_txt.exists():
        return []
    wanted = [ln.split("#", 1)[0].strip() for ln in apt_txt.read_text().splitlines()]
    missing = []
    for pkg in filter(None, wanted):
        res = subprocess.run(
            ["dpkg-query", "-W", "-f=${Status}", pkg], capture_output=True, text=True
        )
        if "install ok installed" not in res.stdout:
            missing.append(pkg)
    return missing


def _run(cmd: list[str], cwd: Path, env: dict, timeout: float) -> subprocess.CompletedProcess:
    res = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    if res.returncode != 0:
        pytest.fail(
            f"command failed ({res.returncode}): {' '.join(cmd)}\n"
            f"--- stdout (tail) ---\n{res.stdout[-6000:]}\n"
            f"--- stderr (tail) ---\n{res.stderr[-4000:]}"
        )
    return res


@pytest.mark.timeout(1800)
def test_binder_environment_runs_quickstart(tmp_path):
    assert (BINDER / "requirements.txt").exists(), "binder/requirements.txt is missing"
    if not (REPO / NOTEBOOK).exists():
        pytest.skip(f"{NOTEBOOK} does not exist yet; nothing to run in the Binder environment")
    missing = _missing_apt_packages()
    if missing:
        pytest.skip(
            f"packages from binder/apt.txt not installed: {' '.join(missing)} "
            "(apt-get install them)"
        )

    runtime = BINDER / "runtime.txt"
    if runtime.exists():
        want = runtime.read_text().strip().removeprefix("python-")
        have = f"{sys.version_info.major}.{sys.version_info.minor}"
        if not have.startswith(want):
            warnings.warn(
                f"binder/runtime.txt asks for Python {want}; building with {have}", stacklevel=1
            )

    t0 = time.monotonic()
    repo = tmp_path / "repo"
    shutil.copytree(REPO, repo, ignore=_IGNORE)

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    py = str(venv / "bin" / "python")

    home = tmp_path / "home"
    home.mkdir()
    env = {
        k: v
        for k, v in os.environ.items()
        if k
        not in {
            "PYTHONPATH",
            "VIRTUAL_ENV",
            "PYTHONHOME",
            "ANTHROPIC_API_KEY",
            "OPENAI_API_KEY",
            "JUPYTER_PATH",
        }
    }
    env.update(
        PATH=f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}",
        VIRTUAL_ENV=str(venv),
        JUPYTER_CONFIG_DIR=str(home / "jupyter-config"),
        JUPYTER_DATA_DIR=str(home / "jupyter-data"),
        JUPYTER_RUNTIME_DIR=str(home / "jupyter-runtime"),
        JUPYTER_PLATFORM_DIRS="1",
        IPYTHONDIR=str(home / "ipython"),
        MPLBACKEND="Agg",
        PIP_DISABLE_PIP_VERSION_CHECK="1",
    )

    _run([py, "-m", "pip", "install", "-q", "-r", "binder/requirements.txt"], repo, env, 1200)
    t_install = time.monotonic()
    _run([py, "-m", "pip", "install", "-q", "pytest", "pytest-timeout", "nbval"], repo, env, 600)
    _run([py, "-c", "import recode_magic, anywidget, jupyterlab"], repo, env, 120)

    cmd = [py, "-m", "pytest", "-o", "addopts=", "-p", "no:cacheprovider", "--nbval-lax"]
    sanitize = sorted((repo / "notebooks").glob("*sanitize*.cfg"))
    if len(sanitize) == 1:
        cmd += ["--nbval-sanitize-with", str(sanitize[0].relative_to(repo))]
    cmd += [NOTEBOOK, *ALSO]
    res = _run(cmd, repo, env, 900)
    print(
        f"\nbinder env: pip install -r binder/requirements.txt {t_install - t0:.0f} s, "
        f"total {time.monotonic() - t0:.0f} s\n{res.stdout[-1500:]}"
    )
