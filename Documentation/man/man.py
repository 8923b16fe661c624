#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Documentation/man/man.py - make a man page's scdoc source at build time.

    man.py --version V [--settings configuration.md] [--check] IN OUT
    man.py --names IN

Replaces @KMEM_VERSION@ in IN, and @KMEM_SETTINGS@ with the KMEM_*
environment settings taken from the table under "## Environment" in
Documentation/configuration.md: that table is the one source of the
settings, so kmem-malloc(3) and the Markdown cannot drift apart.  scdoc
then turns OUT into roff.

--names: print the names the page's NAME section gives (its other names
are installed as links to it).

--check: also fail unless every KMEM_* name that core/config.c reads is
in the table and every name in the table is read by core/config.c (the
code, the table and the man page are then the same list).
"""
import argparse
import re
import sys


def settings_rows(md_text):
    """(name, default, meaning) of each row of the Environment table."""
    section = re.search(r"^## Environment.*?$(.*?)(?=^## )", md_text,
                        re.M | re.S)
    if not section:
        sys.exit("man.py: no '## Environment' section in configuration.md")
    rows = []
    for line in section.group(1).splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 3 or not cells[0].startswith("`KMEM_"):
            continue
        rows.append((cells[0].strip("`"), cells[1], cells[2]))
    if not rows:
        sys.exit("man.py: the Environment table has no KMEM_* rows")
    return rows


def scdoc_text(md):
    """Markdown inline text (code spans, emphasis) as scdoc text."""
    out = []
    for i, part in enumerate(re.split(r"`([^`]*)`", md)):
        # Escape scdoc's markup characters first.
        part = part.replace("\\", "\\\\").replace("*", "\\*").replace("_", "\\_")
        if i % 2:
            out.append("*" + part + "*" if part else "")
        else:
            out.append(part)
    return "".join(out)


def settings_scdoc(rows):
    lines = []
    for name, default, meaning in rows:
        lines.append("*%s* (default: %s)" % (scdoc_text(name), scdoc_text(default)))
        lines.append("\t" + scdoc_text(meaning))
        lines.append("")
    return "\n".join(lines).rstrip("\n")


def config_names(path):
    """The KMEM_* names core/config.c reads."""
    text = open(path).read()
    return set(re.findall(r'"(KMEM_[A-Z0-9_]+)"', text))


def page_names(text):
    """The names before " - " in the NAME section."""
    m = re.search(r"^# NAME\n\n(.*?)\n\n", text, re.M | re.S)
    if not m or " - " not in m.group(1).replace("\n", " "):
        sys.exit("man.py: no NAME section")
    names = m.group(1).replace("\n", " ").split(" - ")[0]
    return [n.strip().replace("\\_", "_") for n in names.split(",")]


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--names":
        print(";".join(page_names(open(sys.argv[2]).read())))
        return
    ap = argparse.ArgumentParser()
    ap.add_argument("--version", required=True)
    ap.add_argument("--settings")
    ap.add_argument("--check", metavar="CONFIG_C")
    ap.add_argument("input")
    ap.add_argument("output")
    a = ap.parse_args()
    text = open(a.input).read().replace("@KMEM_VERSION@", a.version)
    if "@KMEM_SETTINGS@" in text:
        if not a.settings:
            sys.exit("man.py: %s needs --settings" % a.input)
        rows = settings_rows(open(a.settings).read())
        if a.check:
            table = {r[0] for r in rows}
            code = config_names(a.check)
            if table != code:
                sys.exit("man.py: configuration.md and %s disagree: only in "
                         "the table %s, only in the code %s" %
                         (a.check, sorted(table - code), sorted(code - table)))
        text = text.replace("@KMEM_SETTINGS@", settings_scdoc(rows))
    if "@" in re.sub(r"\S+@\S+\.\S+", "", text) and re.search(r"@[A-Z_]+@", text):
        sys.exit("man.py: %s: unreplaced %s" %
                 (a.input, re.search(r"@[A-Z_]+@", text).group(0)))
    with open(a.output, "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()
