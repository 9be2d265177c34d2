// Times come from the API in UTC; people read them in the bureau's zone.
const formatter = new Intl.DateTimeFormat('zh-CN', {
  timeZone: 'Asia/Shanghai',
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
  hour12: false,
})

export function time(value) {
  return value ? formatter.format(new Date(value)).replace(/\//g, '-') : '—'
}

export function bytes(value) {
  if (value == null) return '—'
  const units = ['B', 'KB', 'MB', 'GB', 'TB']
  let size = value
  let unit = 0
  while (size >= 1024 && unit < units.length - 1) {
    size /= 1024
    unit += 1
  }
  return `${size.toFixed(unit ? 1 : 0)} ${units[unit]}`
}

export function percent(rate) {
  return rate == null ? '—' : `${(rate * 100).toFixed(1)}%`
}

// A local date-time picker's value (no zone) as the API wants it: with the bureau's offset.
export function withOffset(value) {
  return value ? `${value}+08:00` : undefined
}

// A period of whole days in the bureau's zone as the API's `started_from` / `started_to` (the
// end exclusive: the day after the last); `name` names other bounds (`submitted`).
export function periodQuery(days, name = 'started') {
  if (!days) return {}
  const end = new Date(`${days[1]}T00:00:00+08:00`)
  end.setUTCDate(end.getUTCDate() + 1)
  return { [`${name}_from`]: `${days[0]}T00:00:00+08:00`, [`${name}_to`]: end.toISOString() }
}

// A moment as a date-time picker's value (no zone) in the bureau's zone: withOffset's inverse.
export function pickerValue(moment) {
  return time(moment).replace(' ', 'T')
}
