"""A VOC-layout dataset read from a directory or from one ZIP archive holding the same layout (spec E-3.4, M-3.1).

    source = open_voc("VOCdevkit/VOC2007")            # or "runs/x/data/synthetic-voc.zip"
    ids = source.ids("test")                          # ImageSets/Main/test.txt
    jpeg = source.image_bytes(ids[0])                 # JPEGImages/<id>.jpg
    truths = source.truths(ids)                       # Annotations/<id>.xml, parsed strictly (M-3.1)

Image ids come from a list file a user can edit, so an id is used as a file name only when it is one: no path
separator, no ``..``, not empty, no leading dot, no control character (E-3.4). Nothing outside the root is read,
and a member of the archive is read only through its exact name.
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import Protocol

from cfc_ref.errors import MetricsError
from cfc_ref.metrics.files import parse_annotation
from cfc_ref.metrics.voc import GroundTruth

MAX_MEMBER_BYTES = 256 << 20  # a JPEG or annotation larger than this is refused, not read (E-3.4)


def check_image_id(image: str, where: str) -> str:
    """E-3.4: an image id that is a plain file name, or a MetricsError naming where it came from."""
    if (not image or image.startswith(".") or "/" in image or "\\" in image
            or any(ord(ch) < 32 or ord(ch) == 127 for ch in image)):
        raise MetricsError(f"{where}: image id {image!r} is not a plain file name (no path separators, no leading "
                           "dot, no control characters)")
    return image


def parse_image_list(data: bytes, where: str) -> list[str]:
    """An ``ImageSets/Main/<set>.txt`` list: the first field of every non-empty line, each a plain file name
    (E-3.4)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise MetricsError(f"{where}: not UTF-8 text (byte {err.start})") from None
    return [check_image_id(line.split()[0], where) for line in text.splitlines() if line.strip()]


class VocSource(Protocol):
    name: str

    def ids(self, image_set: str) -> list[str]: ...

    def image_bytes(self, image: str) -> bytes: ...

    def annotation_bytes(self, image: str) -> bytes: ...

    def describe(self, image: str, kind: str) -> str: ...

    def classes(self) -> tuple[str, ...] | None: ...


class DirectoryVoc:
    """The VOCdevkit year directory layout."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.name = str(self.root)

    def describe(self, image: str, kind: str) -> str:
        return str(self.root / _member(image, kind))

    def _read(self, relative: str) -> bytes:
        from cfc_ref.fileio import read_bounded

        return read_bounded(self.root / relative, MAX_MEMBER_BYTES, MetricsError)

    def ids(self, image_set: str) -> list[str]:
        relative = f"ImageSets/Main/{image_set}.txt"
        if not (self.root / relative).exists():
            raise MetricsError(f"{self.root / relative} does not exist (expected the VOCdevkit layout)")
        return parse_image_list(self._read(relative), str(self.root / relative))

    def image_bytes(self, image: str) -> bytes:
        return self._read(_member(image, "image"))

    def annotation_bytes(self, image: str) -> bytes:
        return self._read(_member(image, "annotation"))

    def classes(self) -> tuple[str, ...] | None:
        """The class list of ``classes.txt`` at the root (the synthetic stand-in has one), or None."""
        return parse_classes(self._read(CLASSES_FILE), str(self.root / CLASSES_FILE)) if (
            self.root / CLASSES_FILE).is_file() else None


class ZipVoc:
    """The same layout inside one ZIP archive (members at its root: JPEGImages/, Annotations/, ImageSets/Main/)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.name = str(self.path)
        self._archive: zipfile.ZipFile | None = None  # opened on first read, in the process that reads
        self._pid = 0
        try:
            with zipfile.ZipFile(self.path) as archive:
                self._members = {info.filename: info for info in archive.infolist()}
        except FileNotFoundError:
            raise MetricsError(f"{self.path} does not exist") from None
        except (OSError, zipfile.BadZipFile) as err:
            raise MetricsError(f"{self.path}: not a readable ZIP archive ({err})") from None

    def describe(self, image: str, kind: str) -> str:
        return f"{self.path}:{_member(image, kind)}"

    def _read(self, member: str) -> bytes:
        info = self._members.get(member)
        if info is None:
            raise MetricsError(f"{self.path}:{member} does not exist")
        if info.file_size > MAX_MEMBER_BYTES:
            raise MetricsError(f"{self.path}:{member}: {info.file_size} bytes, more than the {MAX_MEMBER_BYTES} "
                               "allowed")
        try:
            if self._archive is None or self._pid != os.getpid():
                self._archive, self._pid = zipfile.ZipFile(self.path), os.getpid()
            return self._archive.read(info)
        except (OSError, zipfile.BadZipFile, RuntimeError) as err:
            raise MetricsError(f"{self.path}:{member}: cannot read ({err})") from None

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_archive": None, "_pid": 0}

    def ids(self, image_set: str) -> list[str]:
        member = f"ImageSets/Main/{image_set}.txt"
        if member not in self._members:
            raise MetricsError(f"{self.path}:{member} does not exist (expected the VOCdevkit layout)")
        return parse_image_list(self._read(member), f"{self.path}:{member}")

    def image_bytes(self, image: str) -> bytes:
        return self._read(_member(image, "image"))

    def annotation_bytes(self, image: str) -> bytes:
        return self._read(_member(image, "annotation"))

    def classes(self) -> tuple[str, ...] | None:
        """The class list of ``classes.txt`` at the archive's root, or None."""
        return parse_classes(self._read(CLASSES_FILE), f"{self.path}:{CLASSES_FILE}") if (
            CLASSES_FILE in self._members) else None


CLASSES_FILE = "classes.txt"


def parse_classes(data: bytes, where: str) -> tuple[str, ...]:
    """One class name per line (blank lines ignored); names distinct, no comma (M-3.2 files are named by class)."""
    try:
        names = tuple(line.strip() for line in data.decode("utf-8").splitlines() if line.strip())
    except UnicodeDecodeError:
        raise MetricsError(f"{where}: not UTF-8 text") from None
    if not names or len(set(names)) != len(names) or any("," in n or "/" in n for n in names):
        raise MetricsError(f"{where}: expected distinct class names, one per line")
    return names


def _member(image: str, kind: str) -> str:
    check_image_id(image, "image id")
    return f"JPEGImages/{image}.jpg" if kind == "image" else f"Annotations/{image}.xml"


def open_voc(root: str | Path) -> DirectoryVoc | ZipVoc:
    """A directory in the VOCdevkit layout, or a ``.zip`` archive holding it."""
    return ZipVoc(root) if str(root).endswith(".zip") else DirectoryVoc(root)


def read_truths(source: VocSource, ids: list[str]) -> list[GroundTruth]:
    """Every annotation of ``ids`` (M-3.1)."""
    truths: list[GroundTruth] = []
    for image in ids:
        truths += parse_annotation(source.annotation_bytes(image), source.describe(image, "annotation"), image)
    return truths


def image_ids(voc_root: str | Path, image_set: str) -> list[str]:
    """The ids of an image set of a VOC directory or ``.zip`` archive."""
    return open_voc(voc_root).ids(image_set)


def read_voc_annotations(voc_root: str | Path, image_set: str = "test",
                         ids: Iterable[str] | None = None) -> list[GroundTruth]:
    """All annotations of an image set, from ``<root>/Annotations/<id>.xml`` (a directory or ``.zip`` archive)."""
    source = open_voc(voc_root)
    return read_truths(source, list(ids) if ids is not None else source.ids(image_set))
