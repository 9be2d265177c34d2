import { ElMessage, ElMessageBox } from 'element-plus'

// The API's Chinese message (a refused body's names every field and its problem).
export function showError(error) {
  ElMessage({ type: 'error', message: error.message || '操作失败', showClose: true, duration: 6000 })
}

export function showDone(message) {
  ElMessage({ type: 'success', message })
}

export async function confirmed(message, title = '请确认') {
  try {
    await ElMessageBox.confirm(message, title, { confirmButtonText: '确定', cancelButtonText: '取消', type: 'warning' })
    return true
  } catch {
    return false
  }
}

// Runs `work`, showing its error; answers whether it succeeded.
export async function attempt(work, done) {
  try {
    await work()
    if (done) showDone(done)
    return true
  } catch (error) {
    showError(error)
    return false
  }
}
