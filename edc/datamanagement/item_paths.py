"""Item paths as the CRF names them, reduced to (item code, group row). Pure Python."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

_ITEM_PATH = re.compile(r"^(?:(?P<group>\w+)(?:\[(?P<row>\d+)\])?\.)?(?P<item>\w*)$")
_GROUP_ROW = re.compile(r"^(?P<group>\w+)\[(?P<row>\d+)\]$")


def item_and_row(path: str) -> tuple[str, int | None]:
    """ "WEIGHT" -> (WEIGHT, None); "TL[2].LDIAM" -> (LDIAM, 2); "TL.LDIAM" -> (LDIAM, None);
    "TL[2]" (a whole row) -> (TL, 2); "" (the form as a whole) -> ("", None).
    Anything else is kept whole as the item."""
    row_only = _GROUP_ROW.match(path)
    if row_only:
        return row_only["group"], int(row_only["row"])
    match = _ITEM_PATH.match(path)
    if match is None:
        return path, None
    return match["item"], int(match["row"]) if match["row"] else None


def query_item_path(definition: Mapping[str, Any], item_code: str, group_row: int | None) -> str:
    """The path the audit trail names a queried item by: "ITEM", or "GROUP[row].ITEM" for an
    item of a repeating group (row 1-based), looked up in the form's definition."""
    if group_row is None:
        return item_code
    for group in definition.get("groups", []):
        if any(item["code"] == item_code for item in group.get("items", [])):
            return f"{group['code']}[{group_row}].{item_code}"
    return item_code
