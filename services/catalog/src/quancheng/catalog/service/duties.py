"""The AV recording item list 音像记录事项清单 (A-10, D-6, B-4): for each activity type, whether
full-process recording is mandatory, situational or a text record suffices, and its key stages.
The regulation's defaults hold until the bureau enters its own."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel.ext.asyncio.session import AsyncSession

from quancheng.catalog.inputs import DutyWrite
from quancheng.catalog.models import ActivityType, Duty, RecordingDuty
from quancheng.catalog.repository import DutyRepository
from quancheng.common import audit
from quancheng.common.auth import Principal
from quancheng.common.clock import utcnow

_STAGES = ("出示执法证件", "告知当事人", "现场检查或询问", "调查取证", "文书送达", "当事人签字确认")
_HOW = {
    Duty.MANDATORY: "全过程音像记录",
    Duty.SITUATIONAL: "根据情况音像记录",
    Duty.TEXT: "文字记录",
}
# A-10/D-6: acts touching property rights, personal freedom, life and health, and case-handling
# venues are recorded in full; on-site enforcement, investigation, hearings and the harder kinds
# of service as the situation requires; anything else may be a text record.
DEFAULT_DUTIES: dict[ActivityType, Duty] = {
    ActivityType.SEALING_SEIZURE: Duty.MANDATORY,
    ActivityType.FORCED_DEMOLITION: Duty.MANDATORY,
    ActivityType.COERCIVE_MEASURE: Duty.MANDATORY,
    ActivityType.CASE_VENUE: Duty.MANDATORY,
    ActivityType.DAILY_INSPECTION: Duty.SITUATIONAL,
    ActivityType.COMPLAINT: Duty.SITUATIONAL,
    ActivityType.EVIDENCE_COLLECTION: Duty.SITUATIONAL,
    ActivityType.ADVANCE_REGISTRATION: Duty.SITUATIONAL,
    ActivityType.HEARING: Duty.SITUATIONAL,
    ActivityType.LODGED_SERVICE: Duty.SITUATIONAL,
    ActivityType.SERVICE_BY_NOTICE: Duty.SITUATIONAL,
    ActivityType.ON_SITE: Duty.SITUATIONAL,
    ActivityType.DOCUMENT_SERVICE: Duty.TEXT,
    ActivityType.OTHER: Duty.TEXT,
}


@dataclass(frozen=True)
class EffectiveDuty:
    type: ActivityType
    duty: Duty
    key_stages: list[dict[str, str]]  # stage, how
    configured: bool  # false: the regulation's default


def _default(activity_type: ActivityType) -> EffectiveDuty:
    duty = DEFAULT_DUTIES[activity_type]
    stages = [{"stage": s, "how": _HOW[duty]} for s in _STAGES]
    return EffectiveDuty(activity_type, duty, stages, configured=False)


async def effective(session: AsyncSession) -> dict[ActivityType, EffectiveDuty]:
    """Every activity type's duty: the bureau's entry, or else the regulation's default."""
    entries = {row.type: row for row in await DutyRepository(session).all()}
    duties = {}
    for activity_type in ActivityType:
        row = entries.get(activity_type)
        duties[activity_type] = (
            _default(activity_type)
            if row is None
            else EffectiveDuty(row.type, row.duty, row.key_stages, configured=True)
        )
    return duties


async def configure(
    session: AsyncSession, principal: Principal, activity_type: ActivityType, data: DutyWrite
) -> EffectiveDuty:
    repository = DutyRepository(session)
    row = await repository.get(activity_type) or RecordingDuty(
        type=activity_type, duty=data.duty, key_stages=[], updated_by="", updated_at=utcnow()
    )
    row.duty = data.duty
    row.key_stages = [s.model_dump() for s in data.key_stages]
    row.updated_by = principal.subject
    row.updated_at = utcnow()
    await repository.add(row)
    await audit.append(
        session,
        actor=principal.subject,
        action="recording_duty.configure",
        target=f"recording_duty:{activity_type.value}",
        detail=data.model_dump(mode="json"),
    )
    return (await effective(session))[activity_type]
