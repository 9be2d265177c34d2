import { reactive, ref } from 'vue'
import { get } from '../api/client'
import { showError } from './feedback'

/**
 * A list paged, filtered and sorted on the server: `filters` are sent as query parameters
 * (empty ones left out), with `offset` and `limit` from the pager and `sort` (`key` or `-key`)
 * from the table's sortable columns (`@sort-change="list.sortBy"`; the key is the column's
 * `column-key`, or else its `prop`).
 */
export function usePagedList(path, initialFilters = {}, { pageSize = 20 } = {}) {
  const filters = reactive({ ...initialFilters })
  const items = ref([])
  const total = ref(0)
  const page = ref(1)
  const size = ref(pageSize)
  const loading = ref(false)
  const sort = ref(undefined)

  async function load() {
    loading.value = true
    try {
      const answer = await get(path, { ...filters, sort: sort.value, offset: (page.value - 1) * size.value, limit: size.value })
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
  function sortBy({ column, prop, order }) {
    const key = column?.columnKey || prop
    sort.value = order ? `${order === 'descending' ? '-' : ''}${key}` : undefined
    return search()
  }
  function reset() {
    for (const key of Object.keys(filters)) filters[key] = initialFilters[key]
    return search()
  }
  return { filters, items, total, page, size, loading, sort, load, search, reset, sortBy }
}
