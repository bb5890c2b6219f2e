"""``python -m webhook set|delete|info`` against the Bot API double."""

from __future__ import annotations

import json

import pytest

from webhook.__main__ import main, webhook_url

SECRET = "cli-secret_0123456789"


@pytest.fixture
def env(bot_api, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", bot_api.token)
    monkeypatch.setenv("TELEGRAM_API_BASE_URL", bot_api.base_url)
    monkeypatch.setenv("TELEGRAM_WEBHOOK_SECRET", SECRET)
    monkeypatch.delenv("WEBHOOK_URL", raising=False)
    from webhook.config import get_settings

    get_settings.cache_clear()
    yield bot_api
    get_settings.cache_clear()


def run(capsys, *argv: str) -> tuple[int, dict | None, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, (json.loads(out) if code == 0 else None), out + err


def test_set_registers_url_secret_and_options(env, capsys):
    code, result, output = run(
        capsys,
        "set",
        "--url",
        "https://abc.lambda-url.eu-west-1.on.aws/",
        "--drop-pending-updates",
        "--max-connections",
        "5",
    )
    assert code == 0, output
    call = env.calls("setWebhook")[-1].params
    assert call["url"] == "https://abc.lambda-url.eu-west-1.on.aws/telegram/webhook"
    assert call["secret_token"] == SECRET
    assert call["allowed_updates"] == ["message", "callback_query"]  # + the feedback buttons
    assert call["drop_pending_updates"] is True
    assert call["max_connections"] == 5
    assert env.webhook_url == call["url"]
    assert env.calls("setMyCommands")  # the command menu, once per deployment
    assert result["ok"] is True and result["url"] == call["url"]
    assert SECRET not in output and env.token not in output


def test_set_reads_webhook_url_and_allowed_updates(env, capsys, monkeypatch):
    monkeypatch.setenv("WEBHOOK_URL", "https://example.test/telegram/webhook")
    from webhook.config import get_settings

    get_settings.cache_clear()
    code, _, output = run(
        capsys, "set", "--allowed-updates", "message,edited_message", "--no-commands"
    )
    assert code == 0, output
    call = env.calls("setWebhook")[-1].params
    assert call["url"] == "https://example.test/telegram/webhook"
    assert call["allowed_updates"] == ["message", "edited_message"]
    assert not env.calls("setMyCommands")


def test_info_and_delete(env, capsys):
    run(capsys, "set", "--url", "https://example.test", "--no-commands")
    code, info, _ = run(capsys, "info")
    assert code == 0
    assert info["url"] == "https://example.test/telegram/webhook"
    assert info["bot"] == env.username
    code, result, _ = run(capsys, "delete", "--drop-pending-updates")
    assert code == 0 and result["ok"] is True
    assert env.webhook_url == ""
    assert env.calls("deleteWebhook")[-1].params["drop_pending_updates"] is True


def test_set_refuses_without_a_secret(env, capsys, monkeypatch):
    monkeypatch.delenv("TELEGRAM_WEBHOOK_SECRET")
    from webhook.config import get_settings

    get_settings.cache_clear()
    code, _, output = run(capsys, "set", "--url", "https://example.test")
    assert code == 2 and "TELEGRAM_WEBHOOK_SECRET is not set" in output
    assert not env.calls("setWebhook")


def test_set_refuses_without_a_token(env, capsys, monkeypatch):
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN")
    code, _, output = run(capsys, "info")
    assert code == 2 and "TELEGRAM_BOT_TOKEN" in output


def test_telegram_errors_exit_1(env, capsys):
    env.fail_next("setWebhook", 400, description="Bad Request: bad webhook", times=5)
    code, _, output = run(capsys, "set", "--url", "https://example.test", "--no-commands")
    assert code == 1 and "bad webhook" in output.lower()


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("https://h.example", "https://h.example/telegram/webhook"),
        ("https://h.example/", "https://h.example/telegram/webhook"),
        ("https://h.example/telegram/webhook", "https://h.example/telegram/webhook"),
    ],
)
def test_webhook_url(given, expected):
    assert webhook_url(given) == expected


@pytest.mark.parametrize("bad", ["", "http://h.example", "ftp://h", "h.example"])
def test_webhook_url_must_be_https(bad):
    from webhook.__main__ import UsageError

    with pytest.raises(UsageError):
        webhook_url(bad)


@pytest.mark.parametrize(
    "argv", [["set", "--max-connections", "0"], ["set", "--allowed-updates", "message,nonsense"]]
)
def test_bad_options_are_usage_errors(argv):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2


def test_set_reads_everything_from_dot_env(env, capsys, monkeypatch, tmp_path):
    """Issue 11: `python -m webhook set` with everything in .env used to fail ("WEBHOOK_URL ...
    got ''") because only the bot's settings read the file."""
    for name in ("TELEGRAM_BOT_TOKEN", "TELEGRAM_API_BASE_URL", "TELEGRAM_WEBHOOK_SECRET"):
        monkeypatch.delenv(name)
    (tmp_path / ".env").write_text(
        f"TELEGRAM_BOT_TOKEN={env.token}\n"
        f"TELEGRAM_API_BASE_URL={env.base_url}\n"
        f"TELEGRAM_WEBHOOK_SECRET={SECRET}\n"
        "WEBHOOK_URL=https://from-dotenv.example/\n"
    )
    monkeypatch.delenv("BREEDBOT_ENV_FILE", raising=False)
    code, result, output = run(capsys, "set", "--no-commands")
    assert code == 0, output
    assert result["url"] == "https://from-dotenv.example/telegram/webhook"
    assert env.calls("setWebhook")[-1].params["secret_token"] == SECRET
    assert SECRET not in output and env.token not in output


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("BOT_RETRY_ATTEMPTS", "many"),
        ("BREEDBOT_STORE", "postgres://db/breeds"),
        ("WEBHOOK_MAX_BODY_BYTES", "-1"),
        ("BOT_ADMIN_IDS", "alice,bob"),
    ],
)
def test_a_bad_variable_stops_the_cli_and_is_named(env, capsys, monkeypatch, variable, value):
    monkeypatch.setenv(variable, value)
    code, _, output = run(capsys, "info")
    assert code == 2
    assert variable in output and "invalid settings" in output
    if len(value) > 2:
        assert value not in output  # names, never values (a value may be a secret)
    assert not env.calls("getWebhookInfo")
