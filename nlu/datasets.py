"""Where the public datasets are, and fetching them (checksum-verified) when they are not there.

Clearline trains on BANKING77 (the bot's NLU) and GoEmotions (the emotion model and its tests). Each file is
pinned by the commit it comes from and its sha256, so a download is exactly the data the committed models
and figures were made from. Resolution, per dataset:

1. ``$CLEARLINE_DATASETS_DIR/<name>/`` when that variable is set, else ``<repo>/../shared/datasets/<name>/``,
   if every file of the dataset is there;
2. otherwise the git-ignored cache ``data/cache/datasets/<name>/``, where :func:`ensure` downloads what is
   missing from the public source, or from ``$CLEARLINE_DATASETS_MIRROR/<name>/<file>`` when a mirror is
   configured (same layout as the datasets folder).

A download is written to a temporary file beside its target, hashed while it arrives, and renamed into
place only when its size and sha256 match; anything else deletes it and raises :class:`DatasetDownloadError`
naming the URL and both checksums. Only the files named here are fetched: the official test splits never.

    python -m nlu.datasets fetch [banking77 goemotions]    # what `make run` and `make test` call
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from nlu.export_minilm import sha256_of  # the one file digest (export_minilm runs standalone too)

ROOT = Path(__file__).resolve().parent.parent
CACHE_DIR = ROOT / "data" / "cache" / "datasets"
MIRROR_ENV = "CLEARLINE_DATASETS_MIRROR"
DIR_ENV = "CLEARLINE_DATASETS_DIR"
ATTEMPTS = 3
CHUNK = 1 << 16


@dataclass(frozen=True)
class RemoteFile:
    name: str
    url: str
    sha256: str
    size: int


@dataclass(frozen=True)
class Dataset:
    name: str
    source: str
    files: tuple[RemoteFile, ...]


_BANKING77 = (
    "https://raw.githubusercontent.com/PolyAI-LDN/task-specific-datasets/"
    "57ec275d8078af65b7731c2a98be812d844a6d6b"
)
_GOEMOTIONS = (
    "https://raw.githubusercontent.com/monologg/GoEmotions-pytorch/b75f9d3a8b76bc1060687925b04ca98a1b8ea66b"
)
DATASETS: dict[str, Dataset] = {
    "banking77": Dataset(
        "banking77",
        "PolyAI-LDN/task-specific-datasets, banking_data/ at commit 57ec275 (CC BY 4.0)",
        (
            RemoteFile(
                "train.csv",
                f"{_BANKING77}/banking_data/train.csv",
                "b06e26ac675513959a63135f11b94ea7786ed02da65db93a5650d8838cbc664b",
                839073,
            ),
            RemoteFile(
                "categories.json",
                f"{_BANKING77}/banking_data/categories.json",
                "53261da888122daf2d120d925458631d9619e15d82e56052e7a42e535ce32b63",
                2036,
            ),
            RemoteFile(
                "LICENSE",
                f"{_BANKING77}/LICENSE",
                "7e7170e3cebf88a9f60c7b8421418323c09304da1af4d5e90f4da1dc1c8a2661",
                18650,
            ),
        ),
    ),
    "goemotions": Dataset(
        "goemotions",
        "monologg/GoEmotions-pytorch, data/original/ at commit b75f9d3 (CC BY 4.0, Google)",
        (
            RemoteFile(
                "train.tsv",
                f"{_GOEMOTIONS}/data/original/train.tsv",
                "1c254a142be5c00e80d819b9ae1bbd36d94b2eeb8f4b1271846508d57e57d9c5",
                3519053,
            ),
            RemoteFile(
                "dev.tsv",
                f"{_GOEMOTIONS}/data/original/dev.tsv",
                "575489c079c9de1097062a01738f998590d6b7ead66dd1c9fd1d2ba01fd8bc62",
                439059,
            ),
            RemoteFile(
                "labels.txt",
                f"{_GOEMOTIONS}/data/original/labels.txt",
                "45c3ef86782d2a4d7fedcd6d8c111aa0d0e94720689bd164fac94fefb4495a89",
                248,
            ),
        ),
    ),
}


class DatasetDownloadError(RuntimeError):
    """A dataset file could not be fetched, or what arrived is not the pinned file."""


def configured_dir() -> Path:
    """``$CLEARLINE_DATASETS_DIR``, default ``<repo>/../shared/datasets`` (it may not exist)."""
    return Path(os.environ.get(DIR_ENV) or ROOT.parent / "shared" / "datasets")


def dataset_dir(name: str, cache_dir: Path | None = None) -> Path:
    """The folder to read dataset ``name`` from: the configured one if complete, else the cache."""
    cache_dir = cache_dir or CACHE_DIR
    dataset = DATASETS[name]
    configured = configured_dir() / name
    if all((configured / remote.name).is_file() for remote in dataset.files):
        return configured
    return cache_dir / name


def source_url(dataset: str, remote: RemoteFile) -> str:
    mirror = os.environ.get(MIRROR_ENV, "").strip()
    return f"{mirror.rstrip('/')}/{dataset}/{remote.name}" if mirror else remote.url


def ensure(
    names: Iterable[str], cache_dir: Path | None = None, log: Callable[[str], None] = print
) -> dict[str, Path]:
    """Make every file of the named datasets available; return each dataset's folder.

    A complete configured folder is used as it is (a file that differs from the pinned one is reported,
    not replaced: it is the user's data). Otherwise the cache is filled: a cached file whose checksum no
    longer matches is fetched again, a missing one is fetched.
    """
    cache_dir = cache_dir or CACHE_DIR
    folders: dict[str, Path] = {}
    for name in names:
        if name not in DATASETS:
            raise KeyError(f"unknown dataset {name!r}; known: {', '.join(sorted(DATASETS))}")
        folder = dataset_dir(name, cache_dir)
        if folder != cache_dir / name:
            for remote in DATASETS[name].files:
                if sha256_of(folder / remote.name) != remote.sha256:
                    log(f"   note: {folder / remote.name} is not the pinned file (sha256 {remote.sha256}); "
                        "using it as configured")  # fmt: skip
            folders[name] = folder
            continue
        folder.mkdir(parents=True, exist_ok=True)
        for remote in DATASETS[name].files:
            target = folder / remote.name
            if target.is_file() and sha256_of(target) == remote.sha256:
                continue
            url = source_url(name, remote)
            started = time.monotonic()
            download(url, target, remote.sha256, remote.size)
            log(f"   fetched {name}/{remote.name} ({remote.size / 1e3:,.0f} kB) from {url} "
                f"in {time.monotonic() - started:.1f} s, sha256 checked")  # fmt: skip
        folders[name] = folder
    return folders


def download(url: str, target: Path, sha256: str, size: int, attempts: int = ATTEMPTS) -> None:
    """Fetch ``url`` into ``target`` if and only if it is exactly ``size`` bytes with this ``sha256``."""
    last: Exception | None = None
    for attempt in range(attempts):
        try:
            _download_once(url, target, sha256, size)
            return
        except _Transient as exc:
            last = exc
            time.sleep(min(2**attempt, 4) * 0.5)
    raise DatasetDownloadError(
        f"could not download {url} (expected sha256 {sha256}) after {attempts} attempts: {last}. "
        f"Download it by hand into {target}, or set {MIRROR_ENV} to a mirror with the same layout, "
        f"or {DIR_ENV} to a folder that holds the datasets."
    ) from last


class _Transient(Exception):
    """A network failure worth another try (a checksum mismatch is not)."""


def _download_once(url: str, target: Path, sha256: str, size: int) -> None:
    import httpx  # noqa: PLC0415 - only the download needs it (the Rasa environment imports this module)

    digest = hashlib.sha256()
    received = 0
    handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    try:
        with os.fdopen(handle, "wb") as out:
            try:
                with httpx.stream("GET", url, follow_redirects=True, timeout=30.0) as response:
                    if response.status_code >= 500 or response.status_code == 429:
                        raise _Transient(f"HTTP {response.status_code}")
                    if response.status_code != 200:
                        raise DatasetDownloadError(
                            f"{url} answered HTTP {response.status_code} (expected sha256 {sha256})"
                        )
                    for block in response.iter_bytes(CHUNK):
                        received += len(block)
                        if received > size:
                            raise DatasetDownloadError(
                                f"{url} sent more than the expected {size} bytes: not the pinned file "
                                f"(expected sha256 {sha256}); nothing was kept"
                            )
                        digest.update(block)
                        out.write(block)
            except httpx.HTTPError as exc:
                raise _Transient(f"{type(exc).__name__}: {exc}") from exc
        if received != size:
            raise _Transient(f"got {received} of {size} bytes")
        if digest.hexdigest() != sha256:
            raise DatasetDownloadError(
                f"{url} does not match its checksum: expected sha256 {sha256}, got {digest.hexdigest()}; "
                "nothing was kept"
            )
        os.chmod(temporary, 0o644)  # mkstemp makes it private; the datasets are public
        os.replace(temporary, target)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="clearline datasets", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    fetch = commands.add_parser("fetch", help="make the datasets available (download what is missing)")
    fetch.add_argument("names", nargs="*", metavar="NAME", help=f"default: all ({', '.join(DATASETS)})")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.names) - set(DATASETS))
    if unknown:
        parser.error(f"unknown dataset(s) {', '.join(unknown)}; known: {', '.join(DATASETS)}")
    try:
        folders = ensure(args.names or list(DATASETS))
    except DatasetDownloadError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for name, folder in folders.items():
        print(f"{name}: {folder}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
