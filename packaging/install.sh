#!/bin/sh
# Installs Scriptorium for this user, from the folder this script is in (the unpacked tarball):
#   ~/.local/opt/scriptorium/      the app (one folder; it is the desktop app, the command line and the worker),
#                                  with a copy of this script for uninstalling
#   ~/.local/bin/scriptorium       a symlink to its executable
#   ~/.local/share/applications/scriptorium.desktop, and the icon in ~/.local/share/icons/hicolor/
# PREFIX=DIR puts all of it under DIR instead of ~/.local. `install.sh --uninstall` removes exactly these;
# the data directory with your documents (~/.local/share/scriptorium, or $SCRIPTORIUM_HOME) is never touched.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
prefix=${PREFIX:-$HOME/.local}
opt=$prefix/opt/scriptorium
link=$prefix/bin/scriptorium
desktop=$prefix/share/applications/scriptorium.desktop
icons=$prefix/share/icons/hicolor
png=$icons/256x256/apps/scriptorium.png
svg=$icons/scalable/apps/scriptorium.svg

refresh_menus() {
    # Desktops rescan these folders by themselves; the caches are refreshed where the tools exist.
    command -v update-desktop-database >/dev/null 2>&1 && update-desktop-database -q "$prefix/share/applications" || true
    command -v gtk-update-icon-cache >/dev/null 2>&1 && gtk-update-icon-cache -q -t "$icons" 2>/dev/null || true
}

uninstall() {
    rm -rf "$opt"
    # The link is removed only while it still points into this installation.
    if [ -L "$link" ] && [ "$(readlink "$link")" = "$opt/scriptorium" ]; then rm -f "$link"; fi
    rm -f "$desktop" "$png" "$svg"
    refresh_menus
    echo "Scriptorium is uninstalled. Your documents are still in its data directory (~/.local/share/scriptorium"
    echo "unless SCRIPTORIUM_HOME says otherwise); delete that folder yourself to remove them too."
}

install() {
    [ -x "$here/scriptorium/scriptorium" ] || { echo "install.sh: $here/scriptorium/scriptorium is missing; run me from the unpacked tarball." >&2; exit 1; }
    mkdir -p "$prefix/opt" "$prefix/bin" "$(dirname "$desktop")" "$(dirname "$png")" "$(dirname "$svg")"
    # Copied beside the old version, then swapped in, so an interrupted upgrade leaves the old one whole.
    rm -rf "$opt.new"
    cp -a "$here/scriptorium" "$opt.new"
    rm -rf "$opt"
    mv "$opt.new" "$opt"
    cp "$here/install.sh" "$opt/install.sh"  # kept for uninstalling once the tarball's folder is gone
    ln -sfn "$opt/scriptorium" "$link"
    # The menu entry names the executable by its full path: a desktop session's PATH often lacks ~/.local/bin.
    sed -e "s|^Exec=.*|Exec=\"$opt/scriptorium\"|" -e "s|^TryExec=.*|TryExec=$opt/scriptorium|" "$here/scriptorium.desktop" > "$desktop"
    cp "$here/scriptorium.png" "$png"
    cp "$here/scriptorium.svg" "$svg"
    refresh_menus
    echo "Installed Scriptorium in $opt"
    echo "  command:   $link"
    echo "  menu:      $desktop"
    echo "  icon:      $png"
    case ":$PATH:" in *":$prefix/bin:"*) ;; *) echo "  note: $prefix/bin is not on your PATH; add it to run 'scriptorium' from a terminal." ;; esac
    echo "To uninstall: ${PREFIX:+PREFIX=$prefix }$opt/install.sh --uninstall (your documents stay)."
}

case "${1:-}" in
    --uninstall) uninstall ;;
    "") install ;;
    *) echo "usage: $0 [--uninstall]" >&2; exit 2 ;;
esac
