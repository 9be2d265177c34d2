// The one way the console talks to the platform: the gateway's API on the same origin, with
// the signed-in user's token. Every failure becomes an ApiError carrying the API's Chinese
// message; a 401 ends the session and returns to the sign-in page.
import { useSession } from '../stores/session'
import { router } from '../router'

export class ApiError extends Error {
  constructor(status, body, fallback) {
    super(body?.message_zh || body?.message || fallback || `请求失败（HTTP ${status}）`)
    this.status = status
    this.code = body?.error ?? null
    this.problems = body?.problems ?? []
    this.body = body
  }
}

function urlOf(path, query) {
  const url = new URL(path, window.location.origin)
  for (const [name, value] of Object.entries(query ?? {})) {
    if (value === undefined || value === null || value === '') continue
    url.searchParams.set(name, String(value))
  }
  return url
}

// Ends the session and returns to the sign-in page, which says the session expired.
export function expire() {
  const session = useSession()
  session.expire()
  const here = router.currentRoute.value
  if (here.name !== 'sign-in') {
    router.push({ name: 'sign-in', query: { expired: '1', redirect: here.fullPath } })
  }
}

async function bodyOf(response) {
  const type = response.headers.get('content-type') || ''
  if (!type.includes('json')) return null
  try {
    return await response.json()
  } catch {
    return null
  }
}

// A request to the API. `body` is sent as JSON unless it is a Blob or FormData.
export async function api(path, { method = 'GET', query, body, headers = {} } = {}) {
  const session = useSession()
  if (session.token && session.isExpired()) {
    expire()
    throw new ApiError(401, null, '登录状态已过期，请重新登录')
  }
  const init = { method, headers: { Accept: 'application/json', ...headers } }
  if (session.token) init.headers.Authorization = `Bearer ${session.token}`
  if (body !== undefined) {
    if (body instanceof Blob || body instanceof FormData) {
      init.body = body
    } else {
      init.body = JSON.stringify(body)
      init.headers['Content-Type'] = 'application/json'
    }
  }
  let response
  try {
    response = await fetch(urlOf(path, query), init)
  } catch {
    throw new ApiError(0, null, '无法连接到服务器，请检查网络后重试')
  }
  if (response.status === 401 && session.token) {
    expire()
    throw new ApiError(401, null, '登录状态已过期，请重新登录')
  }
  if (!response.ok) {
    throw new ApiError(response.status, await bodyOf(response))
  }
  if (response.status === 204) return null
  return bodyOf(response)
}

export const get = (path, query) => api(path, { query })
export const post = (path, body, query) => api(path, { method: 'POST', body, query })
export const put = (path, body) => api(path, { method: 'PUT', body })
export const patch = (path, body) => api(path, { method: 'PATCH', body })
