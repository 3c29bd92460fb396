"""Test images for the ECR tests, built locally with no network access.

- ``write_oci_image``: an OCI image layout directory (``oci-layout``, ``index.json``,
  ``blobs/sha256/...``) holding one image: gzip'd tar layers of given sizes (one file of
  pseudo-random bytes each, reproducible from a seed), an image config and an image manifest,
  referenced from ``index.json`` under a tag. skopeo reads it as ``oci:<dir>:<tag>``. Several
  images (and tags) can share one layout directory, and layers built from the same seed and
  size are byte-identical, so images can share layers on purpose.
- ``write_oci_index``: the multi-arch variant: one image manifest per platform and an OCI
  image index over them, tagged in ``index.json`` (``skopeo copy --all``).
- ``write_docker_context``: a Docker build context ``FROM scratch`` + ``COPY busybox
  /bin/busybox`` + ``ENTRYPOINT ["/bin/busybox"]``, with the static busybox of Debian's
  ``busybox-static`` package, for ``docker build`` (no base image to pull); another
  Dockerfile and extra files can be given (``testapp.py`` builds the task test image so).
- ``make_blob`` / ``image_manifest``: in-memory blobs and manifests for raw registry requests.

Everything written is content-addressed exactly as the OCI image spec says (sha256 of the
bytes as stored), so a registry and skopeo can verify every digest.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import random
import shutil
import tarfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

OCI_LAYOUT_VERSION = "1.0.0"
MT_OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MT_OCI_INDEX = "application/vnd.oci.image.index.v1+json"
MT_OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
MT_OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
MT_DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
MT_DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
MT_DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
MT_DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"
REF_NAME = "org.opencontainers.image.ref.name"

BUSYBOX = Path(os.environ.get("WHARF_E2E_BUSYBOX", "/bin/busybox"))

_CHUNK = 1 << 20
_CREATED = "2024-01-01T00:00:00Z"


def sha256_digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def canonical_json(value) -> bytes:
    """Stable JSON bytes (sorted keys, no spaces): the same input gives the same digest."""
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode()


# ---------------------------------------------------------------------------------------
# Descriptors and in-memory blobs
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Descriptor:
    media_type: str
    digest: str
    size: int

    def to_json(self, **extra) -> dict:
        return {"mediaType": self.media_type, "digest": self.digest, "size": self.size, **extra}


@dataclass(frozen=True)
class Blob:
    """Bytes plus their descriptor (for raw registry requests)."""

    data: bytes
    media_type: str = "application/octet-stream"

    @property
    def digest(self) -> str:
        return sha256_digest(self.data)

    @property
    def size(self) -> int:
        return len(self.data)

    @property
    def descriptor(self) -> Descriptor:
        return Descriptor(self.media_type, self.digest, self.size)


def random_bytes(size: int, seed: int | str) -> bytes:
    return random.Random(str(seed)).randbytes(size)


def make_layer_blob(size: int, seed: int | str) -> Blob:
    """A small gzip'd tar layer (in memory) with one file of ``size`` random bytes."""
    out = io.BytesIO()
    diff = _write_layer(out, size, seed)
    del diff
    return Blob(out.getvalue(), MT_OCI_LAYER_GZIP)


def make_config_blob(diff_ids: list[str], label: str = "", arch: str = "amd64") -> Blob:
    return Blob(canonical_json(_config(diff_ids, label, arch, None)), MT_OCI_CONFIG)


def image_manifest(
    config: Descriptor,
    layers: Iterable[Descriptor],
    media_type: str = MT_OCI_MANIFEST,
    annotations: dict | None = None,
) -> bytes:
    """Manifest bytes (OCI image manifest or Docker schema 2, by ``media_type``)."""
    doc = {
        "schemaVersion": 2,
        "mediaType": media_type,
        "config": config.to_json(),
        "layers": [layer.to_json() for layer in layers],
    }
    if annotations:
        doc["annotations"] = annotations
    return json.dumps(doc, indent=3).encode()


# ---------------------------------------------------------------------------------------
# Layers
# ---------------------------------------------------------------------------------------


class _RandomReader:
    """A file-like object giving ``size`` reproducible pseudo-random bytes."""

    def __init__(self, size: int, seed: int | str):
        self.remaining = size
        self.rng = random.Random(str(seed))

    def read(self, n: int = -1) -> bytes:
        if n is None or n < 0 or n > self.remaining:
            n = self.remaining
        n = min(n, 4 * _CHUNK)
        self.remaining -= n
        return self.rng.randbytes(n)


class _HashingWriter:
    """Counts and hashes what passes through to ``sink``."""

    def __init__(self, sink):
        self.sink = sink
        self.hash = hashlib.sha256()
        self.size = 0

    def write(self, data) -> int:
        self.hash.update(data)
        self.size += len(data)
        self.sink.write(data)
        return len(data)

    def flush(self) -> None:
        pass

    @property
    def digest(self) -> str:
        return "sha256:" + self.hash.hexdigest()


def _write_layer(out, size: int, seed: int | str) -> str:
    """Writes a reproducible gzip'd tar (one file of ``size`` random bytes) to ``out``.

    Returns the layer's diff ID (sha256 of the uncompressed tar)."""
    gz = gzip.GzipFile(filename="", mode="wb", fileobj=out, compresslevel=1, mtime=0)
    tar_hash = _HashingWriter(gz)
    with tarfile.open(fileobj=tar_hash, mode="w|", format=tarfile.USTAR_FORMAT) as tar:
        directory = tarfile.TarInfo("data")
        directory.type = tarfile.DIRTYPE
        directory.mode = 0o755
        directory.mtime = 0
        tar.addfile(directory)
        info = tarfile.TarInfo(f"data/layer-{hashlib.sha1(str(seed).encode()).hexdigest()[:12]}.bin")
        info.size = size
        info.mode = 0o644
        info.mtime = 0
        tar.addfile(info, _RandomReader(size, seed))
    gz.close()
    return tar_hash.digest


# ---------------------------------------------------------------------------------------
# OCI image layout
# ---------------------------------------------------------------------------------------


@dataclass
class OciImage:
    """One image (manifest) in an OCI layout directory."""

    layout: Path
    tag: str
    manifest: Descriptor
    manifest_bytes: bytes
    config: Descriptor
    layers: list[Descriptor]
    platform: dict = field(default_factory=dict)

    @property
    def ref(self) -> str:
        """skopeo's transport reference, ``oci:<dir>:<tag>``."""
        return f"oci:{self.layout}:{self.tag}"

    @property
    def digest(self) -> str:
        return self.manifest.digest

    @property
    def layer_digests(self) -> list[str]:
        return [layer.digest for layer in self.layers]

    @property
    def blob_digests(self) -> list[str]:
        return [self.config.digest, *self.layer_digests]

    @property
    def size(self) -> int:
        """Compressed layers + config (what ECR's imageSizeInBytes counts, at least)."""
        return self.config.size + sum(layer.size for layer in self.layers)


@dataclass
class OciIndex:
    """A multi-arch image: an image index over one OciImage per platform."""

    layout: Path
    tag: str
    index: Descriptor
    index_bytes: bytes
    images: list[OciImage]

    @property
    def ref(self) -> str:
        return f"oci:{self.layout}:{self.tag}"

    @property
    def digest(self) -> str:
        return self.index.digest


class OciLayout:
    """An OCI image layout directory being written."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.blobs = self.path / "blobs" / "sha256"
        self.blobs.mkdir(parents=True, exist_ok=True)
        layout_file = self.path / "oci-layout"
        if not layout_file.exists():
            layout_file.write_text(json.dumps({"imageLayoutVersion": OCI_LAYOUT_VERSION}))
        if not (self.path / "index.json").exists():
            self._write_index({"schemaVersion": 2, "manifests": []})

    def blob_path(self, digest: str) -> Path:
        algo, hexa = digest.split(":", 1)
        assert algo == "sha256", digest
        return self.blobs / hexa

    def put_bytes(self, data: bytes, media_type: str) -> Descriptor:
        digest = sha256_digest(data)
        path = self.blob_path(digest)
        if not path.exists():
            tmp = path.with_name(path.name + ".tmp")
            tmp.write_bytes(data)
            tmp.replace(path)
        return Descriptor(media_type, digest, len(data))

    def put_layer(self, size: int, seed: int | str) -> tuple[Descriptor, str]:
        """A gzip'd tar layer with ``size`` random bytes; (descriptor, diff ID)."""
        tmp = self.blobs / f".layer-{os.getpid()}-{random.random()}.tmp"
        with open(tmp, "wb") as f:
            out = _HashingWriter(f)
            diff_id = _write_layer(out, size, seed)
        path = self.blob_path(out.digest)
        tmp.replace(path)
        return Descriptor(MT_OCI_LAYER_GZIP, out.digest, out.size), diff_id

    def read_index(self) -> dict:
        return json.loads((self.path / "index.json").read_text())

    def _write_index(self, index: dict) -> None:
        tmp = self.path / "index.json.tmp"
        tmp.write_text(json.dumps(index, indent=2))
        tmp.replace(self.path / "index.json")

    def tag(self, descriptor: Descriptor, tag: str) -> None:
        """Points ``tag`` (ref.name annotation in index.json) at ``descriptor``."""
        index = self.read_index()
        manifests = [
            m for m in index["manifests"] if m.get("annotations", {}).get(REF_NAME) != tag
        ]
        manifests.append(descriptor.to_json(annotations={REF_NAME: tag}))
        index["manifests"] = manifests
        self._write_index(index)


def _config(diff_ids, label, arch, variant) -> dict:
    config = {
        "created": _CREATED,
        "architecture": arch,
        "os": "linux",
        "config": {
            "Entrypoint": ["/bin/sh"],
            "Labels": {"org.wharf.test": label},
        },
        "rootfs": {"type": "layers", "diff_ids": list(diff_ids)},
        "history": [{"created": _CREATED, "created_by": f"wharf e2e layer {i}"} for i in range(len(diff_ids))],
    }
    if variant:
        config["variant"] = variant
    return config


def _write_image(
    layout: OciLayout,
    layer_sizes: Iterable[int],
    seed: str,
    label: str,
    arch: str = "amd64",
    variant: str | None = None,
    layer_seeds: Iterable[str] | None = None,
) -> tuple[Descriptor, bytes, Descriptor, list[Descriptor]]:
    sizes = list(layer_sizes)
    seeds = list(layer_seeds) if layer_seeds is not None else [f"{seed}/layer{i}" for i in range(len(sizes))]
    assert len(seeds) == len(sizes), "one seed per layer"
    layers, diff_ids = [], []
    for size, layer_seed in zip(sizes, seeds):
        desc, diff_id = layout.put_layer(size, layer_seed)
        layers.append(desc)
        diff_ids.append(diff_id)
    config = layout.put_bytes(canonical_json(_config(diff_ids, label, arch, variant)), MT_OCI_CONFIG)
    manifest_bytes = image_manifest(config, layers)
    manifest = layout.put_bytes(manifest_bytes, MT_OCI_MANIFEST)
    return manifest, manifest_bytes, config, layers


def write_oci_image(
    layout_dir: Path,
    tag: str,
    layer_sizes: Iterable[int] = (256 * 1024, 64 * 1024, 1024),
    seed: str = "wharf",
    label: str | None = None,
    layer_seeds: Iterable[str] | None = None,
    arch: str = "amd64",
) -> OciImage:
    """Writes (or adds to) an OCI layout with one image tagged ``tag``.

    Layers are gzip'd tars with one random file of each size from ``layer_sizes``; the bytes
    come from ``layer_seeds`` (default: derived from ``seed``), so equal seeds and sizes give
    identical layers. ``label`` (default: the seed) goes into the config, making images with
    equal layers but different labels different images.
    """
    layout = OciLayout(layout_dir)
    manifest, manifest_bytes, config, layers = _write_image(
        layout, layer_sizes, seed, label if label is not None else seed, arch=arch, layer_seeds=layer_seeds
    )
    layout.tag(manifest, tag)
    return OciImage(layout.path, tag, manifest, manifest_bytes, config, layers, {"architecture": arch, "os": "linux"})


PLATFORMS = (("amd64", None), ("arm64", "v8"))


def write_oci_index(
    layout_dir: Path,
    tag: str,
    platforms: Iterable[tuple[str, str | None]] = PLATFORMS,
    layer_sizes: Iterable[int] = (128 * 1024, 2048),
    seed: str = "wharf-multiarch",
) -> OciIndex:
    """Writes a multi-arch image: one image per platform, an OCI image index over them."""
    layout = OciLayout(layout_dir)
    sizes = list(layer_sizes)
    images, entries = [], []
    for arch, variant in platforms:
        manifest, manifest_bytes, config, layers = _write_image(
            layout, sizes, f"{seed}/{arch}{variant or ''}", f"{seed}/{arch}", arch=arch, variant=variant
        )
        platform = {"architecture": arch, "os": "linux"}
        if variant:
            platform["variant"] = variant
        images.append(OciImage(layout.path, tag, manifest, manifest_bytes, config, layers, platform))
        entries.append(manifest.to_json(platform=platform))
    index_bytes = json.dumps(
        {"schemaVersion": 2, "mediaType": MT_OCI_INDEX, "manifests": entries}, indent=3
    ).encode()
    index = layout.put_bytes(index_bytes, MT_OCI_INDEX)
    layout.tag(index, tag)
    return OciIndex(layout.path, tag, index, index_bytes, images)


def read_oci_layout(layout_dir: Path, tag: str) -> tuple[Descriptor, dict]:
    """(descriptor, parsed manifest or index) of ``tag`` in a layout written by anyone (skopeo)."""
    layout = OciLayout.__new__(OciLayout)
    layout.path = Path(layout_dir)
    layout.blobs = layout.path / "blobs" / "sha256"
    for entry in layout.read_index()["manifests"]:
        if entry.get("annotations", {}).get(REF_NAME) == tag:
            desc = Descriptor(entry["mediaType"], entry["digest"], entry["size"])
            data = layout.blob_path(desc.digest).read_bytes()
            assert sha256_digest(data) == desc.digest, f"{layout_dir}: {desc.digest} does not match its bytes"
            return desc, json.loads(data)
    raise AssertionError(f"tag {tag!r} not in {layout_dir}/index.json")


def verify_oci_blobs(layout_dir: Path, digests: Iterable[str]) -> None:
    """Every digest is present in the layout and its bytes hash to it."""
    blobs = Path(layout_dir) / "blobs" / "sha256"
    for digest in digests:
        path = blobs / digest.split(":", 1)[1]
        assert path.is_file(), f"blob {digest} missing from {layout_dir}"
        h = hashlib.sha256()
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(_CHUNK), b""):
                h.update(chunk)
        assert "sha256:" + h.hexdigest() == digest, f"blob {digest} in {layout_dir} is corrupt"


# ---------------------------------------------------------------------------------------
# Docker build context
# ---------------------------------------------------------------------------------------

DOCKERFILE = """\
FROM scratch
COPY busybox /bin/busybox
COPY marker /marker
LABEL org.wharf.test={label}
ENTRYPOINT ["/bin/busybox"]
"""


def write_docker_context(
    directory: Path,
    marker: str,
    *,
    dockerfile: str = DOCKERFILE,
    files: dict[str, Path] | None = None,
) -> Path:
    """A build context for a ``FROM scratch`` image running Debian's static busybox.

    ``marker`` is written to ``/marker`` in the image and to a label, so each test run (or
    each variant of an image) builds an image with its own digest. ``dockerfile`` replaces the
    default one (``{label}`` in it becomes the marker as a JSON string); ``files`` adds files
    to the context (name in the context -> source path), e.g. another static binary.
    """
    if not BUSYBOX.is_file():
        raise AssertionError(
            f"{BUSYBOX} is missing: install Debian's busybox-static (scripts/ensure-deps.sh)"
        )
    with open(BUSYBOX, "rb") as f:
        head = f.read(4)
    assert head == b"\x7fELF", f"{BUSYBOX} is not an ELF binary"
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    shutil.copy2(BUSYBOX, directory / "busybox")
    for name, source in (files or {}).items():
        shutil.copy2(source, directory / name)
    (directory / "marker").write_text(marker + "\n")
    (directory / "Dockerfile").write_text(dockerfile.format(label=json.dumps(marker)))
    return directory
