import { ref } from 'vue'
import { ApiError, expire } from '../api/client'
import { useSession } from '../stores/session'

// The file name a Content-Disposition gives (RFC 6266: filename* in UTF-8 before filename).
function filenameOf(disposition, fallback) {
  const encoded = /filename\*=UTF-8''([^;]+)/i.exec(disposition || '')
  if (encoded) return decodeURIComponent(encoded[1])
  const plain = /filename="([^"]+)"/i.exec(disposition || '')
  return plain ? plain[1] : fallback
}

// A file of the API fetched with the user's token (links and <a download> carry none); a refusal
// becomes an ApiError with the API's Chinese message.
async function fetchWithToken(path) {
  const session = useSession()
  let response
  try {
    response = await fetch(path, { headers: { Authorization: `Bearer ${session.token}` } })
  } catch {
    throw new ApiError(0, null, '无法连接到服务器，请检查网络后重试')
  }
  if (response.status === 401) {
    expire()
    throw new ApiError(401, null, '登录状态已过期，请重新登录')
  }
  if (!response.ok) {
    const body = await response.json().catch(() => null)
    throw new ApiError(response.status, body)
  }
  return response
}

/** Opens a file of the API (a document kept with a request) in a new tab, as a blob. */
export async function openFile(path) {
  const response = await fetchWithToken(path)
  const blob = await response.blob()
  const link = document.createElement('a')
  link.href = URL.createObjectURL(blob)
  link.target = '_blank'
  link.rel = 'noopener'
  link.click()
  setTimeout(() => URL.revokeObjectURL(link.href), 60_000)
}

/**
 * A file the API streams (an archive export), fetched with the user's token while `received`
 * counts its bytes (the size isn't known before: the archive is made as it goes out), then
 * saved under the name the API gives.
 */
export function useDownload() {
  const received = ref(null)
  const busy = ref(false)

  async function download(path, fallbackName) {
    busy.value = true
    received.value = 0
    try {
      const response = await fetchWithToken(path)
      const reader = response.body.getReader()
      const chunks = []
      try {
        for (;;) {
          const { done, value } = await reader.read()
          if (done) break
          chunks.push(value)
          received.value += value.length
        }
      } catch {
        // The server stops an export whose stored file fails its check, or the connection broke.
        throw new ApiError(0, null, '导出中断（连接断开，或服务器发现存储文件与入库校验值不符），文件未保存')
      }
      const name = filenameOf(response.headers.get('content-disposition'), fallbackName)
      const link = document.createElement('a')
      link.href = URL.createObjectURL(new Blob(chunks, { type: response.headers.get('content-type') || '' }))
      link.download = name
      link.click()
      setTimeout(() => URL.revokeObjectURL(link.href), 60_000)
      return name
    } finally {
      busy.value = false
    }
  }

  return { received, busy, download }
}
