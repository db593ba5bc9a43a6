"""The house's shape (issue 14): no import circle among dsl/ and server/, none between the rooms
of server/ (each imports only the rooms below it), dsl/ never imports server/, no module over
400 lines (the tests', benches' and scripts' too).  Imports are read from the code (all of
them, also those inside functions), under the installed names trimtab.dsl.* and trimtab.server.*."""
from __future__ import annotations

import ast
from pathlib import Path

from conftest import ROOT

MAX_LINES = 400
FOLDERS = {"dsl": "trimtab.dsl", "server": "trimtab.server"}


def modules() -> dict[str, Path]:
    found = {}
    for folder, name in FOLDERS.items():
        for path in sorted((ROOT / folder).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            rel = path.relative_to(ROOT / folder).with_suffix("").parts
            parts = [name, *rel]
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join(parts)] = path
    return found


def imports(name: str, path: Path, known) -> set[str]:
    """The project's modules that `name` imports (a package's names resolved to its modules)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join(up + ([base] if base else []))
            # `from pkg import module` depends on the module; `from pkg import name`, on pkg
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base
                       for a in node.names]
        else:
            continue
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name:
                out.add(target)
    return out


def graph():
    known = modules()
    return {name: imports(name, path, known) for name, path in known.items()}


def circles(edges) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index, low, on, stack, out, counter = {}, {}, set(), [], [], [0]
    for root in edges:
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = counter[0]
        counter[0] += 1
        stack.append(root)
        on.add(root)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter[0]
                    counter[0] += 1
                    stack.append(child)
                    on.add(child)
                    work.append((child, iter(sorted(edges.get(child, ())))))
                    break
                if child in on:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    group = []
                    while True:
                        member = stack.pop()
                        on.discard(member)
                        group.append(member)
                        if member == node:
                            break
                    if len(group) > 1:
                        out.append(sorted(group))
    return out


def test_no_import_circle():
    found = circles(graph())
    assert not found, found


# The rooms of server/ from the bottom up: its folders, its top-level modules and the package
# itself.  A room imports only the rooms before it here (docs/server.md, "How the server is built").
ROOMS = ["__init__.py", "messages.py", "config.py", "core/", "storage/", "auth/", "domain/",
         "connectors/", "jobs/", "web/", "plugin/", "app.py", "gunicorn_conf.py", "wsgi.py", "cli/"]


def room(module: str) -> str | None:
    """`module`'s room: the folder under server/ that holds it, or its own file there."""
    parts = module.split(".")
    if parts[:2] != ["trimtab", "server"]:
        return None
    if len(parts) == 2:
        return "__init__.py"
    return parts[2] + "/" if (ROOT / "server" / parts[2]).is_dir() else parts[2] + ".py"


def room_edges(edges) -> dict[tuple[str, str], list[str]]:
    """(importer's room, imported room) → the module imports that make it, "a -> b"."""
    out: dict[tuple[str, str], list[str]] = {}
    for name, targets in edges.items():
        for target in targets:
            a, b = room(name), room(target)
            if a and b and a != b:
                out.setdefault((a, b), []).append(f"{name} -> {target}")
    return out


def test_no_circle_between_the_rooms():
    by_pair = room_edges(graph())
    rooms: dict[str, set[str]] = {}
    for a, b in by_pair:
        rooms.setdefault(a, set()).add(b)
    found = circles(rooms)
    # the imports between the rooms of each circle, the rarest direction first (likely the wrong one)
    pairs = [((a, b), lines) for group in found for (a, b), lines in by_pair.items()
             if a in group and b in group]
    shown = [f"{a} -> {b} ({len(lines)}):\n    " + "\n    ".join(sorted(lines))
             for (a, b), lines in sorted(pairs, key=lambda p: (len(p[1]), p[0]))]
    assert not found, "rooms in a circle: " + "; ".join(" ".join(g) for g in found) + \
        "\n  " + "\n  ".join(shown)


def test_each_room_imports_only_the_rooms_below_it():
    known = {room(name) for name in modules() if room(name)}
    assert known == set(ROOMS), f"place every room of server/ in ROOMS: {sorted(known ^ set(ROOMS))}"
    upward = sorted(line for (a, b), lines in room_edges(graph()).items()
                    if ROOMS.index(b) > ROOMS.index(a) for line in lines)
    assert not upward, "imports of a room above:\n  " + "\n  ".join(upward)


def test_the_circle_finder_finds_circles():
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert circles({"a": {"b"}, "b": set()}) == []


def test_the_language_never_imports_the_server():
    wrong = {name: sorted(t for t in targets if t.startswith("trimtab.server"))
             for name, targets in graph().items() if name.startswith("trimtab.dsl")}
    assert not {k: v for k, v in wrong.items() if v}


def every_module() -> list[Path]:
    """Every Python module in the repository: the house's and its tests', benches' and scripts'
    (the migrations aside: 0007 hashes the audit chain as it stood)."""
    return sorted(path for folder in ("dsl", "server", "tests", "scripts")
                  for path in (ROOT / folder).rglob("*.py") if "migrations" not in path.parts)


def test_no_module_over_400_lines():
    found = every_module()
    assert set(modules().values()) <= set(found) and any("bench" in p.parts for p in found)
    long = {str(path.relative_to(ROOT)): n for path in found
            if (n := len(path.read_text().splitlines())) > MAX_LINES}
    assert not long, long


def test_rooms_are_the_folders_and_files_of_server():
    assert room("trimtab.server.web.api_models.common") == "web/"
    assert room("trimtab.server.app") == "app.py" and room("trimtab.server") == "__init__.py"
    assert room("trimtab.dsl.parser") is None


def test_the_graph_sees_the_imports():
    edges = graph()
    assert "trimtab.server.core.errors" in edges["trimtab.server.web.intake"]
    assert "trimtab.dsl.diagnostics" in edges["trimtab.dsl.parser"] or \
        any(t.startswith("trimtab.dsl") for t in edges["trimtab.dsl.parser"])


# The workbench's HTML pages are a client of its JSON API: they call its views in process
# (workbench_pages.call), so they import those route modules whole.
CALLS_THE_API = {"trimtab.server.web.workbench_pages", "trimtab.server.web.workbench_parts"}


def route_modules() -> set[str]:
    return {name for name, path in modules().items() if "Blueprint(" in path.read_text()}


def borrowed_from_routes() -> dict[str, list[str]]:
    """What a module takes from a route module other than its blueprint: a helper that belongs
    in web/http.py, web/contract.py or a module of its own, not in another route's file.  A
    module that adds routes to another's blueprint (imports its `bp`: sign_in.py and oauth.py,
    workbench_pages.py and workbench_parts.py) is that blueprint's second file and may take
    the rest of its first file's names too."""
    known, routes, found = modules(), route_modules(), {}
    for name, path in known.items():
        tree = ast.parse(path.read_text(), str(path))
        froms = [node for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module]
        same_blueprint = {node.module for node in froms if any(a.name == "bp" for a in node.names)}
        for node in froms:
            for alias in node.names:
                whole = f"{node.module}.{alias.name}"
                if node.module in routes and node.module not in same_blueprint | {name}:
                    found.setdefault(name, []).append(whole)
                elif whole in routes and name not in CALLS_THE_API:
                    found.setdefault(name, []).append(whole)
    return found


def test_no_module_borrows_a_helper_from_a_route_module():
    assert not borrowed_from_routes()


def test_borrowing_from_a_route_module_is_seen():
    routes = route_modules()
    assert {"trimtab.server.web.api", "trimtab.server.web.intake",
            "trimtab.server.plugin.routes"} <= routes
    assert "trimtab.server.web.http" not in routes and "trimtab.server.web.submitting" not in routes
