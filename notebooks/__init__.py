"""Not a library: this file only makes pytest import ``notebooks/conftest.py`` as
``notebooks.conftest``, so that it does not take the module name ``conftest`` from
``tests/conftest.py`` (test modules there do ``from conftest import reply``).
"""
