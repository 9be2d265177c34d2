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

export const options = (labels) =>
  Object.entries(labels).map(([value, label]) => ({ value, label }))
