"""`python -m bot`: subcommands, exit codes, and the batch JSON contract."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import main

ROOT = Path(__file__).resolve().parent.parent


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args], input=stdin, capture_output=True, text=True,
        cwd=ROOT, timeout=120, env={"PATH": "/usr/bin:/bin", "NO_COLOR": "1", "HOME": str(ROOT)},
    )  # fmt: skip


def test_batch_contract_one_json_line_per_input_line_in_order() -> None:
    questions = [
        "who started the berber revolt?",
        "",
        "what is the capital of france",
        "wen was the batle of bagdoura",
        "من قاد الثورة؟",
        "x" * 5000,
    ]
    proc = run("ask", "--json", "--batch", "-", stdin="\n".join(questions) + "\n")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert len(lines) == len(questions)
    replies = [json.loads(line) for line in lines]
    for reply in replies:
        assert {"answered", "answer", "excerpt"} <= set(reply)
    assert replies[0]["answered"] is True and replies[0]["excerpt"]
    assert replies[1]["answered"] is False
    assert replies[2]["answered"] is False and replies[2]["answer"] is None
    assert replies[3]["answered"] is True and "Bagdoura" in replies[3]["answer"]
    assert replies[0]["question"] == questions[0]


def test_batch_from_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "q.txt"
    f.write_text("who was maisara?\nwhen was the battle of the nobles?\n", encoding="utf-8")
    assert main(["ask", "--json", "--batch", str(f)]) == 0
    out = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert len(out) == 2 and all(r["answered"] for r in out)
    assert out[1]["date"]["ah"].endswith("AH")


def test_ask_prints_a_readable_answer(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ask", "who", "was", "kulthum?"]) == 0
    out = capsys.readouterr().out
    assert "Kulthum" in out and "Source: Berber Revolt" in out and "CC BY-SA 4.0" in out


def test_ask_without_question_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ask"]) == 2
    assert "give a question" in capsys.readouterr().err


def test_missing_batch_file(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ask", "--batch", "/nonexistent/q.txt"]) == 2
    assert "cannot read" in capsys.readouterr().err


def test_validate_shipped_pack_with_coverage(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "--coverage"]) == 0
    out = capsys.readouterr().out
    assert "0 errors" in out and "sentences cited" in out


def test_validate_broken_pack_exits_1(mini_pack_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = mini_pack_dir / "facts" / "01-siege.yaml"
    path.write_text(path.read_text().replace("who: [arlo]", "who: [nobody]"))
    assert main(["validate", "--knowledge", str(mini_pack_dir)]) == 1
    out = capsys.readouterr().out
    assert "01-siege.yaml:9: fact 'siege-begins': who 'nobody' is not an entity" in out


def test_bot_refuses_to_start_on_an_invalid_pack(mini_pack_dir: Path) -> None:
    (mini_pack_dir / "facts" / "02-after.yaml").write_text("facts: [oops\n")
    proc = run("chat", "--knowledge", str(mini_pack_dir), stdin="hello\n")
    assert proc.returncode == 1
    assert "02-after.yaml:2: YAML syntax error" in proc.stderr


def test_help_for_every_subcommand() -> None:
    for sub in ("validate", "ask", "chat", "start", "run", "sync", "invite", "stats", "health"):
        with pytest.raises(SystemExit) as info:
            main([sub, "--help"])
        assert info.value.code == 0


def test_run_without_token_explains(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("DISCORD_TOKEN", raising=False)
    monkeypatch.chdir(ROOT / "tests")  # no .env here
    assert main(["run"]) == 2
    assert "DISCORD_TOKEN is not set" in capsys.readouterr().err


def test_invite_link_has_the_right_scopes(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["invite", "--client-id", "1234"]) == 0
    url = capsys.readouterr().out.strip()
    assert "client_id=1234" in url and "scope=bot+applications.commands" in url and "permissions=" in url


def test_bad_configuration_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TARIKH_COOLDOWN", "lots")
    assert main(["ask", "hi"]) == 2
    assert "TARIKH_COOLDOWN" in capsys.readouterr().err


def test_start_without_token_opens_the_console() -> None:
    proc = run("start", stdin="who was maysara?\n")
    assert proc.returncode == 0, proc.stderr
    assert "local console" in proc.stdout and "Maysara" in proc.stdout
