"""A Dockerfile's image as a folder: exactly the files its COPY instructions put there, nothing else.

No image is built (no registry can be reached here): the instructions are read and replayed on the host.
COPY copies from the build context (the repository, minus .dockerignore) or from an earlier stage; WORKDIR,
ENV and CMD are recorded; the few RUN instructions the Dockerfiles use are emulated, and any other RUN stops
the test, so that a new step is taught here instead of silently skipped. The packages the lock files
install come from the host's virtual environments (see ``Overlay``), which hold exactly those locks.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


class UnknownInstruction(AssertionError):
    """A Dockerfile instruction this emulation does not know: teach it here rather than skip it."""


@dataclass
class Stage:
    root: Path
    workdir: str = "/"
    env: dict[str, str] = field(default_factory=dict)
    cmd: list[str] = field(default_factory=list)
    editable: list[str] = field(default_factory=list)  # folders installed with `pip install -e`

    def path(self, image_path: str) -> Path:
        """Where an image path lies in this stage's folder (relative paths start at WORKDIR)."""
        absolute = image_path if image_path.startswith("/") else f"{self.workdir.rstrip('/')}/{image_path}"
        return self.root / absolute.lstrip("/")


def instructions(dockerfile: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order, continuation lines joined, comments dropped."""
    joined: list[str] = []
    pending = ""
    for raw in dockerfile.read_text().splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        joined.append(pending + line)
        pending = ""
    result = []
    for line in joined:
        keyword, _, arguments = line.partition(" ")
        result.append((keyword.upper(), arguments.strip()))
    return result


def _ignore_regex(pattern: str) -> re.Pattern[str]:
    regex = ""
    index = 0
    while index < len(pattern):
        if pattern.startswith("**/", index):
            regex, index = regex + "(?:.*/)?", index + 3
        elif pattern.startswith("**", index):
            regex, index = regex + ".*", index + 2
        else:
            character = pattern[index]
            regex += {"*": "[^/]*", "?": "[^/]"}.get(character, re.escape(character))
            index += 1
    return re.compile(regex)


def ignored_paths(context: Path) -> list[tuple[re.Pattern[str], bool]]:
    """.dockerignore's rules as (regex, excludes); a later rule wins, ``!`` re-includes."""
    path = context / ".dockerignore"
    rules = []
    for raw in path.read_text().splitlines() if path.is_file() else []:
        line = raw.strip()
        if line and not line.startswith("#"):
            excludes = not line.startswith("!")
            rules.append((_ignore_regex(line.lstrip("!").strip("/")), excludes))
    return rules


def is_ignored(relative: str, rules: list[tuple[re.Pattern[str], bool]]) -> bool:
    """Docker leaves a path out when it, or a folder above it, matches the last rule that applies."""
    parts = relative.split("/")
    candidates = ["/".join(parts[: end + 1]) for end in range(len(parts))]
    excluded = False
    for regex, excludes in rules:
        if any(regex.fullmatch(candidate) for candidate in candidates):
            excluded = excludes
    return excluded


def _copy_tree(source: Path, target: Path, base: Path, rules: list[tuple[re.Pattern[str], bool]]) -> None:
    for item in sorted(source.rglob("*")):
        relative = item.relative_to(base).as_posix()
        if item.is_dir() or (rules and is_ignored(relative, rules)):
            continue
        destination = target / item.relative_to(source)
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(item, destination)


def copy(stage: Stage, arguments: str, context: Path, stages: dict[str, Stage]) -> None:
    words = shlex.split(arguments)
    flags = [word for word in words if word.startswith("--")]
    sources, destination = [word for word in words if not word.startswith("--")][:-1], words[-1]
    origin = next((flag.split("=", 1)[1] for flag in flags if flag.startswith("--from=")), None)
    base = stages[origin].root if origin else context
    rules = [] if origin else ignored_paths(context)
    target = stage.path(destination)
    into_folder = destination.endswith("/") or len(sources) > 1
    for source in sources:
        matches = sorted(base.glob(source.strip("/"))) if source.strip("/") else [base]
        if not matches:
            raise AssertionError(f"COPY {source}: no such file in the build context ({base})")
        for match in matches:
            relative = match.relative_to(base).as_posix()
            if rules and is_ignored(relative, rules):
                raise AssertionError(f"COPY {source}: .dockerignore leaves it out of the context")
            if match.is_dir():
                _copy_tree(match, target, base, rules)
            else:
                file_target = target / match.name if into_folder or target.is_dir() else target
                file_target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(match, file_target)


def run(stage: Stage, command: str) -> None:
    """The RUN instructions the Dockerfiles use, replayed on the host; anything else is refused."""
    export = re.search(r"python (\S*export_minilm\.py) --out (\S+)(?: --layers (\S+))?", command)
    if export:  # the MiniLM stage: the script as copied, the wheel's files from the host's environment
        script, out = stage.path(export.group(1)), stage.path(export.group(2))
        layers = ["--layers", str(stage.path(export.group(3)))] if export.group(3) else ["--no-layers"]
        subprocess.run([str(ROOT / ".venv/bin/python"), str(script), "--out", str(out), *layers], check=True)
    elif "--require-hashes" in command:  # the locked dependencies: the host's environments stand in
        for requirement in re.findall(r"-r (\S+)", command):
            if not stage.path(requirement).is_file():
                raise AssertionError(f"RUN installs {requirement}, which was not copied before it")
    elif re.fullmatch(r"useradd [-\w ]+", command):
        pass  # the user only matters to file ownership, which the host's test does not model
    elif re.fullmatch(r"uv pip install --system --no-deps -e \.", command):
        if not stage.path("pyproject.toml").is_file():
            raise AssertionError("RUN installs the project from WORKDIR, but pyproject.toml was not copied")
        stage.editable.append(stage.workdir)
    elif made := re.fullmatch(r"mkdir -p (\S+) && chown \w+ (\S+)", command):
        stage.path(made.group(1)).mkdir(parents=True, exist_ok=True)
    else:
        raise UnknownInstruction(f"RUN {command!r}: teach tests/integration/dockerfile_image.py to replay it")


def assemble(dockerfile: Path, into: Path, context: Path = ROOT) -> Stage:
    """Replay ``dockerfile`` into ``into``/<stage>; the final stage (the image) is returned."""
    stages: dict[str, Stage] = {}
    stage: Stage | None = None
    for keyword, arguments in instructions(dockerfile):
        if keyword == "FROM":
            name = arguments.split(" AS ")[-1].strip() if " AS " in arguments else str(len(stages))
            stage = stages[name] = Stage(root=into / name)
            stage.root.mkdir(parents=True)
            continue
        if stage is None:
            raise UnknownInstruction(f"{keyword} before FROM in {dockerfile}")
        if keyword == "WORKDIR":
            stage.workdir = "/" + stage.path(arguments).relative_to(stage.root).as_posix()
            stage.path(".").mkdir(parents=True, exist_ok=True)
        elif keyword == "ENV":
            stage.env.update(dict(word.split("=", 1) for word in shlex.split(arguments)))
        elif keyword in ("COPY", "ADD"):
            copy(stage, arguments, context, stages)
        elif keyword == "RUN":
            run(stage, arguments)
        elif keyword == "CMD":
            stage.cmd = json.loads(arguments)
        elif keyword not in ("ARG", "USER", "EXPOSE"):
            raise UnknownInstruction(f"{keyword} {arguments}: teach tests/integration/dockerfile_image.py")
    if stage is None:
        raise UnknownInstruction(f"{dockerfile} has no FROM")
    return stage


# Records every file a process opens or lists inside the repository (its own virtual environments
# aside): a service started from an assembled image must not need the repository at all.
SITECUSTOMIZE = """
import os, sys
_repo, _log = os.environ.get("CLEARLINE_IMAGE_REPO"), os.environ.get("CLEARLINE_IMAGE_READS")
if _repo and _log:
    _allowed = tuple(os.path.join(_repo, name) + os.sep for name in (".venv", ".venv-rasa"))
    _fd = os.open(_log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)

    def _record(event, args):
        if event in ("open", "os.listdir", "os.scandir") and args and isinstance(args[0], (str, bytes)):
            path = os.path.abspath(os.fsdecode(args[0]))
            if path.startswith(_repo + os.sep) and not path.startswith(_allowed):
                os.write(_fd, (path + "\\n").encode())

    sys.addaudithook(_record)
"""


@dataclass(frozen=True)
class Overlay:
    """A fresh virtual environment whose packages are the host venv's, minus anything pointing at the
    repository: .venv's editable install of Clearline is a .pth file there, which this one never runs."""

    bin: Path

    @classmethod
    def create(cls, host_venv: Path, into: Path, entry_points: dict[str, str]) -> Overlay:
        subprocess.run([str(host_venv / "bin/python"), "-m", "venv", "--without-pip", str(into)], check=True)
        python = into / "bin/python"
        found = subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True,
            capture_output=True,
            text=True,
        )
        site_packages = Path(found.stdout.strip())
        host_site = next((host_venv / "lib").glob("python3*/site-packages"))
        # Rasa's environment needs its own .pth files (namespace packages); .venv's must not run
        uses_pth = not any(host_site.glob("__editable__*"))
        line = f"import site; site.addsitedir({str(host_site)!r})" if uses_pth else str(host_site)
        (site_packages / "host-venv.pth").write_text(line + "\n")
        (site_packages / "sitecustomize.py").write_text(SITECUSTOMIZE)
        host_python = str(host_venv / "bin/python")
        for script in (host_venv / "bin").iterdir():
            target = into / "bin" / script.name
            if target.exists() or not script.is_file() or script.name in entry_points:
                continue
            text = script.read_bytes()
            if text.startswith(f"#!{host_python}".encode()):
                target.write_bytes(b"#!" + str(python).encode() + text[2 + len(host_python) :])
                target.chmod(0o755)
        for name, target_spec in entry_points.items():  # what `pip install` writes for [project.scripts]
            module, function = target_spec.split(":")
            script = into / "bin" / name
            script.write_text(
                f"#!{python}\nimport sys\nfrom {module} import {function}\nsys.exit({function}())\n"
            )
            script.chmod(0o755)
        return cls(bin=into / "bin")


def entry_points(stage: Stage) -> dict[str, str]:
    """The console scripts an editable install in ``stage`` writes (pyproject's [project.scripts])."""
    import tomllib

    scripts: dict[str, str] = {}
    for folder in stage.editable:
        pyproject = tomllib.loads(stage.path(f"{folder}/pyproject.toml").read_text())
        scripts.update(pyproject.get("project", {}).get("scripts", {}))
    return scripts


def image_env(stage: Stage, overlay: Overlay, reads_log: Path) -> dict[str, str]:
    """The environment a container of this image starts with, its paths mapped into the folder."""
    env = {
        "PATH": f"{overlay.bin}:/usr/local/bin:/usr/bin:/bin",
        "HOME": str(stage.root / "home"),
        "CLEARLINE_IMAGE_REPO": str(ROOT),
        "CLEARLINE_IMAGE_READS": str(reads_log),
        "LANG": "C.UTF-8",
    }
    for name, value in stage.env.items():
        mapped = stage.path(value) if value.startswith("/") else None
        env[name] = str(mapped) if mapped is not None and mapped.exists() else value
    if stage.editable:
        env["PYTHONPATH"] = ":".join(str(stage.path(folder)) for folder in stage.editable)
    (stage.root / "home").mkdir(exist_ok=True)
    return env
