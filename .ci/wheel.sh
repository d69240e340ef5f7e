#!/usr/bin/env bash
# The wheel as a new user gets it (issue 15): build it, install it into a fresh venv outside the
# checkout, and run it from there. Run from anywhere:
#
#   bash .ci/wheel.sh            # PY=python3.11 by default; the build uses .venv's pip when present
#
# Checks: `nestlab labs` lists the builtin labs, `nestlab demo` exits 0, `diagnose --html` and
# `draw` write their files, `import nestlab.simulator` works, and the distribution installs
# nothing at the top of site-packages but `nestlab` (no `lab`, `steps`, `simulator`, `diagnosis`,
# `fixtures`, `features`). The venv is a real install with dependencies (pip's cache keeps it to
# seconds) and is removed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
PY=${PY:-python3.11}
command -v "$PY" >/dev/null 2>&1 || PY=python3
builder="$PY"
[ -x .venv/bin/python ] && builder=.venv/bin/python

work=$(mktemp -d "${TMPDIR:-/tmp}/nestlab-wheel.XXXXXX")
trap 'rm -rf "$work"' EXIT
log() { echo "wheel.sh: $*" >&2; }

log "building the wheel"
"$builder" -m pip wheel --quiet --no-deps --wheel-dir "$work/dist" "$repo" 2>"$work/build.log" \
    || { cat "$work/build.log" >&2; exit 1; }
rm -rf "$repo/build"
wheel=$(ls "$work"/dist/nestlab-*.whl)
log "installing $(basename "$wheel") into a fresh venv in $work"
"$PY" -m venv "$work/venv"
"$work/venv/bin/python" -m pip install --quiet --disable-pip-version-check "$wheel"

mkdir "$work/elsewhere"
cd "$work/elsewhere"   # nothing of the checkout is on the path from here
unset PYTHONPATH
bin="$work/venv/bin"

log "nestlab labs"
labs=$("$bin/nestlab" labs)
for name in reference azure deep; do
    grep -q "builtin:$name" <<<"$labs" || { echo "$labs" >&2; log "nestlab labs does not list builtin:$name"; exit 1; }
done
log "nestlab demo"
"$bin/nestlab" demo >"$work/demo.txt" || { tail -n 20 "$work/demo.txt" >&2; log "nestlab demo failed"; exit 1; }
log "nestlab diagnose --html, nestlab draw"
"$bin/nestlab" diagnose builtin:reference --html "$work/report.html" >/dev/null
grep -q "<svg" "$work/report.html" || { log "the HTML report has no drawing"; exit 1; }
"$bin/nestlab" draw builtin:deep -o "$work/deep.mmd" 2>/dev/null
grep -q "^flowchart" "$work/deep.mmd" || { log "nestlab draw wrote no Mermaid"; exit 1; }
log "import nestlab.simulator, and nothing else at the top of site-packages"
"$bin/python" - <<'PY'
import importlib.metadata as md
import importlib.util
import sys

import nestlab.simulator  # noqa: F401

assert "/elsewhere" not in nestlab.simulator.__file__ and "site-packages" in nestlab.simulator.__file__, nestlab.simulator.__file__
dist = md.distribution("nestlab")
tops = {str(f).split("/")[0] for f in dist.files if not str(f).startswith("..")}
assert tops == {"nestlab", f"nestlab-{dist.version}.dist-info"}, sorted(tops)
shadowing = [name for name in ("lab", "steps", "simulator", "diagnosis", "fixtures", "features") if importlib.util.find_spec(name)]
assert not shadowing, f"top-level packages installed: {shadowing}"
assert dist.metadata["License-Expression"] == "MIT", dist.metadata["License-Expression"]
print(f"wheel.sh: installed top level {sorted(tops)}; licence {dist.metadata['License-Expression']}", file=sys.stderr)
PY
log "ok"
