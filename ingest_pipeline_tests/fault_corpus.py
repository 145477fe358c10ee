"""A soak corpus: distinct good documents of several types, and bad ones that must fail with a reason."""

from __future__ import annotations

import random
from pathlib import Path

_WORDS = ("basalt delta estuary fjord glacier heron isthmus kelp lagoon moraine nunatak oxbow peat quarry "
          "reef shoal tundra upwelling volcano wetland atoll butte caldera dune esker").split()

# Files that no parser can turn into usable text; each must end `failed` with a reason (or be
# refused at intake with one).
BAD_KINDS: dict[str, bytes] = {
    "empty.txt": b"",
    "program.txt": b"\x7fELF\x02\x01\x01" + bytes(600),
    "photo.png": b"\x89PNG\r\n\x1a\n" + bytes(400),
    "tiny.md": b"too short",
    "archive.zip": b"PK\x05\x06" + bytes(18),
}


def write_corpus(folder: Path, documents: int, seed: int = 11) -> tuple[set[str], set[str]]:
    """`documents` files in `folder`, about one in twenty bad; returns (good names, bad names)."""
    folder.mkdir(parents=True, exist_ok=True)
    draw = random.Random(seed)
    bad_count = max(len(BAD_KINDS), documents // 20) if documents > 2 * len(BAD_KINDS) else 1
    bad = set()
    for index in range(bad_count):
        kind = list(BAD_KINDS)[index % len(BAD_KINDS)]
        name = f"bad-{index:03d}-{kind}"
        (folder / name).write_bytes(BAD_KINDS[kind])
        bad.add(name)
    good = set()
    for index in range(documents - bad_count):
        name, body = _good(index, draw)
        (folder / name).write_text(body, encoding="utf-8")
        good.add(name)
    return good, bad


def _good(index: int, draw: random.Random) -> tuple[str, str]:
    paragraphs = ["Document {0} note {1}: ".format(index, p) + " ".join(draw.choice(_WORDS) for _ in range(120))
                  for p in range(1 + index % 4)]
    kind = index % 3
    if kind == 0:
        return f"good-{index:04d}.md", f"# Survey {index}\n\n" + "\n\n".join(paragraphs)
    if kind == 1:
        return f"good-{index:04d}.html", f"<h1>Survey {index}</h1>" + "".join(f"<p>{p}</p>" for p in paragraphs)
    return f"good-{index:04d}.txt", "\n\n".join(paragraphs)
