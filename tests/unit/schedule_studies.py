"""Study schedules used by the tests of edc.schedule: the T-REIRR schedule in study-file YAML form."""

from __future__ import annotations

import copy
from typing import Any

import yaml

from edc.schedule.definition import ScheduleDefinition, from_definition

T_REIRR_YAML = """
arms:
  - {code: IMMEDIATE, name: Immediate re-irradiation, ratio: 1, stop_rule_profile: standard}
  - {code: SELECTIVE, name: Selective re-irradiation, ratio: 1, stop_rule_profile: locoregional_continue}
pd1_cap: {anchor: first_maintenance_dose, max_doses: 35, max_years: 2}
schedule:
  events:
    - code: SCREEN
      name: Screening
      kind: visit
      phase: screening
      anchor: consent
      offset_days: 0
      window: {before: 28, after: 0}
      forms: [demographics]
    - code: IND_CYCLE
      name: Induction cycle day 1
      kind: dosing
      phase: induction
      anchor: registration
      offset_days: 7
      window: {before: 3, after: 3}
      repeat: {interval_days: 21, max_count: 6, rolling: true}
      forms: [treatment_admin]
    - code: IND_IMAGING
      name: Induction tumour assessment
      kind: imaging
      phase: induction
      anchor: registration
      offset_days: 42
      window: {before: 7, after: 7}
      repeat: {interval_days: 42, max_count: 3}
      forms: [tumour_assessment]
    - code: PD1
      name: PD-1 maintenance dose
      kind: dosing
      phase: maintenance
      anchor: randomization
      offset_days: 0
      window: {before: 3, after: 3}
      repeat: {interval_days: 21, rolling: true}
      forms: [treatment_admin]
    - code: RT_IMMEDIATE
      name: Immediate re-irradiation start
      kind: task
      phase: maintenance
      anchor: randomization
      window: {before: 0, after: 14}
      arms: [IMMEDIATE]
      forms: [radiotherapy]
    - code: REIRRADIATION
      name: Re-irradiation start after locoregional progression
      kind: task
      phase: maintenance
      anchor: locoregional_progression
      offset_days: 0
      window: {before: 0, after: 28}
      arms: [SELECTIVE]
      forms: [radiotherapy]
    - code: IMAGING
      name: Tumour assessment (years 1-2)
      kind: imaging
      phase: maintenance
      anchor: randomization
      offset_days: 84
      window: {before: 7, after: 7}
      repeat: {interval_days: 84, max_duration: {years: 2}}
      forms: [tumour_assessment]
    - code: IMAGING_LATE
      name: Tumour assessment (years 3-5)
      kind: imaging
      phase: follow_up
      anchor: randomization
      offset_days: 912
      window: {before: 14, after: 14}
      repeat: {interval_days: 182, max_duration: {years: 5}}
      forms: [tumour_assessment]
    - code: POST_RT_MRI
      name: Post-RT response MRI
      kind: imaging
      phase: maintenance
      anchor: rt_end
      offset_days: 84
      window: {before: 14, after: 14}
      forms: [tumour_assessment]
    - code: EOT
      name: End of treatment
      kind: visit
      phase: follow_up
      anchor: treatment_stop_decision
      offset_days: 30
      window: {before: 30, after: 7}
      forms: [end_of_treatment]
    - code: SAFETY30
      name: 30-day safety follow-up
      kind: followup
      phase: follow_up
      anchor: last_dose
      offset_days: 30
      window: {before: 7, after: 7}
      forms: [adverse_events]
    - code: IRAE90
      name: 90-day irAE follow-up
      kind: followup
      phase: follow_up
      anchor: last_pd1_dose
      offset_days: 90
      window: {before: 14, after: 14}
      forms: [adverse_events]
    - code: SURVIVAL
      name: Survival follow-up
      kind: followup
      phase: follow_up
      anchor: survival_followup_start
      offset_days: 84
      window: {before: 14, after: 14}
      repeat: {interval_days: 84, max_duration: {years: 10}}
      forms: [survival]
    - code: PREGNANCY_FU
      name: Pregnancy follow-up
      kind: task
      phase: follow_up
      anchor: pregnancy
      window: {before: 0, after: 14}
      forms: [pregnancy_followup]
    - code: UNSCHEDULED
      name: Unscheduled visit
      kind: unscheduled
      anchor: none
      window: {before: 0, after: 0}
      forms: [adverse_events]
"""


def t_reirr_study() -> dict[str, Any]:
    """A fresh mutable copy, so a test can alter it without affecting others."""
    return copy.deepcopy(_PARSED)


def t_reirr() -> ScheduleDefinition:
    return from_definition(_PARSED)


_PARSED: dict[str, Any] = yaml.safe_load(T_REIRR_YAML)
