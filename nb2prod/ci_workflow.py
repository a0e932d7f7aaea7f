"""The GitHub Actions workflow ``nb2prod init --ci github`` writes to ``.github/workflows/nb2prod.yml``.

Three jobs, each a gate a notebook repository wants in CI: ``hygiene`` (outputs stripped, lint
findings as annotations on the pull request, formatting), ``exports`` (every package of
``[[tool.nb2prod.export]]`` is up to date with its notebooks) and ``metrics`` (notebooks listed in
``NB2PROD_GATES`` are run and their run records checked against thresholds). nb2prod is pinned to
the version that wrote the workflow, as the pre-commit hooks are.
"""

from __future__ import annotations

__all__ = ["CI_PROVIDERS", "github_workflow"]

#: The CI services ``nb2prod init --ci`` writes a workflow for.
CI_PROVIDERS = ("github",)

_WORKFLOW = """\
# Written by `nb2prod init --ci github` (nb2prod {version}); yours to edit.
name: nb2prod

on:
  push:
    branches: [main]
  pull_request:

jobs:
  hygiene:
    # Notebooks committed without outputs, clean under nb2prod's rules and ruff's, formatted.
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-python@v5
        with:
          python-version: "3.11"
      - run: pip install "nb2prod=={version}"
      - run: nb2prod strip --check .
      - run: nb2prod lint --format github .
      - run: nb2prod fmt --check .

  exports:
    # Every package of [[tool.nb2prod.export]] in pyproject.toml is up to date with its notebooks.
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-python@v5
        with:
          python-version: "3.11"
      - run: pip install "nb2prod=={version}"
      # An exported package pins what its code imports as installed: install the same versions
      # the package was exported with (a pinned requirements.txt), or the check finds it stale.
      - run: if [ -f requirements.txt ]; then pip install -r requirements.txt; fi
      - name: nb2prod export --check
        run: |
          if grep -q '^\\[\\[tool\\.nb2prod\\.export\\]\\]' pyproject.toml 2>/dev/null; then
            nb2prod export --check
          else
            echo "::notice::no [[tool.nb2prod.export]] entries in pyproject.toml: no exported package to check"
          fi

  metrics:
    # Runs notebooks and fails when a metric misses its threshold. One line per notebook:
    # the notebook, then `nb2prod runs check` gates such as accuracy>=0.9 (no spaces inside a gate).
    runs-on: ubuntu-latest
    env:
      NB2PROD_GATES: |
        # notebooks/train.ipynb accuracy>=0.9 f1>=0.85
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-python@v5
        with:
          python-version: "3.11"
      - run: pip install "nb2prod=={version}"
      - run: if [ -f requirements.txt ]; then pip install -r requirements.txt; fi
      - name: run notebooks and check their metrics
        run: |
          set -f  # a gate is split on spaces, never expanded as a file pattern
          gated=0
          while read -r notebook gates; do
            case "$notebook" in ""|"#"*) continue ;; esac
            gated=$((gated + 1))
            runs="runs-ci/$gated"
            nb2prod run "$notebook" --runs-dir "$runs"
            set --
            for gate in $gates; do set -- "$@" --metric "$gate"; done
            nb2prod runs check latest --runs-dir "$runs" "$@"
          done <<< "$NB2PROD_GATES"
          if [ "$gated" -eq 0 ]; then
            echo "::notice::no notebooks listed in NB2PROD_GATES (.github/workflows/nb2prod.yml): no metric gate ran"
          fi
      - uses: actions/upload-artifact@v4
        if: always()
        with:
          name: nb2prod-runs
          path: runs-ci/
          if-no-files-found: ignore
"""


def github_workflow(version: str) -> str:
    """The workflow's text, installing nb2prod ``version``."""
    return _WORKFLOW.format(version=version)
