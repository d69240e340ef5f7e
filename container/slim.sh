#!/bin/sh
# slim.sh OUT [VENV]: copy into OUT only what `nestlab serve` needs to run, for the image's last
# stage (FROM scratch, COPY OUT /). Why: on the vfs storage driver every `docker create` copies the
# whole image, so its size is the time of `nestlab up` (docs/fleet.md, "What the driver does").
#
# What stays: the Python interpreter of VENV and the shared libraries it and every extension
# module load (found with ldd, so it works on Debian's python3 and on python:3.11-slim alike);
# the standard library without its tests, GUI, build and packaging tools; the venv without the
# packages serve never imports (tests/test_image_slim.py keeps that list honest: it serves a host,
# drives it with PSRP, WinRS and a script, and fails if any of them was imported). Python files are
# kept as byte code only (compileall -b): half the files to copy, and no compile at start.
set -eu
out=$1
venv=${2:-/opt/nestlab}
py="$venv/bin/python3"

STDLIB_DROP="test idlelib tkinter turtledemo ensurepip lib2to3 pydoc_data distutils venv sqlite3 curses dbm"
DYNLOAD_DROP="_sqlite3 _tkinter _curses _curses_panel _dbm _gdbm readline _test _testcapi _testbuffer _testimportmultiple _testinternalcapi _testmultiphase _testclinic _ctypes_test _xxtestfuzz _xxsubinterpreters xxlimited xxlimited_35 xxsubtype audioop nis ossaudiodev spwd"
SITE_DROP="pip setuptools wheel _distutils_hack pkg_resources faker pygments rich markdown_it mdurl pypsrp requests urllib3 idna charset_normalizer certifi pycparser"

stdlib=$("$py" -c 'import sysconfig; print(sysconfig.get_paths()["stdlib"])')
dynload=$("$py" -c 'import sysconfig; print(sysconfig.get_config_var("DESTSHARED"))')
site=$("$py" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
real=$(readlink -f "$py")

mkdir -p "$out/tmp" "$out/etc"
chmod 1777 "$out/tmp"
cp /etc/passwd /etc/group "$out/etc/"
[ -d /etc/python3.11 ] && cp -a --parents /etc/python3.11 "$out"
# the interpreter and the links that name it (venv/bin/python3 → /usr/bin/python3 → python3.11)
for link in "$venv/bin/python" "$venv/bin/python3" "$(dirname "$real")/python3" "$real"; do
    [ -e "$link" ] && cp -a --parents "$link" "$out"
done
cp -a --parents "$venv/pyvenv.cfg" "$venv/bin/nestlab" "$out"

copy_tree() {  # copy_tree DIR EXCLUDE...: DIR into OUT without the named top-level entries
    dir=$1; shift
    mkdir -p "$out$dir"
    for entry in "$dir"/* "$dir"/.[!.]*; do
        [ -e "$entry" ] || continue
        name=$(basename "$entry")
        skip=""
        for drop in "$@"; do
            case "$name" in "$drop"|"$drop".py|"$drop"-*.dist-info|"$drop"-*.pth|"$drop".pth) skip=1 ;; esac
        done
        [ -n "$skip" ] || cp -a "$entry" "$out$dir/"
    done
}
copy_tree "$stdlib" $STDLIB_DROP site-packages dist-packages lib-dynload "config-*"
copy_tree "$dynload"
for module in $DYNLOAD_DROP; do rm -f "$out$dynload/$module".*.so; done
drops=""
for name in $SITE_DROP; do drops="$drops $name $(echo "$name" | sed 's/_/-/g') $(echo "$name" | sed 's/^./\u&/')"; done
copy_tree "$site" $drops distutils-precedence
rm -rf "$out$site"/*/tests "$out$site"/*/*/tests "$out$site"/*/*/*/tests

# byte code only: foo.pyc beside where foo.py was, compiled as if at its final path
"$py" -m compileall -q -b -j 0 -s "$out" -p / "$out$stdlib" "$out$site" >/dev/null
find "$out$stdlib" "$out$site" -name '*.py' -delete
find "$out$stdlib" "$out$site" -name __pycache__ -type d -prune -exec rm -rf {} +

# every shared library the interpreter and the extension modules load, at the path ldd names
libs=$( { echo "$real"; find "$out" -name '*.so*' -type f; } | while read -r elf; do ldd "$elf" 2>/dev/null; done \
        | awk '/=> \//{print $3} /^\t\/[^ ]+ \(/{print $1}' | sort -u)
for lib in $libs; do cp -L --parents "$lib" "$out"; done
