"""The one thing pyproject.toml cannot say: which packages, since one of them is a mapped folder.

The repository keeps its bundled files (sample packs, icons) in ``resources/``; installed, they
must live inside the package, as ``stella_desktop/resources``, so that a wheel carries them.
``[tool.setuptools.packages.find]`` cannot add a mapped folder to what it finds, so the list is
made here; everything else is in pyproject.toml.
"""

from setuptools import find_packages, setup

setup(
    packages=find_packages(include=["core", "core.*", "stella_desktop", "stella_desktop.*"])
    + ["stella_desktop.resources"],
    package_dir={"stella_desktop.resources": "resources"},
)
