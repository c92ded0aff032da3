#!/bin/sh
# Builds the one-folder app (dist/scriptorium/) with PyInstaller, then dist/scriptorium-VERSION-linux-x86_64.tar.gz:
# the folder, a .desktop entry, the icon (SVG and a PNG rendered here) and install.sh. Run by `make package`.
set -eu

root=$(pwd)
PY=${PY:-.venv/bin/python}
PY=$(cd "$(dirname "$PY")" && pwd)/$(basename "$PY")  # absolute, since PyInstaller runs in the source snapshot

start=$(date +%s)
src=.
if git rev-parse --verify -q HEAD >/dev/null 2>&1; then
    # Built from the commit, not the working tree: what ships is what HEAD names, whatever is being edited meanwhile.
    src=build/src
    rm -rf "$src"
    mkdir -p "$src"
    git archive HEAD | tar -x -C "$src"
    echo "building commit $(git rev-parse --short HEAD)"
fi
version=$("$PY" -c 'import tomllib; print(tomllib.load(open("'"$src/pyproject.toml"'", "rb"))["project"]["version"])')
name=scriptorium-$version-linux-$(uname -m)
stage=build/stage/$name
# PYTHONPATH puts the snapshot's app/ and inference/ before the editable install's, for PyInstaller's analysis too.
(cd "$src" && PYTHONPATH=. "$PY" -m PyInstaller --noconfirm --log-level WARN --distpath "$root/dist" \
    --workpath "$root/build/pyinstaller" packaging/scriptorium.spec)
built=$(date +%s)

rm -rf build/stage
mkdir -p "$stage"
cp "$src/packaging/scriptorium.desktop" "$src/packaging/install.sh" "$src/assets/icons/scriptorium.svg" "$stage/"
"$PY" "$src/packaging/render_icon.py" "$src/assets/icons/scriptorium.svg" "$stage/scriptorium.png" 256
# The app folder goes in under $name/ by renaming its members, not by copying its gigabyte first.
tar -czf "dist/$name.tar.gz" -C build/stage "$name" -C ../../dist \
    --transform "s,^scriptorium\(/\|\$\),$name/scriptorium\1,S" scriptorium
done_at=$(date +%s)

echo "bundle:  dist/scriptorium/ $(du -sh dist/scriptorium | cut -f1) ($(du -sb dist/scriptorium | cut -f1) bytes)"
echo "tarball: dist/$name.tar.gz $(du -sh "dist/$name.tar.gz" | cut -f1) ($(stat -c %s "dist/$name.tar.gz") bytes)"
echo "time:    PyInstaller $((built - start)) s, tarball $((done_at - built)) s"
