"""The nestlab container image, built where no registry can be pulled from.

Two stages, each cached by a key of its inputs so a second build costs seconds:

1. the base: `debootstrap --variant=minbase --include=python3,python3-venv bookworm` into a
   scratch folder, then `docker import` → `nestlab-base:<key>`, where the key hashes the
   debootstrap arguments. Nothing else goes into it, so it outlives every change of the project.
2. the project: the repository's Dockerfile (the same one users with a pulling Docker build
   FROM python:3.11-slim) built FROM that base, on a context made of exactly the `!` lines of
   .dockerignore plus a wheelhouse/ → `nestlab:latest`, labelled with a key of the base and of
   every context file.

The wheelhouse holds a wheel of every dependency, made on this machine by its own pip (which
knows this machine's index and certificate settings) and cached by a key of pyproject.toml's
dependencies; the build installs from it with --no-index, so the build container needs no
network at all (the engine here runs with --iptables=false: its bridge has no way out).

`python -m nestlab.lab.image` is what `make image` runs. Building needs root (debootstrap), Debian's
packages and PyPI.
"""

from __future__ import annotations

import io
import os
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

from nestlab.simulator.errors import BadInput

# hashlib, json, shutil, subprocess, tarfile, tempfile and tomllib are imported where a build uses them: `nestlab up --help`
# reads IMAGE from here and should not pay for a build's libraries (issue 17, start-up)

PROJECT_ROOT = Path(__file__).resolve().parent.parent
IMAGE_ENV = "NESTLAB_IMAGE"  # another tag for `make image`, `up` and the docker tests, so they never touch a shared nestlab:latest
IMAGE = os.environ.get(IMAGE_ENV) or "nestlab:latest"
BASE_REPOSITORY = "nestlab-base"
KEY_LABEL = "nestlab.image-key"
BASE_KEY_LABEL = "nestlab.base-key"
WHEELHOUSE_CACHE = Path.home() / ".cache" / "nestlab" / "wheelhouse"
BUILD_REQUIREMENTS = ("setuptools>=68", "wheel")  # what the Dockerfile installs before the project
BASE_PYTHON = (3, 11)  # Debian bookworm's python3, which the wheelhouse's wheels must fit
PIP_OPTIONS = "--no-index --find-links /src"  # the Dockerfile copies wheelhouse/* into /src
RECIPE_VERSION = 1  # bump when the way the base is made changes in a way its arguments do not show

Log = Callable[[str], None]


@dataclass(frozen=True)
class BaseRecipe:
    """Everything that decides the content of the base image: its cache key hashes these."""

    suite: str = "bookworm"
    variant: str = "minbase"
    include: tuple[str, ...] = ("python3", "python3-venv")
    mirror: str = "http://deb.debian.org/debian"

    @property
    def key(self) -> str:
        import json

        return _digest(json.dumps({"recipe": RECIPE_VERSION, **asdict(self)}, sort_keys=True).encode())

    @property
    def tag(self) -> str:
        return f"{BASE_REPOSITORY}:{self.key[:16]}"

    def debootstrap_argv(self, root: Path) -> list[str]:
        return ["debootstrap", f"--variant={self.variant}", f"--include={','.join(self.include)}", self.suite, str(root), self.mirror]


@dataclass(frozen=True)
class Built:
    """What a build produced and whether it was already there."""

    tag: str
    key: str
    cached: bool
    seconds: float


def ensure_base(client: Any, recipe: BaseRecipe = BaseRecipe(), log: Log = print) -> Built:
    """The base image for `recipe`, made with debootstrap and `docker import` unless cached."""
    import shutil
    import tempfile

    started = time.monotonic()
    if _image_key(client, recipe.tag, BASE_KEY_LABEL) == recipe.key:
        return Built(recipe.tag, recipe.key, True, time.monotonic() - started)
    if shutil.which("debootstrap") is None:
        raise BadInput("image: debootstrap is not installed (apt-get install debootstrap), so the base image cannot be made")
    with tempfile.TemporaryDirectory(prefix="nestlab-base-", dir="/var/tmp") as scratch:
        root, archive = Path(scratch) / "root", Path(scratch) / "root.tar"
        log(f"image: {' '.join(recipe.debootstrap_argv(root))}")
        _run(recipe.debootstrap_argv(root), "debootstrap")
        _run(["tar", "-C", str(root), "--numeric-owner", "-cf", str(archive), "."], "tar of the base root")
        repository, tag = recipe.tag.split(":")
        client.api.import_image_from_file(str(archive), repository=repository, tag=tag, changes=[f"LABEL {BASE_KEY_LABEL}={recipe.key}"])
    log(f"image: imported {recipe.tag}")
    return Built(recipe.tag, recipe.key, False, time.monotonic() - started)


def build_image(client: Any, *, tag: str = IMAGE, recipe: BaseRecipe = BaseRecipe(), root: Path = PROJECT_ROOT, log: Log = print) -> Built:
    """The project image FROM the base, rebuilt only when the base or a context file changed."""
    started = time.monotonic()
    base = ensure_base(client, recipe, log)
    wheels = wheelhouse(root, log)
    files = [(path, str(path.relative_to(root))) for path in context_files(root)]
    files += [(path, f"wheelhouse/{path.name}") for path in sorted(wheels.glob("*.whl"))]
    key = _digest(base.key.encode() + b"".join(_file_digest(path, name) for path, name in files))
    if _image_key(client, tag) == key:
        return Built(tag, key, True, time.monotonic() - started)
    log(f"image: building {tag} from {base.tag} ({len(files)} files)")
    try:
        client.images.build(
            fileobj=_context_tar(files), custom_context=True, tag=tag,
            buildargs={"BASE": base.tag, "PIP_OPTIONS": PIP_OPTIONS},
            labels={KEY_LABEL: key}, rm=True, forcerm=True,
        )
    except Exception as exc:  # docker.errors.BuildError carries the build log
        lines = [str(entry.get("stream", "")).rstrip() for entry in getattr(exc, "build_log", []) if entry.get("stream")]
        raise BadInput(f"image: building {tag} failed: {exc}", lines=[f"image: building {tag} failed: {exc}", *lines[-10:]]) from None
    _prune_dangling(client)
    return Built(tag, key, False, time.monotonic() - started)


def wheelhouse(root: Path = PROJECT_ROOT, log: Log = print) -> Path:
    """A folder with a wheel of every dependency of the project (and of its build), cached."""
    import shutil
    import tempfile

    if sys.version_info[:2] != BASE_PYTHON:
        raise BadInput(f"image: run this with Python {'.'.join(map(str, BASE_PYTHON))}, the base image's Python: its wheels must fit it")
    requirements = [*BUILD_REQUIREMENTS, *project_dependencies(root)]
    import json

    key = _digest(json.dumps([sys.version_info[:2], requirements]).encode())[:16]
    folder = WHEELHOUSE_CACHE / key
    if folder.is_dir():
        return folder
    folder.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{key}-", dir=folder.parent))
    try:
        log(f"image: making the wheelhouse ({len(requirements)} requirements)")
        _run([sys.executable, "-m", "pip", "wheel", "--quiet", "--disable-pip-version-check", "--wheel-dir", str(scratch), *requirements], "pip wheel")
        try:
            scratch.rename(folder)  # whole or not at all: a half-made wheelhouse is never cached
        except OSError:
            if not folder.is_dir():  # another build made the same wheelhouse meanwhile: use it
                raise
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return folder


def project_dependencies(root: Path = PROJECT_ROOT) -> list[str]:
    import tomllib

    with (root / "pyproject.toml").open("rb") as fh:
        return list(tomllib.load(fh)["project"]["dependencies"])


def context_files(root: Path = PROJECT_ROOT) -> list[Path]:
    """The files of the build context: the `!` entries of .dockerignore, without caches."""
    entries = [line[1:].strip() for line in (root / ".dockerignore").read_text(encoding="utf-8").splitlines() if line.startswith("!")]
    found: list[Path] = [root / "Dockerfile"]
    for entry in entries:
        found.extend(_walk(root / entry))
    return sorted(found)


def _walk(path: Path) -> Iterator[Path]:
    if path.is_file():
        yield path
    elif path.is_dir():
        for child in sorted(path.rglob("*")):
            if child.is_file() and "__pycache__" not in child.parts and child.suffix != ".pyc":
                yield child


def _context_tar(files: list[tuple[Path, str]]) -> io.BytesIO:
    import tarfile

    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for path, name in files:
            tar.add(path, arcname=name, recursive=False)
    buffer.seek(0)
    return buffer


def _file_digest(path: Path, name: str) -> bytes:
    import hashlib

    return hashlib.sha256(name.encode() + b"\0" + path.read_bytes()).digest()


def _digest(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()


def _image_key(client: Any, tag: str, label: str = KEY_LABEL) -> str | None:
    import docker.errors

    try:
        return (client.images.get(tag).labels or {}).get(label)
    except docker.errors.ImageNotFound:
        return None


def _prune_dangling(client: Any) -> None:
    """The image a rebuild replaced: untagged, it would only fill the disk."""
    try:
        client.images.prune(filters={"dangling": True, "label": KEY_LABEL})
    except Exception:  # pruning is tidiness, never a reason to fail a build
        pass


def _run(argv: list[str], what: str) -> None:
    import subprocess

    done = subprocess.run(argv, capture_output=True, text=True)
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        raise BadInput(f"image: {what} failed (exit {done.returncode}): {' | '.join(tail)}")


def main(argv: list[str] | None = None) -> int:
    """`python -m nestlab.lab.image`: build (or find cached) the base and the project image."""
    from nestlab.lab.docker_engine import connect

    try:
        built = build_image(connect(), log=lambda line: print(line, file=sys.stderr))
    except BadInput as exc:
        for line in exc.lines:
            print(f"nestlab: {line}", file=sys.stderr)
        return 2
    print(f"{built.tag} {'cached' if built.cached else 'built'} in {built.seconds:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
