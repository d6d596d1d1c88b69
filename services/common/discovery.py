"""Find a service's nameko class by name without importing the runner (which monkey-patches eventlet)."""

from __future__ import annotations

import importlib


def service_class(name: str) -> type:
    """The nameko service class of ``services.<name>.service`` whose ``name`` attribute is ``name``.

    Raises ``LookupError`` if the module defines none.
    """
    module = importlib.import_module(f"services.{name}.service")
    for value in vars(module).values():
        if isinstance(value, type) and getattr(value, "name", None) == name and value.__module__ == module.__name__:
            return value
    raise LookupError(f"services.{name}.service defines no class with name = {name!r}")
