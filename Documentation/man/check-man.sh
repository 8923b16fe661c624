#!/bin/sh
# SPDX-License-Identifier: MIT
# check-man.sh GROFF PAGE... - each man page renders without a warning.
#
# groff -ww turns every warning on; -mandoc reads the man macros as man(1)
# does; -z formats without output; -Tutf8 as in a terminal.  Any message
# at all fails the test.
groff=$1
shift
status=0
for page in "$@"; do
	msgs=$("$groff" -ww -mandoc -z -Tutf8 "$page" 2>&1)
	if [ -n "$msgs" ] || [ ! -s "$page" ]; then
		echo "FAIL: $page:"
		echo "$msgs"
		status=1
	else
		echo "ok: $(basename "$page")"
	fi
done
exit $status
