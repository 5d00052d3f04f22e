"""Read a Dockerfile the way `docker build` does, as far as the deployment tests need it.

Covers what FlowHub's Dockerfile uses: comments and the `# syntax=` directive, line
continuations, global `ARG`s with defaults (substituted in `FROM`), stages (`FROM ... AS name`),
`ENV` in its `key=value` form (values quoted or not, `${VAR}` expanded from what is set so far),
`WORKDIR`, `COPY` (with `--from`), `RUN` (with `--mount`), `USER`, `EXPOSE` and the JSON
(exec) form of `CMD`. Anything it does not understand is an error, not silently skipped.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

_VAR = re.compile(r"\$\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)\}|\$(?P<plain>[A-Za-z_][A-Za-z0-9_]*)")
_KNOWN = {"FROM", "ARG", "ENV", "WORKDIR", "COPY", "RUN", "USER", "EXPOSE", "CMD"}


@dataclass(frozen=True, slots=True)
class Instruction:
    keyword: str
    flags: dict[str, str]  # --from=build, --mount=type=cache,...
    args: str  # the rest of the line, continuations joined
    line: int


@dataclass(slots=True)
class Stage:
    image: str
    name: str | None
    instructions: list[Instruction] = field(default_factory=list)

    def all(self, keyword: str) -> list[Instruction]:
        return [i for i in self.instructions if i.keyword == keyword]

    def env(self, base: Mapping[str, str] | None = None) -> dict[str, str]:
        """The environment after this stage's ENV lines, starting from `base`."""
        env = dict(base or {})
        for instruction in self.all("ENV"):
            for key, value in parse_env(instruction.args, env).items():
                env[key] = value
        return env

    def workdir(self) -> str:
        dirs = self.all("WORKDIR")
        return dirs[-1].args if dirs else "/"

    def cmd(self) -> list[str]:
        cmds = self.all("CMD")
        if not cmds:
            raise ValueError("the stage has no CMD")
        value = json.loads(cmds[-1].args)  # the exec form; the shell form is not JSON
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ValueError(f"CMD is not a JSON list of strings: {cmds[-1].args}")
        return value


@dataclass(slots=True)
class Dockerfile:
    args: dict[str, str]  # global ARGs (before the first FROM) with their defaults
    stages: list[Stage]

    def stage(self, name: str) -> Stage:
        for stage in self.stages:
            if stage.name == name:
                return stage
        raise KeyError(name)

    @property
    def final(self) -> Stage:
        return self.stages[-1]


def expand(text: str, env: Mapping[str, str]) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group("braced") or match.group("plain")
        return env.get(name, "")

    return _VAR.sub(value, text)


def parse_env(args: str, env: Mapping[str, str]) -> dict[str, str]:
    """`ENV A=1 B="two words" C=${A}`: the new variables, expanded against `env`."""
    result: dict[str, str] = {}
    for word in shlex.split(args, posix=True):
        key, sep, raw = word.partition("=")
        if not sep:
            raise ValueError(f"ENV without '=' (the legacy 'ENV key value' form): {args}")
        result[key] = expand(raw, {**env, **result})
    return result


def _logical_lines(text: str) -> list[tuple[int, str]]:
    lines: list[tuple[int, str]] = []
    buffer: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if not buffer and (not stripped or stripped.startswith("#")):
            continue
        if buffer and stripped.startswith("#"):
            continue  # comments inside a continued instruction are dropped
        if not buffer:
            start = number
        if stripped.endswith("\\"):
            buffer.append(stripped[:-1].strip())
            continue
        buffer.append(stripped)
        lines.append((start, " ".join(part for part in buffer if part)))
        buffer = []
    if buffer:
        raise ValueError("the Dockerfile ends inside a continued line")
    return lines


def parse(path: Path) -> Dockerfile:
    args: dict[str, str] = {}
    stages: list[Stage] = []
    for number, line in _logical_lines(path.read_text()):
        keyword, _, rest = line.partition(" ")
        keyword = keyword.upper()
        if keyword not in _KNOWN:
            raise ValueError(f"line {number}: {keyword} is not understood by this reader")
        flags: dict[str, str] = {}
        rest = rest.strip()
        while rest.startswith("--"):
            flag, _, rest = rest.partition(" ")
            name, _, value = flag[2:].partition("=")
            flags[name] = value
            rest = rest.strip()
        if keyword == "ARG" and not stages:
            name, _, default = rest.partition("=")
            args[name] = default
            continue
        if keyword == "FROM":
            words = expand(rest, args).split()
            stage_name = words[2] if len(words) == 3 and words[1].upper() == "AS" else None
            stages.append(Stage(image=words[0], name=stage_name))
            continue
        if not stages:
            raise ValueError(f"line {number}: {keyword} before the first FROM")
        stages[-1].instructions.append(Instruction(keyword, flags, rest, number))
    return Dockerfile(args, stages)


def copy_sources(instruction: Instruction) -> tuple[list[str], str]:
    """A COPY's sources and destination (the JSON form is not used here)."""
    words = shlex.split(instruction.args)
    if len(words) < 2:
        raise ValueError(f"line {instruction.line}: COPY needs a source and a destination")
    return words[:-1], words[-1]
