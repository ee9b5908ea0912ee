"""The conda environments (envs/*.yaml, `snakemake --sdm conda`) are honest: each lists exactly the third-party
distributions its rules import, with the pins of pyproject.toml and requirements.lock, and the system tools they
call; pyproject.toml pins nothing that nothing imports.

A rule's imports are derived, not listed: Snakemake's own API gives each rule's command line and env file; the
command names a script (``python workflow/scripts/X.py``) or a module (``python -m avsec.X``); an AST walk
follows what runs from there through the library by name (below), imports inside functions,
``LazyModule("name")`` and ``importlib.import_module`` included, and the scripts that library code runs (a string
``workflow/scripts/X.py``: the rehearsal runs the papers' scripts)."""

from __future__ import annotations

import ast
import json
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass, field
from functools import cache
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest
import tomllib
import yaml

from conftest import REPO, VENV_ENV

SRC = REPO / "src"
LIBRARY = "avsec"
REQUIREMENT = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(.*?)\s*$")  # name, then its version specifier
SCRIPT = re.compile(r"^workflow/scripts/[\w-]+\.py$")
# conda packages an env may list besides what its rules import: the interpreter and the installer of its pip list
BASE = {"python", "pip"}
# the system tool a Python wrapper runs: ffmpeg-python builds ffmpeg/ffprobe command lines
TOOLS_OF = {"ffmpeg-python": "ffmpeg"}
# run as commands, never imported: the workflow tools of the .venv (slurm: the executor of slurm/config.yaml)
COMMANDS = {"snakemake", "snakemake-executor-plugin-slurm", "dvc"}

# Loads the workflow with Snakemake's API (as `snakemake` does: config checks included; `_workflow` is the loaded
# workflow, as Snakemake's own command line uses it) and writes, for each rule, its command line, its conda env
# file (resolved against the rule's file, as Snakemake does) and how many outputs it has.
PROBE = """
import json, sys
from pathlib import Path
from snakemake.api import SnakemakeApi
from snakemake.settings.types import ResourceSettings

with SnakemakeApi() as api:
    workflow = api.workflow(ResourceSettings(), snakefile=Path("Snakefile"), workdir=Path.cwd())._workflow
    rules = {
        rule.name: {
            "shell": rule.shellcmd,
            "conda": rule.conda_env and str(Path(rule.basedir.join(rule.conda_env).get_path_or_uri(True)).resolve()),
            "outputs": len(rule.output),
        }
        for rule in workflow.rules
    }
Path(sys.argv[1]).write_text(json.dumps(rules))
"""


@pytest.fixture(scope="module")
def workflow_rules(tmp_path_factory) -> dict[str, dict]:
    """Every rule of the workflow: its command line (None for `run:`, `script:` or a target rule), env, outputs."""
    out = tmp_path_factory.mktemp("rules") / "rules.json"
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(out)], cwd=REPO, capture_output=True, text=True, env=VENV_ENV, timeout=300
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    return json.loads(out.read_text())


@pytest.fixture(scope="module")
def rules(workflow_rules) -> dict[str, dict]:
    """The rules that run a command."""
    return {name: rule for name, rule in workflow_rules.items() if rule["shell"]}


# ---- what a command imports ------------------------------------------------------------------------------------
# Reached code, by name: importing a module runs its top level (classes whole, a function's decorators and
# defaults) and its packages' __init__; a function's body counts once something reached names it (`from m import
# f`, `m.f`, `f` in its own module). So a script that imports `run` from avsec.core.cli does not reach the
# imports inside the `avsec` command's functions, which a precise env must not have to list.
@dataclass
class Reach:
    """Third-party top-level imports and system tools (``shutil.which("tool")``), each → how it is reached."""

    imports: dict[str, str] = field(default_factory=dict)
    tools: dict[str, str] = field(default_factory=dict)
    via: dict[tuple[Path, str | None], tuple[Path, str | None]] = field(default_factory=dict)

    def chain(self, unit: tuple[Path, str | None]) -> str:
        """How the entry point reaches ``unit``: ``script.py → avsec/x.py:f → avsec/y.py``."""
        units = [unit]
        while units[-1] in self.via:
            units.append(self.via[units[-1]])
        return " → ".join(f"{p.relative_to(REPO)}{f':{f}' if f else ''}" for p, f in reversed(units))


def module_file(name: str) -> Path | None:
    """The library file of module ``name`` (a package's ``__init__.py``), or None if it is no module of it."""
    base = SRC.joinpath(*name.split("."))
    for path in (base / "__init__.py", base.with_suffix(".py")):
        if path.is_file():
            return path
    return None


def module_name(path: Path) -> str | None:
    """The dotted name of a library file, None for a script."""
    if not path.is_relative_to(SRC):
        return None
    parts = path.relative_to(SRC).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def entry_points(shell: str) -> list[Path]:
    """The Python files a rule's command line runs: ``python SCRIPT ...`` and ``python -m MODULE ...``."""
    words = shlex.split(shell)
    found = []
    for i, word in enumerate(words[:-1]):
        if word not in ("python", "python3"):
            continue
        if words[i + 1] == "-m" and i + 2 < len(words):
            name = words[i + 2]
            found.append(module_file(f"{name}.__main__") or module_file(name) or REPO / f"missing module {name}")
        else:
            found.append(REPO / words[i + 1])
    return found


@cache
def parse(path: Path) -> ast.Module:
    return ast.parse(path.read_text(), str(path))


@cache
def functions(path: Path) -> dict[str, ast.AST]:
    return {n.name: n for n in parse(path).body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}


@cache
def top_level(path: Path) -> list[ast.AST]:
    """What importing the file runs: every top-level statement but the bodies of its functions."""
    nodes = []
    for stmt in parse(path).body:
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
            nodes += [*stmt.decorator_list, *stmt.args.defaults, *stmt.args.kw_defaults]
        else:
            nodes.append(stmt)
    return [node for node in nodes if node is not None]


@cache
def module_aliases(path: Path) -> dict[str, str]:
    """The names the file binds to library modules (``import avsec.x as y``, ``from avsec.x import y``) → module."""
    aliases = {}
    for node in ast.walk(parse(path)):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name.split(".")[0] == LIBRARY:
                    aliases[a.asname or LIBRARY] = a.name if a.asname else LIBRARY
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith(LIBRARY):
            for a in node.names:
                if module_file(f"{node.module}.{a.name}"):
                    aliases[a.asname or a.name] = f"{node.module}.{a.name}"
    return aliases


def bound(function: ast.AST) -> set[str]:
    """The names a function binds locally: its parameters and the names it assigns."""
    args = function.args
    params = [*args.posonlyargs, *args.args, *args.kwonlyargs, *filter(None, [args.vararg, args.kwarg])]
    stored = {n.id for n in ast.walk(function) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    return {a.arg for a in params} | stored


def dotted(node: ast.AST) -> str | None:
    """``a.b.c`` for an attribute chain on a name."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        head = dotted(node.value)
        return head and f"{head}.{node.attr}"
    return None


def _call_name(node: ast.Call) -> str:
    return dotted(node.func).rpartition(".")[2] if dotted(node.func) else ""


Unit = tuple[Path, "str | None"]  # a file and one of its functions, or None: what importing it runs


def modules(name: str) -> list[Unit]:
    """What importing library module ``name`` runs: its packages' top level and its own."""
    parts = name.split(".")
    files = [module_file(".".join(parts[:depth])) for depth in range(1, len(parts) + 1)]
    return [(path, None) for path in files if path is not None]


def member(name: str, attr: str) -> list[Unit]:
    """What ``from name import attr`` reaches: a submodule, or a function of ``name`` (every one for ``*``)."""
    path = module_file(name)
    if path is None:
        return []
    if attr == "*":
        return [(path, f) for f in functions(path)]
    return modules(f"{name}.{attr}") if module_file(f"{name}.{attr}") else [(path, attr)]


@cache
def edges(unit: Unit) -> tuple[list[Unit], list[str], list[str]]:
    """What running ``unit`` reaches directly: library units, third-party top-level imports, system tools."""
    path, function = unit
    assert path.is_file(), f"{path.relative_to(REPO)}: a rule runs it but it does not exist"
    own = functions(path)
    if function is not None and function not in own:
        return [], [], []  # a class or constant of the module: its top level, reached on import
    units, imports, tools = [], [], []
    here = module_name(path)
    package = here if path.name == "__init__.py" else here and here.rpartition(".")[0]
    aliases = module_aliases(path)
    roots = top_level(path) if function is None else [own[function]]
    if function is not None:  # names the function binds itself (parameters, assignments) shadow the module's
        own = {name: node for name, node in own.items() if name not in bound(own[function])}

    def imported(name: str) -> None:
        top = name.split(".")[0]
        if top == LIBRARY:
            units.extend(modules(name))
        elif top not in sys.stdlib_module_names:
            imports.append(top)

    for node in (n for root in roots for n in ast.walk(root)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                imported(alias.name)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the file's package, one level up per extra dot
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([node.module] if node.module else [])])
            imported(base)
            if base.split(".")[0] == LIBRARY:
                for alias in node.names:
                    units.extend(member(base, alias.name))
        elif isinstance(node, ast.Name) and node.id in own:
            units.append((path, node.id))
        elif isinstance(node, ast.Attribute) and (chain := dotted(node)) and chain.split(".")[0] in aliases:
            owner, _, attr = ".".join([aliases[chain.split(".")[0]], *chain.split(".")[1:]]).rpartition(".")
            units.extend(member(owner, attr))
        elif isinstance(node, ast.Call) and node.args:
            arg, name = node.args[0], _call_name(node)
            if name in ("LazyModule", "import_module"):
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                    imported(arg.value)
                elif isinstance(arg, ast.JoinedStr):  # f"avsec.pkg.{name}": any module of that package, whole
                    prefix = arg.values[0].value if isinstance(arg.values[0], ast.Constant) else ""
                    assert prefix.startswith(f"{LIBRARY}.") and prefix.endswith("."), (
                        f"{path.relative_to(REPO)}:{node.lineno}: a computed import the test cannot follow"
                    )
                    for file in SRC.joinpath(*prefix.rstrip(".").split(".")).rglob("*.py"):
                        units.extend([*modules(module_name(file)), *((file, f) for f in functions(file))])
            elif name == "which" and isinstance(arg, ast.Constant):
                tools.append(arg.value)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and SCRIPT.match(node.value):
            units.append((REPO / node.value, None))
    return units, imports, tools


def reach(entries: list[Path]) -> Reach:
    """Follow what runs from ``entries`` through the library and the scripts it runs."""
    result, done = Reach(), set()
    queue: list[Unit] = [(path, None) for path in entries]
    while queue:
        unit = queue.pop()
        if unit in done:
            continue
        done.add(unit)
        units, imports, tools = edges(unit)
        for top in imports:
            result.imports.setdefault(top, result.chain(unit))
        for tool in tools:
            result.tools.setdefault(tool, result.chain(unit))
        for item in units:
            if item not in done and item not in result.via:
                result.via[item] = unit
            queue.append(item)
    return result


# ---- what the project pins and what an env lists -----------------------------------------------------------
def requirement(entry: str) -> tuple[str, str]:
    """``Foo_Bar==1.0`` → (``foo-bar``, ``==1.0``): the canonical name (PEP 503) and the version specifier."""
    name, spec = REQUIREMENT.match(entry).groups()
    return re.sub(r"[-_.]+", "-", name).lower(), spec.replace(" ", "")


@cache
def pins() -> dict[str, str]:
    """pyproject.toml's direct dependencies: canonical name → the pinned requirement (``name==version``)."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    return dict(requirement(dep) for dep in project["dependencies"])


@cache
def dev_pins() -> set[str]:
    """pyproject.toml's dev extra (the test and lint tools)."""
    extras = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    return {requirement(dep)[0] for dep in extras["dev"]}


@cache
def lock() -> dict[str, str]:
    lines = (REPO / "requirements.lock").read_text().splitlines()
    return dict(requirement(line) for line in lines if line.strip())


@cache
def distributions() -> dict[str, list[str]]:
    return {top: [requirement(d)[0] for d in dists] for top, dists in packages_distributions().items()}


def distribution(top: str, where: str, pinned: set[str] | None = None) -> str:
    """The pinned distribution (of ``pinned``, else of pyproject.toml's dependencies) that provides import ``top``."""
    dists = [d for d in distributions().get(top, []) if d in (pinned or pins())]
    assert len(dists) == 1, f"{where} imports {top}: provided by {dists or 'no'} pinned distribution of pyproject.toml"
    return dists[0]


@dataclass
class Env:
    path: Path
    conda: list[str]  # conda package names
    pip: dict[str, str]  # canonical name → specifier
    raw: list[str]  # the pip entries as written


def read_env(path: Path) -> Env:
    data = yaml.safe_load(path.read_text())
    conda, raw = [], []
    for dep in data["dependencies"]:
        if isinstance(dep, dict):
            raw += dep["pip"]
        else:
            conda.append(re.split(r"[=<>! ]", dep)[0])
    pip = dict(requirement(entry) for entry in raw if not entry.startswith("-"))
    return Env(path, conda, pip, raw)


@dataclass
class Needs:
    """What one rule needs: distribution → why (the file importing it), system tool → why."""

    pip: dict[str, str]
    tools: dict[str, str]


@cache
def needs(shell: str) -> Needs:
    found = reach(entry_points(shell))
    pip = {distribution(top, where): f"{where} imports {top}" for top, where in found.imports.items()}
    tools = {tool: f"{where} calls it" for tool, where in found.tools.items()}
    for dist, why in pip.items():
        if dist in TOOLS_OF:
            tools.setdefault(TOOLS_OF[dist], f"{why} ({dist} runs it)")
    return Needs(pip, tools)


# ---- the tests -------------------------------------------------------------------------------------------------
def test_every_rule_that_makes_files_runs_a_command_in_an_env_file(workflow_rules, rules):
    assert len(rules) > 20
    makers = {name for name, rule in workflow_rules.items() if rule["outputs"]}
    assert makers == set(rules), f"rules with outputs but no shell: command the test can follow: {makers - set(rules)}"
    missing = [name for name, rule in rules.items() if not rule["conda"] or not Path(rule["conda"]).is_file()]
    assert not missing, f"rules without a conda: env file: {missing}"


def test_every_rule_runs_python_the_test_can_follow(rules):
    for name, rule in rules.items():
        entries = entry_points(rule["shell"])
        assert entries, f"rule {name}: no `python SCRIPT` or `python -m MODULE` in {rule['shell']!r}"
        assert all(path.is_file() for path in entries), f"rule {name}: {entries}"


def test_each_rule_env_lists_what_the_rule_imports_with_the_projects_pins(rules):
    problems = []
    for name, rule in sorted(rules.items()):
        env, need = read_env(Path(rule["conda"])), needs(rule["shell"])
        where = Path(rule["conda"]).relative_to(REPO)
        for dist, why in sorted(need.pip.items()):
            if dist not in env.pip:
                problems.append(f"rule {name}: {why}, but {where} does not list {dist}")
            elif env.pip[dist] != pins()[dist]:
                problems.append(f"rule {name}: {where} pins {dist}{env.pip[dist]}, pyproject.toml {pins()[dist]}")
        for tool, why in sorted(need.tools.items()):
            if tool not in env.conda:
                problems.append(f"rule {name}: {why}, but {where} does not list the conda package {tool}")
    assert not problems, "\n".join(problems)


def test_each_env_lists_nothing_its_rules_never_import(rules):
    used: dict[str, set[str]] = {}
    tools: dict[str, set[str]] = {}
    for rule in rules.values():
        need = needs(rule["shell"])
        used.setdefault(rule["conda"], set()).update(need.pip)
        tools.setdefault(rule["conda"], set()).update(need.tools)
    assert set(used) == {str(p) for p in (REPO / "envs").glob("*.yaml")}, "an env file no rule uses"
    problems = []
    for path in sorted(used):
        env, where = read_env(Path(path)), Path(path).relative_to(REPO)
        problems += [f"{where} lists {dist}, which none of its rules imports" for dist in set(env.pip) - used[path]]
        extra = set(env.conda) - BASE - tools[path]
        problems += [f"{where} lists the conda package {pkg}, which none of its rules calls" for pkg in extra]
        # the library itself comes from the env's post-deploy script, with --no-deps: a `-e` or path entry here
        # would install pyproject.toml's every dependency into each env
        problems += [f"{where} installs {entry!r} through pip" for entry in env.raw if entry.startswith("-")]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("env", sorted(p.name for p in (REPO / "envs").glob("*.yaml")))
def test_env_installs_the_library_without_its_dependencies(env):
    """Snakemake runs ``envs/<env>.post-deploy.sh`` in a new env; all of them are the one installer script."""
    deploy = REPO / "envs" / env.replace(".yaml", ".post-deploy.sh")
    installer = REPO / "envs" / "install-avsec.sh"
    assert deploy.resolve() == installer, f"{deploy.relative_to(REPO)} is not a link to {installer.name}"
    commands = [shlex.split(line) for line in installer.read_text().splitlines() if "pip" in line.split("#")[0]]
    assert [c for c in commands if {"install", "--no-deps", "-e"} <= set(c)], installer.read_text()


def test_installer_run_outside_the_repository_is_one_error_line_naming_the_directory(tmp_path):
    installer = REPO / "envs" / "install-avsec.sh"
    done = subprocess.run(["bash", str(installer)], cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1 and done.stderr.startswith(f"error: {tmp_path}: not the avsec repository root")
    assert not done.stdout


def test_pyproject_pins_what_the_project_imports_and_the_lock_agrees():
    """Every pinned dependency is imported by the library, a script, a benchmark or a test, or is a workflow tool;
    requirements.lock pins each at pyproject.toml's version."""
    code = [*SRC.rglob("*.py"), *(REPO / "workflow").rglob("*.py"), *(REPO / "bench").rglob("*.py")]
    code += [*(REPO / "tests").rglob("*.py")]
    local = {path.stem for path in code}  # the tests' and benchmarks' own modules (conftest, timing, ...)
    found = reach(code).imports.items()
    imported = {distribution(top, where, set(pins()) | dev_pins()) for top, where in found if top not in local}
    unused = set(pins()) - imported - COMMANDS
    assert not unused, f"pyproject.toml pins {sorted(unused)}, which nothing imports"
    assert COMMANDS <= set(pins())
    mismatched = {name: (spec, lock().get(name)) for name, spec in pins().items() if spec != lock().get(name)}
    assert not mismatched, f"pyproject.toml and requirements.lock differ: {mismatched}"
