"""A small corpus folder for command-line and GUI tests: Tang poems (simplified and traditional), English prose, records."""

from __future__ import annotations

import json
from pathlib import Path

POEMS = {
    "jingye-si.txt": "静夜思\n\n床前明月光，疑是地上霜。\n举头望明月，低头思故乡。\n",
    "jingye-si-traditional.txt": "靜夜思\n\n床前明月光，疑是地上霜。\n舉頭望明月，低頭思故鄉。\n",
    "chun-xiao.txt": "春晓\n\n春眠不觉晓，处处闻啼鸟。\n夜来风雨声，花落知多少。\n",
}
PROSE = {
    "harbour.txt": "The moon rose over the harbour. The boats lay still, and the moon was white on the water.\n",
    "letter.md": "# A letter\n\nDear Ada, the moon was full last night and the garden was bright as day.\n",
}
RECORDS = [  # as the chinese-poetry collection keeps them: a list of lines as the body
    {"rhythmic": "登鹳雀楼", "poet": "王之涣", "paragraphs": ["白日依山尽，黄河入海流。", "欲穷千里目，更上一层楼。"]},
    {"rhythmic": "鹿柴", "poet": "王维", "paragraphs": ["空山不见人，但闻人语响。", "返景入深林，复照青苔上。"]},
]


def write_corpus(folder: Path) -> Path:
    """Write the poems, the prose and a JSON file of records into `folder`; return it."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, body in {**POEMS, **PROSE}.items():
        (folder / name).write_text(body, encoding="utf-8")
    (folder / "poems.json").write_text(json.dumps(RECORDS, ensure_ascii=False), encoding="utf-8")
    return folder


def write_csv(path: Path) -> Path:
    """A CSV whose columns are not named like fields, so a mapping is needed to read the right one."""
    path.write_text("name,writer,words,notes\nHarbour song,Ann Lee,The moon on the harbour again,a note\n"
                    "Field song,Bo Chen,Wheat and the moon,another\n", encoding="utf-8")
    return path
