"""Every RPC the gateway calls exists in the service and accepts the arguments given (a guard against drift
between the gateway and the services, which are built in parallel). Reads the gateway's source: no service
needed."""

from __future__ import annotations

import ast
import importlib
import inspect
from pathlib import Path

GATEWAY = Path(__file__).resolve().parents[2] / "gateway"
#: Helpers that forward (service, method, *args); those marked True prepend the principal.
CALLERS = {"call": False, "call_as_user": True, "_try": True}


def gateway_calls():
    for path in sorted(GATEWAY.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in CALLERS:
                first = node.args[:2]
                if len(first) == 2 and all(isinstance(a, ast.Constant) for a in first):
                    count = len(node.args) - 2 + CALLERS[node.func.id]
                    yield first[0].value, first[1].value, count, f"{path.name}:{node.lineno}"


def service_class(name: str):
    module = importlib.import_module(f"services.{name}.service")
    return next(c for _, c in inspect.getmembers(module, inspect.isclass) if getattr(c, "name", None) == name)


def test_every_rpc_called_by_the_gateway_exists_with_a_matching_signature():
    calls = list(gateway_calls())
    assert len(calls) > 50
    problems = []
    for service, method, count, where in calls:
        function = getattr(service_class(service), method, None)
        if function is None:
            problems.append(f"{where}: {service}.{method} does not exist")
            continue
        params = list(inspect.signature(function).parameters.values())[1:]
        required = sum(1 for p in params if p.default is inspect.Parameter.empty)
        if not required <= count <= len(params):
            problems.append(f"{where}: {service}.{method} called with {count} arguments, takes {required}-{len(params)}")
    assert problems == []
