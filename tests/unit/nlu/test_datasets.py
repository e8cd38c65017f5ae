"""Fetching the datasets: against a real HTTP server on loopback that misbehaves on request."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

import nlu.datasets as datasets
from nlu.datasets import Dataset, DatasetDownloadError, RemoteFile

TRAIN = b"text,category\nmy card is lost,lost_or_stolen_card\n" * 200
LABELS = b"activate_my_card\nlost_or_stolen_card\n"


@dataclass
class Mirror:
    """Serves ``files`` by path; ``behaviour`` makes a path misbehave (``truncate``, ``corrupt``...)."""

    files: dict[str, bytes]
    behaviour: dict[str, list[str]] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)
    url: str = ""


def _handler(mirror: Mirror) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            mirror.requests.append(self.path)
            queue = mirror.behaviour.get(self.path, [])
            how = queue.pop(0) if queue else "ok"
            body = mirror.files.get(self.path.lstrip("/"))
            if body is None or how == "missing":
                self.send_error(404)
                return
            if how == "error":
                self.send_error(503)
                return
            if how == "corrupt":
                body = body[:-1] + b"!"
            if how == "oversize":
                body = body + b"x" * 100
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if how == "truncate":
                self.wfile.write(body[: len(body) // 2])
                self.wfile.flush()
                self.close_connection = True
                return
            self.wfile.write(body)

    return Handler


@pytest.fixture
def mirror(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Mirror]:
    served = Mirror({"toy/train.csv": TRAIN, "toy/labels.txt": LABELS})
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(served))
    served.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    toy = Dataset(
        "toy",
        "a test dataset",
        tuple(
            RemoteFile(name, f"{served.url}/upstream/{name}", hashlib.sha256(body).hexdigest(), len(body))
            for name, body in (("train.csv", TRAIN), ("labels.txt", LABELS))
        ),
    )
    monkeypatch.setattr(datasets, "DATASETS", {"toy": toy})
    monkeypatch.setenv("CLEARLINE_DATASETS_DIR", str(tmp_path / "configured"))
    monkeypatch.setenv("CLEARLINE_DATASETS_MIRROR", served.url)
    monkeypatch.setattr(datasets.time, "sleep", lambda seconds: None)
    yield served
    server.shutdown()
    server.server_close()


def leftovers(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir()) if folder.exists() else []


def test_missing_files_are_fetched_checked_and_kept_in_the_cache(mirror: Mirror, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    folders = datasets.ensure(["toy"], cache_dir=cache, log=lambda line: None)
    assert folders == {"toy": cache / "toy"}
    assert (cache / "toy" / "train.csv").read_bytes() == TRAIN
    assert (cache / "toy" / "labels.txt").read_bytes() == LABELS
    assert mirror.requests == ["/toy/train.csv", "/toy/labels.txt"]
    # the second run checks the cache and asks nothing
    datasets.ensure(["toy"], cache_dir=cache, log=lambda line: None)
    assert len(mirror.requests) == 2


def test_a_wrong_checksum_is_refused_and_nothing_is_kept(mirror: Mirror, tmp_path: Path) -> None:
    mirror.behaviour["/toy/train.csv"] = ["corrupt"]
    cache = tmp_path / "cache"
    with pytest.raises(DatasetDownloadError) as raised:
        datasets.ensure(["toy"], cache_dir=cache)
    message = str(raised.value)
    assert f"{mirror.url}/toy/train.csv" in message
    assert hashlib.sha256(TRAIN).hexdigest() in message
    assert hashlib.sha256(TRAIN[:-1] + b"!").hexdigest() in message
    assert leftovers(cache / "toy") == []
    assert len(mirror.requests) == 1  # a mismatch is not retried: the source is wrong


def test_a_half_download_is_not_kept_and_is_retried(mirror: Mirror, tmp_path: Path) -> None:
    mirror.behaviour["/toy/train.csv"] = ["truncate"]
    cache = tmp_path / "cache"
    datasets.ensure(["toy"], cache_dir=cache, log=lambda line: None)
    assert (cache / "toy" / "train.csv").read_bytes() == TRAIN
    assert mirror.requests.count("/toy/train.csv") == 2
    assert leftovers(cache / "toy") == ["labels.txt", "train.csv"]


def test_a_download_that_keeps_breaking_names_the_url_and_the_checksum(
    mirror: Mirror, tmp_path: Path
) -> None:
    mirror.behaviour["/toy/train.csv"] = ["truncate", "error", "truncate"]
    cache = tmp_path / "cache"
    with pytest.raises(DatasetDownloadError, match=r"after 3 attempts") as raised:
        datasets.ensure(["toy"], cache_dir=cache)
    assert f"{mirror.url}/toy/train.csv" in str(raised.value)
    assert hashlib.sha256(TRAIN).hexdigest() in str(raised.value)
    assert leftovers(cache / "toy") == []


def test_more_bytes_than_the_pinned_file_are_refused(mirror: Mirror, tmp_path: Path) -> None:
    mirror.behaviour["/toy/train.csv"] = ["oversize"]
    with pytest.raises(DatasetDownloadError, match="more than the expected"):
        datasets.ensure(["toy"], cache_dir=tmp_path / "cache")
    assert leftovers(tmp_path / "cache" / "toy") == []


def test_not_found_is_an_error_at_once(mirror: Mirror, tmp_path: Path) -> None:
    mirror.behaviour["/toy/labels.txt"] = ["missing"]
    with pytest.raises(DatasetDownloadError, match=r"labels.txt answered HTTP 404"):
        datasets.ensure(["toy"], cache_dir=tmp_path / "cache", log=lambda line: None)
    assert mirror.requests.count("/toy/labels.txt") == 1


def test_a_corrupted_cache_file_is_fetched_again(mirror: Mirror, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    datasets.ensure(["toy"], cache_dir=cache, log=lambda line: None)
    (cache / "toy" / "train.csv").write_bytes(b"damaged")
    datasets.ensure(["toy"], cache_dir=cache, log=lambda line: None)
    assert (cache / "toy" / "train.csv").read_bytes() == TRAIN
    assert mirror.requests.count("/toy/train.csv") == 2


def test_a_complete_configured_folder_is_used_without_a_request(mirror: Mirror, tmp_path: Path) -> None:
    configured = tmp_path / "configured" / "toy"
    configured.mkdir(parents=True)
    (configured / "train.csv").write_bytes(TRAIN)
    (configured / "labels.txt").write_bytes(b"a label file of the user's own\n")
    notes: list[str] = []
    assert datasets.ensure(["toy"], cache_dir=tmp_path / "cache", log=notes.append) == {"toy": configured}
    assert mirror.requests == []
    assert len(notes) == 1 and "labels.txt is not the pinned file" in notes[0]
    assert datasets.dataset_dir("toy", tmp_path / "cache") == configured


def test_an_incomplete_configured_folder_falls_back_to_the_cache(mirror: Mirror, tmp_path: Path) -> None:
    configured = tmp_path / "configured" / "toy"
    configured.mkdir(parents=True)
    (configured / "train.csv").write_bytes(TRAIN)
    assert datasets.dataset_dir("toy", tmp_path / "cache") == tmp_path / "cache" / "toy"
    datasets.ensure(["toy"], cache_dir=tmp_path / "cache", log=lambda line: None)
    assert datasets.dataset_dir("toy", tmp_path / "cache") == tmp_path / "cache" / "toy"


def test_without_a_mirror_the_pinned_upstream_url_is_used(
    mirror: Mirror, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CLEARLINE_DATASETS_MIRROR")
    remote = datasets.DATASETS["toy"].files[0]
    assert datasets.source_url("toy", remote) == f"{mirror.url}/upstream/train.csv"


def test_the_shipped_manifest_pins_commits_and_never_a_test_split() -> None:
    for dataset in datasets.DATASETS.values():
        for remote in dataset.files:
            assert remote.url.startswith("https://raw.githubusercontent.com/")
            assert len(remote.sha256) == 64 and remote.size > 0
            commit = remote.url.split("/")[5]
            assert len(commit) == 40, f"{remote.url} is not pinned to a full commit"
            assert "test" not in remote.name


def test_the_cli_refuses_unknown_names_and_reports_failures(
    mirror: Mirror, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with pytest.raises(SystemExit) as exited:
        datasets.main(["fetch", "imagenet"])
    assert exited.value.code == 2
    assert "unknown dataset(s) imagenet" in capsys.readouterr().err
    monkeypatch.setattr(datasets, "CACHE_DIR", tmp_path / "cache")
    mirror.behaviour["/toy/train.csv"] = ["corrupt"]
    assert datasets.main(["fetch", "toy"]) == 2
    assert "does not match its checksum" in capsys.readouterr().err
