// What the access pages share: how a request's status is shown, and its period and requester.
import { time } from '../../composables/format'

const day = (value) => time(value).slice(0, 10)

export const STATUS_TAGS = {
  submitted: 'warning',
  approved: 'primary',
  rejected: 'danger',
  active: 'success',
  completed: 'info',
  expired: 'info',
  revoked: 'danger',
}

// Valid from … until …; before the approval only its length is known.
export function period(request) {
  if (!request.valid_until) return `${request.days} 天（批准后起算）`
  return `${time(request.valid_from)} 至 ${time(request.valid_until)}`
}

// The same in days, for a list's narrow column.
export function days(request) {
  if (!request.valid_until) return `${request.days} 天（批准后起算）`
  return `${day(request.valid_from)} 至 ${day(request.valid_until)}`
}

// Who asks: an account inside the bureau, or the person the office registered.
export function requester(request) {
  return request.requester_account && request.requester_account !== request.requester_name
    ? `${request.requester_name}（${request.requester_account}）`
    : request.requester_name
}

// What is still to be submitted, as one line: 营业执照或身份证件；介绍信.
export function missing(request) {
  return request.missing_documents.map((group) => group.label).join('；')
}
