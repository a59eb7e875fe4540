"""Which roles the header names for the study and site in view (pure, no database)."""

from edc.accounts.header_role import HeaderRole, Membership, header_role

COORDINATOR_01 = Membership("T-REFR", "01", "site_staff")
INVESTIGATOR_02 = Membership("T-REFR", "02", "investigator")
MONITOR_ALL_SITES = Membership("T-RTV", None, "monitor")


def test_one_membership_names_the_role_and_its_site():
    assert header_role([COORDINATOR_01]) == HeaderRole(("site_staff",), site="01", study="T-REFR")
    assert header_role([COORDINATOR_01], "T-REFR") == HeaderRole(("site_staff",), site="01")


def test_the_study_and_site_in_view_choose_among_several_memberships():
    everything = [COORDINATOR_01, INVESTIGATOR_02, MONITOR_ALL_SITES]
    assert header_role(everything, "t-rtv") == HeaderRole(("monitor",))
    assert header_role(everything, "T-REFR", "02") == HeaderRole(("investigator",), site="02")
    # Both sites of one study: both roles, no single place.
    assert header_role(everything, "T-REFR") == HeaderRole(("site_staff", "investigator"))
    # A study-wide role counts at every site of its study.
    assert header_role(everything, "T-RTV", "07") == HeaderRole(("monitor",))


def test_no_role_where_the_person_holds_none_and_long_lists_are_cut():
    assert header_role([COORDINATOR_01], "T-RTV") is None
    many = [Membership("S", None, r) for r in ("study_admin", "monitor", "data_manager")]
    assert header_role(many, "S") == HeaderRole(("monitor", "data_manager"), more=1)
