"""Build hook (the rest of the packaging is in pyproject.toml): a wheel carries the golden vectors, so that
``cfc-ref conformance`` works from a ``pip install`` as from a checkout (spec C-2.8)."""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py


class BuildWithGolden(build_py):
    def run(self) -> None:
        super().run()
        golden = Path(__file__).resolve().parent / "golden"
        if golden.is_dir():
            target = Path(self.build_lib) / "cfc_ref" / "conformance" / "golden"
            shutil.copytree(golden, target, dirs_exist_ok=True)


setup(cmdclass={"build_py": BuildWithGolden})
