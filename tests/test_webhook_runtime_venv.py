"""The Lambda image's dependency set, tested without Docker.

1. A venv gets exactly ``requirements.txt`` (binary wheels only, as the Dockerfile installs it);
   in it, ``webhook.main.handler`` is imported and classifies a real photo through a Function URL
   event. Nothing else is importable there: no TensorFlow, no torch, no test-only packages.
   The installed size is reported (target: <= 250 MB, small enough for a zip deployment too).
2. The same pins resolve to binary wheels for CPython 3.12 on manylinux x86_64 and aarch64,
   the Lambda base image's Python (``public.ecr.aws/lambda/python:3.12``).

The venv is cached under ``build/`` keyed by the hash of requirements.txt and the interpreter,
so only the first run (or a changed pin) pays for the install. Both tests need a package index
for that (the only tests of the suite that do) and skip, saying so, when none is reachable; a
cached venv is used without one.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.support.extras import package_index_problem, pip_env

ROOT = Path(__file__).resolve().parent.parent
REQUIREMENTS = ROOT / "requirements.txt"
SIZE_LIMIT_MB = 250
PIP_TIMEOUT = 600


def _venv_dir() -> Path:
    key = hashlib.sha256(
        REQUIREMENTS.read_bytes() + sys.version.encode() + sys.platform.encode()
    ).hexdigest()[:16]
    return ROOT / "build" / f"runtime-venv-{key}"


def _site_packages(venv: Path) -> Path:
    (site,) = venv.glob("lib/python*/site-packages")
    return site


def _tree_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


# The venv's own installer, which the image (pip install --target) does not contain.
_VENV_TOOLING = ("pip", "setuptools", "_distutils_hack", "pkg_resources", "distutils-precedence")


def _installed_size(site: Path) -> int:
    return sum(
        _tree_size(entry) if entry.is_dir() else entry.stat().st_size
        for entry in site.iterdir()
        if not entry.name.startswith(_VENV_TOOLING)
    )


def _pip_env() -> dict[str, str]:
    return {**pip_env(), "PIP_DEFAULT_TIMEOUT": "60", "PIP_RETRIES": "2"}


def _skip_without_a_package_index() -> None:
    problem = package_index_problem()
    if problem is not None:
        pytest.skip(f"{problem}; this test installs the runtime pins from a package index")


@pytest.fixture(scope="module")
def runtime_venv() -> Path:
    venv = _venv_dir()
    marker = venv / ".complete"
    if not marker.exists():
        _skip_without_a_package_index()
        subprocess.run(["rm", "-rf", str(venv)], check=True)
        base_python = getattr(sys, "_base_executable", sys.executable)
        subprocess.run([base_python, "-m", "venv", str(venv)], check=True, timeout=120)
        subprocess.run(
            [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet",
             "--only-binary=:all:", "-r", str(REQUIREMENTS)],
            check=True, timeout=PIP_TIMEOUT, env=_pip_env(),
        )  # fmt: skip
        marker.write_text("ok\n")
    return venv


def test_handler_classifies_a_photo_in_a_venv_of_exactly_the_runtime_pins(runtime_venv, tmp_path):
    site = _site_packages(runtime_venv)
    packages_mb = _installed_size(site) / 1e6
    app_mb = (
        sum(_tree_size(ROOT / name) for name in ("classifier", "bot", "webhook", "model")) / 1e6
    )

    script = textwrap.dedent(
        """
        import importlib.util, json, sys, time
        t0 = time.perf_counter()
        from webhook.main import handler
        t_import = time.perf_counter() - t0
        from tests.support.lambda_events import (
            FakeLambdaContext, http_event, read_result, upload_event)
        photo = open("tests/fixtures/photos/dog_beagle.jpg", "rb").read()
        t1 = time.perf_counter()
        api = read_result(handler(upload_event("/api/classify", "b.jpg", photo, "image/jpeg"),
                                  FakeLambdaContext()))
        t_first = time.perf_counter() - t1
        t2 = time.perf_counter()
        again = read_result(handler(upload_event("/api/classify", "b.jpg", photo, "image/jpeg"),
                                    FakeLambdaContext()))
        t_warm = time.perf_counter() - t2
        health = read_result(handler(http_event("GET", "/healthz"), FakeLambdaContext()))
        forbidden = [m for m in ("tensorflow", "torch", "keras", "pytest", "selenium")
                     if importlib.util.find_spec(m) is not None]
        import fastapi
        print(json.dumps({
            "status": api.status, "body": api.json(), "again": again.status,
            "health": health.json(), "forbidden": forbidden, "fastapi": fastapi.__file__,
            "import_s": t_import, "first_request_s": t_first, "warm_request_s": t_warm,
        }))
        """
    )
    env = _pip_env()
    env["PYTHONPATH"] = str(ROOT)  # the code, as in ${LAMBDA_TASK_ROOT}; packages from the venv
    env["HOME"] = str(tmp_path)
    for name in [k for k in env if k.startswith(("TELEGRAM_", "WEBHOOK_", "BREEDBOT_"))]:
        del env[name]
    proc = subprocess.run(
        [str(runtime_venv / "bin" / "python"), "-s", "-c", script],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-4000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])

    assert result["status"] == 200 and result["again"] == 200
    assert result["body"]["breed"] == "beagle" and result["body"]["species"] == "dog"
    assert result["health"]["model_loaded"] is True and result["health"]["labels"] == 135
    assert result["forbidden"] == [], "the runtime set must not pull these in"
    assert result["fastapi"].startswith(str(runtime_venv))

    report = {
        "python": sys.version.split()[0],
        "site_packages_mb": round(packages_mb, 1),
        "app_and_model_mb": round(app_mb, 1),
        "total_mb": round(packages_mb + app_mb, 1),
        "import_handler_s": round(result["import_s"], 3),
        "first_request_s": round(result["first_request_s"], 3),
        "warm_request_s": round(result["warm_request_s"], 3),
    }
    (ROOT / "build" / "runtime-venv-report.json").write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nruntime venv: {json.dumps(report)}")
    assert packages_mb + app_mb <= SIZE_LIMIT_MB, report


@pytest.mark.parametrize("arch", ["x86_64", "aarch64"])
def test_runtime_pins_have_wheels_for_the_lambda_python(arch, tmp_path):
    _skip_without_a_package_index()
    platforms = [f"manylinux_2_{v}_{arch}" for v in (28, 27, 17)] + [f"manylinux2014_{arch}"]
    command = [
        sys.executable, "-m", "pip", "install", "--dry-run", "--quiet", "--ignore-installed",
        "--only-binary=:all:", "--python-version", "3.12", "--implementation", "cp",
        "--abi", "cp312", "--abi", "abi3", "--abi", "none",
        *[arg for platform in platforms for arg in ("--platform", platform)],
        "--target", str(tmp_path / "target"), "--report", str(tmp_path / "report.json"),
        "-r", str(REQUIREMENTS),
    ]  # fmt: skip
    proc = subprocess.run(
        command, capture_output=True, text=True, timeout=PIP_TIMEOUT, env=_pip_env()
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    installed = {
        item["metadata"]["name"].lower().replace("_", "-")
        for item in json.loads((tmp_path / "report.json").read_text())["install"]
    }
    assert {"ai-edge-litert", "numpy", "pillow", "fastapi", "mangum"} <= installed
    assert not installed & {"tensorflow", "torch", "keras"}
