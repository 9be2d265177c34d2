import { ref } from 'vue'
import { showError } from './feedback'

/** What `fetch` answers, loaded (and reloaded) with a loading flag; a failure is shown. */
export function useLoaded(fetch, initial = null) {
  const data = ref(initial)
  const loading = ref(false)

  async function load() {
    loading.value = true
    try {
      data.value = await fetch()
    } catch (error) {
      showError(error)
    } finally {
      loading.value = false
    }
  }
  return { data, loading, load }
}
