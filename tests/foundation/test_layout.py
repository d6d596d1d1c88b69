"""The shape every service shares, and documentation that must follow the code."""

import ast

import pytest

from services.common.config import REPO_ROOT, SERVICE_NAMES
from services.common.events import EVENTS
from services.common.migrations import head_revision, migrations_dir
from services.common.discovery import service_class

SHAPE = ("service.py", "models.py", "schemas.py", "exceptions.py", "migrations/env.py",
         "migrations/script.py.mako")


@pytest.mark.parametrize("service", SERVICE_NAMES)
def test_service_folder_has_the_common_shape(service):
    folder = REPO_ROOT / "services" / service
    for name in SHAPE:
        assert (folder / name).is_file(), f"services/{service}/{name} is missing"
    assert head_revision(service) is not None
    assert list((migrations_dir(service) / "versions").glob("*.py"))


@pytest.mark.parametrize("service", SERVICE_NAMES)
def test_service_class_has_health_and_own_base(service):
    cls = service_class(service)
    assert cls.name == service
    __import__(f"services.{service}.exceptions")  # the gateway imports every one of them
    assert hasattr(cls, "health")
    models = __import__(f"services.{service}.models", fromlist=["Base"])
    other_bases = {__import__(f"services.{other}.models", fromlist=["Base"]).Base.metadata
                   for other in SERVICE_NAMES if other != service}
    assert models.Base.metadata not in other_bases


@pytest.mark.parametrize("service", SERVICE_NAMES)
def test_services_import_nameko_entrypoints_only_from_common(service):
    """Plain nameko ``rpc``/``event_handler`` would commit after the reply; services use services.common's."""
    tree = ast.parse((REPO_ROOT / "services" / service / "service.py").read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module in ("nameko.rpc", "nameko.events"):
            assert not {"rpc", "event_handler"} & {alias.name for alias in node.names}, service


def test_no_service_imports_another_services_modules():
    for service in SERVICE_NAMES:
        for path in (REPO_ROOT / "services" / service).rglob("*.py"):
            tree = ast.parse(path.read_text())
            for node in ast.walk(tree):
                modules = []
                if isinstance(node, ast.ImportFrom) and node.module:
                    modules = [node.module]
                elif isinstance(node, ast.Import):
                    modules = [alias.name for alias in node.names]
                for module in modules:
                    parts = module.split(".")
                    if parts[0] == "services" and len(parts) > 1:
                        assert parts[1] in (service, "common"), f"{path} imports {module}"


def test_every_declared_event_is_documented():
    text = (REPO_ROOT / "docs" / "events.md").read_text()
    for name, spec in EVENTS.items():
        assert f"`{name}`" in text, name
        for field in spec.fields:
            assert f"`{field}`" in text, (name, field)
