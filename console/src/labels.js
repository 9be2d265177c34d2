// Chinese names of the values a form offers; what the API answers carries its own labels
// (`kind_label`, `status_label`, …), which the pages show instead.
export const ROLES = {
  officer: '执法人员',
  section_head: '科室负责人',
  custodian: '设备专管员',
  office: '办公室',
  archivist: '档案管理员',
  supervisor: '执法监督',
}
export const CLEARANCES = {
  public: '公开',
  internal: '内部',
  secret: '秘密',
  confidential: '机密',
  top_secret: '绝密',
}
export const DEVICE_KINDS = {
  body_camera: '执法记录仪',
  camera: '照相机',
  voice_recorder: '录音笔',
  camcorder: '摄像机',
}
export const DEVICE_STATUSES = {
  registered: '已登记',
  in_stock: '在库',
  issued: '已发放',
  returned: '已归还',
  in_maintenance: '维修中',
  lost: '遗失',
  retired: '已报废',
}
// The transitions the office may ask for (issue and return have their own forms).
export const TRANSITION_TARGETS = ['in_stock', 'in_maintenance', 'lost', 'retired']
export const RECORD_KINDS = {
  video: '视频',
  audio: '音频',
  photo: '照片',
  scan: '扫描件',
  document: '文书',
}
export const UPLOAD_STATUSES = {
  receiving: '接收中',
  finishing: '保存中',
  complete: '已保存',
  rejected: '已拒收',
  terminated: '已终止',
  expired: '已过期',
}
export const ACTIVITY_KINDS = {
  licensing: '行政许可',
  penalty: '行政处罚',
  coercion: '行政强制',
  inspection: '行政检查',
}
export const ACTIVITY_TYPES = {
  daily_inspection: '日常执法检查',
  complaint: '投诉、举报',
  evidence_collection: '调查取证',
  advance_registration: '先行登记保存证据',
  document_service: '文书送达',
  coercive_measure: '行政强制措施',
  sealing_seizure: '查封扣押',
  forced_demolition: '强制拆除',
  case_venue: '办案场所',
  hearing: '听证',
  lodged_service: '留置送达',
  service_by_notice: '公告送达',
  on_site: '其他现场执法',
  other: '其他',
}
export const INTERRUPTION_REASONS = {
  device_fault: '设备故障',
  weather: '天气原因',
  battery: '电量不足',
  storage: '存储空间不足',
  venue_change: '转换场地',
  other: '其他',
}
export const EXEMPTION_REASONS = {
  explosion_hazard: '易燃易爆区域无防爆设备',
  state_secret: '涉及国家秘密',
  commercial_secret: '涉及商业秘密',
  personal_privacy: '涉及个人隐私',
  emergency: '紧急情况',
  other: '其他客观原因',
}
export const STATISTICS_GROUPS = {
  section: '按科室',
  officer: '按人员',
  month: '按月份',
  kind: '按执法类别',
  type: '按活动类型',
  region: '按属地',
  industry: '按行业',
}

export const REQUESTER_KINDS = {
  own_section: '承办科室',
  other_section: '其他科室',
  counterparty: '相对人',
  visitor: '外单位来人',
  letter: '外单位来函',
}
// Requesters from outside the bureau, whom the office or an archivist registers.
export const OUTSIDE_REQUESTER_KINDS = ['counterparty', 'visitor', 'letter']
export const ACCESS_KINDS = {
  view: '查看',
  copy: '复制',
}
export const ACCESS_STATUSES = {
  submitted: '待审批',
  approved: '已批准',
  rejected: '已驳回',
  active: '调阅中',
  completed: '已完成',
  expired: '已过期',
  revoked: '已撤销',
}
export const DOCUMENT_KINDS = {
  business_licence: '营业执照',
  identity_document: '身份证件',
  power_of_attorney: '授权委托书',
  introduction_letter: '介绍信',
  work_id: '工作证',
  incoming_letter: '来函',
  handover: '签收单',
}
export const DECISIONS = {
  approved: '同意',
  rejected: '不同意',
}

export const options = (labels) =>
  Object.entries(labels).map(([value, label]) => ({ value, label }))
