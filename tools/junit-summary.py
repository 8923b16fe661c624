#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""junit-summary.py JUNIT.xml ALLOW_SKIP - one line about a CTest run.

Reads the JUnit file that `ctest --output-junit` wrote and prints, on one
line: the tests run, the Check assertions among them, how many passed,
which failed, and which were skipped with the reason each gave (the last
line of its output).  Exit status 0 if none failed and none was skipped
(or ALLOW_SKIP is 1), 1 otherwise.  Used by tools/test.sh.
"""
import re
import sys
import xml.etree.ElementTree as ET


def reason(case):
    out = case.findtext("system-out") or ""
    lines = [l.strip() for l in out.splitlines() if l.strip()]
    return lines[-1][:160] if lines else "no reason given"


def main():
    path, allow_skip = sys.argv[1], sys.argv[2] == "1"
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError) as e:
        print("no test results (%s)" % e)
        return 1
    cases = root.iter("testcase")
    passed, failed, skipped, checks = [], [], [], 0
    for c in cases:
        name = c.get("name")
        out = c.findtext("system-out") or ""
        checks += sum(int(n) for n in re.findall(r"^\d+%: Checks: (\d+)", out, re.M))
        status = c.get("status")
        if status == "run":
            passed.append(name)
        elif status in ("notrun", "disabled") or c.find("skipped") is not None:
            skipped.append("%s (%s)" % (name, reason(c)))
        else:
            failed.append(name)
    total = len(passed) + len(failed) + len(skipped)
    if total == 0:
        print("ran no tests")
        return 1
    line = "ran %d test%s" % (total, "" if total == 1 else "s")
    if checks:
        line += " (%d Check tests)" % checks
    line += ": %d passed" % len(passed)
    if failed:
        line += ", %d FAILED: %s" % (len(failed), " ".join(failed))
    if skipped:
        line += ", %d skipped%s: %s" % (len(skipped),
                                        "" if allow_skip else " (a failure; --allow-skip to accept)",
                                        "; ".join(skipped))
    print(line)
    return 1 if failed or (skipped and not allow_skip) else 0


if __name__ == "__main__":
    sys.exit(main())
