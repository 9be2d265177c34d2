import { reactive, ref } from 'vue'
import { attempt } from './feedback'

/**
 * A form whose `body` starts as a copy of `initial`: `save()` validates, runs `submit(body)` and,
 * when the API took it, calls `saved` (for a dialog opened and closed by its parent's props).
 */
export function useSubmitForm(initial, submit, { done = '已保存', saved } = {}) {
  const saving = ref(false)
  const form = ref()
  const body = reactive({ ...initial })

  async function save() {
    if (!(await form.value.validate().catch(() => false))) return
    saving.value = true
    const ok = await attempt(() => submit(body), done)
    saving.value = false
    if (ok) saved?.()
  }
  return { saving, form, body, save }
}

/**
 * A form in a dialog that creates or edits one thing: `edit(row)` opens it with
 * `defaults(row)` (row null: a new one), `save()` validates, runs `submit(body, row)` and, when
 * the API took it, closes and calls `saved`.
 */
export function useDialogForm(defaults, submit, { done = '已保存', saved } = {}) {
  const open = ref(false)
  const current = ref(null)
  const { saving, form, body, save } = useSubmitForm({}, (sent) => submit(sent, current.value), {
    done,
    saved: () => {
      open.value = false
      saved?.()
    },
  })

  function edit(row = null) {
    current.value = row
    Object.assign(body, defaults(row))
    open.value = true
  }
  return { open, saving, current, form, body, edit, save }
}
