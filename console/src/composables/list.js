import { reactive, ref } from 'vue'
import { get } from '../api/client'
import { showError } from './feedback'

/**
 * A list paged and filtered on the server: `filters` are sent as query parameters (empty ones
 * left out), with `offset` and `limit` from the pager.
 */
export function usePagedList(path, initialFilters = {}, { pageSize = 20 } = {}) {
  const filters = reactive({ ...initialFilters })
  const items = ref([])
  const total = ref(0)
  const page = ref(1)
  const size = ref(pageSize)
  const loading = ref(false)

  async function load() {
    loading.value = true
    try {
      const answer = await get(path, { ...filters, offset: (page.value - 1) * size.value, limit: size.value })
      items.value = answer.items
      total.value = answer.total ?? answer.items.length
    } catch (error) {
      showError(error)
    } finally {
      loading.value = false
    }
  }
  function search() {
    page.value = 1
    return load()
  }
  function reset() {
    for (const key of Object.keys(filters)) filters[key] = initialFilters[key]
    return search()
  }
  return { filters, items, total, page, size, loading, load, search, reset }
}
