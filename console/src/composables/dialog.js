import { reactive, ref } from 'vue'
import { attempt } from './feedback'

/**
 * A form in a dialog that creates or edits one thing: `edit(row)` opens it with
 * `defaults(row)` (row null: a new one), `save()` validates, runs `submit(body, row)` and, when
 * the API took it, closes and calls `saved`.
 */
export function useDialogForm(defaults, submit, { done = '已保存', saved } = {}) {
  const open = ref(false)
  const saving = ref(false)
  const current = ref(null)
  const form = ref()
  const body = reactive({})

  function edit(row = null) {
    current.value = row
    Object.assign(body, defaults(row))
    open.value = true
  }

  async function save() {
    if (!(await form.value.validate().catch(() => false))) return
    saving.value = true
    const ok = await attempt(() => submit(body, current.value), done)
    saving.value = false
    if (ok) {
      open.value = false
      saved?.()
    }
  }
  return { open, saving, current, form, body, edit, save }
}
