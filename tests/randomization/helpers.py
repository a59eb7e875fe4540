"""Subjects ready for randomization, built through the real services: screened, registered,
eligibility data entered and confirmed by an investigator's e-signature (crf.services)."""

from crf.models import FormInstance, FormStatus
from crf.services import confirm_eligibility
from edc.accounts.models import Membership
from edc.audit.context import ChangeContext
from edc.subjects.services import transition
from tests.factories import PASSWORD, UserFactory, member, screen


def store_form(subject, event_code, form_code, data):
    # Stored as the CRF app stores a completed form; the CRF app owns its save tests.
    return FormInstance.objects.create(
        subject=subject,
        study=subject.study,
        site=subject.site,
        protocol_version=subject.protocol_version,
        event_code=event_code,
        form_code=form_code,
        status=FormStatus.COMPLETE,
        data=data,
    )


def site_investigator(site):
    found = Membership.objects.filter(site=site, role="investigator").select_related("user").first()
    if found is not None:
        return found.user
    user = UserFactory(username=f"investigator-{site.study.code}-{site.code}".lower())
    member(user, site, "investigator")
    return user


def enter_eligibility_data(subject):
    """T-MINI eligibility: age 18–70 at consent (M-IN1), attested life expectancy (M-IN2)."""
    store_form(subject, "SCREEN", "demographics", {"BRTHDAT": "1970-05-01", "SEX": "F"})
    store_form(subject, "SCREEN", "eligibility", {"IELIFE": "Y"})


def make_eligible(subjects, investigator=None):
    """Eligibility data entered, then the investigator's e-signed confirmation."""
    for subject in subjects:
        enter_eligibility_data(subject)
        signer = investigator or site_investigator(subject.site)
        confirm_eligibility(
            ChangeContext(signer, "web"), subject, "randomization", password=PASSWORD
        )


def registered_subject(site, response="CR", *, eligibility="signed"):
    """``eligibility``: "signed" (ready), "entered" (data but no signature) or "none"."""
    subject = screen(site)
    subject = transition(ChangeContext.system(), subject, "registered", on_date=site.today())
    if response is not None:
        store_form(subject, "RAND", "randomization", {"STRESP": response})
    if eligibility == "signed":
        make_eligible([subject])
    elif eligibility == "entered":
        enter_eligibility_data(subject)
    return subject
