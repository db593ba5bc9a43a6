"""The optional C helper of the split (trimtab.dsl._splitcore, docs/dependencies.md): built
when a C compiler and the Python headers are there, else left out (the Python path decides
every split then).  Everything else about the package is in pyproject.toml."""
from setuptools import Extension, setup

setup(ext_modules=[Extension("trimtab.dsl._splitcore", ["dsl/_splitcore.c"], depends=["dsl/_splitdec.h"],
                             optional=True)])
