"""Who must give a second factor (edc.mfa.policy): pure rules, no database."""

from edc.mfa.policy import PRODUCTION_ROLES, Step, default_roles, is_required, step_after_password


def test_production_requires_signing_and_data_roles_and_a_demo_site_nobody():
    assert set(default_roles(demo=False)) == {
        "investigator",
        "data_manager",
        "statistician",
        "study_admin",
    }
    assert default_roles(demo=True) == ()


def test_a_studys_own_policy_decides_for_its_roles_else_the_default():
    default = PRODUCTION_ROLES
    assert is_required([("investigator", None)], default=default, is_admin=False)
    assert not is_required([("site_staff", None)], default=default, is_admin=False)
    # The study turned it off for investigators and on for site staff.
    relaxed = frozenset({"site_staff"})
    assert not is_required([("investigator", relaxed)], default=default, is_admin=False)
    assert is_required([("site_staff", relaxed)], default=default, is_admin=False)
    # Any one role that requires it is enough.
    assert is_required(
        [("investigator", relaxed), ("monitor", None), ("statistician", None)],
        default=default,
        is_admin=False,
    )


def test_django_staff_count_as_admins_under_the_default():
    assert is_required([], default=PRODUCTION_ROLES, is_admin=True)
    assert not is_required([], default=(), is_admin=True)


def test_an_enrolled_person_always_gives_a_code_and_a_required_one_enrols_first():
    assert step_after_password(has_device=True, required=False) == Step.VERIFY
    assert step_after_password(has_device=False, required=True) == Step.ENROL
    assert step_after_password(has_device=False, required=False) == Step.PASSWORD_ONLY


def test_the_settings_default_follows_edc_demo():
    """edc.settings as production and as a demo site load it (a process of their own)."""
    import os
    import subprocess
    import sys

    def roles(**environment: str) -> str:
        env = {k: v for k, v in os.environ.items() if k not in {"EDC_DEMO", "EDC_MFA_ROLES"}}
        done = subprocess.run(
            [sys.executable, "-c", "from edc import settings; print(settings.EDC_MFA_ROLES)"],
            env={**env, **environment},
            capture_output=True,
            text=True,
            check=True,
        )
        return done.stdout.strip()

    assert roles() == "['investigator', 'data_manager', 'statistician', 'study_admin']"
    assert roles(EDC_DEMO="1") == "[]"
    assert roles(EDC_MFA_ROLES="none") == "[]"
