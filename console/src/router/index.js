import { createRouter, createWebHistory } from 'vue-router'
import { useSession } from '../stores/session'
import Layout from '../layout/Layout.vue'

// Every page of the console: `roles` says who sees it in the menu and may open it (none:
// everyone signed in), `group` the menu group it sits in. Adding a page is adding a line here
// and its view.
export const pages = [
  { path: '', name: 'home', title: '首页', icon: 'HomeFilled', view: () => import('../views/Home.vue') },
  { path: 'sections', name: 'sections', title: '科室', group: 'staff', roles: ['office', 'supervisor'], view: () => import('../views/office/Sections.vue') },
  { path: 'officers', name: 'officers', title: '人员', group: 'staff', roles: ['office', 'supervisor', 'section_head', 'custodian'], view: () => import('../views/office/Officers.vue') },
  { path: 'accounts', name: 'accounts', title: '账户', group: 'staff', roles: ['office'], view: () => import('../views/office/Accounts.vue') },
  { path: 'imports', name: 'imports', title: '批量导入', group: 'staff', roles: ['office'], view: () => import('../views/office/Imports.vue') },
  { path: 'devices', name: 'devices', title: '设备台账', group: 'devices', roles: ['office', 'supervisor', 'section_head', 'custodian', 'officer'], view: () => import('../views/devices/Devices.vue') },
  { path: 'allocation', name: 'allocation', title: '配备情况', group: 'devices', roles: ['office', 'supervisor', 'section_head', 'custodian'], view: () => import('../views/devices/Allocation.vue') },
  { path: 'docking-stations', name: 'docking-stations', title: '采集站', group: 'devices', roles: ['office'], view: () => import('../views/devices/DockingStations.vue') },
  { path: 'records', name: 'records', title: '音像记录', group: 'records', roles: ['office', 'archivist', 'supervisor', 'section_head', 'custodian', 'officer'], view: () => import('../views/records/Records.vue') },
  { path: 'uploads', name: 'uploads', title: '上传记录', group: 'records', roles: ['officer', 'section_head', 'custodian', 'office', 'supervisor'], view: () => import('../views/records/Uploads.vue') },
  { path: 'unassigned', name: 'unassigned', title: '待关联记录', group: 'records', roles: ['section_head', 'office'], view: () => import('../views/records/Unassigned.vue') },
  { path: 'exemptions', name: 'exemptions', title: '待确认说明', group: 'records', roles: ['section_head', 'office', 'supervisor'], view: () => import('../views/activities/Exemptions.vue') },
  { path: 'activities', name: 'activities', title: '执法活动', group: 'records', roles: ['office', 'archivist', 'supervisor', 'section_head', 'officer'], view: () => import('../views/activities/Activities.vue') },
  { path: 'activities/:id', name: 'activity', title: '活动详情', group: 'records', hidden: true, view: () => import('../views/activities/Activity.vue') },
  { path: 'enterprises', name: 'enterprises', title: '企业', group: 'records', roles: ['office', 'archivist', 'supervisor', 'section_head', 'custodian', 'officer'], view: () => import('../views/enterprises/Enterprises.vue') },
  { path: 'enterprises/:id', name: 'enterprise', title: '一企一档', group: 'records', hidden: true, view: () => import('../views/enterprises/Enterprise.vue') },
  { path: 'archive', name: 'archive', title: '档案', group: 'archive', roles: ['archivist', 'office', 'supervisor', 'section_head', 'custodian'], view: () => import('../views/archive/Archive.vue') },
  { path: 'access', name: 'access', title: '调阅申请', group: 'access', roles: ['officer', 'section_head', 'custodian', 'office', 'archivist', 'supervisor'], view: () => import('../views/access/AccessRequests.vue') },
  { path: 'access/:id', name: 'access-request', title: '调阅详情', group: 'access', hidden: true, view: () => import('../views/access/AccessRequest.vue') },
  { path: 'approvals', name: 'approvals', title: '待我审批', group: 'access', roles: ['section_head'], view: () => import('../views/access/Approvals.vue') },
  { path: 'viewing-sessions/:id', name: 'viewing-session', title: '查阅会话', group: 'access', hidden: true, roles: ['archivist', 'office'], view: () => import('../views/access/ViewingSession.vue') },
  { path: 'access-register', name: 'access-register', title: '调阅登记簿', group: 'access', roles: ['office', 'archivist', 'supervisor'], view: () => import('../views/access/AccessRegister.vue') },
  { path: 'statistics', name: 'statistics', title: '统计分析', group: 'supervision', roles: ['supervisor', 'office', 'section_head'], view: () => import('../views/supervision/Statistics.vue') },
  { path: 'compliance', name: 'compliance', title: '合规报告', group: 'supervision', roles: ['supervisor', 'office', 'section_head'], view: () => import('../views/supervision/Compliance.vue') },
]

export const groups = {
  staff: { title: '机构与人员', icon: 'OfficeBuilding' },
  devices: { title: '设备管理', icon: 'VideoCamera' },
  records: { title: '记录与活动', icon: 'Files' },
  archive: { title: '档案管理', icon: 'Folder' },
  access: { title: '调阅管理', icon: 'Reading' },
  supervision: { title: '执法监督', icon: 'DataAnalysis' },
}

export const router = createRouter({
  history: createWebHistory('/console/'),
  routes: [
    { path: '/sign-in', name: 'sign-in', component: () => import('../views/SignIn.vue'), meta: { title: '登录', public: true } },
    {
      path: '/',
      component: Layout,
      children: pages.map((page) => ({
        path: page.path,
        name: page.name,
        component: page.view,
        meta: { title: page.title, roles: page.roles, group: page.group },
      })),
    },
    { path: '/:rest(.*)*', name: 'missing', component: () => import('../views/Missing.vue'), meta: { title: '页面不存在', public: true } },
  ],
})

router.beforeEach((to) => {
  const session = useSession()
  if (to.meta.public) return true
  if (!session.signedIn || session.isExpired()) {
    const expired = session.expired || session.isExpired()
    if (session.token) session.expire()
    return { name: 'sign-in', query: { ...(expired ? { expired: '1' } : {}), redirect: to.fullPath } }
  }
  if (!session.hasAny(to.meta.roles)) return { name: 'home', query: { denied: to.meta.title } }
  return true
})

router.afterEach((to) => {
  document.title = `${to.meta.title ?? ''} · 全程`
})
