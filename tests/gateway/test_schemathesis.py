"""Property-based check of the whole REST API with schemathesis, driven by the OpenAPI document the gateway
serves: no generated input (valid or not) may produce a server error (5xx), and every answer that the document
declares must use the declared status codes. Runs the schemathesis command against the running stack as a lab
user with an API token."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPORT_DIR = Path(__file__).resolve().parents[2] / "test-output" / "schemathesis"
#: Operations left out: revoking tokens could revoke the token the run authenticates with.
EXCLUDED = r"^/api/v1/auth/tokens/\{token_id\}$"


def test_no_server_error_on_any_generated_input(stack, lab_user):
    REPORT_DIR.mkdir(parents=True, exist_ok=True)
    command = [str(Path(sys.executable).parent / "schemathesis"), "run", f"{stack.url}/api/v1/openapi.json",
               "--checks", "not_a_server_error,status_code_conformance",
               "-H", f"Authorization: Bearer {lab_user['token']}",
               "--exclude-path-regex", EXCLUDED,
               "--max-examples", "12", "--workers", "2", "--seed", "20261129", "--request-timeout", "60",
               "--generation-database", "none", "--no-color", "--report", "junit",
               "--report-junit-path", str(REPORT_DIR / "junit.xml")]
    # run inside the report folder: schemathesis keeps a cache folder in its working directory
    result = subprocess.run(command, capture_output=True, text=True, timeout=1500, cwd=REPORT_DIR)
    (REPORT_DIR / "output.txt").write_text(result.stdout + result.stderr)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
