# SPDX-License-Identifier: GPL-3.0-or-later
"""Every role documents exactly the variables its defaults define, with the same literal defaults.

Like prometheus.prometheus' lint_arguments_spec.sh: a variable added to defaults/main.yml without a
description in meta/argument_specs.yml (or the reverse) fails here, before a user meets it.
"""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

ROLES = sorted(p for p in (Path(__file__).resolve().parents[2] / "roles").iterdir() if p.is_dir())


def _load(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8")) or {} if path.exists() else {}


def test_there_are_roles():
    assert len(ROLES) >= 4


@pytest.mark.parametrize("role", ROLES, ids=lambda p: p.name)
def test_defaults_and_argument_specs_agree(role: Path):
    defaults = _load(role / "defaults" / "main.yml")
    specs = _load(role / "meta" / "argument_specs.yml").get("argument_specs", {})
    assert "main" in specs, f"{role.name}: meta/argument_specs.yml has no main entry point"
    options = specs["main"].get("options") or {}
    assert sorted(set(defaults) - set(options)) == [], "defaults without a documented option"
    assert sorted(set(options) - set(defaults)) == [], "documented options without a default"
    for name, spec in options.items():
        assert spec.get("description"), f"{name} has no description"
        value = defaults[name]
        templated = isinstance(value, str) and "{{" in value
        if "default" in spec and not templated:
            assert spec["default"] == value, f"{name}: spec default {spec['default']!r} != defaults {value!r}"


@pytest.mark.parametrize("role", ROLES, ids=lambda p: p.name)
def test_role_variables_carry_the_role_prefix(role: Path):
    defaults = _load(role / "defaults" / "main.yml")
    strays = [k for k in defaults if not k.startswith(role.name + "_")]
    assert strays == []
