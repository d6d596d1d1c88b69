"""Configuration: defaults, secrets file precedence, one-line errors naming the variable."""

import subprocess
import sys

import pytest

from services.common.config import VARIABLES, ConfigError, Settings, REPO_ROOT

REQUIRED = {"REPSEQ_DB_PASSWORD": "dbpw", "REPSEQ_S3_SECRET_KEY": "s3pw", "REPSEQ_SECRET_KEY": "key"}


def settings_from(tmp_path, **env):
    return Settings.from_env({"REPSEQ_VAR_DIR": str(tmp_path), **REQUIRED, **env})


def test_defaults_are_documented_values(tmp_path):
    settings = settings_from(tmp_path)
    assert settings.db_prefix == "repseq_"
    assert settings.amqp_uri == "pyamqp://guest:guest@127.0.0.1:5672//"
    assert settings.s3_secure is False
    assert settings.buckets == {"sequences": "repseq-sequences", "results": "repseq-results",
                                "backups": "repseq-backups"}
    assert settings.gateway_url == "http://127.0.0.1:8080"


def test_environment_wins_over_secrets_file_which_wins_over_defaults(tmp_path):
    (tmp_path / "secrets.env").write_text("# comment\nREPSEQ_DB_PASSWORD='from-file'\nREPSEQ_DB_USER=fileuser\n")
    settings = Settings.from_env({"REPSEQ_VAR_DIR": str(tmp_path), "REPSEQ_DB_USER": "envuser",
                                  "REPSEQ_S3_SECRET_KEY": "x", "REPSEQ_SECRET_KEY": "y"})
    assert settings.db_password == "from-file"
    assert settings.db_user == "envuser"


def test_round_trip_through_environment(tmp_path):
    settings = settings_from(tmp_path, REPSEQ_DB_PREFIX="repseq_test_x_", REPSEQ_S3_SECURE="yes")
    assert Settings.from_env(settings.to_env(), use_secrets_file=False) == settings


@pytest.mark.parametrize("name,value,expected", [
    ("REPSEQ_DB_PORT", "abc", "REPSEQ_DB_PORT must be an integer (got 'abc')"),
    ("REPSEQ_S3_SECURE", "maybe", "REPSEQ_S3_SECURE must be true or false"),
    ("REPSEQ_AMQP_URI", "http://x", "REPSEQ_AMQP_URI must start with amqp://"),
    ("REPSEQ_BUCKET_RESULTS", "Bad_Name", "REPSEQ_BUCKET_RESULTS must be a valid S3 bucket name"),
    ("REPSEQ_S3_ENDPOINT", "http://h:1", "REPSEQ_S3_ENDPOINT must be host:port"),
    ("REPSEQ_DB_URL_TEMPLATE", "mysql://x/y", "REPSEQ_DB_URL_TEMPLATE must contain the placeholder {database}"),
    ("REPSEQ_HEALTH_TIMEOUT", "-1", "REPSEQ_HEALTH_TIMEOUT must be > 0"),
])
def test_malformed_value_names_the_variable(tmp_path, name, value, expected):
    with pytest.raises(ConfigError) as caught:
        settings_from(tmp_path, **{name: value})
    assert expected in str(caught.value)
    assert "\n" not in str(caught.value)
    assert caught.value.variable == name


def test_missing_secret_names_the_variable(tmp_path):
    with pytest.raises(ConfigError, match="REPSEQ_DB_PASSWORD is not set"):
        Settings.from_env({"REPSEQ_VAR_DIR": str(tmp_path)})


def test_service_with_bad_configuration_prints_one_line_and_exits_2(tmp_path):
    env = {"REPSEQ_VAR_DIR": str(tmp_path), **REQUIRED, "REPSEQ_MAX_WORKERS": "lots", "PATH": "/usr/bin:/bin"}
    result = subprocess.run([sys.executable, "-m", "services.common.runner", "auth"], env=env, cwd=REPO_ROOT,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip() == "configuration error: REPSEQ_MAX_WORKERS must be an integer (got 'lots')"


def test_every_variable_is_in_env_example_and_configuration_doc():
    example = (REPO_ROOT / ".env.example").read_text()
    doc = (REPO_ROOT / "docs" / "configuration.md").read_text()
    for variable in VARIABLES:
        assert f"{variable.name}=" in example, variable.name
        assert variable.name in doc, variable.name
