"""Static checks of the deployment files (no Docker or AWS here): they say what the issue and
docs/deploy.md promise, and nothing account-specific or secret is written in them."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = (ROOT / "Dockerfile").read_text()
BUILDSPEC = (ROOT / "buildspec.yaml").read_text()
TEMPLATE = (ROOT / "template.yaml").read_text()
DOCKERIGNORE = (ROOT / ".dockerignore").read_text().split()


def _code(text: str) -> str:
    """The lines that are not comments."""
    return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))


def test_dockerfile_installs_exactly_the_runtime_pins_and_copies_the_code():
    assert re.search(r"^FROM public\.ecr\.aws/lambda/python:3\.1[23]$", DOCKERFILE, re.M)
    assert '-r "${LAMBDA_TASK_ROOT}/requirements.txt"' in DOCKERFILE
    assert '--target "${LAMBDA_TASK_ROOT}"' in DOCKERFILE
    for path in ("classifier/", "bot/", "webhook/", "model/", "unique_labels.csv"):
        assert re.search(rf"^COPY {re.escape(path)} \$\{{LAMBDA_TASK_ROOT\}}/", DOCKERFILE, re.M)
        assert f"!{path.rstrip('/')}" in DOCKERIGNORE
    assert DOCKERFILE.rstrip().endswith('CMD ["webhook.main.handler"]')
    module, _, attribute = "webhook.main.handler".rpartition(".")
    assert callable(getattr(importlib.import_module(module), attribute))
    pins = _code((ROOT / "requirements.txt").read_text()).lower()
    for heavy in ("tensorflow", "torch", "keras"):
        assert heavy not in pins


def test_buildspec_tags_by_commit_and_updates_the_function():
    assert "docker build --provenance=false" in BUILDSPEC
    assert "$CODEBUILD_RESOLVED_SOURCE_VERSION" in BUILDSPEC.replace("{", "").replace("}", "")
    assert "aws ecr get-login-password" in BUILDSPEC
    assert "docker push" in BUILDSPEC
    assert "aws lambda update-function-code" in BUILDSPEC and "--image-uri" in BUILDSPEC
    assert "aws lambda wait function-updated" in BUILDSPEC
    assert ":latest" not in _code(BUILDSPEC)


def test_template_is_an_image_function_with_a_url_and_secret_references():
    assert "Transform: AWS::Serverless-2016-10-31" in TEMPLATE
    assert "PackageType: Image" in TEMPLATE
    for key in ("Dockerfile: Dockerfile", "DockerContext: .", "DockerTag:"):
        assert key in TEMPLATE
    assert "FunctionUrlConfig:" in TEMPLATE and "InvokedViaFunctionUrl: true" in TEMPLATE
    for variable in ("TELEGRAM_BOT_TOKEN", "TELEGRAM_WEBHOOK_SECRET"):
        line = next(line for line in TEMPLATE.splitlines() if f"{variable}:" in line)
        assert "{{resolve:secretsmanager:" in line
    assert re.search(r"MemorySize:\s*\n(?:.*\n)*?\s+Default: 1769", TEMPLATE)


def test_nothing_account_specific_or_secret_is_committed():
    for name, text in (("buildspec", BUILDSPEC), ("template", TEMPLATE), ("docker", DOCKERFILE)):
        assert not re.search(r"(?<!\d)\d{12}(?!\d)", text), f"an account id in {name}"
        assert not re.search(r"\d{6,}:[A-Za-z0-9_-]{30,}", text), f"a bot token in {name}"
