#!/bin/sh
# Smoke test of the package: unpack the tarball, install it with its install.sh under a temporary prefix, then run
# the installed app offscreen on a fresh data directory, offline: the command line (a generation through the
# bundled worker and the embedded model, proofreading with Harper, a corpus import folded by OpenCC, MiniLM vectors
# through torch), the desktop window (--self-test: the window's own worker loads the model and continues a
# sentence), then uninstall. The app runs in a network namespace with no interfaces (unshare -n as root,
# unshare -rn otherwise) and, where strace exists, under strace, which must see no inet connect or send at all.
# Usage: packaging/smoke_test.sh [TARBALL]   (default: the newest dist/scriptorium-*.tar.gz). Run by `make package`.
set -eu

if [ "${1:-}" = --inside ]; then
    # -- the app's runs, inside the namespace ------------------------------------------------------------------
    work=$2
    app=$work/prefix/bin/scriptorium
    export SCRIPTORIUM_HOME="$work/home" QT_QPA_PLATFORM=offscreen
    failed=0
    check() {  # check NAME EXPECTED-TEXT COMMAND...: exit code 0 and the expected text in its output
        name=$1 want=$2; shift 2
        t0=$(date +%s.%N)
        if "$@" >"$work/$name.out" 2>"$work/$name.err" && grep -qF -- "$want" "$work/$name.out"; then verdict=ok; else verdict=FAILED; failed=1; fi
        printf '%-10s %-6s %5.1f s  %s\n' "$name" "$verdict" "$(awk "BEGIN { print $(date +%s.%N) - $t0 }")" "$(tr '\n' ' ' <"$work/$name.out" | cut -c1-150)"
        [ "$verdict" = ok ] || sed 's/^/    stderr: /' "$work/$name.err" | tail -15
    }
    mkdir -p "$work/texts"
    printf '床前明月光，疑是地上霜。\n舉頭望明月，低頭思故鄉。\n' >"$work/texts/jingye.txt"
    printf 'The harbour lights went out one by one as the fog rolled in from the sea.\nThe keeper lit the lamp again.\n' >"$work/texts/harbour.txt"
    printf 'The lighthouse keeper climbed the stairs' >"$work/prompt.txt"
    printf 'She dont like the the rain.' >"$work/typo.txt"

    check help "write" "$app" --help
    check continue "" "$app" write continue --text-file "$work/prompt.txt" --max-tokens 24 --temperature 0  # "": any line
    check proofread '"source": "harper' "$app" write proofread --text-file "$work/typo.txt" --max-tokens 40 --temperature 0 --json
    check import '"imported"' "$app" corpus import "$work/texts" --corpus smoke --json
    check search '舉頭' "$app" corpus search 举头 --corpus smoke
    check embed '' "$app" corpus embed --corpus smoke
    check similar 'harbour' "$app" corpus similar "fog over the sea at night" --corpus smoke --mode vector
    check gui '"ok": true' "$app" --self-test
    exit $failed
fi

tarball=${1:-$(ls -t dist/scriptorium-*-linux-*.tar.gz 2>/dev/null | head -1)}
[ -f "$tarball" ] || { echo "smoke_test: no tarball (run make package first)" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "smoke test of $tarball in $work"
tar -xzf "$tarball" -C "$work"
PREFIX="$work/prefix" "$work"/scriptorium-*/install.sh >"$work/install.log"
for f in opt/scriptorium/scriptorium bin/scriptorium share/applications/scriptorium.desktop \
         share/icons/hicolor/256x256/apps/scriptorium.png share/icons/hicolor/scalable/apps/scriptorium.svg; do
    [ -e "$work/prefix/$f" ] || { echo "install    FAILED: $f missing"; cat "$work/install.log"; exit 1; }
done
grep -qx "Exec=\"$work/prefix/opt/scriptorium/scriptorium\"" "$work/prefix/share/applications/scriptorium.desktop" \
    || { echo "install    FAILED: the .desktop entry's Exec is not the installed executable"; exit 1; }
echo "install    ok     $(du -sh "$work/prefix/opt/scriptorium" | cut -f1) in opt/scriptorium, the link, the menu entry and the icons"

if [ "$(id -u)" = 0 ] && unshare -n true 2>/dev/null; then offline="unshare -n"
elif unshare -rn true 2>/dev/null; then offline="unshare -rn"
else offline=""; echo "note: no network namespace can be made here; the app runs with the machine's network"; fi
trace=""
command -v strace >/dev/null 2>&1 && trace="strace -f -qq --seccomp-bpf -e signal=none -e trace=connect,sendto,sendmsg -o $work/net.trace"
# shellcheck disable=SC2086  # the two wrappers are word lists
$offline $trace sh "$0" --inside "$work" && rc=0 || rc=$?
if [ -n "$trace" ]; then
    if grep -E 'AF_INET6?[,}]' "$work/net.trace" >"$work/inet.trace"; then
        echo "network    FAILED: the app tried to reach the network:"; head -5 "$work/inet.trace"; rc=1
    else
        echo "network    ok     strace saw no inet connect or send in any process ($(grep -c . "$work/net.trace" || true) local socket calls)"
    fi
fi
echo "offline:   ${offline:-none}"

PREFIX="$work/prefix" "$work/prefix/opt/scriptorium/install.sh" --uninstall >/dev/null
left=$(find "$work/prefix" -type f -o -type l | head -5)
[ -z "$left" ] && echo "uninstall  ok     nothing left under the prefix" || { echo "uninstall  FAILED: left $left"; rc=1; }
[ "$rc" = 0 ] && echo "smoke test passed" || echo "smoke test FAILED"
exit "$rc"
