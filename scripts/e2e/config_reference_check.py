#!/usr/bin/env python3
"""Checks docs/configuration.md against proxy.toml.example.

Every key of the example, whether set or shown commented out (`# key = value`), must appear in
the reference table of its section in the doc (`## [section]` / `## [[route]]` headings, each with a table headed
`| key | ... |` whose rows start with `` | `key` ``), and the doc must not document a key the example does not have.
`[inject]` maps free-form header names, so only its presence is checked. Every ```toml block
of the doc must also pass `.build/debug/sessiongate check`. Exit 1 on a mismatch.
"""

import os
import re
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "proxy.toml.example"
DOC = ROOT / "docs" / "configuration.md"
FREE_FORM = {"inject"}
BINARY = ROOT / ".build" / "debug" / "sessiongate"


def example_keys() -> dict[str, set[str]]:
    text = EXAMPLE.read_text()
    parsed = tomllib.loads(text)
    keys: dict[str, set[str]] = {}
    for section, value in parsed.items():
        tables = value if isinstance(value, list) else [value]
        keys.setdefault(section, set()).update(k for table in tables for k in table)
    section = None
    for line in text.splitlines():
        header = re.match(r"^\[\[?([a-z_]+)\]\]?\s*(#.*)?$", line)
        if header:
            section = header[1]
            continue
        commented = re.match(r"^#\s*([a-z_]+)\s*=", line)
        if commented and section:
            keys.setdefault(section, set()).add(commented[1])
    return keys


def documented_keys() -> dict[str, set[str]]:
    """Rows of the tables headed `| key | ...` under each `## [section]` heading."""
    keys: dict[str, set[str]] = {}
    section, in_key_table = None, False
    for line in DOC.read_text().splitlines():
        heading = re.match(r"^## \[\[?([a-z_]+)\]\]?\s*$", line)
        if heading or line.startswith("## "):
            section = heading[1] if heading else None
            if section:
                keys.setdefault(section, set())
            continue
        if not line.startswith("|"):
            in_key_table = False
        elif re.match(r"^\|\s*key\s*\|", line):
            in_key_table = True
        elif in_key_table and section and (row := re.match(r"^\| `([^`]+)` \|", line)):
            keys[section].add(row[1])
    return keys


def snippet_failures() -> list[str]:
    """`sessiongate check` on every ```toml block of the doc, with generated keys."""
    if not BINARY.is_file():
        return [f"{BINARY} is missing: run swift build --product sessiongate first"]
    blocks = re.findall(r"^```toml\n(.*?)^```$", DOC.read_text(), flags=re.M | re.S)
    keygen = lambda: subprocess.run([str(BINARY), "keygen"], capture_output=True, text=True,  # noqa: E731
                                    check=True, timeout=30).stdout.strip()
    environment = {"PATH": os.environ.get("PATH", ""), "SESSIONGATE_KEY": keygen(),
                   "SESSIONGATE_SIGNING_SECRET": keygen()}
    failures = []
    with tempfile.TemporaryDirectory() as folder:
        for index, block in enumerate(blocks):
            path = Path(folder) / f"snippet-{index}.toml"
            path.write_text(block)
            run = subprocess.run([str(BINARY), "check", "--config", str(path)], env=environment,
                                 capture_output=True, text=True, timeout=60)
            if run.returncode != 0:
                failures.append(f"toml block {index + 1} of {DOC.relative_to(ROOT)} fails sessiongate check: "
                                f"{(run.stderr or run.stdout).strip()}")
    return failures if blocks else [f"{DOC.relative_to(ROOT)} has no ```toml example"]


def main() -> int:
    example, documented = example_keys(), documented_keys()
    failures = snippet_failures()
    for section, names in sorted(example.items()):
        if section not in documented:
            failures.append(f"[{section}] has no '## [{section}]' section in {DOC.relative_to(ROOT)}")
            continue
        if section in FREE_FORM:
            continue
        for name in sorted(names - documented[section]):
            failures.append(f"{section}.{name} (proxy.toml.example) is not documented in {DOC.relative_to(ROOT)}")
        for name in sorted(documented[section] - names):
            failures.append(f"{section}.{name} is documented but proxy.toml.example has no such key")
    for section in sorted(set(documented) - set(example)):
        failures.append(f"[{section}] is documented but proxy.toml.example has no such section")
    for failure in failures:
        print(f"FAIL {failure}")
    total = sum(len(v) for s, v in example.items() if s not in FREE_FORM)
    print(f"config reference: {total} keys in {len(example)} sections of proxy.toml.example, "
          f"{'all documented' if not failures else f'{len(failures)} problems'}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
