"""Only what pyproject.toml cannot say: the message catalogues (bot/locale/*.po) are
compiled to .mo while the package is built, so a wheel, a `pip install` and an editable
install (`make`) all carry them."""

from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from setuptools import setup
from setuptools.command.build_py import build_py

CATALOGUES = "bot/locale/*/LC_MESSAGES/*.po"


class BuildWithCatalogues(build_py):
    def run(self) -> None:
        super().run()
        # An editable install reads the source tree: the .mo files go beside the .po.
        root = Path(".") if getattr(self, "editable_mode", False) else Path(self.build_lib)
        for po in sorted(Path(".").glob(CATALOGUES)):
            mo = root / po.with_suffix(".mo")
            mo.parent.mkdir(parents=True, exist_ok=True)
            with po.open("rb") as source:
                catalogue = read_po(source)
            with mo.open("wb") as target:
                write_mo(target, catalogue)


setup(cmdclass={"build_py": BuildWithCatalogues})
