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


# ----- the store's table (issue 11)
def _template() -> dict:
    """template.yaml as data; CloudFormation's short tags (!Ref, !Sub, !GetAtt) become their
    long forms ({"Ref": ...}, {"Fn::Sub": ...}, {"Fn::GetAtt": [resource, attribute]})."""
    import yaml

    class Loader(yaml.SafeLoader):
        pass

    def tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict:
        if isinstance(node, yaml.ScalarNode):
            value: object = loader.construct_scalar(node)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)
        if suffix == "GetAtt" and isinstance(value, str):
            value = value.split(".", 1)
        return {suffix if suffix == "Ref" else f"Fn::{suffix}": value}

    Loader.add_multi_constructor("!", tag)
    return yaml.load(TEMPLATE, Loader=Loader)  # a SafeLoader subclass: no arbitrary objects


def test_the_table_is_on_demand_with_ttl_and_point_in_time_recovery():
    table = _template()["Resources"]["BreedBotTable"]
    assert table["Type"] == "AWS::DynamoDB::Table"
    assert table["DeletionPolicy"] == "Retain"  # feedback is training data
    props = table["Properties"]
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    keys = {k["AttributeName"]: k["KeyType"] for k in props["KeySchema"]}
    assert keys == {"pk": "HASH", "sk": "RANGE"}
    from bot.store.dynamodb import PK, SK, TTL_ATTRIBUTE

    assert (PK, SK, TTL_ATTRIBUTE) == ("pk", "sk", "expires_at")  # what the code writes


def test_the_function_may_do_exactly_what_the_store_code_does_on_that_table_only():
    """Least privilege: the policy's actions are the DynamoDB calls bot/store/dynamodb.py
    makes (no table management, no wildcard), on the table's ARN alone."""
    function = _template()["Resources"]["BreedBotFunction"]["Properties"]
    [policy] = function["Policies"]
    [statement] = policy["Statement"]
    assert statement["Effect"] == "Allow"
    assert statement["Resource"] == {"Fn::GetAtt": ["BreedBotTable", "Arn"]}
    source = (ROOT / "bot" / "store" / "dynamodb.py").read_text()
    calls = set(re.findall(r'_call\(\s*"(\w+)"', source)) | set(
        re.findall(r"client\.(\w+)\(", source)
    )
    calls.discard("close")  # the HTTP connection pool, not an API call
    used = {"dynamodb:" + "".join(part.title() for part in call.split("_")) for call in calls}
    assert set(statement["Action"]) == used
    variables = function["Environment"]["Variables"]
    assert variables["BREEDBOT_STORE"] == {"Fn::Sub": "dynamodb://${BreedBotTable}"}
    assert "{{resolve:secretsmanager:" in str(variables["BOT_USER_HASH_KEY"])
