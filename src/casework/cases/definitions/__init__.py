"""Case type definitions: versioned YAML files, checked when loaded, frozen when used.

Start here:

- `load_case_types(folders)` → `CaseTypeRegistry` (`get(key, version=None)`), raising
  `InvalidDefinition` with every problem (file, line, message);
- `check_path(path)` → `CheckReport`, the same checks without raising (the `casetype check`
  command);
- `specs.py`: `CaseTypeDefinition`, `StageSpec`, the step specs the engine runs;
- `graph.render_svg(definition)`: the life cycle as a picture;
- `configured_folders()`: the shipped case types plus `CASEWORK_CASETYPES_DIR`.

docs/case-types.md describes the file format.
"""

from casework.cases.definitions.folders import configured_folders
from casework.cases.definitions.loading import (
    SHIPPED_CASETYPES_DIR,
    CaseTypeRegistry,
    CheckReport,
    check_path,
    load_case_type,
    load_case_types,
)
from casework.cases.definitions.specs import CaseTypeDefinition, StageSpec, StepKind, StepSpec

__all__ = [
    "SHIPPED_CASETYPES_DIR",
    "CaseTypeDefinition",
    "CaseTypeRegistry",
    "CheckReport",
    "StageSpec",
    "StepKind",
    "StepSpec",
    "check_path",
    "configured_folders",
    "load_case_type",
    "load_case_types",
]
