import { defineStore } from 'pinia'
import { ROLES } from '../labels'

// The token lives in this tab only (sessionStorage): closing the tab signs out, and another
// tab signs in on its own.
const KEY = 'quancheng.session'

function claimsOf(token) {
  const payload = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/')
  const bytes = Uint8Array.from(atob(payload), (c) => c.charCodeAt(0))
  return JSON.parse(new TextDecoder().decode(bytes))
}

function restored() {
  try {
    const saved = JSON.parse(sessionStorage.getItem(KEY) || 'null')
    return saved && saved.token ? saved : null
  } catch {
    return null
  }
}

export const useSession = defineStore('session', {
  state: () => ({
    token: null,
    claims: null,
    mustChangePassword: false,
    expired: false,
    ...restored(),
  }),
  getters: {
    signedIn: (state) => Boolean(state.token) && !state.expired,
    username: (state) => state.claims?.sub ?? '',
    displayName: (state) => state.claims?.name || state.claims?.sub || '',
    roles: (state) => state.claims?.roles ?? [],
    roleLabels: (state) => (state.claims?.roles ?? []).map((role) => ROLES[role] ?? role).join('、'),
    section: (state) => state.claims?.section ?? null,
    clearance: (state) => state.claims?.clearance ?? 'public',
  },
  actions: {
    start(token, mustChangePassword) {
      this.token = token
      this.claims = claimsOf(token)
      this.mustChangePassword = mustChangePassword
      this.expired = false
      this.save()
    },
    passwordChanged() {
      this.mustChangePassword = false
      this.save()
    },
    hasAny(roles) {
      return !roles || roles.some((role) => this.roles.includes(role))
    },
    // The token's own expiry, checked before a request is sent.
    isExpired() {
      return Boolean(this.claims) && this.claims.exp * 1000 <= Date.now()
    },
    expire() {
      this.end()
      this.expired = true
    },
    end() {
      this.token = null
      this.claims = null
      this.mustChangePassword = false
      this.expired = false
      sessionStorage.removeItem(KEY)
    },
    save() {
      sessionStorage.setItem(
        KEY,
        JSON.stringify({
          token: this.token,
          claims: this.claims,
          mustChangePassword: this.mustChangePassword,
        }),
      )
    },
  },
})
