"""Report-only dependency audit for ``make lint``: pip-audit over the installed packages, summed up.

Never fails and never hangs: advisories are printed for a person to act on, and a machine without
the advisory service (no network, or a package mirror that does not answer PyPI's JSON API) gets
one line saying so instead of a traceback. Exit status is always 0.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

TIMEOUT_SECONDS = 120


def main() -> int:
    pip_audit = Path(sys.executable).with_name("pip-audit")
    command = [str(pip_audit), "--progress-spinner", "off", "--skip-editable", "--format", "json"]
    try:
        run = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT_SECONDS)  # noqa: S603
    except subprocess.TimeoutExpired:
        print(f"pip-audit: no answer from the advisory service within {TIMEOUT_SECONDS} s (report only)")
        return 0
    except OSError as exc:
        print(f"pip-audit: not run ({exc}); `make install` installs it (report only)")
        return 0
    try:
        report = json.loads(run.stdout)
    except json.JSONDecodeError:
        last = (run.stderr.strip().splitlines() or ["no output"])[-1]
        print(f"pip-audit: the advisory service could not be reached: {last[:300]} (report only)")
        return 0

    dependencies = report.get("dependencies", [])
    skipped = [d for d in dependencies if "skip_reason" in d]
    audited = [d for d in dependencies if "skip_reason" not in d]
    vulnerable = [d for d in audited if d.get("vulns")]
    for dep in vulnerable:
        for vuln in dep["vulns"]:
            fixes = ", ".join(vuln.get("fix_versions") or []) or "no fixed version yet"
            print(f"pip-audit: {dep['name']} {dep['version']}: {vuln['id']} (fixed in: {fixes})")
    print(
        f"pip-audit: {len(audited)} packages audited, {len(vulnerable)} with known advisories; "
        f"{len(skipped)} not audited (unknown to the advisory service or editable) (report only)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
