"""How large the product code and the test support are, at git revisions or in the working tree.

    .venv/bin/python -m bench.size                      # the working tree
    .venv/bin/python -m bench.size d046c3b HEAD         # revisions side by side, with the change

Issue 13's measure. "Product code" is what the image serves (adapters, config, domain,
entrypoints, ports, schemas) and the development server (devtools); "test support" is what the
tests stand on rather than what they assert: tests/support and every conftest.py. Python lines are
split by tokenize into code, docstrings, comments and blank lines, so a pass that shrinks only
comments or packs code denser shows as such. The page's JS, CSS and HTML (entrypoints/web) are
product code too and are counted on their own row, by lines.
"""

from __future__ import annotations

import argparse
import io
import subprocess
import sys
import tokenize
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PRODUCT = ("adapters", "config", "domain", "entrypoints", "ports", "schemas", "devtools")
KINDS = ("code", "docstring", "comment", "blank")


def _area(path: str) -> str | None:
    top = path.split("/", 1)[0]
    if path.endswith(".py"):
        if top in PRODUCT:
            return top
        if path.startswith("tests/support/") or path.endswith("/conftest.py"):
            return "test support"
        return None
    if path.startswith("entrypoints/web/") and path.rsplit(".", 1)[-1] in ("js", "css", "html"):
        return "web (js, css, html)"
    return None


def classify(source: str) -> Counter[str]:
    """Lines of one Python source by kind; a line holding code and a comment counts as code."""
    lines = source.splitlines()
    kind = ["blank" if not line.strip() else "" for line in lines]
    statement_start = True
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        first, last = token.start[0] - 1, min(token.end[0], len(lines)) - 1
        if first >= len(lines):
            break
        if token.type == tokenize.COMMENT:
            if not kind[first]:
                kind[first] = "comment"
        elif token.type == tokenize.STRING and statement_start:
            for row in range(first, last + 1):
                kind[row] = kind[row] or "docstring"
        elif token.type not in (tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT):
            for row in range(first, last + 1):
                if kind[row] in ("", "comment", "docstring"):
                    kind[row] = "code"
        if token.type in (tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT):
            statement_start = True
        elif token.type not in (tokenize.NL, tokenize.COMMENT):
            statement_start = False
    return Counter(k or "code" for k in kind)


def _files(revision: str | None) -> Iterable[tuple[str, str]]:
    if revision is None:
        listed = subprocess.run(
            ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
            cwd=ROOT, capture_output=True, text=True, check=True,
        ).stdout.split()  # fmt: skip
        for path in listed:
            if _area(path) and (ROOT / path).is_file():
                yield path, (ROOT / path).read_text()
        return
    listed = subprocess.run(
        ["git", "ls-tree", "-r", "--name-only", revision],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    for path in listed:
        if _area(path):
            shown = subprocess.run(
                ["git", "show", f"{revision}:{path}"], cwd=ROOT, capture_output=True, check=True
            )
            yield path, shown.stdout.decode()


def measure(revision: str | None) -> dict[str, Counter[str]]:
    areas: dict[str, Counter[str]] = {}
    for path, text in _files(revision):
        area = _area(path)
        assert area is not None
        if path.endswith(".py"):
            counted = classify(text)
        else:
            counted = Counter(code=sum(1 for line in text.splitlines() if line.strip()))
            counted["blank"] = sum(1 for line in text.splitlines() if not line.strip())
        areas.setdefault(area, Counter()).update(counted)
    return areas


def _row(name: str, counts: Iterable[Counter[str]]) -> str:
    cells = []
    for counted in counts:
        cells.append(f"{sum(counted.values()):,} ({counted['code']:,})")
    return f"| {name} | " + " | ".join(cells) + " |"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("revisions", nargs="*", help="git revisions (none: the working tree)")
    args = parser.parse_args(argv)
    names: list[str | None] = list(args.revisions) or [None]
    measured = [measure(name) for name in names]
    order = [*PRODUCT, "test support", "web (js, css, html)"]
    print("Lines: all (code). Python: code is neither docstring, comment nor blank.\n")
    print("| area | " + " | ".join(name or "working tree" for name in names) + " |")
    print("| --- |" + " ---: |" * len(names))
    for area in order:
        print(_row(area, [m.get(area, Counter()) for m in measured]))
    totals = []
    for m in measured:
        total: Counter[str] = Counter()
        for area, counted in m.items():
            if area != "web (js, css, html)":
                total.update(counted)
        totals.append(total)
    print(_row("**Python: product + test support**", totals))
    if len(totals) > 1:
        first, last = totals[0], totals[-1]
        for kind in ("all", *KINDS):
            before = sum(first.values()) if kind == "all" else first[kind]
            after = sum(last.values()) if kind == "all" else last[kind]
            change = after - before
            share = f"{100 * change / before:+.1f}%" if before else "-"
            print(f"{kind}: {before:,} -> {after:,} ({change:+,}, {share})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
