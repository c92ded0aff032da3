"""The model manager: it lists the registry, and Compress… runs the real command with progress, then shows the chart."""

from __future__ import annotations

from pathlib import Path

from app import store
from app.desk import compress_feed
from tests.gui_helpers import gui_home  # noqa: F401  (fixture)


def test_held_out_text_comes_from_the_writers_documents(home: Path) -> None:
    db = store.open_db(home)
    store.create_document(db, "Short", "Too little to measure on.")
    assert compress_feed.held_out_text(home) is None
    store.create_document(db, "Chapter", "The tide came in over the flats. " * 200)
    path = compress_feed.held_out_text(home)
    assert path is not None and "The tide came in" in path.read_text()
    assert compress_feed.compress_command("m.gguf", "Q8_0", str(home), path)[-2:] == ["--text-file", str(path)]


def test_compress_from_the_model_manager_registers_the_result_and_shows_its_chart(qtbot, gui_home: Path, tiny_model: Path) -> None:  # noqa: F811
    from app.ui.models_dialog import ModelManager

    dialog = ModelManager(gui_home)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitUntil(lambda: tiny_model.stem in dialog.models, timeout=30000)
    names = [dialog.list.item(i).data(0x0100) for i in range(dialog.list.count())]
    dialog.list.setCurrentRow(names.index(tiny_model.stem))
    dialog.qtype.setCurrentText("Q8_0")
    dialog.buttons["compress"].click()
    assert dialog.compressing
    qtbot.waitUntil(lambda: not dialog.compressing, timeout=60000)
    assert dialog.status.text().startswith("Compressed: tiny-llama-Q8_0"), dialog.status.text()
    assert "top-1 agreement" in dialog.status.text()
    assert dialog.chart.isVisible() and not dialog.chart.pixmap().isNull()
    qtbot.waitUntil(lambda: "tiny-llama-Q8_0" in dialog.models, timeout=30000)
