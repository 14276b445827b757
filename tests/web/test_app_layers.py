"""The apps' layering (STYLE.md, "Where code goes"): merges build on branches, so no module of
``branches/`` imports ``merges`` (at the top or inside a function); a branch page that shows merge
requests gets them from ``merges`` as a fragment (the dashboard's ``open_merge_requests_box``)."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def imported_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_branches_imports_nothing_from_merges():
    sources = sorted((ROOT / "branches").rglob("*.py"))
    assert sources
    offenders = {str(p.relative_to(ROOT)): sorted(m for m in imported_modules(p) if m.split(".")[0] == "merges")
                 for p in sources}
    assert {p: m for p, m in offenders.items() if m} == {}
