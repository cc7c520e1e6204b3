"""A cfg as a wrong parser reads it: each [maxpool] section without a key gets the value that parser defaults to."""

import re
import tempfile
from pathlib import Path


def maxpool_default(cfg: str, key: str, value) -> str:
    """A copy of ``cfg`` where every [maxpool] section lacking ``key`` has ``key=value(section)``; its path."""
    sections = re.split(r"(?m)^(?=\[)", Path(cfg).read_text())
    out = [section.rstrip("\n") + f"\n{key}={value(section)}\n\n" if section.startswith("[maxpool]")
           and not re.search(rf"(?m)^{key}\s*=", section) else section for section in sections]
    path = Path(tempfile.mkdtemp(prefix="wrong-cfg-")) / Path(cfg).name
    path.write_text("".join(out))
    return str(path)
