"""The URL checks and the one redaction of secrets (resources/urls.py, resources/redaction.py):
a malformed URL is a configuration error naming the setting and never the value; an
exception leaving `guarded()` has no configured secret in its text or its chain."""

from __future__ import annotations

import psycopg
import pytest

from resources.redaction import RedactedError, configured_secrets, guarded, redact_secrets
from resources.urls import ConfigError, check_url

PG = "postgresql://platform:{}@127.0.0.1:5432/invoices"
MALFORMED = [  # (value, kind, what the error says)
    (PG.format("Adv%zzSecretPw1"), "postgres", "'%' that is not followed by two hex digits"),
    (PG.format("Adv Secret Pw2"), "postgres", "contains a space"),
    (PG.format("AdvSecret@Pw3"), "postgres", "more than one '@'"),
    (PG.format("Adv/SecretPw4"), "postgres", "'/', '?' or '#' in the password"),
    (PG.format("Adv%00SecretPw5"), "postgres", "percent-encoded NUL"),
    ("postgresql://platform:SecretPw6@127.0.0.1:54x2/db", "postgres", "port that is not"),
    ("postgresql://platform:SecretPw7@/invoices", "postgres", "has no host"),
    ("mysql://platform:SecretPw8@db/x", "postgres", "must start with postgresql://"),
    ("mongodb://platform:Secret Pw9@mongodb:27017/", "mongodb", "contains a space"),
    ("platform:SecretPw10@kafka:9092", "kafka", "without spaces or credentials"),
    ("sc://spark:15002/SecretPw11", "spark", "parameters after '/;'"),
]
WELL_FORMED = [
    (PG.format("p%40ss%25w:rd"), "postgres"),
    ("postgresql+psycopg2://platform:pw@postgres:5432/dagster", "postgres"),
    ("postgresql://u:p@[::1]:5432,db2:5433/x?sslmode=require", "postgres"),
    ("postgresql:///invoices?host=/var/run/postgresql", "postgres"),
    ("sqlite:///data/sources/purchases.sqlite", "sql"),
    ("mongodb://u:p@mongodb:27017/?authSource=admin&authMechanism=PLAIN", "mongodb"),
    ("kafka:9092,PLAINTEXT://kafka2:9093", "kafka"),
    ("sc://spark-connect:15002/;token=abc;use_ssl=true", "spark"),
]


@pytest.mark.parametrize(("value", "kind", "problem"), MALFORMED)
def test_a_malformed_url_is_a_config_error_naming_the_setting_not_the_value(value, kind,
                                                                            problem):
    with pytest.raises(ConfigError) as caught:
        check_url("INVOICES_DB_URL", value, kind)
    text = str(caught.value.description)
    assert text.startswith("configuration error: INVOICES_DB_URL ") and problem in text
    assert "Secret" not in text and "platform" not in text
    assert caught.value.allow_retries is False  # the step retry policy skips it


@pytest.mark.parametrize(("value", "kind"), WELL_FORMED)
def test_well_formed_urls_pass(value, kind):
    assert check_url("X", value, kind) == value


ENV = {"INVOICES_DB_URL": PG.format("Adv%2FSecret@Pw3"), "AWS_SECRET_ACCESS_KEY": "aws-k3y-x",
       "SPARK_REMOTE": "sc://spark:15002/;token=tok-123", "HOME": "/root", "PGPORT": "54"}


def test_redaction_names_the_variable_of_every_configured_secret():
    text = ("login Adv%2FSecret@Pw3 / Adv/Secret@Pw3 / host 'Pw3@127.0.0.1' / key aws-k3y-x "
            f"/ token tok-123 / url {ENV['INVOICES_DB_URL']} / home /root")
    out = redact_secrets(text, ENV)
    for secret in ("Adv", "Secret", "Pw3", "aws-k3y-x", "tok-123"):
        assert secret not in out, out
    assert "<INVOICES_DB_URL>" in out and "<INVOICES_DB_URL password>" in out
    assert "<AWS_SECRET_ACCESS_KEY>" in out and "<SPARK_REMOTE password>" in out
    assert "/root" in out and "127.0.0.1" in out  # not secrets: left alone
    assert "54" not in configured_secrets({"PGPASSWORD": "54"})  # too short to redact


def test_a_driver_error_leaves_guarded_redacted_with_its_type(monkeypatch):
    url = PG.format("Secret%00Pw").replace("5432", "1")  # libpq quotes the password
    monkeypatch.setenv("INVOICES_DB_URL", url)
    with pytest.raises(RuntimeError) as caught, guarded():
        try:
            psycopg.connect(url)
        except psycopg.Error as exc:
            raise RuntimeError(f"while connecting to {url}") from exc
    assert str(caught.value) == "while connecting to <INVOICES_DB_URL>"
    cause = caught.value.__cause__
    assert isinstance(cause, psycopg.ProgrammingError)  # same object, same type: retried
    assert "Secret" not in str(cause) and '"<INVOICES_DB_URL password>"' in str(cause)


class Opaque(Exception):
    def __str__(self) -> str:
        return f"opaque {self.hidden}"

    hidden = ""


def test_an_error_that_cannot_be_rewritten_becomes_a_redacted_error(monkeypatch):
    monkeypatch.setenv("MONGO_PASSWORD", "mongo-pw-77")
    error = Opaque()
    error.hidden = "auth mongo-pw-77"
    with pytest.raises(RedactedError) as caught, guarded():
        try:
            raise ValueError("cause mongo-pw-77")
        except ValueError as cause:
            raise error from cause
    assert str(caught.value) == f"{__name__}.Opaque: opaque auth <MONGO_PASSWORD>"
    assert str(caught.value.__cause__) == "cause <MONGO_PASSWORD>"
    assert caught.value.__suppress_context__
