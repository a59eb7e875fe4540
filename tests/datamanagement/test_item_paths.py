import pytest

from edc.datamanagement.item_paths import item_and_row


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("WEIGHT", ("WEIGHT", None)),
        ("lesions[2].TRLDIAM", ("TRLDIAM", 2)),
        ("lesions[12].TRLDIAM", ("TRLDIAM", 12)),
        ("lesions.TRLDIAM", ("TRLDIAM", None)),
        ("lesions[3]", ("lesions", 3)),
        ("", ("", None)),
        ("odd path!", ("odd path!", None)),
    ],
)
def test_item_and_row(path, expected):
    assert item_and_row(path) == expected
