"""What the catalog's API takes: the request bodies, validated at the route; the services act on
them as they are."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from quancheng.catalog.models import (
    ActivityKind,
    ActivityType,
    Duty,
    ExemptionReason,
    InterruptionReason,
    credit_code_problem,
)
from quancheng.common.auth import Clearance
from quancheng.common.errors import invalid
from quancheng.common.times import Moment


class ArchivalWrite(BaseModel):
    """What an archive item states (C-4) and how secret it is (B-11); a field left out keeps
    the value it had."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    handling_section: str | None = Field(default=None, max_length=32, description="承办科室")
    producer: str | None = Field(default=None, max_length=128, description="制作人")
    production_time: Moment | None = Field(default=None, description="制作时间")
    proves: str | None = Field(default=None, max_length=4000, description="证明内容")
    secrecy: Clearance | None = Field(default=None, description="密级; left out or null: unchanged")
    privacy_flags: list[str] = Field(
        default_factory=list, max_length=20, description="e.g. 人脸, 未成年人, 商业秘密"
    )


class EnterpriseWrite(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=200)
    credit_code: str = Field(
        description="统一社会信用代码 (GB 32100-2015), check character verified"
    )
    legal_representative: str | None = Field(default=None, max_length=64)
    address: str | None = Field(default=None, max_length=300)
    contact: str | None = Field(default=None, max_length=64)
    industry: str | None = Field(default=None, max_length=64)
    region: str | None = Field(default=None, max_length=64, description="属地")
    hazardous_processes: list[str] = Field(default_factory=list, description="危险工艺")
    hazardous_equipment: list[str] = Field(default_factory=list, description="危险设备")
    major_hazard_sources: list[str] = Field(default_factory=list, description="重大危险源")
    risk: dict[str, Any] = Field(
        default_factory=dict, description="risk and hidden-danger information 风险与隐患"
    )
    supervision: dict[str, Any] = Field(
        default_factory=dict,
        description="other supervision information 其他监管信息: 安全评价, 标准化, 培训, "
        "专项整治, 事故调查, 应急救援",
    )

    @field_validator("credit_code")
    @classmethod
    def _valid_credit_code(cls, value: str) -> str:
        code = value.strip().upper()
        problem = credit_code_problem(code)
        if problem is not None:
            raise invalid(
                f"not a unified social credit code: {problem[0]}",
                f"不是有效的统一社会信用代码：{problem[1]}",
            )
        return code


class ActivityWrite(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    kind: ActivityKind = Field(description="行政许可/处罚/强制/检查 (B-2)")
    type: ActivityType = Field(description="what was done (A-4); decides the recording duty")
    matter: str = Field(min_length=1, max_length=200, description="事项")
    case_number: str | None = Field(default=None, max_length=64, description="案号")
    enterprise_id: UUID | None = None
    section: str = Field(min_length=1, max_length=32, description="承办科室")
    officers: list[str] = Field(min_length=1, max_length=20, description="执法人员 account ids")
    place: str | None = Field(default=None, max_length=300)
    region: str | None = Field(default=None, max_length=64, description="属地")
    started_at: Moment
    ended_at: Moment | None = None
    hidden_dangers_found: int = Field(default=0, ge=0, le=10000, description="发现隐患数")
    violations_found: int = Field(default=0, ge=0, le=10000, description="发现违法行为数")

    @model_validator(mode="after")
    def _ends_after_it_starts(self) -> ActivityWrite:
        if self.ended_at is not None and self.ended_at < self.started_at:
            raise ValueError("ended_at is before started_at")
        return self


class ActivityEnd(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ended_at: Moment | None = Field(default=None, description="default: now")


class RecordAssignment(BaseModel):
    """The section head's review of an unassigned recording (A-3, D-11)."""

    model_config = ConfigDict(extra="forbid")

    activity_id: UUID | None = Field(description="null: unlink")


class RecordSelectionRequest(BaseModel):
    """What an access request is for (the access gateway asks): records by id, an activity's,
    a case's or an enterprise's; the records are all of those together."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    record_ids: list[UUID] = Field(default_factory=list, max_length=500)
    activity_id: UUID | None = None
    case_number: str | None = Field(default=None, min_length=1, max_length=64, description="案号")
    enterprise_id: UUID | None = None

    @model_validator(mode="after")
    def _names_something(self) -> RecordSelectionRequest:
        named = (self.activity_id, self.case_number, self.enterprise_id)
        if not self.record_ids and all(n is None for n in named):
            raise invalid(
                "name records, an activity, a case number or an enterprise",
                "请至少指定记录、执法活动、案号或企业之一",
            )
        return self


class KeyStage(BaseModel):
    """A key stage 关键环节 of an activity and how it is recorded (B-4b)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    stage: str = Field(min_length=1, max_length=64, description="e.g. 出示证件, 告知, 送达")
    how: str = Field(min_length=1, max_length=200, description="e.g. 全程音像记录")


class DutyWrite(BaseModel):
    model_config = ConfigDict(extra="forbid")

    duty: Duty
    key_stages: list[KeyStage] = Field(default_factory=list, max_length=50)


class InterruptionWrite(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    device_id: str = Field(min_length=1, max_length=64)
    stopped_at: Moment
    resumed_at: Moment | None = Field(default=None, description="null: it never resumed")
    reason: InterruptionReason
    explanation: str = Field(min_length=1, max_length=4000)
    written_report: str | None = Field(
        default=None, max_length=20000, description="书面报告, when recording could not go on"
    )

    @model_validator(mode="after")
    def _resumes_after_it_stops(self) -> InterruptionWrite:
        if self.resumed_at is not None and self.resumed_at < self.stopped_at:
            raise ValueError("resumed_at is before stopped_at")
        return self


class ExemptionWrite(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    reason: ExemptionReason
    basis: str = Field(min_length=1, max_length=2000, description="依据")
    work_record: str = Field(min_length=1, max_length=20000, description="工作记录")
