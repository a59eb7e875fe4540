"""Item-level differences between two versions of a form's data. Pure Python: no Django import."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ItemChange:
    item: str
    old: Any
    new: Any


def flatten(data: Mapping[str, Any]) -> dict[str, Any]:
    """{"AETERM": "x", "lesions": [{"TRLDIAM": "12"}]} -> {"AETERM": "x", "lesions[1].TRLDIAM": "12"}.

    A list of row objects is a repeating group; a list of plain values is a multichoice answer
    and stays one value."""
    flat: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, list) and value and all(isinstance(row, Mapping) for row in value):
            for index, row in enumerate(value, start=1):
                for code, item_value in row.items():
                    flat[f"{key}[{index}].{code}"] = item_value
        else:
            flat[key] = value
    return flat


def item_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[ItemChange]:
    """Changed items in a stable order: the new data's order, then items that were removed."""
    before, after = flatten(old), flatten(new)
    changes = [ItemChange(k, before.get(k), v) for k, v in after.items() if before.get(k) != v]
    changes += [ItemChange(k, v, None) for k, v in before.items() if k not in after]
    return changes


def overwrites_saved_value(changes: list[ItemChange]) -> bool:
    """True when a change alters or clears a value that had been saved (not just fills a blank)."""
    return any(change.old is not None for change in changes)
