"""The package's parts that need no build: install.sh installs and uninstalls per user, the menu entry, the icon.

The bundle itself is built and run by `make package` (packaging/smoke_test.sh); here a stand-in folder takes the
app folder's place, so these run in the suite in a second.
"""

from __future__ import annotations

import configparser
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGING = REPO / "packaging"
INSTALLED = ["opt/scriptorium/scriptorium", "opt/scriptorium/install.sh", "bin/scriptorium", "share/applications/scriptorium.desktop",
             "share/icons/hicolor/256x256/apps/scriptorium.png", "share/icons/hicolor/scalable/apps/scriptorium.svg"]


@pytest.fixture
def unpacked(tmp_path: Path) -> Path:
    """What the tarball unpacks to, with a one-line script in place of the app folder's executable."""
    top = tmp_path / "scriptorium-0.0.0-linux-x86_64"
    (top / "scriptorium" / "_internal").mkdir(parents=True)
    exe = top / "scriptorium" / "scriptorium"
    exe.write_text("#!/bin/sh\necho scriptorium \"$@\"\n")
    exe.chmod(0o755)
    for name in ("install.sh", "scriptorium.desktop"):
        shutil.copy2(PACKAGING / name, top / name)
    shutil.copy2(REPO / "assets" / "icons" / "scriptorium.svg", top / "scriptorium.svg")
    shutil.copy2(REPO / "assets" / "icons" / "scriptorium.svg", top / "scriptorium.png")  # bytes are not checked here
    return top


def run_install(script: Path, prefix: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PREFIX": str(prefix)}
    return subprocess.run(["sh", str(script), *args], capture_output=True, text=True, env=env, timeout=60)


def test_install_puts_the_app_the_command_the_menu_entry_and_the_icon_under_the_prefix(unpacked: Path, tmp_path: Path) -> None:
    prefix = tmp_path / "prefix"
    run = run_install(unpacked / "install.sh", prefix)
    assert run.returncode == 0, run.stderr
    assert all((prefix / f).exists() for f in INSTALLED)
    link = prefix / "bin" / "scriptorium"
    assert link.is_symlink() and subprocess.run([str(link), "--self-test"], capture_output=True, text=True).stdout == "scriptorium --self-test\n"
    entry = configparser.ConfigParser(interpolation=None)
    entry.read(prefix / "share/applications/scriptorium.desktop")
    assert entry["Desktop Entry"]["Exec"] == f'"{prefix}/opt/scriptorium/scriptorium"'
    assert "--uninstall" in run.stdout


def test_uninstall_removes_what_install_put_and_nothing_else(unpacked: Path, tmp_path: Path) -> None:
    prefix = tmp_path / "prefix"
    mine = prefix / "bin" / "other-tool"
    assert run_install(unpacked / "install.sh", prefix).returncode == 0
    mine.write_text("not ours")
    shutil.rmtree(unpacked)  # the tarball's folder is long gone: the installed copy of install.sh uninstalls
    run = run_install(prefix / "opt" / "scriptorium" / "install.sh", prefix, "--uninstall")
    assert run.returncode == 0, run.stderr
    assert not any((prefix / f).exists() or (prefix / f).is_symlink() for f in INSTALLED)
    assert mine.read_text() == "not ours" and "documents" in run.stdout


def test_a_reinstall_replaces_the_old_folder(unpacked: Path, tmp_path: Path) -> None:
    prefix = tmp_path / "prefix"
    assert run_install(unpacked / "install.sh", prefix).returncode == 0
    stale = prefix / "opt" / "scriptorium" / "_internal" / "stale.so"
    stale.write_text("from the old version")
    assert run_install(unpacked / "install.sh", prefix).returncode == 0
    assert not stale.exists() and not (prefix / "opt" / "scriptorium.new").exists()


def test_install_refuses_a_folder_without_the_app(tmp_path: Path) -> None:
    shutil.copy2(PACKAGING / "install.sh", tmp_path / "install.sh")
    run = run_install(tmp_path / "install.sh", tmp_path / "prefix")
    assert run.returncode == 1 and "missing" in run.stderr and not (tmp_path / "prefix").exists()


def test_the_menu_entry_is_an_office_text_editor_without_a_terminal() -> None:
    entry = configparser.ConfigParser(interpolation=None)
    entry.optionxform = str  # keys are case-sensitive in desktop entries
    entry.read(PACKAGING / "scriptorium.desktop")
    fields = entry["Desktop Entry"]
    assert (fields["Type"], fields["Exec"], fields["Icon"], fields["Terminal"]) == ("Application", "scriptorium", "scriptorium", "false")
    assert fields["Categories"] == "Office;TextEditor;"


def test_the_icon_renders_to_a_png_of_the_size_asked(qapp, tmp_path: Path) -> None:
    from PySide6.QtGui import QImage

    # As build.sh runs it (a script: the folder `packaging` is no importable package, PyPI's packaging is).
    render = [sys.executable, str(PACKAGING / "render_icon.py")]
    done = subprocess.run([*render, str(REPO / "assets" / "icons" / "scriptorium.svg"), str(tmp_path / "icon.png"), "128"], timeout=60)
    assert done.returncode == 0
    image = QImage(str(tmp_path / "icon.png"))
    assert (image.width(), image.height()) == (128, 128)
    assert image.pixelColor(64, 64).alpha() == 255 and image.pixelColor(0, 0).alpha() == 0  # drawn, corners transparent
    refused = subprocess.run([*render, str(tmp_path / "icon.png"), str(tmp_path / "again.png"), "64"], capture_output=True, text=True, timeout=60)
    assert refused.returncode != 0 and "cannot read" in refused.stderr


def test_the_window_icon_is_the_svg_asset(qapp) -> None:
    from PySide6.QtGui import QIcon

    from app.__main__ import ICON

    assert not QIcon(str(ICON)).pixmap(64, 64).isNull()
