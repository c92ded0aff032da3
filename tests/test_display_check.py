"""The sentence a newcomer gets instead of Qt's abort when no window can open."""

from __future__ import annotations

from app.display_check import display_problem


def test_no_display_says_so_and_points_at_the_command_line() -> None:
    message = display_problem({}, platform="linux")
    assert message and "DISPLAY" in message and "scriptorium write" in message


def test_missing_xcb_libraries_are_named_with_their_packages() -> None:
    message = display_problem({"DISPLAY": ":0"}, platform="linux", loadable=lambda lib: lib != "libxcb-cursor.so.0")
    assert message and "libxcb-cursor0" in message and "apt-get install libxcb-cursor0" in message


def test_other_platforms_and_explicit_qt_platforms_are_left_to_qt() -> None:
    assert display_problem({}, platform="darwin") is None
    assert display_problem({"QT_QPA_PLATFORM": "offscreen"}, platform="linux") is None
    assert display_problem({"WAYLAND_DISPLAY": "wayland-0"}, platform="linux") is None
