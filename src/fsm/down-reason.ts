/**
 * Why a session went down (or never came up), as one typed value with a printable form. It is the
 * single source for logs, metrics labels and `kbgp show peers`.
 */
import { type NotificationMessage, describeNotification } from '../bgp/index.js';

export type DownReason =
  | { readonly kind: 'hold-timer-expired' }
  | { readonly kind: 'notification-received'; readonly notification: NotificationMessage }
  /** We detected an error and told the peer why. */
  | { readonly kind: 'notification-sent'; readonly notification: NotificationMessage; readonly why: string }
  /** TCP connection refused, timed out or reset before the session was up. */
  | { readonly kind: 'connect-failed'; readonly error: string }
  /** The peer closed or reset an open connection without a NOTIFICATION. */
  | { readonly kind: 'connection-closed'; readonly error: string }
  /** Stopped by us: operator shutdown, peer removed or changed in the configuration. */
  | { readonly kind: 'stopped'; readonly why: string; readonly notification?: NotificationMessage }
  /** The other of two simultaneous connections won (RFC 4271 §6.8). */
  | { readonly kind: 'collision' };

export function formatDownReason(r: DownReason): string {
  switch (r.kind) {
    case 'hold-timer-expired':
      return 'hold timer expired';
    case 'notification-received':
      return `NOTIFICATION received: ${describeNotification(r.notification)}`;
    case 'notification-sent':
      return `NOTIFICATION sent: ${describeNotification(r.notification)} (${r.why})`;
    case 'connect-failed':
      return `connection failed: ${r.error}`;
    case 'connection-closed':
      return `connection closed by peer: ${r.error}`;
    case 'stopped':
      return r.notification === undefined ? `stopped: ${r.why}` : `stopped: ${r.why}; sent ${describeNotification(r.notification)}`;
    case 'collision':
      return 'connection collision: the other connection was kept (Cease / Connection Collision Resolution)';
  }
}
