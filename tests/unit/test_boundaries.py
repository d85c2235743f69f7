"""Each service is its own package: it imports contracts from shared/, never another service."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SERVICES = sorted(p.name for p in (ROOT / "services").iterdir() if (p / "__init__.py").exists())


def imported_modules(path: Path) -> set[str]:
    modules: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            modules.add(node.module)
    return modules


@pytest.mark.parametrize("service", SERVICES)
def test_a_service_imports_no_other_service(service: str) -> None:
    offending = {
        f"{path.relative_to(ROOT)} imports {module}"
        for path in (ROOT / "services" / service).rglob("*.py")
        for module in imported_modules(path)
        if module.startswith("services.") and not module.startswith(f"services.{service}")
    }
    assert not offending


def test_the_shared_kernel_imports_no_service() -> None:
    offending = {
        str(path.relative_to(ROOT))
        for path in (ROOT / "shared").rglob("*.py")
        if any(m.startswith("services") for m in imported_modules(path))
    }
    assert not offending


def test_all_five_services_exist_and_run_as_modules() -> None:
    assert SERVICES == ["cards", "distribution", "helpline", "registry", "reporting"]
    assert all((ROOT / "services" / s / "__main__.py").exists() for s in SERVICES)
