import { ref } from 'vue'
import { Upload } from 'tus-js-client'
import { ApiError, expire } from '../api/client'
import { useSession } from '../stores/session'

const CHUNK = 5 * 1024 * 1024

// The API's refusal inside a tus-js-client error (its Chinese message), or a network failure.
function refusalOf(error) {
  const response = error?.originalResponse
  if (!response) return new ApiError(0, null, '上传中断：无法连接到服务器，请检查网络后继续上传')
  let body = null
  try {
    body = JSON.parse(response.getBody())
  } catch {
    body = null
  }
  return new ApiError(response.getStatus(), body)
}

/**
 * One file sent with tus (resumable): `start(file, metadata)` resumes the same file's unfinished
 * upload of this user in this browser, or begins a new one; `pause()` stops after the request
 * under way. `progress` is 0–100, `resumed` whether an unfinished upload was taken up again.
 */
export function useTusUpload() {
  const session = useSession()
  const progress = ref(null)
  const sent = ref(0)
  const resumed = ref(false)
  const running = ref(false)
  let upload = null

  function start(file, metadata) {
    return new Promise((resolve, reject) => {
      upload = new Upload(file, {
        endpoint: '/files/',
        chunkSize: CHUNK,
        retryDelays: [0, 1000, 3000, 5000],
        metadata,
        removeFingerprintOnSuccess: true,
        // Per user: another officer's unfinished upload in this browser is not theirs to resume.
        fingerprint: async (f) => ['quancheng', session.username, f.name, f.type, f.size, f.lastModified].join('/'),
        onBeforeRequest: (request) => {
          if (session.isExpired()) throw new ApiError(401, null, '登录状态已过期，请重新登录')
          request.setHeader('Authorization', `Bearer ${session.token}`)
        },
        // A refusal is final; only a lost connection or a busy upload (423) is retried.
        onShouldRetry: (error) => {
          const status = error?.originalResponse?.getStatus() ?? 0
          return status === 0 || status === 423 || status >= 500
        },
        onProgress: (bytesSent, bytesTotal) => {
          sent.value = bytesSent
          progress.value = bytesTotal ? Math.floor((bytesSent / bytesTotal) * 100) : 0
        },
        onSuccess: () => {
          running.value = false
          progress.value = 100
          resolve(upload.url.split('/').pop())
        },
        onError: (error) => {
          running.value = false
          const refusal = refusalOf(error)
          if (refusal.status === 401) expire()
          reject(refusal)
        },
      })
      progress.value = 0
      resumed.value = false
      running.value = true
      upload.findPreviousUploads().then((previous) => {
        if (previous.length) {
          upload.resumeFromPreviousUpload(previous[0])
          resumed.value = true
        }
        upload.start()
      })
    })
  }

  async function pause() {
    if (upload) await upload.abort()
    running.value = false
  }

  return { progress, sent, resumed, running, start, pause }
}
