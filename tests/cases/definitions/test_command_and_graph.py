from __future__ import annotations

import shutil
import subprocess
import sys
import xml.etree.ElementTree as ElementTree
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from casework.cases.definitions import SHIPPED_CASETYPES_DIR, load_case_types
from casework.cases.definitions.graph import render_svg
from casework.cases.definitions.specs import BilingualText

SVG = "{http://www.w3.org/2000/svg}"


def run(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("casetype", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_check_prints_a_summary_for_the_shipped_case_types():
    out, _err = run("check", str(SHIPPED_CASETYPES_DIR))
    assert out.strip().endswith(
        "12 file(s) checked, 7 case type(s) and 5 decision table(s), no problems"
    )


def test_check_prints_each_problem_and_fails(tmp_path):
    shutil.copy(SHIPPED_CASETYPES_DIR / "retention-order.yaml", tmp_path)
    shutil.copytree(SHIPPED_CASETYPES_DIR / "decisions", tmp_path / "decisions")
    path = tmp_path / "retention-order.yaml"
    path.write_text(path.read_text().replace("kind: integration", "kind: integraton"))
    out = StringIO()
    with pytest.raises(CommandError) as raised:
        call_command("casetype", "check", str(tmp_path), stdout=out)
    assert raised.value.returncode == 1
    assert out.getvalue().splitlines() == [
        f'{tmp_path}/retention-order.yaml:37: step "book-offer": unknown kind "integraton" '
        "(known: collect_data, decision, set_data, task, approval, notify, wait, subcase, "
        "integration, action)"
    ]


def test_check_of_a_single_decision_table(tmp_path):
    out, _err = run("check", str(SHIPPED_CASETYPES_DIR / "decisions" / "tariff-change.csv"))
    assert "1 file(s) checked, 0 case type(s) and 1 decision table(s), no problems" in out


def test_the_installed_command_exits_with_1_on_problems(tmp_path):
    broken = tmp_path / "broken.yaml"
    broken.write_text("key: broken\nversion: 1\nstages: [\n")
    casework = Path(sys.executable).parent / "casework"
    result = subprocess.run(
        [str(casework), "casetype", "check", str(broken)],
        capture_output=True,
        text=True,
        env={"CASEWORK_LANGUAGE": "en", "CASEWORK_DATA_DIR": str(tmp_path), "PATH": "/usr/bin"},
        timeout=120,
        check=False,
    )
    assert result.returncode == 1
    assert result.stdout.startswith(f"{broken}:4: invalid YAML")


def test_graph_writes_svg_to_a_file_and_to_stdout(tmp_path):
    target = tmp_path / "telecom.svg"
    _out, err = run("graph", "telecom-contract-change", "--output", str(target))
    assert "telecom-contract-change v3" in err
    root = ElementTree.parse(target).getroot()
    assert root.tag == f"{SVG}svg"
    out, _err = run("graph", "retention-order", "--version", "1", "--language", "de")
    assert ElementTree.fromstring(out.encode()).find(f"{SVG}title").text == (
        "Rückgewinnungsauftrag (retention-order v1)"
    )


def test_graph_of_an_unknown_case_type_fails():
    with pytest.raises(CommandError, match='no case type "nothing-like-this"'):
        run("graph", "nothing-like-this")
    with pytest.raises(CommandError, match="v9"):
        run("graph", "retention-order", "--version", "9")


@pytest.mark.parametrize(
    "key",
    [
        "collecting-society-request",
        "complaint-goodwill",
        "distribution-request",
        "licensing-request",
        "retention-order",
        "telecom-contract-change",
    ],
)
def test_every_shipped_life_cycle_draws_as_well_formed_svg(key):
    definition = load_case_types([SHIPPED_CASETYPES_DIR]).get(key)
    root = ElementTree.fromstring(render_svg(definition).encode())
    stages = [g for g in root.iter(f"{SVG}g") if g.get("class") == "stage"]
    assert {g.get("id") for g in stages} == {f"stage-{stage.key}" for stage in definition.stages}
    arrows = [p for p in root.iter(f"{SVG}path") if p.get("class") == "transition"]
    assert len(arrows) == sum(len(stage.transitions) for stage in definition.stages)


def test_labels_are_escaped():
    definition = load_case_types([SHIPPED_CASETYPES_DIR]).get("complaint-goodwill")
    hostile = BilingualText(de="<script>&", en='</text><script>alert("x")</script>')
    renamed = type(definition)(**{**definition.__dict__, "name": hostile})
    svg = render_svg(renamed)
    root = ElementTree.fromstring(svg.encode())
    assert root.find(f"{SVG}title").text.startswith('</text><script>alert("x")</script>')
    assert not list(root.iter("script")) and not list(root.iter(f"{SVG}script"))
