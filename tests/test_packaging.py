"""One distribution ships both packages; a wheel from a clean tree works in a fresh venv."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow


def _clean_tree(dest: Path) -> Path:
    """The files a fresh clone would have: git's tracked and untracked-but-not-ignored files."""
    try:
        listed = (
            subprocess.run(
                ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
                cwd=REPO,
                check=True,
                capture_output=True,
            )
            .stdout.decode()
            .split("\0")
        )
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    for name in filter(None, listed):
        src = REPO / name
        if src.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)
    return dest


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tree = _clean_tree(tmp_path_factory.mktemp("clone"))
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out), str(tree)],
        check=True,
    )
    (built,) = out.glob("mijnklantportaal-*.whl")
    return built


def test_wheel_ships_both_packages_typed(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for package in ("mijnklantportaal", "mijnklantportaal_api"):
        assert f"{package}/__init__.py" in names
        assert f"{package}/py.typed" in names
    assert "mijnklantportaal_api/models/invoice.py" in names
    assert not any(
        "__pycache__" in n or n.startswith(("tests/", "generated/", "wrapper/")) for n in names
    )
    metadata = next(n for n in names if n.endswith(".dist-info/METADATA"))
    text = zipfile.ZipFile(wheel).read(metadata).decode()
    for requirement in ("httpx", "attrs", "python-dateutil"):
        assert f"Requires-Dist: {requirement}" in text


def test_wheel_installs_and_imports_in_fresh_venv(wheel: Path, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", str(wheel)],
        check=True,
    )
    probe = subprocess.run(
        [
            str(python),
            "-c",
            "import mijnklantportaal, mijnklantportaal_api, mijnklantportaal_api.models as m;"
            "print(mijnklantportaal.__version__, m.Invoice.__name__, mijnklantportaal.__file__)",
        ],
        check=True,
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    version, model, location = probe.stdout.split()
    assert model == "Invoice"
    assert version == wheel.name.split("-")[1]
    assert str(venv) in location, "imported from the source tree, not the installed wheel"
