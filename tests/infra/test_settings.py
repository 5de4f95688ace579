from pathlib import Path

import pytest
from pydantic import ValidationError

from infra.core.settings import Settings


def test_defaults_are_the_embedded_stack(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    settings = Settings(_env_file=None)
    assert settings.database_url == f"sqlite:///{tmp_path / 'var' / 'vantage.db'}"
    assert settings.storage.endpoint_url == "http://127.0.0.1:8333"
    # Never the standard Redis or PostgreSQL ports.
    assert settings.stack.redis_port != 6379
    assert settings.broker.url.endswith(":6390/0")


def test_nested_environment_overrides(monkeypatch):
    monkeypatch.setenv("VANTAGE_STORAGE__ENDPOINT_URL", "https://s3.example.org")
    monkeypatch.setenv("VANTAGE_DATABASE__URL", "postgresql+psycopg://db/vantage")
    monkeypatch.setenv("VANTAGE_MEDIA__PROFILE", "efficient")
    settings = Settings(_env_file=None)
    assert settings.storage.endpoint_url == "https://s3.example.org"
    assert settings.database_url == "postgresql+psycopg://db/vantage"
    assert settings.media.profile == "efficient"


def test_dotenv_file_is_read(tmp_path, monkeypatch):
    env = tmp_path / ".env"
    env.write_text("VANTAGE_STORAGE__BUCKET=from-dotenv\n")
    assert Settings(_env_file=env).storage.bucket == "from-dotenv"


@pytest.mark.parametrize("size", [8, 65])
def test_part_size_must_be_16_to_64_mib(size, monkeypatch):
    monkeypatch.setenv("VANTAGE_STORAGE__PART_SIZE_MIB", str(size))
    with pytest.raises(ValidationError):
        Settings(_env_file=None)


def test_home_is_absolute(monkeypatch):
    monkeypatch.setenv("VANTAGE_HOME", "relative/home")
    assert Settings(_env_file=None).home == Path("relative/home").resolve()


def test_production_refuses_the_embedded_secret(monkeypatch):
    monkeypatch.setenv("VANTAGE_ENVIRONMENT", "production")
    with pytest.raises(ValidationError, match="SECRET_KEY"):
        Settings(_env_file=None)
    monkeypatch.setenv("VANTAGE_STORAGE__SECRET_KEY", "a-real-secret")
    with pytest.raises(ValidationError, match="SIGNING_KEY"):
        Settings(_env_file=None)
    monkeypatch.setenv("VANTAGE_API__SIGNING_KEY", "another-real-secret")
    assert Settings(_env_file=None).storage.secret_key == "a-real-secret"
